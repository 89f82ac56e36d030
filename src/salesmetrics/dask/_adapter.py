"""The one place where `salesmetrics.dask` meets the summaries: the public `summarize`, ``+``
and `finalize` of `salesmetrics.metrics.summaries`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import CurrencyError
from salesmetrics.metrics import summaries
from salesmetrics.metrics._merging import SummaryMismatchError
from salesmetrics.metrics._summary import Summary

__all__ = ["add", "finalize", "summarize"]


def summarize(p: Pipeline, metric: str, options: Mapping[str, Any]) -> Summary:
    """``metric``'s summary of ``p`` with the metric's own ``options`` (not ``zero_division``)."""
    return summaries.summarize(p, metric, **options)


def add(a: Summary, b: Summary) -> Summary:
    """``a + b``: exact, associative and commutative, keys in the whole's order.

    Partitions summarized with the same options differ only in what their data sets: two
    currencies are the `CurrencyError` one process gives for mixed currencies."""
    try:
        return a + b
    except SummaryMismatchError as error:
        codes = sorted({str(x) for mine, theirs in zip(_flat(a.context), _flat(b.context),
                                                        strict=False)
                        if mine != theirs and isinstance(mine, str) and isinstance(theirs, str)
                        for x in (mine, theirs)})
        if not codes:
            raise
        raise CurrencyError(
            f"deals are in several currencies ({', '.join(codes)}), in different partitions; "
            f"convert them to one currency in every partition with "
            f"pipeline_options={{'rates': ExchangeRates...}}"
        ) from error


def _flat(context: Any) -> tuple[Any, ...]:
    return tuple(context) if isinstance(context, tuple) else ()


def finalize(summary: Summary, finalize_options: Mapping[str, Any]) -> Any:
    """What the summary's metric returns for the data that ``summary`` sums up."""
    return summaries.finalize(summary, **finalize_options)
