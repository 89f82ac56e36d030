"""Issue 7, metrics side: one renderer, one summarize module, merged summaries in the whole's
order, uniform options (zero_division, outcome, statistic, the velocity's win-rate policies),
integer funnel counts, one clock-free default for as_of."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import STAGES, deal_rows

from salesmetrics import Pipeline
from salesmetrics.metrics._summarize import (
    summarize_open,
    summarize_outcomes,
    summarize_reached,
    summarize_velocity,
)

AMOUNT_WARNINGS = pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")

# -- merged summaries keep the whole's key order ---------------------------------------------------

#: A categorical's categories in an order that is not sorted, the missing label last.
OWNER_ORDER = ["zed", "mo", "amy", "bo"]
RENAME = {"ana": "zed", "bo": "amy", "cy": "mo"}


def _frame(rows: dict, idx: list[int], *, categorical: bool) -> Pipeline:
    cols = ("id", "amount", "stage", "created", "close_date", "owner", "team")
    data = {k: [rows[k][i] for i in idx] for k in cols}
    data["amount"] = [np.nan if v is None else v for v in data["amount"]]
    owners = [RENAME.get(o) for o in data["owner"]]
    frame = pd.DataFrame(data)
    frame["owner"] = (pd.Categorical(owners, categories=OWNER_ORDER) if categorical
                      else pd.Series(owners, dtype=object))
    return Pipeline.from_columns(frame, STAGES, currency="USD", columns={"team": "team"})


SUMMARIES = {
    "open": lambda p, by: summarize_open(p, by=by),
    "outcomes": lambda p, by: summarize_outcomes(p, by=by, function="t", cycles=True,
                                                 histogram=True),
    "reached": lambda p, by: summarize_reached(p, by=by),
    "velocity": lambda p, by: summarize_velocity(p, by=by, period="2023-Q3"),
}


@AMOUNT_WARNINGS
@settings(max_examples=60, deadline=None)
@given(rows=deal_rows(min_size=1), data=st.data(), categorical=st.booleans(),
       by=st.sampled_from(["owner", "stage", ["owner", "team"], ["stage", "owner"], None]),
       kind=st.sampled_from(sorted(SUMMARIES)))
def test_split_and_merge_gives_the_whole_in_the_same_key_order(rows, data, categorical, by,
                                                               kind):
    n = len(rows["id"])
    side = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    left = [i for i in range(n) if side[i]]
    right = [i for i in range(n) if not side[i]]
    summarize = SUMMARIES[kind]
    whole = summarize(_frame(rows, list(range(n)), categorical=categorical), by)
    parts = [summarize(_frame(rows, idx, categorical=categorical), by)
             for idx in (left, right) if idx]
    merged = parts[0] if len(parts) == 1 else parts[0] + parts[1]
    assert merged.keys == whole.keys
    if len(parts) == 2:
        assert (parts[1] + parts[0]).keys == whole.keys  # deterministic: either way round
    for name, array in whole.arrays.items():
        if isinstance(array, np.ndarray):
            assert np.array_equal(merged.arrays[name], array), name
        else:
            assert merged.arrays[name] == array, name


def test_merged_categorical_summary_keeps_the_category_order():
    frame = pd.DataFrame({
        "id": [1, 2, 3, 4], "amount": [1, 2, 3, 4],
        "stage": ["Closed won", "Closed lost", "Closed won", "Proposal"],
        "close_date": ["2024-01-01"] * 4,
        "owner": pd.Categorical(["zed", "amy", "mo", None], categories=["zed", "mo", "amy"]),
    })
    p = Pipeline.from_columns(frame)
    a, b = p.filter(np.array([True, False, False, True])), p.filter(np.array([0, 1, 1, 0], bool))
    for by in ("owner", "stage"):
        whole = summarize_outcomes(p, by=by, function="t")
        merged = summarize_outcomes(a, by=by, function="t") + summarize_outcomes(b, by=by,
                                                                                 function="t")
        assert merged.keys == whole.keys
    assert whole.keys == ("Proposal", "Closed won", "Closed lost")  # process order
