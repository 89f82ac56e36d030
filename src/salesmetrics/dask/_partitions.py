"""Partitions of a dask DataFrame as pipelines: co-partitioning the stage history by deal id, the
first pass for "the latest date on record" (over the date columns alone), and the per-partition
summarize step.

Everything here that runs on a worker is a plain module-level function of pandas frames and
plain options, so that a distributed worker can unpickle it by reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.dask._adapter import summarize
from salesmetrics.domain.dates import check_date_formats, to_date_array, to_zone
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Stage, process_facts, stage_codes
from salesmetrics.errors import DataTypeError, OptionError, SalesMetricsError
from salesmetrics.metrics._summary import Summary

__all__ = ["DataOptions", "build", "build_and_summarize", "co_partition", "latest_deal_day",
           "latest_event_day", "overall_latest", "pipeline"]

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
    formats = options.get("date_formats")
    if isinstance(formats, (list, tuple)) and len(formats) > 1:
        # One process reads each date column with the first format that reads all of it; a
        # partition sees only its part of the column, and could choose another format.
        raise OptionError(
            f"pipeline_options: date_formats={list(formats)!r} gives several formats, and each "
            "partition would choose among them from its own dates only, so '01/02/2024' could "
            "read as 1 February in one partition and 2 January in another; give the one format "
            "the data use (date_formats=['%d/%m/%Y']), or convert the dates first "
            "(dd.to_datetime)")
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


def latest_deal_day(deals: Any, data: DataOptions) -> np.datetime64:
    """The latest date on record among one partition's deals (`Pipeline.latest_date` without
    the ``history`` table: created dates, close dates of closed deals, ``stage_entered`` dates)
    read from the columns alone, with no pipeline built; NaT for none.

    The columns are read by the functions that `Pipeline.from_columns` reads them with; a value
    they reject gives NaT here, and the partition's pipeline raises the error in the main pass.
    """
    deals = _drop_key(deals)
    names = {**{k: k for k in ("stage", "created", "close_date")}, **(data.get("columns") or {})}
    wide = dict(data.get("stage_entered") or {})
    if names["stage"] not in deals.columns or len(deals) == 0:
        return np.datetime64("NaT", "D")
    try:
        zone, formats = to_zone(data.get("timezone")), check_date_formats(data.get("date_formats"))
        ids = np.arange(len(deals))
        stages = data["stages"]
        closed = stage_codes(deals[names["stage"]], stages, ids) >= process_facts(stages).n_open
        days = [_dates(deals, names[k], k, zone, formats) for k in ("created", "close_date")]
        days[1] = days[1][closed]
        days.extend(_dates(deals, column, column, zone, formats) for column in wide.values())
    except SalesMetricsError:
        return np.datetime64("NaT", "D")
    return _latest(days)


def latest_event_day(events: Any, data: DataOptions) -> np.datetime64:
    """The latest stage-history date of one partition of the ``history`` table (NaT for none,
    or for a date `Pipeline.from_columns` rejects: the main pass raises its error)."""
    events = _drop_key(events)
    name = (data.get("history_columns") or {}).get("date", "date")
    try:
        zone, formats = to_zone(data.get("timezone")), check_date_formats(data.get("date_formats"))
        return _latest([_dates(events, name, "history date", zone, formats)])
    except SalesMetricsError:
        return np.datetime64("NaT", "D")


def _dates(frame: Any, column: str, field: str, zone: Any, formats: Any) -> npt.NDArray[Any]:
    if column not in frame.columns:
        return np.full(len(frame), np.datetime64("NaT", "D"))
    return to_date_array(frame[column], field=field, timezone=zone, formats=formats)


def _latest(days: Sequence[npt.NDArray[Any]]) -> np.datetime64:
    known = [d[~np.isnat(d)].max() for d in days if (~np.isnat(d)).any()]
    return max(known).astype("datetime64[D]") if known else np.datetime64("NaT", "D")


def overall_latest(days: Sequence[np.datetime64]) -> dt.date | None:
    """The latest of the partitions' latest dates, as a date; None when no partition has one
    (every partition then takes its own NaT, the same as the whole's)."""
    known = [d for d in days if not np.isnat(d)]
    if not known:
        return None
    day: dt.date = max(known).astype("datetime64[D]").astype(object)
    return day


def build_and_summarize(deals: Any, events: Any, data: DataOptions, metric: str,
                        options: Mapping[str, Any]) -> Summary | None:
    """The summary of one partition (its deals with their events), or None (the identity) for
    an empty partition; in one task, so that no pipeline leaves its worker."""
    p = build(deals, events, data)
    return None if p is None else summarize(p, metric, options)


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
