"""Conversion: from each stage to a win, from stage to stage, and the funnel counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import check_option
from salesmetrics.metrics._common import (
    Remembered,
    check_zero_division,
    divide,
    result,
)
from salesmetrics.metrics._grouped import GroupedResult, Unit
from salesmetrics.metrics._reach_warnings import warn_unreached, warn_value
from salesmetrics.metrics._summarize import summarize_reached, summarize_reached_next
from salesmetrics.metrics._summary import Summary, resolve_period
from salesmetrics.metrics.options import Basis, By, Skipped, View

__all__ = [
    "conversion_from_stage",
    "finish_conversion_from_stage",
    "finish_funnel_counts",
    "finish_stage_conversion",
    "funnel_counts",
    "stage_conversion",
    "summarize_conversion_from_stage",
    "summarize_funnel_counts",
    "summarize_stage_conversion",
]

StageRates = GroupedResult[float]
#: Where `historical_probabilities` (metrics/probabilities.py) imports them from.
_warn_unreached, _warn_value = warn_unreached, warn_value


_STAGE = ("stage",)


def _per_stage(summary: Summary, table: npt.NDArray[Any], name: str, names: tuple[str, ...],
               unit: Unit = "rate") -> StageRates | GroupedResult[StageRates]:
    """One result keyed by stage per group (``table`` is [group, stage])."""
    currency = summary.context[4] if unit == "money" else None
    per_group = [GroupedResult._of(_STAGE, dict(zip(names, row, strict=True)), name, unit,
                                   currency)
                 for row in table.tolist()]
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
        The rate for a stage that no closed deal reached: nan (default) or a number in [0, 1].

    Warns
    -----
    DataQualityWarning
        When closed deals that were not won, or under ``skipped="visited"`` won deals, have no
        record of the stages they reached (they count as reaching only the first stage; load
        ``history=`` or ``stage_entered=``); with ``view="cohort"`` and a period, when deals
        have no created date (in no cohort); and, with ``basis="value"``, when deals lack an
        amount or every lost deal has amount 0. Each with the count and the fix.

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
    >>> rates = conversion_from_stage(p)
    >>> rates["Proposal"], rates["Negotiation"]
    (0.5, 1.0)
    >>> rates
    conversion_from_stage by stage
      Initial contact   50.0 %
      Discovery         50.0 %
      Meeting           50.0 %
      Proposal          50.0 %
      Negotiation      100.0 %
    """
    memo: Remembered[StageRates | GroupedResult[StageRates]] = Remembered(
        p, "conversion_from_stage", basis, skipped, period, view, by, zero_division)
    if memo.found:
        return memo.replay()
    with memo:
        zero = check_zero_division("conversion_from_stage", zero_division)
        summary = summarize_conversion_from_stage(p, basis=basis, skipped=skipped, period=period,
                                                  view=view, by=by)
        out = finish_conversion_from_stage(summary, basis=basis, zero_division=zero)
    return memo.keep(out)


def _summarize(function: str, p: Pipeline, basis: Basis, skipped: Skipped,
               period: PeriodLike | None, view: View, by: By) -> Summary:
    """The ``reached`` summary of the conversion metric ``function`` (options checked)."""
    check_option(function, "basis", basis, ("unit", "value"))
    summary = summarize_reached(p, skipped=skipped, period=period, view=view, by=by,
                                function=function)
    if function != "stage_conversion" or skipped == "implied":
        return summary
    # Deals that visited both stage k and k + 1: the same groups (the deals in the window).
    both = summarize_reached_next(p, summary, resolve_period(function, period), view).arrays
    arrays = {**summary.arrays, "next_count": both["count"], "next_value": both["value"]}
    return Summary(summary.metric, summary.by, summary.keys, arrays, summary.context,
                   summary.order, summary.outside)


def summarize_conversion_from_stage(
    p: Pipeline, *, basis: Basis = "unit", skipped: Skipped = "implied",
    period: PeriodLike | None = None, view: View = "period", by: By = None,
) -> Summary:
    """The ``reached`` summary of `conversion_from_stage`."""
    return _summarize("conversion_from_stage", p, basis, skipped, period, view, by)


def finish_conversion_from_stage(
    summary: Summary, *, basis: str = "unit", zero_division: float = math.nan, **_: object,
) -> StageRates | GroupedResult[StageRates]:
    """`conversion_from_stage` from its summary, with its warnings."""
    zero = check_zero_division("conversion_from_stage", zero_division)
    warn_unreached("conversion_from_stage", summary, stacklevel=4)
    if basis == "value":
        warn_value("conversion_from_stage", summary, closed_only=True, stacklevel=5)
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
        Deals [count, int] (or amount [major currency units, float] with ``basis="value"``)
        keyed by stage name.

    Warns
    -----
    DataQualityWarning
        As `conversion_from_stage` (closed deals without stage history, deals in no cohort,
        deals without an amount); also, with ``view="period"`` and a period, when open deals
        have no expected close date (in no period, so not counted).

    Examples
    --------
    >>> from salesmetrics import funnel_counts
    >>> from salesmetrics.datasets import sample_pipeline
    >>> funnel = funnel_counts(sample_pipeline())
    >>> list(funnel)[-1], funnel["Initial contact"] >= funnel["Discovery"]
    ('Closed won', True)
    """
    memo: Remembered[GroupedResult[float] | GroupedResult[GroupedResult[float]]] = Remembered(
        p, "funnel_counts", basis, skipped, period, view, by)
    if memo.found:
        return memo.replay()
    with memo:
        out = finish_funnel_counts(summarize_funnel_counts(
            p, basis=basis, skipped=skipped, period=period, view=view, by=by), basis=basis)
    return memo.keep(out)


def summarize_funnel_counts(
    p: Pipeline, *, basis: Basis = "unit", skipped: Skipped = "implied",
    period: PeriodLike | None = None, view: View = "period", by: By = None,
) -> Summary:
    """The ``reached`` summary of `funnel_counts`."""
    return _summarize("funnel_counts", p, basis, skipped, period, view, by)


def finish_funnel_counts(
    summary: Summary, *, basis: str = "unit", **_: object
) -> GroupedResult[float] | GroupedResult[GroupedResult[float]]:
    """`funnel_counts` from its summary, with its warnings."""
    warn_unreached("funnel_counts", summary, stacklevel=4)
    if basis == "value":
        warn_value("funnel_counts", summary, closed_only=False, stacklevel=5)
    key = "count" if basis == "unit" else "value"
    reached = summary.arrays[key].sum(axis=2)
    table = np.concatenate([reached, summary.arrays[f"won_{key}"][:, None]], axis=1)
    names = (*summary.context[0], summary.context[1])
    if basis == "unit":  # whole deals: int counts
        return _per_stage(summary, table, "funnel_counts", names, unit="count")
    return _per_stage(summary, table / summary.context[2], "funnel_counts", names, unit="money")


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
    r"""Stage-to-stage conversion: of the deals that reached stage *k*, the share that also reached
    the next stage (for the last open stage: the share won).

    $$
    s_k = \frac{n_\text{reached } k \text{ and } k+1}{n_\text{reached } k}
    $$

    Under ``skipped="implied"`` reaching *k + 1* implies reaching *k*, so this is the ratio of
    consecutive `funnel_counts`; under ``"visited"`` a later stage can be reached more often than
    an earlier one, and counting the deals that reached both keeps the rate in [0, 1].

    Counts every deal in the window (see `funnel_counts`), so deals still open in stage *k*
    lower $s_k$; restrict ``period`` to a closed-out window for a settled funnel.

    Returns
    -------
    GroupedResult
        Rate [fraction] keyed by the stage converted from.

    Warns
    -----
    DataQualityWarning
        As `funnel_counts`: closed deals without stage history (won ones under
        ``skipped="visited"`` only), deals in no cohort or open deals in no period, and deals
        without an amount (value basis), each with the count and the fix.

    Examples
    --------
    >>> from salesmetrics import stage_conversion
    >>> from salesmetrics.datasets import sample_pipeline
    >>> rates = stage_conversion(sample_pipeline())
    >>> all(0 <= r <= 1 for r in rates.values())
    True
    """
    memo: Remembered[StageRates | GroupedResult[StageRates]] = Remembered(
        p, "stage_conversion", basis, skipped, period, view, by, zero_division)
    if memo.found:
        return memo.replay()
    with memo:
        zero = check_zero_division("stage_conversion", zero_division)
        summary = summarize_stage_conversion(p, basis=basis, skipped=skipped, period=period,
                                             view=view, by=by)
        out = finish_stage_conversion(summary, basis=basis, zero_division=zero)
    return memo.keep(out)


def summarize_stage_conversion(
    p: Pipeline, *, basis: Basis = "unit", skipped: Skipped = "implied",
    period: PeriodLike | None = None, view: View = "period", by: By = None,
) -> Summary:
    """The ``reached`` summary of `stage_conversion` (with ``skipped="visited"``, the deals
    that visited both stage *k* and *k + 1* too: ``next_count``, ``next_value``)."""
    return _summarize("stage_conversion", p, basis, skipped, period, view, by)


def finish_stage_conversion(
    summary: Summary, *, basis: str = "unit", zero_division: float = math.nan, **_: object,
) -> StageRates | GroupedResult[StageRates]:
    """`stage_conversion` from its summary, with its warnings."""
    zero = check_zero_division("stage_conversion", zero_division)
    warn_unreached("stage_conversion", summary, stacklevel=4)
    if basis == "value":
        warn_value("stage_conversion", summary, closed_only=False, stacklevel=5)
    key = "count" if basis == "unit" else "value"
    by_class = summary.arrays[key]  # [group, stage, class (open, won, closed not won)]
    reached = by_class.sum(axis=2)
    # Under "implied", reaching k + 1 implies reaching k: the deals that reached both reached
    # k + 1; under "visited", the summary counts the deals that visited both.
    both = reached[:, 1:] if summary.context[3] == "implied" else summary.arrays[f"next_{key}"]
    won_from_last = by_class[:, -1:, 1]  # won deals that reached the last open stage
    rates = divide(np.concatenate([both, won_from_last], axis=1), reached, zero)
    return _per_stage(summary, rates, "stage_conversion", summary.context[0])
