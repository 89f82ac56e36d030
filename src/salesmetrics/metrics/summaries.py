"""Public summaries: ``summarize`` a pipeline (or each part of one), add the summaries up, and
``finalize`` the total into exactly what the metric itself returns.

Every metric below is computed this way by its own function too (its ``summarize_*`` and
``finish_*`` steps in its family module), so there is one implementation, not two:

===========================  ========================  =====================================
metric                       summary (``metric``)      finalize options
===========================  ========================  =====================================
`weighted_pipeline`          ``open``                  none
`pipeline_value`             ``open``                  none
`won_revenue`                ``outcomes``              none
`win_rate`                   ``outcomes``              ``zero_division``
`outcome_shares`             ``outcomes``              ``zero_division``
`conversion_from_stage`      ``reached``               ``zero_division``
`stage_conversion`           ``reached``               ``zero_division``
`funnel_counts`              ``reached``               none
`sales_velocity`             ``velocity``              ``zero_division``
`sales_cycle_length`         ``outcomes``              ``zero_division``
`average_deal_size`          ``outcomes``              ``zero_division``
===========================  ========================  =====================================
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from salesmetrics.domain._names import DEAL_ATTRIBUTES
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import DataTypeError, OptionError, choices
from salesmetrics.metrics import conversion, cycle, pipeline_totals, velocity, win_rates
from salesmetrics.metrics._merging import LabelOrder
from salesmetrics.metrics._summary import (
    Summary,
    as_of_date,
    normalize_by,
    resolve_period,
)
from salesmetrics.metrics.cycle import check_statistic

__all__ = ["METRICS", "Summary", "empty_summary", "finalize", "summarize"]


class _Entry(NamedTuple):
    function: Callable[..., Any]
    summarize: Callable[..., Summary]
    finish: Callable[..., Any]
    kind: str


def _entry(module: Any, name: str, kind: str) -> _Entry:
    return _Entry(getattr(module, name), getattr(module, f"summarize_{name}"),
                  getattr(module, f"finish_{name}"), kind)


#: Metric name → its function, summarize step, finalize step and kind of summary.
METRICS: Mapping[str, _Entry] = {
    "weighted_pipeline": _entry(pipeline_totals, "weighted_pipeline", "open"),
    "pipeline_value": _entry(pipeline_totals, "pipeline_value", "open"),
    "won_revenue": _entry(pipeline_totals, "won_revenue", "outcomes"),
    "win_rate": _entry(win_rates, "win_rate", "outcomes"),
    "outcome_shares": _entry(win_rates, "outcome_shares", "outcomes"),
    "conversion_from_stage": _entry(conversion, "conversion_from_stage", "reached"),
    "stage_conversion": _entry(conversion, "stage_conversion", "reached"),
    "funnel_counts": _entry(conversion, "funnel_counts", "reached"),
    "sales_velocity": _entry(velocity, "sales_velocity", "velocity"),
    "sales_cycle_length": _entry(cycle, "sales_cycle_length", "outcomes"),
    "average_deal_size": _entry(cycle, "average_deal_size", "outcomes"),
}

#: Options given to the finalize step instead of the summarize step.
FINALIZE_OPTIONS = ("zero_division",)


def _metric_name(metric: object) -> str:
    """The name of ``metric`` (a metric function or its name), checked."""
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", None)
    if not isinstance(name, str) or name not in METRICS or (
            not isinstance(metric, str) and metric is not METRICS[name].function):
        raise OptionError(
            f"summarize(): metric must be one of {choices(list(METRICS))} (the function or its "
            f"name), got {metric!r}"
        )
    return name


def _parameters(name: str) -> dict[str, inspect.Parameter]:
    """The metric's own options (keyword-only parameters), ``zero_division`` included."""
    parameters = inspect.signature(METRICS[name].function).parameters
    return {k: v for k, v in parameters.items() if v.kind is inspect.Parameter.KEYWORD_ONLY}


def _check_names(function: str, name: str, options: Mapping[str, Any]) -> None:
    known = _parameters(name)
    for option in options:
        if option in FINALIZE_OPTIONS and option in known:
            raise OptionError(
                f"{function}(): {option} is an option of finalize(), not of summarize(): "
                f"pass it as finalize(summary, {option}=...)"
            )
        if option not in known or option in FINALIZE_OPTIONS:
            valid = [k for k in known if k not in FINALIZE_OPTIONS]
            raise OptionError(
                f"{function}(): {name}() has no option {option!r}; its options are "
                f"{choices(valid)}"
            )


def _normalized(name: str, options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The options as ``(name, value)`` pairs in the metric's order, defaults filled in and
    values in one spelling (``period`` a `Period`, ``as_of`` an ISO date and only with
    ``stale_after``, ``probabilities`` sorted pairs, ``statistic`` checked); without ``by``,
    which the summary holds as ``Summary.by``."""
    out: list[tuple[str, Any]] = []
    for option, parameter in _parameters(name).items():
        if option in FINALIZE_OPTIONS or option == "by":
            continue
        value = options.get(option, parameter.default)
        if option == "period":
            value = resolve_period(name, value)
        elif option == "probabilities" and value is not None:
            if not isinstance(value, Mapping):
                raise DataTypeError(
                    f"{name}(): probabilities must be a mapping of stage name to probability, "
                    f"got {value!r}")
            value = tuple(sorted((str(k), float(v)) for k, v in value.items()))
        elif option == "as_of":
            if options.get("stale_after") is None or value is None:
                value = None
            else:
                value = str(as_of_date(value, None))  # type: ignore[arg-type]
        elif option == "statistic":
            value = check_statistic(name, value)
        out.append((option, value))
    return tuple(out)


def _feed(summary: Summary) -> dict[str, Any]:
    """A summary's options as keyword arguments of its metric's steps."""
    options = dict(summary.options)
    if options.get("probabilities") is not None:
        options["probabilities"] = dict(options["probabilities"])
    options["by"] = list(summary.by) if summary.by else None
    return options


def summarize(p: Pipeline, metric: Any, /, **options: Any) -> Summary:
    """The mergeable summary of ``metric`` over the pipeline ``p``.

    Parameters
    ----------
    p
        The pipeline, or one part of it (a day, a team, a partition of a data lake).
    metric
        The metric function (``sm.win_rate``) or its name (``"win_rate"``): one of
        `weighted_pipeline`, `pipeline_value`, `won_revenue`, `win_rate`, `outcome_shares`,
        `conversion_from_stage`, `stage_conversion`, `funnel_counts`, `sales_velocity`,
        `sales_cycle_length`, `average_deal_size`.
    **options
        The metric's own options, except ``zero_division`` (a `finalize` option). Options whose
        default depends on the data (``as_of`` with ``stale_after``: the latest date on record)
        must be given explicitly for summaries of parts to add up.

    Returns
    -------
    Summary
        Per-group integer tallies [counts, minor units, days]. Summaries of parts of a pipeline
        add up (``a + b``, exact, associative and commutative, keys in the whole's order) to
        the summary of the whole; `finalize` turns it into the metric's result.

    Raises
    ------
    OptionError
        An unknown metric or option (naming the valid ones), or ``zero_division``; and every
        error the metric itself raises for these options and this pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> import salesmetrics as sm
    >>> p = sm.datasets.sample_pipeline()
    >>> first = np.arange(len(p)) < len(p) // 2
    >>> total = (sm.summarize(p.filter(first), "win_rate", by="owner")
    ...          + sm.summarize(p.filter(~first), sm.win_rate, by="owner"))
    >>> sm.finalize(total) == sm.win_rate(p, by="owner")
    True
    """
    name = _metric_name(metric)
    _check_names("summarize", name, options)
    normalized = _normalized(name, options)
    return METRICS[name].summarize(p, **options).tagged(name, normalized)


def empty_summary(metric: Any, options: Mapping[str, Any]) -> Summary:
    """`Summary.empty`: the identity of ``+`` for ``metric`` with ``options``."""
    name = _metric_name(metric)
    _check_names("Summary.empty", name, options)
    by = normalize_by(name, options.get("by"))
    order = tuple(LabelOrder() for _ in by)
    return Summary(METRICS[name].kind, by, (), {}, None, order, {},
                   function=name, options=_normalized(name, options))


def finalize(summary: Summary, /, **finalize_options: Any) -> Any:
    """What the metric returns for the deals that ``summary`` adds up.

    Parameters
    ----------
    summary
        A `Summary` from `summarize` (or a sum of them, or `Summary.empty`).
    **finalize_options
        ``zero_division`` for the metrics that take it (the value of an undefined ratio, as in
        the metric itself).

    Returns
    -------
    Any
        Exactly the metric's result (the same float bits, nan where it gives nan), with the
        `DataQualityWarning`\\ s it gives.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> p = sm.datasets.sample_pipeline()
    >>> summary = sm.summarize(p, "sales_cycle_length", statistic="median")
    >>> sm.finalize(summary) == sm.sales_cycle_length(p, statistic="median")
    True
    """
    name = summary.function if isinstance(summary, Summary) else None
    if name is None or name not in METRICS:
        raise DataTypeError(
            f"finalize(): needs a Summary made by salesmetrics.summarize, got {summary!r}")
    known = _parameters(name)
    for option in finalize_options:
        if option not in FINALIZE_OPTIONS or option not in known:
            valid = [k for k in FINALIZE_OPTIONS if k in known]
            raise OptionError(
                f"finalize(): {name}() takes {choices(valid) if valid else 'no options'} when "
                f"finalized, got {option!r}; give its other options to summarize()"
            )
    entry = METRICS[name]
    options = _feed(summary)
    if summary.is_empty:
        empty = _empty_pipeline(summary.by)
        summary = entry.summarize(empty, **options).tagged(name, summary.options)
    return entry.finish(summary, **options, **finalize_options)


def _empty_pipeline(by: tuple[str, ...]) -> Pipeline:
    """A pipeline of no deals, with the default stages and the fields ``by`` (fields that are
    not deal attributes, such as ``team``, read from a column of that name)."""
    columns = {"id": np.array([], dtype=object), "amount": np.array([], dtype=float),
               "stage": np.array([], dtype=object)}
    columns.update({name: np.array([], dtype=object) for name in by if name not in columns})
    fields = {name: name for name in by if name not in DEAL_ATTRIBUTES}
    return Pipeline.from_columns(columns, columns=fields or None)
