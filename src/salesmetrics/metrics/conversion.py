"""Conversion: from each stage to a win, from stage to stage, and the funnel counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import check_option
from salesmetrics.metrics._common import check_pipeline, check_zero_division, divide, result
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._options import Basis, By, Skipped, View
from salesmetrics.metrics._summary import (
    Summary,
    check_view,
    grouping,
    make_summary,
    normalize_by,
    resolve_period,
)
from salesmetrics.metrics._tallies import run_chunked, tally_reached

__all__ = ["conversion_from_stage", "funnel_counts", "stage_conversion", "summarize_reached"]

StageRates = GroupedResult[float]


def summarize_reached(
    p: Pipeline,
    *,
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
    function: str = "conversion_from_stage",
) -> Summary:
    """Deals that reached each open stage, by group × stage × (open, won, closed not won)."""
    check_pipeline(function, p)
    check_option(function, "skipped", skipped, ("implied", "visited"))
    g = grouping(p, normalize_by(function, by))
    check_view(function, view)
    chosen = resolve_period(function, period)
    p.reached_mask()  # built once, before the chunks share it
    arrays = run_chunked(p, g, tally_reached, chosen, view, skipped)
    context = (p.open_stage_names, p.won_stage_name, p.minor_unit, skipped)
    return make_summary("reached", g, arrays["deals"], arrays, context)


def _per_stage(summary: Summary, table: npt.NDArray[np.float64], name: str,
               names: tuple[str, ...]) -> StageRates | GroupedResult[StageRates]:
    per_group = [GroupedResult(("stage",), names, row.tolist(), name=name) for row in table]
    return result(summary, per_group, name)  # type: ignore[return-value]


@overload
def conversion_from_stage(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: None = None,
    zero_division: float = ...,
) -> StageRates: ...
@overload
def conversion_from_stage(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: str | Sequence[str],
    zero_division: float = ...,
) -> GroupedResult[StageRates]: ...
@overload
def conversion_from_stage(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: By = ...,
    zero_division: float = ...,
) -> StageRates | GroupedResult[StageRates]: ...
def conversion_from_stage(
    p: Pipeline,
    *,
    basis: Basis = "unit",
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
    zero_division: float = math.nan,
) -> StageRates | GroupedResult[StageRates]:
    r"""Pipeline conversion rate: from each open stage, the share of deals that went on to win.

    $$
    c_k = \frac{n_\text{won, reached } k}{n_\text{closed, reached } k}
    $$

    over the closed deals in the window (open deals have no outcome yet); with ``basis="value"``,
    amounts instead of counts. No-decision outcomes count as not won.

    Parameters
    ----------
    p
        The pipeline. "Reached" comes from its stage history; without history, a deal's current
        stage implies the stages before it.
    basis
        ``"unit"`` (deal counts) or ``"value"`` (amounts).
    skipped
        ``"implied"`` (default): reaching a later stage implies passing the earlier ones, and a
        won deal passed every open stage; this is Odoo's rule and that of stage-probability
        calibration in Salesforce and HubSpot reports. ``"visited"``: only stages actually entered
        (in the history) count, for processes where skipping a stage means something. A closed
        deal with no open stage on record counts as having entered the first stage.
    period, view
        The window, as in `win_rate`: deals closed in the period (``view="period"``) or
        created in it (``view="cohort"``).
    by
        Field name(s) to group by.
    zero_division
        The rate for a stage that no closed deal reached (default nan).

    Returns
    -------
    GroupedResult
        Rate [fraction] keyed by open stage name, in funnel order; with ``by``, such a result per
        group. These measured rates can replace the default stage probabilities in
        `weighted_pipeline` (``probabilities=``).

    See Also
    --------
    stage_conversion : stage to next stage.
    funnel_counts : deals that reached each stage.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, conversion_from_stage
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 100, "Closed won", close_date="2024-03-01"),
    ...     Deal("B", 100, "Closed lost", close_date="2024-03-01",
    ...          history=[("Discovery", "2024-01-01"), ("Proposal", "2024-02-01"),
    ...                   ("Closed lost", "2024-03-01")]),
    ... ])
    >>> conversion_from_stage(p)
    conversion_from_stage by stage
      Initial contact  0.5
      Discovery        0.5
      Meeting          0.5
      Proposal         0.5
      Negotiation      1
    """
    check_option("conversion_from_stage", "basis", basis, ("unit", "value"))
    zero = check_zero_division("conversion_from_stage", zero_division)
    summary = summarize_reached(p, skipped=skipped, period=period, view=view, by=by)
    a = summary.arrays["count" if basis == "unit" else "value"]
    rates = divide(a[:, :, 1], a[:, :, 1] + a[:, :, 2], zero)
    return _per_stage(summary, rates, "conversion_from_stage", summary.context[0])


@overload
def funnel_counts(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: None = None,
) -> GroupedResult[float]: ...
@overload
def funnel_counts(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: str | Sequence[str],
) -> GroupedResult[GroupedResult[float]]: ...
@overload
def funnel_counts(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: By = ...,
) -> GroupedResult[float] | GroupedResult[GroupedResult[float]]: ...
def funnel_counts(
    p: Pipeline,
    *,
    basis: Basis = "unit",
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
) -> GroupedResult[float] | GroupedResult[GroupedResult[float]]:
    r"""Funnel: how many deals (or how much value) reached each open stage, and the won total.

    Counts every deal in the window, open ones included: reached is as in
    `conversion_from_stage` (``skipped`` chooses the rule). The last key is the won stage.

    Returns
    -------
    GroupedResult
        Deals [count] (or amount [currency] with ``basis="value"``) keyed by stage name.

    Examples
    --------
    >>> from salesmetrics import funnel_counts
    >>> from salesmetrics.datasets import sample_pipeline
    >>> funnel = funnel_counts(sample_pipeline())
    >>> list(funnel)[-1], funnel["Initial contact"] >= funnel["Discovery"]
    ('Closed won', True)
    """
    check_option("funnel_counts", "basis", basis, ("unit", "value"))
    summary = summarize_reached(p, skipped=skipped, period=period, view=view, by=by,
                                function="funnel_counts")
    table = _funnel_table(summary, basis)
    if basis == "value":
        table = table / summary.context[2]
    names = (*summary.context[0], summary.context[1])
    return _per_stage(summary, table, "funnel_counts", names)


def _funnel_table(summary: Summary, basis: str) -> npt.NDArray[np.float64]:
    key = "count" if basis == "unit" else "value"
    reached = summary.arrays[key].sum(axis=2)
    won = summary.arrays[f"won_{key}"][:, None]
    return np.concatenate([reached, won], axis=1).astype(np.float64)


@overload
def stage_conversion(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: None = None,
    zero_division: float = ...,
) -> StageRates: ...
@overload
def stage_conversion(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: str | Sequence[str],
    zero_division: float = ...,
) -> GroupedResult[StageRates]: ...
@overload
def stage_conversion(
    p: Pipeline,
    *,
    basis: Basis = ...,
    skipped: Skipped = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: By = ...,
    zero_division: float = ...,
) -> StageRates | GroupedResult[StageRates]: ...
def stage_conversion(
    p: Pipeline,
    *,
    basis: Basis = "unit",
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
    zero_division: float = math.nan,
) -> StageRates | GroupedResult[StageRates]:
    r"""Stage-to-stage conversion: of the deals that reached stage *k*, the share that reached the
    next stage (for the last open stage: the share won).

    $$
    s_k = \frac{n_\text{reached } k+1}{n_\text{reached } k}
    $$

    Counts every deal in the window (see `funnel_counts`), so deals still open in stage *k*
    lower $s_k$; restrict ``period`` to a closed-out window for a settled funnel.

    Returns
    -------
    GroupedResult
        Rate [fraction] keyed by the stage converted from.

    Examples
    --------
    >>> from salesmetrics import stage_conversion
    >>> from salesmetrics.datasets import sample_pipeline
    >>> rates = stage_conversion(sample_pipeline())
    >>> all(0 <= r <= 1 for r in rates.values())
    True
    """
    check_option("stage_conversion", "basis", basis, ("unit", "value"))
    zero = check_zero_division("stage_conversion", zero_division)
    summary = summarize_reached(p, skipped=skipped, period=period, view=view, by=by,
                                function="stage_conversion")
    table = _funnel_table(summary, basis)
    rates = divide(table[:, 1:], table[:, :-1], zero)
    return _per_stage(summary, rates, "stage_conversion", summary.context[0])
