"""The summarize steps: one vectorized pass over the selected deals, per-group integer tallies out.

Every tally keys deals by one dense integer (``group * width + column``) and counts or sums them
with `bincount`; ratios are left to the metrics' finalize steps. Large pipelines are
tallied in row chunks on worker threads (`run_chunked`): tallies of parts add up to the tally
of the whole, which is the same property that lets summaries of split pipelines merge.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import (
    DayCounts,
    bit_length,
    exact_products,
    group_count,
    group_sum,
    take,
)
from salesmetrics.domain.columns import readonly
from salesmetrics.domain.dates import MISSING_DAY
from salesmetrics.domain.period import Period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import LOST, NO_DECISION, OPEN, WON, Outcome
from salesmetrics.metrics._chunked import Arrays, Rows, amount_error, amounts_fit, run_chunked
from salesmetrics.metrics._summary import (
    Grouping,
    day_bounds,
    grouping,
    in_period,
    rows_of,
    window_mask,
)

__all__ = [
    "N_OUTCOMES",
    "amount_error",
    "amounts_fit",
    "cycle_day_span",
    "reached_open_stages",
    "run_chunked",
    "tally_in_play",
    "tally_open",
    "tally_outcomes",
    "tally_outside",
    "tally_reached",
    "tally_reached_next",
    "tally_velocity",
]

IntArray = npt.NDArray[np.intp]
#: What a tally reads: a pipeline, or a block of its rows (`Rows`).
Deals = Pipeline | Rows
#: Columns of an outcome tally: one per `Outcome` (open, won, lost, no decision).
N_OUTCOMES = len(Outcome)
#: `outcome_keys` are remembered from this many deals on.
_KEYS_FROM_ROWS = 1024


def _combined(g: Grouping, rows: IntArray | None, column: IntArray, width: int) -> IntArray:
    """``group * width + column`` for the selected rows (``column`` alone when not grouped)."""
    if not g.by:
        return column
    return g.take_keys(rows) * width + column


def _group_keys(g: Grouping, rows: IntArray | None) -> IntArray | None:
    """The group codes (intp) of the selected rows, None when not grouped."""
    return g.take_keys(rows) if g.by else None


def _whole(p: Deals) -> Pipeline:
    return p.pipeline if isinstance(p, Rows) else p


def has_missing(p: Deals, field: Literal["created", "close_date"]) -> bool:
    """False if no deal of ``p``'s whole pipeline lacks this date (remembered per pipeline)."""
    whole = _whole(p)

    def compute() -> bool:
        return bool(len(whole)) and int(whole._days(field).min()) == MISSING_DAY

    missing: bool = whole._cached(f"missing_{field}", compute)
    return missing


def is_open(p: Deals) -> npt.NDArray[np.bool_]:
    """True for open deals: their stage comes before every closed stage."""
    return p.stage_codes < p.n_open_stages


def open_rows(p: Deals) -> IntArray:
    """The rows of the open deals, in order: remembered per pipeline (like its outcome codes),
    so that the open-pipeline tallies read the open deals' columns only, with no pass over
    every deal's stage. A block of rows takes its part of the whole pipeline's."""
    whole = _whole(p)

    rows: IntArray = whole._cached("open_rows", lambda: is_open(whole).nonzero()[0])
    if not isinstance(p, Rows):
        return rows
    lo, hi = np.searchsorted(rows, (p.start, p.start + len(p)))
    return rows[lo:hi] - p.start


def outcome_keys(p: Deals, g: Grouping) -> npt.NDArray[np.signedinteger[Any]] | None:
    """Per deal, ``group * N_OUTCOMES + outcome`` for the grouping ``g``, in int16 while it
    fits (int32 else): remembered per pipeline and fields, a per-row fact like the outcome
    codes (2 bytes per deal up to 8,192 groups). None when not grouped, for a grouping that
    numbers the combinations that occur, or past 2**31 cells, or for a pipeline under
    `_KEYS_FROM_ROWS` deals (building the per-row keys costs more than the gathers they save:
    100 deals, velocity by owner 83 → 77 µs on its first call)."""
    cells = g.n * N_OUTCOMES
    if not g.by or g.combos is not None or cells >= 2**31:
        return None
    whole = _whole(p)
    if len(whole) < _KEYS_FROM_ROWS:
        return None
    dtype = np.int16 if cells <= 2**15 else np.int32

    def compute() -> npt.NDArray[np.signedinteger[Any]]:
        keys = grouping(whole, g.by).take_keys(None) * N_OUTCOMES + whole.outcome_codes
        return readonly(keys.astype(dtype))

    keys = whole._cached("outcome_keys " + "|".join(g.by), compute)
    return keys[p.start:p.start + len(p)] if isinstance(p, Rows) else keys


def tally_outside(p: Deals, period: Period | None, view: str) -> Arrays:
    """The deals that no window of ``view`` holds for want of a date (see `OUTSIDE_COUNTS`):
    with a period, ``no_close`` (open deals without an expected close date) for the period view
    and ``no_created`` (deals without a created date) for the cohort view; nothing without one.
    Free when the pipeline has no missing date of that kind (the usual case).
    """
    if period is None:
        return {}
    field: Literal["created", "close_date"] = "created" if view == "cohort" else "close_date"
    count = 0
    if has_missing(p, field):
        missing = p._days(field) == MISSING_DAY
        count = int(np.count_nonzero(missing if view == "cohort" else missing & is_open(p)))
    return {"no_created" if view == "cohort" else "no_close": np.array([count], dtype=np.int64)}


def tally_open(p: Deals, g: Grouping, period: Period | None) -> Arrays:
    """Open deals (expected to close in ``period``) by group × stage: ``count``, ``amount``
    [minor units], ``valued`` (deals with an amount); ``amount_default`` [minor units] of the
    deals without their own probability, and ``override_hi`` and ``override_lo``: the exact
    Σ amount × own probability of the others [minor units × 10**-9] in two int64 limbs
    (`exact_products`); with a period, ``no_close`` (`tally_outside`)."""
    rows = open_rows(p)
    if period is not None:
        rows = rows[in_period(p._days("close_date").take(rows), period)]
    ns = len(p.stages)
    keys = _combined(g, rows, p.stage_codes.take(rows), ns)
    cells = g.n * ns
    amount = p.amount_minor.take(rows)
    bounded = p.amounts_below_2_53
    count = group_count(keys, cells).reshape(g.n, ns)
    out: Arrays = {
        "count": count,
        "amount": group_sum(keys, cells, amount, bounded=bounded).reshape(g.n, ns),
        "valued": count if not p.has_missing_amounts else (
            count - group_count(keys[p.amount_missing.take(rows)], cells).reshape(g.n, ns)),
    }
    if p.has_probability_overrides:
        prob = p.probability.take(rows)
        own = ~np.isnan(prob)
        group_keys = _group_keys(g, rows[own])
        default = group_sum(keys[~own], cells, amount[~own], bounded=bounded)
        out["amount_default"] = default.reshape(g.n, ns)
        out["override_hi"], out["override_lo"] = exact_products(
            group_keys, g.n, amount[own], prob[own])
    else:
        out["amount_default"] = out["amount"]
        out["override_hi"] = out["override_lo"] = np.zeros(g.n, dtype=np.int64)
    out.update(tally_outside(p, period, "period"))
    return out


def tally_outcomes(
    p: Deals,
    g: Grouping,
    period: Period | None,
    view: str,
    *,
    stale_before: np.datetime64 | None = None,
    cycles: bool = False,
    histogram: bool = False,
    within: IntArray | None = None,
) -> Arrays:
    """Deals in the window (see `window_mask`; or, without a period, the rows ``within`` if
    given) by group × outcome (open, won, lost, no decision).

    ``count``, ``value`` [minor units] and ``valued`` (deals with an amount); with a period, the
    deals outside every window (`tally_outside`); with ``stale_before``, ``stale_count``,
    ``stale_value`` and ``stale_valued`` of open deals created before that day, and
    ``never_stale``, the open deals without a created date (they never age);
    with ``cycles``, the cycle length created → close [days] of closed deals: ``cycle_count``,
    ``cycle_sum``, ``cycle_negative`` (close before created: left out), ``cycle_unknown`` (no
    created date: left out) and, with ``histogram``, ``cycle_hist``: a sparse `DayCounts`
    [group, outcome] of days (memory: at most one entry per deal, whatever the span of dates).
    """
    rows = within if period is None and within is not None else rows_of(
        window_mask(p, period, view))
    remembered = outcome_keys(p, g)
    if remembered is None:
        outcome = take(p.outcome_codes, rows)
        keys = _combined(g, rows, outcome, N_OUTCOMES)
    else:  # one gather of a narrow key instead of the group codes and the outcomes
        keys = take(remembered, rows)
        outcome = keys % N_OUTCOMES if stale_before is not None or cycles else keys
    cells = g.n * N_OUTCOMES
    shape = (g.n, N_OUTCOMES)
    count = group_count(keys, cells).reshape(shape)
    amount = take(p.amount_minor, rows)
    out: Arrays = {
        "count": count,
        "value": group_sum(keys, cells, amount, bounded=p.amounts_below_2_53).reshape(shape),
    }
    missing = take(p.amount_missing, rows) if p.has_missing_amounts else None
    out["valued"] = count if missing is None else (
        count - group_count(keys[missing], cells).reshape(shape))
    if stale_before is not None:
        stale = (outcome == OPEN) & (take(p.created, rows) < stale_before)
        group_keys = _group_keys(g, rows)
        stale_keys = None if group_keys is None else group_keys[stale]
        out["stale_count"] = group_count(stale_keys, g.n, int(np.count_nonzero(stale)))
        out["stale_value"] = group_sum(stale_keys, g.n, amount[stale],
                                       bounded=p.amounts_below_2_53)
        out["stale_valued"] = out["stale_count"]
        if missing is not None:
            stale_missing = stale & missing
            missing_keys = None if group_keys is None else group_keys[stale_missing]
            out["stale_valued"] = out["stale_count"] - group_count(
                missing_keys, g.n, int(np.count_nonzero(stale_missing)))
        ageless = (outcome == OPEN) & np.isnat(take(p.created, rows))
        out["never_stale"] = group_count(None if group_keys is None else group_keys[ageless],
                                         g.n, int(np.count_nonzero(ageless)))
    if cycles:
        out.update(_tally_cycles(p, keys, rows, outcome, count, histogram))
    out.update(tally_outside(p, period, view))
    return out


def cycle_day_span(
    close_date: npt.NDArray[np.datetime64], created: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.int64]:
    """Whole days created → close, per deal: the cycle length that the cycle metrics count.

    Only deals with ``days >= 0`` count: a missing date (NaT) becomes the most negative int64,
    so the same test drops deals without a created or close date and deals closed before they
    were created.
    """
    return (close_date - created).astype(np.int64)


def _tally_cycles(
    p: Deals, keys: IntArray, rows: IntArray | None, outcome: IntArray,
    count: npt.NDArray[np.int64], histogram: bool,
) -> Arrays:
    shape = count.shape
    cells = count.size
    created = take(p._days("created"), rows)
    # As cycle_day_span: whole days close - created, counted where >= 0; in int64, so that a
    # missing close date (the smallest int32) stays negative.
    days = take(p._days("close_date"), rows).astype(np.int64)
    days -= created
    closed = outcome != OPEN
    valid = closed & (days >= 0)
    unknown = np.zeros(shape, np.int64)
    if has_missing(p, "created"):
        no_date = closed & (created == MISSING_DAY)
        valid &= ~no_date
        unknown = group_count(keys.take(no_date.nonzero()[0]), cells).reshape(shape)
    valid = valid.nonzero()[0]
    valid_keys, valid_days = keys.take(valid), days.take(valid)
    cycle_count = group_count(valid_keys, cells).reshape(shape)
    left_out = count - cycle_count
    left_out[:, OPEN] = 0
    out: Arrays = {
        "cycle_count": cycle_count,
        "cycle_sum": group_sum(valid_keys, cells, valid_days).reshape(shape),
        "cycle_negative": left_out - unknown,
        "cycle_unknown": unknown,
    }
    if histogram:
        out["cycle_hist"] = DayCounts.tally(shape[0], shape[1], valid_keys, valid_days)
    return out


def tally_velocity(
    p: Deals, g: Grouping, period: Period | None, opportunities: str, view: str = "period",
    *, stale_before: np.datetime64 | None = None,
) -> Arrays:
    """The outcome tally of the deals in the window with their cycles (`tally_outcomes`, with
    ``stale_before`` for the win rate's ``stale_after``), plus ``opportunities``: the N of the
    velocity equation per group (every deal when there is no period; else see
    `tally_in_play`), and ``no_created`` when N is the deals created in the period."""
    out = tally_outcomes(p, g, period, view, stale_before=stale_before, cycles=True)
    if period is None:
        out["opportunities"] = group_count(_group_keys(g, None), g.n, len(p))
    else:
        out.update(tally_in_play(p, g, period, opportunities))
        if opportunities == "created":
            out.update(tally_outside(p, period, "cohort"))
    return out


def tally_in_play(p: Deals, g: Grouping, period: Period, opportunities: str) -> Arrays:
    """``opportunities``: deals per group that are the N of the velocity equation in ``period``.

    ``"all"``: created before its end (or no created date) and not closed before its start;
    ``"open"``: the same at its start; ``"created"``: created in it; ``"closed"``: closed in it.
    """
    created = p._days("created")
    if opportunities == "created":
        chosen = in_period(created, period)
    elif opportunities == "closed":
        chosen = in_period(p._days("close_date"), period) & ~is_open(p)
    else:
        # A missing created date is the smallest day: it is "created before" any day.
        start, _, end = day_bounds(period)
        chosen = created < (end if opportunities == "all" else start)
        chosen &= is_open(p) | (p._days("close_date") >= start)
    rows = chosen.nonzero()[0]
    remembered = outcome_keys(p, g)
    keys = _group_keys(g, rows) if remembered is None else remembered.take(rows) // N_OUTCOMES
    return {"opportunities": group_count(keys, g.n, len(rows))}


def reached_open_stages(p: Deals, rows: IntArray | None, skipped: str) -> IntArray:
    """Per selected deal, the bitmask of open stages it reached.

    From the stage history and the current stage (``Pipeline.reached_mask``), restricted to the
    open stages. ``skipped="implied"`` also sets every stage before the furthest one reached, and
    every open stage for a won deal. A deal with no open stage on record counts as having entered
    the first one.
    """
    n_open = p.n_open_stages
    raw = take(p.reached_mask(), rows)
    if n_open <= _TABLE_STAGES:  # one gather from the table of every mask
        masks = _reach_table(n_open, skipped).take(raw)
    else:
        masks = _reach_rule(raw.astype(np.intp), skipped)
    if skipped == "implied":
        masks[take(p.outcome_codes, rows) == WON] = max((1 << n_open) - 1, 1)
    return masks


def _reach_rule(masks: IntArray, skipped: str) -> IntArray:
    """The reach rules of `reached_open_stages` on reached-stage bits, but for won deals:
    ``"implied"`` sets every stage before the furthest one reached; no stage becomes the
    first."""
    if skipped == "implied":
        masks = np.left_shift(1, bit_length(masks)) - 1
    return np.maximum(masks, 1)


#: Up to this many open stages, `_reach_rule` is a table of every mask (2**16 entries at most).
_TABLE_STAGES = 16


@functools.cache
def _reach_table(n_open: int, skipped: str) -> IntArray:
    """`_reach_rule` of every mask of ``n_open`` stages, indexed by the mask (read-only)."""
    return readonly(_reach_rule(np.arange(1 << n_open, dtype=np.intp), skipped))


@functools.cache
def _stage_bits(n_open: int) -> npt.NDArray[np.int64]:
    """``[stage, mask]`` matrix: 1 where bit ``stage`` is set in ``mask``."""
    masks = np.arange(1 << n_open)
    return ((masks[None, :] >> np.arange(n_open)[:, None]) & 1).astype(np.int64)


# Outcome code → class of the reach tally: 0 still open, 1 won, 2 closed without a win.
_REACH_CLASS = np.zeros(N_OUTCOMES, dtype=np.intp)
_REACH_CLASS[WON] = 1
_REACH_CLASS[[LOST, NO_DECISION]] = 2
_MAX_MASK_CELLS = 1 << 22


def tally_reached(
    p: Deals, g: Grouping, period: Period | None, view: str, skipped: str
) -> Arrays:
    """Deals in the window that reached each open stage, by group × stage × class (open, won,
    closed not won): ``count`` and ``value`` [minor units]. Per group × class: ``classes`` (deals)
    and ``classes_valued`` (those with an amount); per group: ``deals``, ``won_count``,
    ``won_value``, and ``unrecorded`` and ``unrecorded_won``, the closed deals not won and the
    won deals with no open stage on record (the reach rules count them as having entered the
    first stage only; a won deal, under ``"visited"`` only). With a period, the deals outside
    every window (`tally_outside`).

    One bincount over ``(group, stage mask, class)`` gives a histogram of masks; a small product
    with the stage × mask bit matrix turns it into per-stage counts (no loop over deals or stages).
    """
    rows = rows_of(window_mask(p, period, view))
    n_open = p.n_open_stages
    masks = reached_open_stages(p, rows, skipped)
    cls = _REACH_CLASS[take(p.outcome_codes, rows)]
    class_keys = _combined(g, rows, cls, 3)
    amount = take(p.amount_minor, rows)
    bounded = p.amounts_below_2_53
    n_masks = 1 << n_open
    if g.n * n_masks * 3 <= _MAX_MASK_CELLS:
        keys = _combined(g, rows, masks * 3 + cls, n_masks * 3)
        cells = g.n * n_masks * 3
        hist = group_count(keys, cells).reshape(g.n, n_masks, 3)
        value = group_sum(keys, cells, amount, bounded=bounded).reshape(g.n, n_masks, 3)
        stage_of_mask = _stage_bits(n_open)  # [stage, mask]: 1 where the mask has the stage
        count = stage_of_mask @ hist
        total = stage_of_mask @ value
    else:  # many groups and stages: one pass per stage instead
        count = np.zeros((g.n, n_open, 3), np.int64)
        total = np.zeros((g.n, n_open, 3), np.int64)
        for s in range(n_open):
            hit = ((masks >> s) & 1).astype(bool)
            count[:, s] = group_count(class_keys[hit], g.n * 3).reshape(g.n, 3)
            total[:, s] = group_sum(class_keys[hit], g.n * 3, amount[hit],
                                    bounded=bounded).reshape(g.n, 3)
    classes = group_count(class_keys, g.n * 3).reshape(g.n, 3)
    classes_valued = classes
    if p.has_missing_amounts:
        missing = take(p.amount_missing, rows)
        classes_valued = classes - group_count(class_keys[missing], g.n * 3).reshape(g.n, 3)
    group_keys = _group_keys(g, rows)
    won = cls == 1
    unknown = take(p.reached_mask(), rows) == 0
    unrecorded = (cls == 2) & unknown
    unrecorded_won = won & unknown
    return {
        "count": count,
        "value": total,
        "classes": classes,
        "classes_valued": classes_valued,
        "deals": classes.sum(axis=1),
        "won_count": classes[:, 1].copy(),
        "won_value": group_sum(None if group_keys is None else group_keys[won], g.n, amount[won],
                               bounded=bounded),
        "unrecorded": group_count(None if group_keys is None else group_keys[unrecorded], g.n,
                                  int(np.count_nonzero(unrecorded))),
        "unrecorded_won": group_count(None if group_keys is None else group_keys[unrecorded_won],
                                      g.n, int(np.count_nonzero(unrecorded_won))),
        **tally_outside(p, period, view),
    }


def tally_reached_next(p: Deals, g: Grouping, period: Period | None, view: str) -> Arrays:
    """Deals in the window whose visited stages include both open stage *k* and *k + 1*, by
    group × *k*: ``count`` and ``value`` [minor units]; ``deals`` per group.

    A deal's stages are a bitmask, so "both" is ``mask & (mask >> 1)``; one vectorized step per
    stage (a handful), never per deal.
    """
    rows = rows_of(window_mask(p, period, view))
    both = reached_open_stages(p, rows, "visited")
    both = both & (both >> 1)
    amount = take(p.amount_minor, rows)
    keys = _group_keys(g, rows)
    pairs = max(p.n_open_stages - 1, 0)
    count = np.zeros((g.n, pairs), np.int64)
    value = np.zeros((g.n, pairs), np.int64)
    for k in range(pairs):
        hit = ((both >> k) & 1).astype(bool)
        hit_keys = None if keys is None else keys[hit]
        count[:, k] = group_count(hit_keys, g.n, int(np.count_nonzero(hit)))
        value[:, k] = group_sum(hit_keys, g.n, amount[hit], bounded=p.amounts_below_2_53)
    return {"count": count, "value": value,
            "deals": group_count(keys, g.n, len(both))}
