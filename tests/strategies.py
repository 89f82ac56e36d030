"""Hypothesis strategies shared by every test file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from hypothesis import strategies as st

from salesmetrics import DEFAULT_STAGES, Outcome, Pipeline, Stage

STAGES: tuple[Stage, ...] = (*DEFAULT_STAGES, Stage("No decision", 0.0, Outcome.NO_DECISION))
OWNERS = ("ana", "bo", "cy", None)
TEAMS = ("east", "west")
START = dt.date(2023, 1, 1)


@st.composite
def deal_rows(draw: st.DrawFn, *, min_size: int = 0, max_size: int = 40) -> dict[str, list[Any]]:
    """Columns of a random pipeline over STAGES: ids, amounts (whole cents, some missing),
    stages, dates (close >= created), owners (some missing), teams, a few probability overrides,
    and a stage history consistent with each deal's current stage."""
    n = draw(st.integers(min_size, max_size))
    stage_idx = draw(st.lists(st.integers(0, len(STAGES) - 1), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n))
    missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    created_off = draw(st.lists(st.integers(0, 700), min_size=n, max_size=n))
    cycle = draw(st.lists(st.integers(0, 300), min_size=n, max_size=n))
    owners = draw(st.lists(st.sampled_from(OWNERS), min_size=n, max_size=n))
    teams = draw(st.lists(st.sampled_from(TEAMS), min_size=n, max_size=n))
    probs = draw(st.lists(st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.5, 1.0])),
                          min_size=n, max_size=n))
    skips = draw(st.lists(st.integers(0, 31), min_size=n, max_size=n))
    closed = [STAGES[s].is_closed for s in stage_idx]
    created = [START + dt.timedelta(days=o) for o in created_off]
    rows: dict[str, list[Any]] = {
        "id": [f"D-{i}" for i in range(n)],
        "amount": [None if m and not c else x / 100
                   for x, m, c in zip(cents, missing, closed, strict=True)],
        "stage": [STAGES[s].name for s in stage_idx],
        "created": created,
        "close_date": [c + dt.timedelta(days=d) for c, d in zip(created, cycle, strict=True)],
        "owner": owners,
        "team": teams,
        "probability": [None if c else p for p, c in zip(probs, closed, strict=True)],
        "h_id": [], "h_stage": [], "h_date": [],
    }
    for i, s in enumerate(stage_idx):
        last_open = s if not STAGES[s].is_closed else draw_last_open(skips[i])
        entered = [k for k in range(last_open + 1) if not (skips[i] >> k) & 1 or k == last_open]
        for j, k in enumerate(entered):
            rows["h_id"].append(f"D-{i}")
            rows["h_stage"].append(STAGES[k].name)
            rows["h_date"].append(created[i] + dt.timedelta(days=j))
    return rows


def draw_last_open(bits: int) -> int:
    return bits % 5


def build(rows: dict[str, list[Any]], *, order: list[int] | None = None,
          history: bool = True) -> Pipeline:
    """A pipeline from ``deal_rows`` output, optionally with its deals reordered."""
    deal_cols = ("id", "amount", "stage", "created", "close_date", "owner", "team", "probability")
    n = len(rows["id"])
    idx = list(range(n)) if order is None else order
    data = {k: [rows[k][i] for i in idx] for k in deal_cols}
    data["amount"] = np.array([np.nan if v is None else v for v in data["amount"]], dtype=float)
    data["probability"] = np.array([np.nan if v is None else v for v in data["probability"]],
                                   dtype=float)
    hist = {"id": rows["h_id"], "stage": rows["h_stage"], "date": rows["h_date"]}
    return Pipeline.from_columns(
        data, STAGES, currency="USD",
        columns={"team": "team"},
        history=hist if history and n else None,
    )


pipelines = deal_rows().map(build)
