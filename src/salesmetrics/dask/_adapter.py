"""The one place where `salesmetrics.dask` meets the summaries: the public `summarize`, ``+``
and `finalize` of `salesmetrics.metrics.summaries`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.metrics import summaries
from salesmetrics.metrics._summary import Summary

__all__ = ["add", "finalize", "summarize"]


def summarize(p: Pipeline, metric: str, options: Mapping[str, Any]) -> Summary:
    """``metric``'s summary of ``p`` with the metric's own ``options`` (not ``zero_division``)."""
    return summaries.summarize(p, metric, **options)


def add(a: Summary, b: Summary) -> Summary:
    """``a + b``: exact, associative and commutative, keys in the whole's order."""
    return a + b


def finalize(summary: Summary, finalize_options: Mapping[str, Any]) -> Any:
    """What the summary's metric returns for the data that ``summary`` sums up."""
    return summaries.finalize(summary, **finalize_options)
