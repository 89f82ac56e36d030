"""Pipeline value: the open pipeline, weighted by probability to close, and won revenue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import weighted_minor
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import WON
from salesmetrics.errors import DataError, DataTypeError, UnknownStageError, choices
from salesmetrics.metrics._common import (
    Remembered,
    result,
    total,
    warn_left_out_of_window,
    warn_missing_amounts,
    warn_no_close_date,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_open, summarize_outcomes
from salesmetrics.metrics._summary import Summary
from salesmetrics.metrics.options import By, View

__all__ = [
    "finalize_weighted",
    "finish_pipeline_value",
    "finish_weighted_pipeline",
    "finish_won_revenue",
    "pipeline_value",
    "stage_probabilities",
    "summarize_pipeline_value",
    "summarize_weighted_pipeline",
    "summarize_won_revenue",
    "weighted_pipeline",
    "won_revenue",
]


def _warn_open(function: str, summary: Summary, stacklevel: int = 4) -> None:
    """The warnings of an ``open`` summary: open deals that it adds up without an amount (they
    count 0), and, with a period, open deals without an expected close date (in no period)."""
    n = total(summary.arrays["count"])
    warn_missing_amounts(function, n - total(summary.arrays["valued"]), n,
                         deals="open deals", effect="counted as 0, so the total is understated",
                         stacklevel=stacklevel)
    if summary.outside.get("no_close") is not None:
        warn_no_close_date(function, summary.outside["no_close"], stacklevel=stacklevel)


def stage_probabilities(
    function: str, stage_names: Sequence[str], configured: npt.NDArray[np.float64],
    probabilities: Mapping[str, float] | None,
) -> npt.NDArray[np.float64]:
    """Each stage's probability [fraction]: ``configured``, replaced by ``probabilities`` (a
    mapping stage name → probability) where given; errors name ``function``."""
    probs = configured.copy()
    if probabilities is None:
        return probs
    if not isinstance(probabilities, Mapping):
        raise DataTypeError(
            f"{function}(): probabilities must be a mapping of stage name to probability, "
            f"got {probabilities!r}"
        )
    names = list(stage_names)
    for name, value in probabilities.items():
        if name not in names:
            raise UnknownStageError(
                f"{function}(): probabilities names stage {name!r}, which is not a stage "
                f"of the process; valid stages are {choices(names)}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise DataError(
                f"{function}(): probabilities[{name!r}] must be in [0, 1], got {value!r}"
            )
        probs[names.index(name)] = float(value)
    return probs


@overload
def weighted_pipeline(
    p: Pipeline,
    *,
    by: None = None,
    period: PeriodLike | None = ...,
    probabilities: Mapping[str, float] | None = ...,
) -> float: ...
@overload
def weighted_pipeline(
    p: Pipeline,
    *,
    by: str | Sequence[str],
    period: PeriodLike | None = ...,
    probabilities: Mapping[str, float] | None = ...,
) -> GroupedResult[float]: ...
@overload
def weighted_pipeline(
    p: Pipeline,
    *,
    by: By = ...,
    period: PeriodLike | None = ...,
    probabilities: Mapping[str, float] | None = ...,
) -> float | GroupedResult[float]: ...
def weighted_pipeline(
    p: Pipeline,
    *,
    by: By = None,
    period: PeriodLike | None = None,
    probabilities: Mapping[str, float] | None = None,
) -> float | GroupedResult[float]:
    r"""Weighted (probability-adjusted) pipeline: the expected value of the open deals [currency].

    $$
    W = \sum_{i \in \text{open}} a_i \, p_i
    $$

    where $a_i$ is the deal's amount and $p_i$ its own probability if it has one (every
    CRM lets a rep override it), else its stage's probability.

    Parameters
    ----------
    p
        The pipeline.
    by
        Field name(s) to group by, e.g. ``"owner"``, ``"stage"`` or ``["team", "owner"]``.
    period
        Only open deals whose expected close date falls in it (a `Period` or
        a label such as ``"2017-Q2"``). Open deals without a close date are then left out.
    probabilities
        ``{stage name: probability}`` replacing the stages' default probabilities, e.g. win rates
        measured from history with `conversion_from_stage` instead of the CRM's defaults.
        Deals' own probabilities still take precedence.

    Returns
    -------
    float or GroupedResult
        Weighted pipeline [major currency units]; per group with ``by``.

    See Also
    --------
    pipeline_value : the unweighted open total.

    Notes
    -----
    Salesforce calls this the *expected revenue* (Amount × Probability); HubSpot the *weighted
    amount* (amount × deal-stage probability); Pipedrive the *weighted value*. Deals without an
    amount count 0, with a `DataQualityWarning` giving their count; with ``period=``, open deals
    without an expected close date are in no period and left out, with a `DataQualityWarning`
    giving their count. Stage sums are exact in minor units; probabilities apply to the few
    per-stage sums, not to every deal.

    References
    ----------
    1. Salesforce Help, "Opportunity Fields": Expected Revenue.
    2. HubSpot Knowledge Base, "Deal stage probability and weighted amount".

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, weighted_pipeline
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 10_000, "Proposal"),                   # 60 %
    ...     Deal("B", 5_000, "Negotiation", probability=0.5),
    ...     Deal("C", 8_000, "Closed won", close_date="2024-03-01"),
    ... ])
    >>> weighted_pipeline(p)
    8500.0
    >>> weighted_pipeline(p, probabilities={"Proposal": 0.25})
    5000.0
    """
    memo: Remembered[float | GroupedResult[float]] = Remembered(
        p, "weighted_pipeline", by, period, probabilities)
    if memo.found:
        return memo.replay()
    with memo:
        out = finish_weighted_pipeline(
            summarize_weighted_pipeline(p, by=by, period=period, probabilities=probabilities))
    return memo.keep(out)


def summarize_weighted_pipeline(
    p: Pipeline, *, by: By = None, period: PeriodLike | None = None,
    probabilities: Mapping[str, float] | None = None,
) -> Summary:
    """The ``open`` summary of `weighted_pipeline`, with the stages' probabilities it uses
    (``probabilities`` over the pipeline's own) appended to its context."""
    summary = summarize_open(p, by=by, period=period)
    probs = stage_probabilities("weighted_pipeline", summary.context[0], p.stage_probabilities,
                                probabilities)
    return Summary(summary.metric, summary.by, summary.keys, summary.arrays,
                   (*summary.context, tuple(probs.tolist())), summary.order, summary.outside)


def finish_weighted_pipeline(summary: Summary, **_: object) -> float | GroupedResult[float]:
    """`weighted_pipeline` from its summary (`summarize_weighted_pipeline`)."""
    _warn_open("weighted_pipeline", summary, stacklevel=5)
    return finalize_weighted(summary, np.array(summary.context[3], dtype=np.float64))


def finalize_weighted(
    summary: Summary, probabilities: npt.NDArray[np.float64]
) -> float | GroupedResult[float]:
    """Weighted pipeline [major units] from an ``open`` summary and per-stage probabilities.

    The deals' own probabilities count in parts per billion, and their products with the
    amounts are summed exactly (``override_hi * 2**32 + override_lo`` [minor units × 10**-9]);
    each group's exact sum becomes one correctly rounded float (Python's int ÷ int), so the
    result does not depend on the order of the deals or on how they were split."""
    a = summary.arrays
    minor = weighted_minor(a["amount_default"], a["override_hi"], a["override_lo"],
                           probabilities)
    return result(summary, minor / summary.context[1], "weighted_pipeline", unit="money",
                  currency=summary.context[2])


@overload
def pipeline_value(
    p: Pipeline,
    *,
    by: None = None,
    period: PeriodLike | None = ...,
) -> float: ...
@overload
def pipeline_value(
    p: Pipeline,
    *,
    by: str | Sequence[str],
    period: PeriodLike | None = ...,
) -> GroupedResult[float]: ...
@overload
def pipeline_value(
    p: Pipeline,
    *,
    by: By = ...,
    period: PeriodLike | None = ...,
) -> float | GroupedResult[float]: ...
def pipeline_value(
    p: Pipeline, *, by: By = None, period: PeriodLike | None = None
) -> float | GroupedResult[float]:
    r"""Open pipeline value: the total amount of the open deals [currency], unweighted.

    $$
    V = \sum_{i \in \text{open}} a_i
    $$

    Parameters
    ----------
    p
        The pipeline.
    by
        Field name(s) to group by.
    period
        Only open deals whose expected close date falls in it.

    Returns
    -------
    float or GroupedResult
        Open total [major currency units], exact to the minor unit (summed as integers).

    Notes
    -----
    Called *pipeline* or *open pipeline* in most CRMs (Salesforce's "Pipeline" forecast category
    sums a subset of it). Deals without an amount count 0, with a `DataQualityWarning` giving
    their count; with ``period=``, open deals without an expected close date are in no period
    and left out, with a `DataQualityWarning` giving their count.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, pipeline_value
    >>> p = Pipeline.from_deals([Deal("A", 0.1, "Meeting"), Deal("B", 0.2, "Proposal")])
    >>> pipeline_value(p)
    0.3
    """
    memo: Remembered[float | GroupedResult[float]] = Remembered(p, "pipeline_value", by, period)
    if memo.found:
        return memo.replay()
    with memo:
        out = finish_pipeline_value(summarize_pipeline_value(p, by=by, period=period))
    return memo.keep(out)


def summarize_pipeline_value(
    p: Pipeline, *, by: By = None, period: PeriodLike | None = None
) -> Summary:
    """The ``open`` summary of `pipeline_value`."""
    return summarize_open(p, by=by, period=period, function="pipeline_value")


def finish_pipeline_value(summary: Summary, **_: object) -> float | GroupedResult[float]:
    """`pipeline_value` from its summary."""
    _warn_open("pipeline_value", summary, stacklevel=5)
    return result(summary, summary.arrays["amount"].sum(axis=1) / summary.context[1],
                  "pipeline_value", unit="money", currency=summary.context[2])


@overload
def won_revenue(
    p: Pipeline,
    *,
    by: None = None,
    period: PeriodLike | None = ...,
    view: View = ...,
) -> float: ...
@overload
def won_revenue(
    p: Pipeline,
    *,
    by: str | Sequence[str],
    period: PeriodLike | None = ...,
    view: View = ...,
) -> GroupedResult[float]: ...
@overload
def won_revenue(
    p: Pipeline,
    *,
    by: By = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
) -> float | GroupedResult[float]: ...
def won_revenue(
    p: Pipeline, *, by: By = None, period: PeriodLike | None = None, view: View = "period"
) -> float | GroupedResult[float]:
    r"""Won revenue: the total amount of won deals [currency].

    $$
    R = \sum_{i \in \text{won}} a_i
    $$

    Parameters
    ----------
    p
        The pipeline.
    by
        Field name(s) to group by.
    period
        With ``view="period"`` (the default, "bookings" in the period as in Salesforce's closed-won
        reports), deals won with a close date in it; with ``view="cohort"``, deals created in it.
    view
        ``"period"`` or ``"cohort"``.

    Returns
    -------
    float or GroupedResult
        Won total [major currency units], exact to the minor unit.

    Notes
    -----
    Won deals without an amount count 0, with a `DataQualityWarning` giving their count; with
    ``view="cohort"`` and a period, deals without a created date are in no cohort and left out,
    with a `DataQualityWarning` giving their count.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, won_revenue
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 1_000.10, "Closed won", close_date="2024-02-01"),
    ...     Deal("B", 2_000.20, "Closed won", close_date="2024-05-01"),
    ... ])
    >>> won_revenue(p), won_revenue(p, period="2024-Q1")
    (3000.3, 1000.1)
    """
    memo: Remembered[float | GroupedResult[float]] = Remembered(p, "won_revenue", by, period, view)
    if memo.found:
        return memo.replay()
    with memo:
        out = finish_won_revenue(summarize_won_revenue(p, by=by, period=period, view=view))
    return memo.keep(out)


def summarize_won_revenue(
    p: Pipeline, *, by: By = None, period: PeriodLike | None = None, view: View = "period"
) -> Summary:
    """The ``outcomes`` summary of `won_revenue`."""
    return summarize_outcomes(p, by=by, period=period, view=view, function="won_revenue")


def finish_won_revenue(summary: Summary, **_: object) -> float | GroupedResult[float]:
    """`won_revenue` from its summary."""
    won = summary.arrays["count"][:, WON]
    warn_missing_amounts("won_revenue", int(won.sum() - summary.arrays["valued"][:, WON].sum()),
                         int(won.sum()), deals="won deals",
                         effect="counted as 0, so the total is understated", stacklevel=4)
    warn_left_out_of_window("won_revenue", summary, stacklevel=4)
    return result(summary, summary.arrays["value"][:, WON] / summary.context[0],
                  "won_revenue", unit="money", currency=summary.context[1])
