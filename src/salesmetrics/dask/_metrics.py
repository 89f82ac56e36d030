"""The metrics of `salesmetrics.dask`, one per single-process metric, with its options."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from salesmetrics.dask._partitions import data_options
from salesmetrics.dask._run import run
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.stage import DEFAULT_STAGES, Stage
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics.conversion import StageRates
from salesmetrics.metrics.options import (
    Basis,
    By,
    CycleOutcome,
    DealOutcome,
    NoDecision,
    OpenDeals,
    Opportunities,
    Skipped,
    Statistic,
    View,
)
from salesmetrics.metrics.velocity import Velocity
from salesmetrics.metrics.win_rates import OutcomeShares

__all__ = [
    "average_deal_size",
    "conversion_from_stage",
    "funnel_counts",
    "outcome_shares",
    "pipeline_value",
    "sales_cycle_length",
    "sales_velocity",
    "stage_conversion",
    "weighted_pipeline",
    "win_rate",
    "won_revenue",
]

_DATA = ("stages", "columns", "currency", "history_columns", "pipeline_options")


def _call(metric: str, arguments: dict[str, Any]) -> Any:
    """Split a dask function's arguments into data, metric options and finalize options."""
    arguments = dict(arguments)
    ddf = arguments.pop("ddf")
    history = arguments.pop("history")
    split_every = arguments.pop("split_every")
    co_partitioned = arguments.pop("co_partitioned")
    data = data_options(*(arguments.pop(name) for name in _DATA))
    finalize_options = ({"zero_division": arguments.pop("zero_division")}
                        if "zero_division" in arguments else {})
    return run(metric, ddf, history, data, arguments, finalize_options, split_every,
               co_partitioned=co_partitioned)


def weighted_pipeline(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    period: PeriodLike | None = None,
    probabilities: Mapping[str, float] | None = None,
    split_every: int | None = None,
) -> float | GroupedResult[float]:
    """Weighted (probability-adjusted) pipeline [currency], from a dask DataFrame: exactly
    `salesmetrics.weighted_pipeline` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, period, probabilities
        As in `salesmetrics.weighted_pipeline`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    float or GroupedResult[float]
        What `salesmetrics.weighted_pipeline` returns for the same data, bit for bit.
    """
    result: float | GroupedResult[float] = _call("weighted_pipeline", locals())
    return result


def pipeline_value(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    period: PeriodLike | None = None,
    split_every: int | None = None,
) -> float | GroupedResult[float]:
    """Open pipeline value [currency], from a dask DataFrame: exactly
    `salesmetrics.pipeline_value` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, period
        As in `salesmetrics.pipeline_value`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    float or GroupedResult[float]
        What `salesmetrics.pipeline_value` returns for the same data, bit for bit.
    """
    result: float | GroupedResult[float] = _call("pipeline_value", locals())
    return result


def won_revenue(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    period: PeriodLike | None = None,
    view: View = "period",
    split_every: int | None = None,
) -> float | GroupedResult[float]:
    """Revenue won [currency], from a dask DataFrame: exactly
    `salesmetrics.won_revenue` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, period, view
        As in `salesmetrics.won_revenue`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    float or GroupedResult[float]
        What `salesmetrics.won_revenue` returns for the same data, bit for bit.
    """
    result: float | GroupedResult[float] = _call("won_revenue", locals())
    return result


def win_rate(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    basis: Basis = "unit",
    open_deals: OpenDeals = "exclude",
    stale_after: int | None = None,
    no_decision: NoDecision = "lost",
    period: PeriodLike | None = None,
    view: View = "period",
    as_of: dt.date | str | None = None,
    zero_division: float = math.nan,
    split_every: int | None = None,
) -> float | GroupedResult[float]:
    """Win rate [fraction], from a dask DataFrame: exactly
    `salesmetrics.win_rate` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, basis, open_deals, stale_after, no_decision, period, view, as_of, zero_division
        As in `salesmetrics.win_rate`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    float or GroupedResult[float]
        What `salesmetrics.win_rate` returns for the same data, bit for bit.
    """
    result: float | GroupedResult[float] = _call("win_rate", locals())
    return result


def outcome_shares(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    basis: Basis = "unit",
    period: PeriodLike | None = None,
    view: View = "period",
    zero_division: float = math.nan,
    split_every: int | None = None,
) -> OutcomeShares | GroupedResult[OutcomeShares]:
    """Shares of won, lost and no-decision deals [fraction], from a dask DataFrame: exactly
    `salesmetrics.outcome_shares` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, basis, period, view, zero_division
        As in `salesmetrics.outcome_shares`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    OutcomeShares or GroupedResult[OutcomeShares]
        What `salesmetrics.outcome_shares` returns for the same data, bit for bit.
    """
    result: OutcomeShares | GroupedResult[OutcomeShares] = _call("outcome_shares", locals())
    return result


def conversion_from_stage(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    basis: Basis = "unit",
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    zero_division: float = math.nan,
    split_every: int | None = None,
) -> StageRates | GroupedResult[StageRates]:
    """Win rate from each open stage [fraction], from a dask DataFrame: exactly
    `salesmetrics.conversion_from_stage` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, basis, skipped, period, view, zero_division
        As in `salesmetrics.conversion_from_stage`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    StageRates or GroupedResult[StageRates]
        What `salesmetrics.conversion_from_stage` returns for the same data, bit for bit.
    """
    result: StageRates | GroupedResult[StageRates] = _call("conversion_from_stage", locals())
    return result


def stage_conversion(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    basis: Basis = "unit",
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    zero_division: float = math.nan,
    split_every: int | None = None,
) -> StageRates | GroupedResult[StageRates]:
    """Stage-to-next-stage conversion [fraction], from a dask DataFrame: exactly
    `salesmetrics.stage_conversion` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, basis, skipped, period, view, zero_division
        As in `salesmetrics.stage_conversion`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    StageRates or GroupedResult[StageRates]
        What `salesmetrics.stage_conversion` returns for the same data, bit for bit.
    """
    result: StageRates | GroupedResult[StageRates] = _call("stage_conversion", locals())
    return result


def funnel_counts(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    basis: Basis = "unit",
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    split_every: int | None = None,
) -> GroupedResult[float] | GroupedResult[GroupedResult[float]]:
    """Deals (or value) that reached each open stage, from a dask DataFrame: exactly
    `salesmetrics.funnel_counts` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, basis, skipped, period, view
        As in `salesmetrics.funnel_counts`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    GroupedResult[float] or GroupedResult[GroupedResult[float]]
        What `salesmetrics.funnel_counts` returns for the same data, bit for bit.
    """
    result: GroupedResult[float] | GroupedResult[GroupedResult[float]] = _call(
        "funnel_counts", locals())
    return result


def sales_velocity(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    period: PeriodLike | None = None,
    opportunities: Opportunities = "all",
    view: View = "period",
    open_deals: OpenDeals = "exclude",
    no_decision: NoDecision = "lost",
    stale_after: int | None = None,
    as_of: dt.date | str | None = None,
    zero_division: float = math.nan,
    split_every: int | None = None,
) -> Velocity | GroupedResult[Velocity]:
    """Sales velocity and its four levers [currency per day], from a dask DataFrame: exactly
    `salesmetrics.sales_velocity` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, period, opportunities, view, open_deals, no_decision, stale_after, as_of, zero_division
        As in `salesmetrics.sales_velocity`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    Velocity or GroupedResult[Velocity]
        What `salesmetrics.sales_velocity` returns for the same data, bit for bit.
    """
    result: Velocity | GroupedResult[Velocity] = _call("sales_velocity", locals())
    return result


def sales_cycle_length(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    statistic: Statistic = "mean",
    outcome: CycleOutcome = "won",
    period: PeriodLike | None = None,
    view: View = "period",
    zero_division: float = math.nan,
    split_every: int | None = None,
) -> float | GroupedResult[float]:
    """Sales cycle length [days], from a dask DataFrame: exactly
    `salesmetrics.sales_cycle_length` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, statistic, outcome, period, view, zero_division
        As in `salesmetrics.sales_cycle_length`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    float or GroupedResult[float]
        What `salesmetrics.sales_cycle_length` returns for the same data, bit for bit.
    """
    result: float | GroupedResult[float] = _call("sales_cycle_length", locals())
    return result


def average_deal_size(
    ddf: Any,
    *,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    history: Any = None,
    history_columns: Mapping[str, str] | None = None,
    co_partitioned: bool = False,
    pipeline_options: Mapping[str, Any] | None = None,
    by: By = None,
    outcome: DealOutcome = "won",
    period: PeriodLike | None = None,
    view: View = "period",
    zero_division: float = math.nan,
    split_every: int | None = None,
) -> float | GroupedResult[float]:
    """Average deal size [currency], from a dask DataFrame: exactly
    `salesmetrics.average_deal_size` of the whole data.

    Parameters
    ----------
    ddf, stages, columns, currency, history, history_columns, co_partitioned, pipeline_options
        The data, as for every function of `salesmetrics.dask` (see the module).
    by, outcome, period, view, zero_division
        As in `salesmetrics.average_deal_size`, with the same defaults and meaning.
    split_every
        Summaries merged per task of the tree reduction (default 8).

    Returns
    -------
    float or GroupedResult[float]
        What `salesmetrics.average_deal_size` returns for the same data, bit for bit.
    """
    result: float | GroupedResult[float] = _call("average_deal_size", locals())
    return result
