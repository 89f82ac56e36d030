"""Sales cycle length and average deal size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import DayCounts, take
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import OptionError, check_option
from salesmetrics.metrics._common import (
    Remembered,
    check_pipeline,
    check_zero_division,
    divide,
    result,
    total,
    warn,
    warn_left_out_of_cycle,
    warn_left_out_of_window,
    warn_missing_amounts,
    warn_no_created_date,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_outcomes
from salesmetrics.metrics._summary import (
    Summary,
    check_view,
    resolve_period,
    rows_of,
    window_mask,
)
from salesmetrics.metrics._tallies import cycle_day_span, tally_outside
from salesmetrics.metrics.options import (
    CYCLE_OUTCOMES,
    DEAL_OUTCOMES,
    OUTCOME_CODES,
    STATISTICS,
    By,
    CycleOutcome,
    DealOutcome,
    Statistic,
    View,
)

__all__ = [
    "average_deal_size",
    "check_statistic",
    "cycle_days",
    "finalize_cycle_length",
    "finish_average_deal_size",
    "finish_sales_cycle_length",
    "sales_cycle_length",
    "summarize_average_deal_size",
    "summarize_sales_cycle_length",
    "warn_fraction_percentile",
]

def check_statistic(function: str, value: object) -> str | float:
    """``statistic=`` (`Statistic`) checked: ``"mean"``, ``"median"`` or a percentile as a
    float in [0, 100]; anything else is an `OptionError` naming the value and the choices."""
    if value in STATISTICS:
        return str(value)
    if (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)) and 0 <= value <= 100):
        return float(value)
    raise OptionError(
        f"{function}(): statistic must be 'mean', 'median' or a percentile in [0, 100], "
        f"got {value!r}"
    )


def warn_fraction_percentile(function: str, statistic: str | float, stacklevel: int) -> None:
    """A `UserWarning` for a percentile strictly between 0 and 1 (``statistic=0.9``): most
    likely a fraction meant as the 90th percentile, while percentiles are 0-100."""
    if isinstance(statistic, float) and 0 < statistic < 1:
        meant = f"{statistic * 100:g}"
        warn(f"{function}(): statistic={statistic!r} is the {statistic!r}th percentile, close to "
             f"the minimum: percentiles are 0-100, so the 90th is statistic=90. Fix: give "
             f"statistic={meant} if the {meant}th percentile was meant", UserWarning,
             stacklevel)


@overload
def sales_cycle_length(
    p: Pipeline,
    *,
    statistic: Statistic = ...,
    outcome: CycleOutcome = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: None = None,
    zero_division: float = ...,
) -> float: ...
@overload
def sales_cycle_length(
    p: Pipeline,
    *,
    statistic: Statistic = ...,
    outcome: CycleOutcome = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: str | Sequence[str],
    zero_division: float = ...,
) -> GroupedResult[float]: ...
@overload
def sales_cycle_length(
    p: Pipeline,
    *,
    statistic: Statistic = ...,
    outcome: CycleOutcome = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: By = ...,
    zero_division: float = ...,
) -> float | GroupedResult[float]: ...
def sales_cycle_length(
    p: Pipeline,
    *,
    statistic: Statistic = "mean",
    outcome: CycleOutcome = "won",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
    zero_division: float = math.nan,
) -> float | GroupedResult[float]:
    r"""Sales cycle length: days from created to close of closed deals [days].

    $$
    L = \operatorname{stat}_{i}\,(\text{close}_i - \text{created}_i)
    $$

    Parameters
    ----------
    p
        The pipeline.
    statistic
        ``"mean"`` (default; the *L* of the sales-velocity equation, as Salesforce's "Average
        Sales Cycle" and HubSpot's "Average time to close"), ``"median"`` (robust to a few deals
        that dragged on for a year, preferred in pipeline reviews), or a percentile in [0, 100]
        such as 90 (the "how long can a deal take" planning figure). Percentiles interpolate
        linearly between ranks, as `percentile` does. A percentile strictly between 0 and 1
        (``0.9``) warns: it is most likely a fraction meant as the 90th percentile.
    outcome
        ``"won"`` (default: the cycle of revenue), ``"lost"`` (lost and no decision: how long
        losing takes), or ``"closed"`` (all).
    period, view
        The window: deals closed in the period (``view="period"``) or created in it (``"cohort"``).
    by
        Field name(s) to group by.
    zero_division
        The value where no deal qualifies: nan (default) or a number >= 0 [days].

    Returns
    -------
    float or GroupedResult
        Cycle length [days]; ``zero_division`` (nan) where no deal qualifies.

    Notes
    -----
    Deals without a created date, and deals closed before they were created (loaded with
    ``allow_close_before_created=True``), are left out, with one `DataQualityWarning` that says
    how many of each; with ``view="cohort"`` and a period, deals without a created date are in
    no cohort, with a `DataQualityWarning` giving their count. Durations are whole days
    between calendar dates. Mean and percentiles are exact: the summary keeps a sparse
    per-group count of whole days (`DayCounts`), whose memory is at most one entry per deal,
    whatever the span of the dates.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, sales_cycle_length
    >>> p = Pipeline.from_deals([
    ...     Deal(i, 100, "Closed won", created="2024-01-01", close_date=f"2024-01-{d:02d}")
    ...     for i, d in enumerate([11, 21, 31])])
    >>> sales_cycle_length(p), sales_cycle_length(p, statistic=75)
    (20.0, 25.0)
    """
    memo: Remembered[float | GroupedResult[float]] = Remembered(
        p, "sales_cycle_length", statistic, outcome, period, view, by, zero_division)
    if memo.found:
        return memo.replay()
    with memo:
        zero = check_zero_division("sales_cycle_length", zero_division, high=math.inf)
        summary = summarize_sales_cycle_length(p, statistic=statistic, outcome=outcome,
                                               period=period, view=view, by=by)
        out = finish_sales_cycle_length(summary, statistic=statistic, outcome=outcome,
                                        zero_division=zero)
    return memo.keep(out)


def summarize_sales_cycle_length(
    p: Pipeline, *, statistic: Statistic | float = "mean", outcome: CycleOutcome = "won",
    period: PeriodLike | None = None, view: View = "period", by: By = None,
) -> Summary:
    """The ``outcomes`` summary of `sales_cycle_length`, with the cycles (and, for a median or
    percentile, their sparse day counts)."""
    stat = check_statistic("sales_cycle_length", statistic)
    check_option("sales_cycle_length", "outcome", outcome, CYCLE_OUTCOMES)
    return summarize_outcomes(p, by=by, period=period, view=view, function="sales_cycle_length",
                              cycles=True, histogram=stat != "mean")


def finish_sales_cycle_length(
    summary: Summary, *, statistic: Statistic | float = "mean", outcome: str = "won",
    zero_division: float = math.nan, **_: object,
) -> float | GroupedResult[float]:
    """`sales_cycle_length` from its summary, with its warnings."""
    zero = check_zero_division("sales_cycle_length", zero_division, high=math.inf)
    stat = check_statistic("sales_cycle_length", statistic)
    return finalize_cycle_length(summary, statistic=stat, outcome=outcome, zero_division=zero,
                                 stacklevel=5)


def cycle_days(
    p: Pipeline,
    *,
    outcome: CycleOutcome = "won",
    period: PeriodLike | None = None,
    view: View = "period",
) -> npt.NDArray[np.int64]:
    """The cycle length of each deal that `sales_cycle_length` counts: whole days created → close.

    Parameters
    ----------
    p
        The pipeline.
    outcome
        ``"won"`` (default), ``"lost"`` (lost and no decision) or ``"closed"`` (all), as in
        `sales_cycle_length`.
    period, view
        The window, as in `sales_cycle_length`: deals closed in the period (``view="period"``)
        or created in it (``"cohort"``).

    Returns
    -------
    numpy.ndarray
        int64 days [days], one per deal counted, in the pipeline's row order (empty when no
        deal qualifies). Its mean, median and percentiles are what `sales_cycle_length`
        returns for the same options; use it for a histogram or a custom statistic.

    Warns
    -----
    DataQualityWarning
        As `sales_cycle_length`: deals without a created date, and deals closed before they
        were created, are left out, with how many of each and the fix; with ``view="cohort"``
        and a period, deals without a created date are in no cohort, with their count.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, cycle_days
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-11"),
    ...     Deal("B", 100, "Closed lost", created="2024-01-01", close_date="2024-02-01"),
    ...     Deal("C", 100, "Closed won", created="2024-02-01", close_date="2024-03-01")])
    >>> cycle_days(p).tolist(), cycle_days(p, outcome="closed").tolist()
    ([10, 29], [10, 31, 29])
    >>> cycle_days(p, period="2024-01").tolist()
    [10]
    """
    function = "cycle_days"
    check_pipeline(function, p)
    check_option(function, "outcome", outcome, CYCLE_OUTCOMES)
    check_view(function, view)
    chosen_period = resolve_period(function, period)
    if view == "cohort" and chosen_period is not None:
        warn_no_created_date(function, int(tally_outside(p, chosen_period, view)["no_created"][0]))
    rows = rows_of(window_mask(p, chosen_period, view))
    chosen = np.isin(take(p.outcome_codes, rows), OUTCOME_CODES[outcome])
    created = take(p.created, rows)[chosen]
    days = cycle_day_span(take(p.close_date, rows)[chosen], created)
    counted = days >= 0
    unknown = int(np.isnat(created).sum())
    warn_left_out_of_cycle(function, len(days) - int(counted.sum()) - unknown, unknown)
    return days[counted]


def finalize_cycle_length(
    summary: Summary, *, statistic: str | float = "mean", outcome: str = "won",
    function: str = "sales_cycle_length", zero_division: float = math.nan, stacklevel: int = 4,
) -> float | GroupedResult[float]:
    """Cycle length [days] from an ``outcomes`` summary made with ``cycles=True``."""
    cols = list(OUTCOME_CODES[outcome])
    a = summary.arrays
    warn_fraction_percentile(function, statistic, stacklevel)
    warn_left_out_of_window(function, summary, stacklevel=stacklevel)
    warn_left_out_of_cycle(function, total(a["cycle_negative"][:, cols]),
                           total(a["cycle_unknown"][:, cols]), stacklevel=stacklevel)
    counted = a["cycle_count"][:, cols].sum(axis=1)
    if statistic == "mean":
        values = divide(a["cycle_sum"][:, cols].sum(axis=1), counted, zero_division)
    else:
        q = 50.0 if statistic == "median" else float(statistic)
        hist: DayCounts = a["cycle_hist"]
        values = hist.combine(cols).percentile(q)
        if zero_division == zero_division:  # not nan
            values[counted == 0] = zero_division
    return result(summary, values, "sales_cycle_length", unit="days")


@overload
def average_deal_size(
    p: Pipeline,
    *,
    outcome: DealOutcome = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: None = None,
    zero_division: float = ...,
) -> float: ...
@overload
def average_deal_size(
    p: Pipeline,
    *,
    outcome: DealOutcome = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: str | Sequence[str],
    zero_division: float = ...,
) -> GroupedResult[float]: ...
@overload
def average_deal_size(
    p: Pipeline,
    *,
    outcome: DealOutcome = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: By = ...,
    zero_division: float = ...,
) -> float | GroupedResult[float]: ...
def average_deal_size(
    p: Pipeline,
    *,
    outcome: DealOutcome = "won",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
    zero_division: float = math.nan,
) -> float | GroupedResult[float]:
    r"""Average deal size: mean amount of the deals with an outcome [currency].

    $$
    \bar a = \frac{\sum_i a_i}{n}
    $$

    Parameters
    ----------
    p
        The pipeline.
    outcome
        ``"won"`` (default: the *V* of the sales-velocity equation and the usual "average deal
        size" of CRM dashboards), ``"lost"`` (lost and no decision), ``"closed"``, or ``"open"``
        (the average open opportunity, for pipeline-coverage planning).
    period, view
        The window, as in `win_rate`.
    by
        Field name(s) to group by.
    zero_division
        The value where no deal with an amount qualifies: nan (default) or a number >= 0
        [major currency units].

    Returns
    -------
    float or GroupedResult
        Mean amount [major currency units]; ``zero_division`` (nan) where no deal qualifies.
        Deals without an amount are left out of both sum and count.

    Warns
    -----
    DataQualityWarning
        When deals of the ``outcome`` have no amount (left out of the average), with their count;
        with a period, when deals have no created date (in no cohort, ``view="cohort"``) or,
        for ``outcome="open"``, open deals without an expected close date (in no period).

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, average_deal_size
    >>> p = Pipeline.from_deals([Deal("A", 20_000, "Closed won", close_date="2024-01-05"),
    ...                          Deal("B", 10_000, "Closed won", close_date="2024-02-05")])
    >>> average_deal_size(p)
    15000.0
    """
    memo: Remembered[float | GroupedResult[float]] = Remembered(
        p, "average_deal_size", outcome, period, view, by, zero_division)
    if memo.found:
        return memo.replay()
    with memo:
        zero = check_zero_division("average_deal_size", zero_division, high=math.inf)
        summary = summarize_average_deal_size(p, outcome=outcome, period=period, view=view, by=by)
        out = finish_average_deal_size(summary, outcome=outcome, zero_division=zero)
    return memo.keep(out)


def summarize_average_deal_size(
    p: Pipeline, *, outcome: DealOutcome = "won", period: PeriodLike | None = None,
    view: View = "period", by: By = None,
) -> Summary:
    """The ``outcomes`` summary of `average_deal_size` (options checked)."""
    check_option("average_deal_size", "outcome", outcome, DEAL_OUTCOMES)
    return summarize_outcomes(p, by=by, period=period, view=view, function="average_deal_size")


def finish_average_deal_size(
    summary: Summary, *, outcome: str = "won", zero_division: float = math.nan, **_: object,
) -> float | GroupedResult[float]:
    """`average_deal_size` from its summary, with its warnings."""
    zero = check_zero_division("average_deal_size", zero_division, high=math.inf)
    cols = list(OUTCOME_CODES[outcome])
    a = summary.arrays
    warn_left_out_of_window("average_deal_size", summary, open_counted=outcome == "open",
                            stacklevel=4)
    n = total(a["count"][:, cols])
    warn_missing_amounts("average_deal_size", n - total(a["valued"][:, cols]), n,
                         deals=f"{outcome} deals", effect="left out of the average",
                         stacklevel=4)
    valued = a["valued"][:, cols].sum(axis=1)
    values = divide(a["value"][:, cols].sum(axis=1), valued, math.nan) / summary.context[0]
    if zero == zero:  # not nan
        values[valued == 0] = zero
    return result(summary, values, "average_deal_size", unit="money",
                  currency=summary.context[1])
