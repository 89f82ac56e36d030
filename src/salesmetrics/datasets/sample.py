"""A synthetic B2B CRM: 2,000 deals over two years, 12 owners in three teams, with stage history.

Generated from a fixed seed when first asked for (never at import) and cached: the same call always
gives an equal pipeline. Everything is vectorized over deals; the loop runs over the five stages.

What is in it, so that every metric has something to show:

- deals created from 2023-01-02 to 2024-12-20; the export's snapshot day is ``SAMPLE_AS_OF``
  (2024-12-31): deals whose story ends later are still open in the stage they had reached;
- owners differ in skill, teams (Enterprise, Mid-market, SMB) in deal size and cycle length;
- about 1 deal in 30 skips a stage (so ``skipped="visited"`` differs from ``"implied"``);
- about 4 % of closed deals end without a decision;
- stale open deals that stopped moving months ago, open deals without an amount (early stages)
  or without an expected close date, and per-deal probability overrides on a few;
- a ``forecast_category`` per deal, as a rep sets it in Salesforce: open deals mostly Pipeline
  early, Best Case in Proposal and Commit in Negotiation, a few Omitted; closed deals take their
  stage's (Closed when won, Omitted otherwise). It is drawn from a generator of its own, so the
  other columns are those of the sample before it had categories;
- a quarterly quota per owner, `SAMPLE_QUOTAS` [USD].
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import DEFAULT_STAGES, Outcome, Stage

__all__ = ["SAMPLE_AS_OF", "SAMPLE_QUOTAS", "SAMPLE_STAGES", "sample_pipeline"]

#: The sample's sales process: the default stages plus a no-decision outcome.
SAMPLE_STAGES: tuple[Stage, ...] = (*DEFAULT_STAGES, Stage("No decision", 0.0, Outcome.NO_DECISION))
#: The day the sample was "exported": open deals are open as of this day.
SAMPLE_AS_OF = dt.date(2024, 12, 31)

_SEED = 20240601
# The forecast categories' own generator, seeded from the seed: the other columns stay as they were.
_CATEGORY_SEED = (_SEED, 1)
_CATEGORIES = ("Pipeline", "Best Case", "Commit", "Omitted")
# Per open stage: the chance of each of _CATEGORIES (a rep's call, firmer late in the funnel).
_CATEGORY_CHANCES = (
    (0.90, 0.00, 0.00, 0.10), (0.85, 0.05, 0.00, 0.10), (0.60, 0.30, 0.05, 0.05),
    (0.20, 0.50, 0.25, 0.05), (0.05, 0.25, 0.65, 0.05),
)  # fmt: skip
_N = 2000
_OWNERS = (
    ("Ava Patel", "Enterprise", 1.15), ("Ben Okafor", "Enterprise", 0.95),
    ("Chloe Martin", "Enterprise", 1.05), ("Diego Santos", "Enterprise", 0.85),
    ("Elena Rossi", "Mid-market", 1.10), ("Farid Haddad", "Mid-market", 1.00),
    ("Grace Kim", "Mid-market", 0.90), ("Hugo Weber", "Mid-market", 1.05),
    ("Ines Duarte", "SMB", 1.00), ("Jonas Berg", "SMB", 1.20),
    ("Kira Novak", "SMB", 0.80), ("Liam Byrne", "SMB", 0.95),
)  # fmt: skip
# Per team: median deal [USD], lognormal sigma, mean days per stage.
_TEAMS = {"Enterprise": (60_000, 0.6, 24.0), "Mid-market": (18_000, 0.5, 14.0),
          "SMB": (4_000, 0.5, 7.0)}  # fmt: skip
SAMPLE_QUOTAS: dict[str, float] = {
    name: {"Enterprise": 300_000.0, "Mid-market": 100_000.0, "SMB": 25_000.0}[team]
    for name, team, _ in _OWNERS
}
"""Each owner's quota for a quarter [USD], for `quota_attainment`: 300,000 in Enterprise, 100,000
in Mid-market and 25,000 in SMB (about what the team's owners win in a quarter), 1,700,000 in all.

>>> from salesmetrics import quota_attainment
>>> r = quota_attainment(sample_pipeline(), quotas=SAMPLE_QUOTAS, period="2024-Q4")
>>> r["Ava Patel"].quota, round(r["Ava Patel"].attainment, 3)
(300000.0, 0.983)
"""
_SOURCES = ("Inbound", "Outbound", "Partner", "Event")
_SOURCE_WEIGHTS = (0.4, 0.3, 0.2, 0.1)
# Chance to move on from each open stage to the next (the last: to win).
_ADVANCE = (0.88, 0.75, 0.68, 0.72, 0.78)


@functools.lru_cache(maxsize=1)
def sample_pipeline() -> Pipeline:
    """The bundled sample pipeline (deterministic; see the module docstring for its contents).

    Returns
    -------
    Pipeline
        2,000 deals in USD with fields ``owner``, ``team``, ``source``, ``segment``,
        ``forecast_category`` and a stage history, over `SAMPLE_STAGES`.
    """
    rng = np.random.default_rng(_SEED)
    n = _N
    start = np.datetime64("2023-01-02")
    span = int((np.datetime64("2024-12-20") - start).astype(int))
    created = start + np.sort(rng.integers(0, span, n)).astype("timedelta64[D]")
    owner_idx = rng.integers(0, len(_OWNERS), n)
    owners = np.array([o[0] for o in _OWNERS], dtype=object)[owner_idx]
    teams = np.array([o[1] for o in _OWNERS], dtype=object)[owner_idx]
    skill = np.array([o[2] for o in _OWNERS])[owner_idx]
    median = np.array([_TEAMS[str(t)][0] for t in teams], dtype=float)
    sigma = np.array([_TEAMS[str(t)][1] for t in teams], dtype=float)
    pace = np.array([_TEAMS[str(t)][2] for t in teams], dtype=float)
    amount = np.round(median * np.exp(sigma * rng.standard_normal(n)), -1)
    amount = np.where(rng.random(n) < 0.3, amount + np.round(rng.random(n), 2), amount)
    source = np.array(_SOURCES, dtype=object)[rng.choice(len(_SOURCES), n, p=_SOURCE_WEIGHTS)]
    segment = np.where(amount >= 50_000, "Large", np.where(amount >= 10_000, "Medium", "Small"))

    as_of = np.datetime64(SAMPLE_AS_OF)
    n_open = 5
    stage = np.zeros(n, dtype=np.intp)  # current open stage while the deal moves
    day = created.copy()
    alive = np.ones(n, dtype=bool)  # still moving through the funnel
    outcome = np.zeros(n, dtype=np.intp)  # index into SAMPLE_STAGES once closed
    close = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    stalled = rng.random(n) < 0.06  # deals that stop moving and go stale
    hist_id, hist_stage, hist_date = [np.arange(n)], [np.zeros(n, np.intp)], [created]
    for k in range(n_open):
        wait = np.ceil(rng.exponential(pace, n)).astype(int) + 1
        wait[stalled & (k >= 1)] += 400
        next_day = day + wait.astype("timedelta64[D]")
        alive &= next_day <= as_of  # the export came first: still open in stage k
        advance = rng.random(n) < np.clip(np.array(_ADVANCE[k]) * skill, 0, 0.97)
        fall = alive & ~advance
        outcome[fall] = np.where(rng.random(n)[fall] < 0.04, 7, 6)
        close[fall] = next_day[fall]
        alive &= advance
        if k == n_open - 1:
            outcome[alive] = 5
            close[alive] = next_day[alive]
        else:
            stage[alive] = k + 1
            day = np.where(alive, next_day, day)
        moved = np.flatnonzero(fall | alive)
        hist_id.append(moved)
        hist_stage.append(np.where(alive[moved], k + 1, outcome[moved]))
        hist_date.append(next_day[moved])

    is_open = outcome == 0
    stage_code = np.where(is_open, stage, outcome)
    expected = created + np.ceil(pace * 6 * rng.uniform(0.7, 1.5, n)).astype("timedelta64[D]")
    close = np.where(is_open, expected, close)
    close[is_open & (rng.random(n) < 0.05)] = np.datetime64("NaT")
    amount[is_open & (stage_code <= 1) & (rng.random(n) < 0.15)] = np.nan
    probability = np.full(n, np.nan)
    override = is_open & (rng.random(n) < 0.05)
    probability[override] = np.round(rng.uniform(0.1, 0.9, int(override.sum())), 2)

    ids = np.array([f"OPP-{i:05d}" for i in range(1, n + 1)])
    names = np.array([s.name for s in SAMPLE_STAGES], dtype=object)
    events_id = np.concatenate(hist_id)
    events_stage = np.concatenate(hist_stage)
    # About 1 deal in 30 skipped a middle stage: drop that stage's event when the deal went past it.
    furthest = np.where(outcome == 5, n_open, stage)
    skipped = (events_stage >= 1) & (events_stage <= 3) & (events_stage < furthest[events_id])
    keep = ~(skipped & (rng.random(len(events_id)) < 0.03))
    data = {
        "id": ids,
        "amount": amount,
        "stage": names[stage_code],
        "created": created,
        "close_date": close,
        "owner": owners,
        "probability": probability,
        "team": teams,
        "source": source,
        "segment": segment,
        "forecast_category": _forecast_categories(stage_code, is_open),
    }
    history = {
        "id": ids[events_id[keep]],
        "stage": names[events_stage[keep]],
        "date": np.concatenate(hist_date)[keep],
    }
    return Pipeline.from_columns(
        data, SAMPLE_STAGES, currency="USD", history=history,
        columns={"team": "team", "source": "source", "segment": "segment",
                 "forecast_category": "forecast_category"},
    )


def _forecast_categories(
    stage_code: npt.NDArray[np.intp], is_open: npt.NDArray[np.bool_]
) -> npt.NDArray[np.object_]:
    """Each deal's forecast category: drawn by open stage from `_CATEGORY_CHANCES` (its own
    generator), and the stage's own for a closed deal."""
    rng = np.random.default_rng(_CATEGORY_SEED)
    cumulative = np.cumsum(np.array(_CATEGORY_CHANCES), axis=1)
    open_stage = np.where(is_open, stage_code, 0)
    drawn = (rng.random(len(stage_code))[:, None] >= cumulative[open_stage, :-1]).sum(axis=1)
    closed = np.array([s.forecast_category or "" for s in SAMPLE_STAGES], dtype=object)
    return np.where(is_open, np.array(_CATEGORIES, dtype=object)[drawn], closed[stage_code])
