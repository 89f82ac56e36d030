"""One metric on a dask DataFrame: check, (first pass), summarize per partition, tree-reduce,
finalize once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesmetrics.dask import _partitions as parts
from salesmetrics.dask._adapter import finalize, summarize
from salesmetrics.dask._reduce import check_split_every, tree_reduce
from salesmetrics.errors import DataError, DataTypeError

__all__ = ["run"]

#: Metrics whose ``as_of`` defaults to the latest date on record (used with ``stale_after``).
AS_OF_METRICS = ("win_rate", "sales_velocity")


def _dask() -> Any:
    try:
        import dask
        import dask.dataframe
    except ImportError as error:  # pragma: no cover - exercised without the extra installed
        raise ImportError(
            "salesmetrics.dask needs dask: pip install 'salesmetrics[dask]'"
        ) from error
    return dask


def _check_frame(function: str, name: str, frame: Any, required: bool) -> None:
    import dask.dataframe as dd

    if frame is None and not required:
        return
    if not isinstance(frame, dd.DataFrame):
        raise DataTypeError(
            f"salesmetrics.dask.{function}(): {name} must be a dask DataFrame (for a pandas "
            f"DataFrame use salesmetrics.{function} with Pipeline.from_columns), got "
            f"{type(frame).__name__}"
        )


def run(metric: str, ddf: Any, history: Any, data: parts.DataOptions,
        options: Mapping[str, Any], finalize_options: Mapping[str, Any],
        split_every: object, *, co_partitioned: bool = False) -> Any:
    """``metric`` over every partition of ``ddf`` (with its ``history``), merged and finalized."""
    dask = _dask()
    from dask.delayed import delayed

    _check_frame(metric, "ddf", ddf, required=True)
    _check_frame(metric, "history", history, required=False)
    every = check_split_every(metric, split_every)
    options = dict(options)
    # The empty pipeline of the frames' meta: checks the columns, stages and options here,
    # before any task runs, and raises what the single-process call would; its summary is
    # what an empty data set sums to.
    empty = parts.pipeline(ddf._meta, None if history is None else history._meta, data)
    identity = summarize(empty, metric, options)

    if history is None:
        deal_parts, event_parts = ddf.to_delayed(), [None] * ddf.npartitions
    elif co_partitioned:
        if history.npartitions != ddf.npartitions:
            raise DataError(
                f"salesmetrics.dask.{metric}(): co_partitioned=True needs as many history "
                f"partitions as deal partitions, got {history.npartitions} and "
                f"{ddf.npartitions}"
            )
        deal_parts, event_parts = ddf.to_delayed(), history.to_delayed()
    else:
        deals, events = parts.co_partition(ddf, history, data)
        deal_parts, event_parts = deals.to_delayed(), events.to_delayed()

    if (metric in AS_OF_METRICS and options.get("stale_after") is not None
            and options.get("as_of") is None):
        # First pass: the latest date on record of the whole data, read from the date and stage
        # columns alone (no pipeline built, nothing kept; the history as it is, before any
        # shuffle), then the same day to every partition.
        days = [delayed(parts.latest_deal_day)(d, data) for d in ddf.to_delayed()]
        if history is not None:
            days += [delayed(parts.latest_event_day)(e, data) for e in history.to_delayed()]
        options["as_of"] = parts.overall_latest(dask.compute(*days))
    summaries = [delayed(parts.build_and_summarize)(d, e, data, metric, options)
                 for d, e in zip(deal_parts, event_parts, strict=True)]
    (total,) = dask.compute(tree_reduce(summaries, every))
    if total is None:
        total = identity
    return finalize(total, finalize_options)
