"""Partitions of a dask DataFrame as pipelines: co-partitioning the stage history by deal id, the
first pass for "the latest date on record", and the per-partition summarize step.

Everything here that runs on a worker is a plain module-level function of pandas frames and
plain options, so that a distributed worker can unpickle it by reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from salesmetrics.dask._adapter import summarize
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Stage
from salesmetrics.errors import DataTypeError
from salesmetrics.metrics._summary import Summary

__all__ = ["DataOptions", "build", "co_partition", "latest_day", "part_summary", "pipeline"]

#: The column that carries each deal's id as text while dask shuffles deals and events by it.
KEY = "__salesmetrics_deal__"

#: The options of `Pipeline.from_columns` that the dask functions pass on to every partition.
DataOptions = dict[str, Any]


def data_options(
    stages: Sequence[Stage], columns: Mapping[str, str] | None, currency: str | None,
    history_columns: Mapping[str, str] | None, pipeline_options: Mapping[str, Any] | None,
) -> DataOptions:
    """The keyword arguments of `Pipeline.from_columns` for every partition."""
    options: DataOptions = {"columns": None if columns is None else dict(columns),
                            "currency": currency}
    if history_columns is not None:
        options["history_columns"] = dict(history_columns)
    options.update(pipeline_options or {})
    for name in ("history", "stages"):
        if name in options:
            raise DataTypeError(f"pipeline_options cannot set {name!r}: pass {name}= itself")
    options["stages"] = tuple(stages)
    return options


def build(deals: Any, events: Any, data: DataOptions) -> Pipeline | None:
    """The pipeline of one partition (its deals, and their stage events when given), or None
    for a partition without rows. The shuffle key column, if any, is dropped first."""
    deals = _drop_key(deals)
    events = None if events is None else _drop_key(events)
    if len(deals) == 0 and (events is None or len(events) == 0):
        return None
    return pipeline(deals, events, data)


def pipeline(deals: Any, events: Any, data: DataOptions) -> Pipeline:
    """`Pipeline.from_columns` of ``deals`` with the stage events ``events`` (or None)."""
    options = dict(data)
    stages = options.pop("stages")
    return Pipeline.from_columns(deals, stages, history=events, **options)


def _drop_key(frame: Any) -> Any:
    return frame.drop(columns=[KEY]) if KEY in frame.columns else frame


def latest_day(p: Pipeline | None) -> np.datetime64:
    """`Pipeline.latest_date` of one partition (NaT for an empty one)."""
    return np.datetime64("NaT", "D") if p is None else p.latest_date.astype("datetime64[D]")


def overall_latest(days: Sequence[np.datetime64]) -> dt.date | None:
    """The latest of the partitions' latest dates, as a date; None when no partition has one
    (every partition then takes its own NaT, the same as the whole's)."""
    known = [d for d in days if not np.isnat(d)]
    if not known:
        return None
    day: dt.date = max(known).astype("datetime64[D]").astype(object)
    return day


def part_summary(p: Pipeline | None, metric: str, options: Mapping[str, Any]) -> Summary | None:
    """The summary of one partition's pipeline, or None (the identity) for an empty partition."""
    return None if p is None else summarize(p, metric, options)


def build_and_summarize(deals: Any, events: Any, data: DataOptions, metric: str,
                        options: Mapping[str, Any]) -> Summary | None:
    """`build` then `part_summary` in one task, so that no pipeline leaves its worker."""
    return part_summary(build(deals, events, data), metric, options)


def co_partition(ddf: Any, history: Any, data: DataOptions) -> tuple[Any, Any]:
    """Deals and their stage events hash-partitioned alike by deal id (dask's own shuffle), so
    that partition *i* of both holds the same deals. Ids are read as `Pipeline.from_columns`
    reads them: float ids with no fraction (integer ids read as floats, ``1.0``) as int64. They
    are hashed as int64 when both id columns are then numpy integers, else both as text."""
    columns = data.get("columns") or {}
    history_columns = data.get("history_columns") or {}
    deal_ids = _whole_ids(ddf[columns.get("id", "id")])
    event_ids = _whole_ids(history[history_columns.get("id", "id")])
    n = max(ddf.npartitions, history.npartitions)
    # Integer ids on both sides hash alike as int64 (no text made); otherwise both as text.
    integers = all(isinstance(ids.dtype, np.dtype) and ids.dtype.kind in "iu"
                   for ids in (deal_ids, event_ids))
    key_type: Any = np.int64 if integers else str
    deals = ddf.assign(**{KEY: deal_ids.astype(key_type)}).shuffle(KEY, npartitions=n)
    events = history.assign(**{KEY: event_ids.astype(key_type)}).shuffle(KEY, npartitions=n)
    return deals, events


def _whole_ids(ids: Any) -> Any:
    """A dask Series of ids, floats (numpy or pandas ``Float64``) as int64, as
    `Pipeline.from_columns` reads them; anything else unchanged."""
    if getattr(ids.dtype, "kind", None) != "f":
        return ids
    return ids.map_partitions(whole_floats, meta=(ids.name, np.int64))


def whole_floats(ids: Any) -> Any:
    """Float ids as int64 (a missing or fractional id, an error when its partition is read,
    as 0: it is hashed somewhere, and raises there)."""
    import pandas as pd

    values = np.asarray(ids.to_numpy(dtype=np.float64, na_value=np.nan))
    whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2.0**63)
    return pd.Series(np.where(whole, values, 0).astype(np.int64), index=ids.index, name=ids.name)
