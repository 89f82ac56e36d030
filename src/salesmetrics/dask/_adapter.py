"""The one place where `salesmetrics.dask` meets the summaries: summarize, add, finalize.

TEMPORARY: until the public ``salesmetrics.summarize`` / ``salesmetrics.finalize`` land, this
falls back on the internal summarize steps, and finalizes by running the metric on an empty
pipeline whose summarize step returns the merged summary.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import salesmetrics
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.metrics import _summarize, conversion, cycle, pipeline_totals, velocity, win_rates
from salesmetrics.metrics._summary import Summary

__all__ = ["add", "finalize", "summarize"]

_HOME: dict[str, tuple[Any, str]] = {
    "weighted_pipeline": (pipeline_totals, "summarize_open"),
    "pipeline_value": (pipeline_totals, "summarize_open"),
    "won_revenue": (pipeline_totals, "summarize_outcomes"),
    "win_rate": (win_rates, "summarize_outcomes"),
    "outcome_shares": (win_rates, "summarize_outcomes"),
    "conversion_from_stage": (conversion, "summarize_reached"),
    "stage_conversion": (conversion, "summarize_reached"),
    "funnel_counts": (conversion, "summarize_reached"),
    "sales_velocity": (velocity, "summarize_velocity"),
    "sales_cycle_length": (cycle, "summarize_outcomes"),
    "average_deal_size": (cycle, "summarize_outcomes"),
}
_LOCK = threading.Lock()


def summarize(p: Pipeline, metric: str, options: Mapping[str, Any]) -> Summary:
    """``metric``'s summary of ``p`` with the metric's own ``options`` (not ``zero_division``)."""
    public = getattr(salesmetrics, "summarize", None)
    if public is not None:
        return public(p, metric, **options)  # type: ignore[no-any-return]
    o = dict(options)
    window = {k: o[k] for k in ("by", "period", "view") if k in o}
    if metric in ("weighted_pipeline", "pipeline_value"):
        return _summarize.summarize_open(p, by=o.get("by"), period=o.get("period"),
                                         function=metric)
    if metric in ("win_rate", "sales_velocity"):
        stale = win_rates.stale_before(metric, p, o.get("stale_after"), o.get("as_of"))
        if metric == "sales_velocity":
            return _summarize.summarize_velocity(
                p, opportunities=o.get("opportunities", "all"), stale_before=stale, **window)
        return _summarize.summarize_outcomes(p, function=metric, stale_before=stale, **window)
    if metric in ("conversion_from_stage", "stage_conversion", "funnel_counts"):
        if o.get("skipped") == "visited" and metric == "stage_conversion":
            raise NotImplementedError("stage_conversion(skipped='visited') awaits sm.summarize")
        return _summarize.summarize_reached(p, skipped=o.get("skipped", "implied"),
                                            function=metric, **window)
    cycles = metric == "sales_cycle_length"
    return _summarize.summarize_outcomes(
        p, function=metric, cycles=cycles,
        histogram=cycles and o.get("statistic", "mean") != "mean", **window)


def add(a: Summary, b: Summary) -> Summary:
    """``a + b``."""
    return a + b


def finalize(summary: Summary, metric: str, options: Mapping[str, Any],
             finalize_options: Mapping[str, Any], empty: Pipeline) -> Any:
    """What ``metric`` returns for the data that ``summary`` sums up."""
    public = getattr(salesmetrics, "finalize", None)
    if public is not None:
        return public(summary, **finalize_options)
    module, name = _HOME[metric]
    with _LOCK, _returning(module, name, summary):
        return getattr(salesmetrics, metric)(empty, **options, **finalize_options)


@contextmanager
def _returning(module: Any, name: str, summary: Summary) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, lambda *args, **kwargs: summary)
    try:
        yield
    finally:
        setattr(module, name, saved)
