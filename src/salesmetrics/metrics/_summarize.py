"""Every summarize step of the metrics, together: pipeline in, mergeable `Summary` out.

A metric is *summarize → merge → finalize*: the functions here check the arguments they share
(the pipeline, ``by``, ``period``, ``view``), tally the selected deals with one vectorized pass
(`salesmetrics.metrics._tallies`, in row chunks on threads for large pipelines), and return a
`Summary` whose ``context`` holds what must agree for two summaries to add up. Summaries of parts
of a pipeline add up (``a + b``) to the summary of the whole, with the keys in the whole's order;
the metric modules hold the finalize steps.

==========================  ====================================  =============================
summary (``metric``)        behind                                tally
==========================  ====================================  =============================
``summarize_open``          weighted_pipeline, pipeline_value     `tally_open`
``summarize_outcomes``      win_rate, outcome_shares,             `tally_outcomes`
                            won_revenue, average_deal_size,
                            sales_cycle_length
``summarize_reached``       conversion_from_stage,                `tally_reached`
                            stage_conversion, funnel_counts
``summarize_reached_next``  stage_conversion (``"visited"``)      `tally_reached_next`
``summarize_velocity``      sales_velocity                        `tally_velocity`
==========================  ====================================  =============================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from salesmetrics import _kernels
from salesmetrics.domain.dates import MISSING_DAY
from salesmetrics.domain.period import Period, PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN
from salesmetrics.errors import AmountError, check_option
from salesmetrics.metrics._chunked import SMALL_ROWS, Arrays, amounts_fit, run_chunked
from salesmetrics.metrics._common import check_pipeline
from salesmetrics.metrics._summary import (
    Grouping,
    Summary,
    check_view,
    grouping,
    make_summary,
    normalize_by,
    resolve_period,
)
from salesmetrics.metrics._tallies import (
    tally_open,
    tally_outcomes,
    tally_reached,
    tally_reached_next,
    tally_velocity,
)
from salesmetrics.metrics.options import By, Opportunities, Skipped, View

__all__ = [
    "summarize_closed_before",
    "summarize_open",
    "summarize_outcomes",
    "summarize_reached",
    "summarize_reached_next",
    "summarize_velocity",
]


def _tally(function: str, p: Pipeline, g: Grouping, tally: Callable[..., Arrays], *args: Any,
           **kwargs: Any) -> Arrays:
    """`run_chunked`, with an `AmountError` that names the public metric."""
    try:
        return run_chunked(p, g, tally, *args, **kwargs)
    except AmountError as error:
        raise AmountError(f"{function}(): {error}") from None


def summarize_open(
    p: Pipeline, *, by: By = None, period: PeriodLike | None = None,
    function: str = "weighted_pipeline",
) -> Summary:
    """Open deals (expected to close in ``period``) by group × stage: the summary behind
    `weighted_pipeline` and `pipeline_value` (see `tally_open`)."""
    check_pipeline(function, p)
    g = grouping(p, normalize_by(function, by))
    chosen = resolve_period(function, period)
    if ("stage" in g.by and g.combos is None and len(p) > 2 * _kernels.CHUNK_ROWS
            and not p.has_probability_overrides and amounts_fit(p)):
        # The tally's own stage column is the stage field: tally by the other fields × stage
        # (block tables n_stages times smaller), then spread each row over its stages' groups.
        # Below two blocks, spreading costs more than it saves (100 deals: 56 against 48 µs).
        rest = grouping(p, tuple(f for f in g.by if f != "stage"))
        arrays = _by_stage(g, _tally(function, p, rest, tally_open, chosen), len(p.stages))
    else:
        arrays = _tally(function, p, g, tally_open, chosen)
    context = (p.stage_names, p.minor_unit, p.currency)
    return make_summary("open", g, arrays["count"].sum(axis=1), arrays, context)


def _by_stage(g: Grouping, arrays: Arrays, n_stages: int) -> Arrays:
    """`tally_open` arrays by (the fields of ``g`` but the stage) × stage, as arrays by the
    groups of ``g`` (a cross product including the stage) × stage: group (…, stage s, …) has the
    cell of stage s of its other fields' row, and zeros elsewhere."""
    widths = [len(c) for c in g.categories]
    at = g.by.index("stage")
    rest_widths = widths[:at] + widths[at + 1:]
    n_rest = int(np.prod(rest_widths, dtype=np.int64))
    rest, stage = np.divmod(np.arange(n_rest * n_stages, dtype=np.intp), n_stages)
    parts = list(np.unravel_index(rest, rest_widths)) if rest_widths else []
    parts.insert(at, stage)
    group = np.ravel_multi_index(tuple(parts), widths) if widths else stage
    out: Arrays = {}
    for name, array in arrays.items():
        if array.ndim == 2 and array.shape == (n_rest, n_stages):
            spread = np.zeros((g.n, n_stages), dtype=array.dtype)
            spread[group, stage] = array.reshape(-1)
            out[name] = spread
        elif name in ("override_hi", "override_lo"):  # no overrides: zeros per group
            out[name] = np.zeros(g.n, dtype=array.dtype)
        else:
            out[name] = array
    return out


def summarize_outcomes(
    p: Pipeline,
    *,
    by: By = None,
    period: PeriodLike | None = None,
    view: View = "period",
    function: str,
    stale_before: np.datetime64 | None = None,
    cycles: bool = False,
    histogram: bool = False,
) -> Summary:
    """Deals in the window by group × outcome: the summary behind win rates, won revenue, deal
    size and cycle length (see `tally_outcomes`)."""
    check_pipeline(function, p)
    check_view(function, view)
    g = grouping(p, normalize_by(function, by))
    arrays = _tally(function, p, g, tally_outcomes, resolve_period(function, period), view,
                    stale_before=stale_before, cycles=cycles, histogram=histogram)
    context = (p.minor_unit, p.currency, None if stale_before is None else str(stale_before),
               _process(p))
    return make_summary("outcomes", g, arrays["count"].sum(axis=1), arrays, context)


def _process(p: Pipeline) -> tuple[tuple[str, int], ...]:
    """The sales process as a summary's context holds it (each stage's name and outcome code):
    summaries of two processes do not add up, even where the tallies are by outcome (a stage
    named "Closed" may be won in one and lost in the other)."""
    return tuple(zip(p.stage_names, p._process.outcomes.tolist(), strict=True))


def summarize_reached(
    p: Pipeline,
    *,
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
    function: str = "conversion_from_stage",
) -> Summary:
    """Deals that reached each open stage, by group × stage × (open, won, closed not won) (see
    `tally_reached`)."""
    check_pipeline(function, p)
    check_option(function, "skipped", skipped, ("implied", "visited"))
    g = grouping(p, normalize_by(function, by))
    check_view(function, view)
    chosen = resolve_period(function, period)
    # Not needed for correctness (a chunk view carries its history and would build its own
    # bits): built once here, the chunks share slices of it instead of each recomputing them.
    p.reached_mask()
    arrays = _tally(function, p, g, tally_reached, chosen, view, skipped)
    context = (p.open_stage_names, p.won_stage_name, p.minor_unit, skipped, p.currency)
    return make_summary("reached", g, arrays["deals"], arrays, context)


def summarize_reached_next(
    p: Pipeline, reached: Summary, period: Period | None, view: str,
    function: str = "stage_conversion",
) -> Summary:
    """For ``skipped="visited"``: deals that entered both open stage *k* and *k + 1*, by group ×
    *k*, with the groups of ``reached`` (the `summarize_reached` summary of the same call)."""
    g = grouping(p, reached.by)
    # Not needed for correctness (a chunk view carries its history and would build its own
    # bits): built once here, the chunks share slices of it instead of each recomputing them.
    p.reached_mask()
    arrays = _tally(function, p, g, tally_reached_next, period, view)
    return make_summary("reached_next", g, arrays["deals"], arrays, reached.context)


def summarize_velocity(
    p: Pipeline, *, period: PeriodLike | None = None, by: By = None,
    opportunities: Opportunities = "all", view: View = "period",
    stale_before: np.datetime64 | None = None,
) -> Summary:
    """Deals closed (or created) in the period by group × outcome with their cycles, plus N per
    group (see `tally_velocity`); with ``stale_before``, the open deals created before that day
    (the win rate W's ``stale_after``)."""
    function = "sales_velocity"
    check_pipeline(function, p)
    check_option(function, "opportunities", opportunities, ("all", "created", "open", "closed"))
    check_view(function, view)
    g = grouping(p, normalize_by(function, by))
    chosen = resolve_period(function, period)
    arrays = _tally(function, p, g, tally_velocity, chosen, opportunities, view,
                    stale_before=stale_before)
    present = arrays["count"].sum(axis=1) + arrays["opportunities"]
    context = (p.minor_unit, p.currency, opportunities,
               None if stale_before is None else str(stale_before), _process(p))
    return make_summary("velocity", g, present, arrays, context)


def summarize_closed_before(p: Pipeline, period: Period, by: By) -> Summary | None:
    """The ``outcomes`` summary of ``win_rate(closed_before(p, period), by=by)`` (the history
    behind coverage and plans) without building the filtered pipeline: tallied over the rows
    of ``p`` closed before the period starts, whose groups keep their categories (so the same
    keys and order). Only for a pipeline of one small block (`SMALL_ROWS`) with bounded
    amounts, grouped by at most one field; else None (filter, then `win_rate`)."""
    if len(p) > SMALL_ROWS or not (by is None or isinstance(by, str)) or not p.amounts_below_2_53:
        return None
    g = grouping(p, normalize_by("win_rate", by))
    days = p._days("close_date")
    start = np.int32(int(period.bounds64[0].astype(np.int64)))
    rows = ((p.outcome_codes != OPEN) & (days < start) & (days != MISSING_DAY)).nonzero()[0]
    arrays = tally_outcomes(p, g, None, "period", within=rows)
    return make_summary("outcomes", g, arrays["count"].sum(axis=1), arrays,
                        (p.minor_unit, p.currency, None))
