"""A `Summary` as an Arrow table (one row per group) and as bytes (the Arrow IPC stream).

Columns: ``key:<field>`` per field of ``by`` (the group labels); one column per dense tally
(int64 or float64; a tally with more axes than the groups is a fixed-size list of its cells,
row-major, its shape in the metadata); and for a sparse `DayCounts` tally ``t``, three list
columns ``t.column``, ``t.day`` and ``t.count`` (each group's entries). Everything else (the
metric, options, process, currency, ``outside`` counts and the label order) is JSON in the
schema metadata under ``salesmetrics.summary``. pyarrow is imported on first use.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable
from typing import Any

import numpy as np

from salesmetrics._kernels import DayCounts
from salesmetrics.domain.period import Period, as_period
from salesmetrics.errors import DataError
from salesmetrics.metrics._merging import LabelOrder
from salesmetrics.metrics._summary import Summary

__all__ = ["from_arrow", "from_bytes", "to_arrow", "to_bytes"]

_META = b"salesmetrics.summary"
#: 3: outcome and velocity summaries record the sales process in their context.
_VERSION = 3
#: How long the context of a summary that records the sales process is (its last part): an
#: older one (a shorter context) cannot be checked against today's, whatever its format number.
_WITH_PROCESS = {"outcomes": 4, "velocity": 5}


def _pa() -> Any:
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Summary.to_arrow() and from_arrow() need pyarrow: pip install pyarrow") from None
    return pyarrow


def _encode(value: Any) -> Any:
    """A JSON-able form of an option, context or label value (tuples, dates and periods
    tagged so that they come back as they were)."""
    if isinstance(value, Period):
        label = str(value)
        if value.kind != "custom" and value.calendar is None and as_period(label) == value:
            return {"period": label}
        return {"period_range": [value.start.isoformat(), value.end.isoformat()]}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_encode(v) for v in value.tolist()]
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return {"float": "nan"}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    (tag, body), = value.items()
    if tag == "tuple":
        return tuple(_decode(v) for v in body)
    if tag == "period":
        return as_period(body)
    if tag == "period_range":
        return Period(dt.date.fromisoformat(body[0]), dt.date.fromisoformat(body[1]))
    if tag == "datetime":
        return dt.datetime.fromisoformat(body)
    if tag == "date":
        return dt.date.fromisoformat(body)
    if tag == "float":
        return float(body)
    raise DataError(f"Summary.from_arrow(): unknown value {value!r} in the metadata")


def _encode_order(order: LabelOrder) -> Any:
    """A field's `LabelOrder`: None for plain labels, else the categories' fingerprint and
    the labels present with their ranks."""
    fingerprint, ranks = order.compact()
    if fingerprint is None:
        return None
    return {"fingerprint": fingerprint, "labels": [_encode(k) for k in ranks],
            "ranks": list(ranks.values())}


def _decode_order(value: Any, version: int) -> LabelOrder:
    if version == 1:  # the field's every category, in order
        return LabelOrder.of_labels(list(_decode(value)))
    if value is None:
        return LabelOrder()
    labels = [_decode(v) for v in value["labels"]]
    return LabelOrder(value["fingerprint"], dict(zip(labels, value["ranks"], strict=True)))


def _key_columns(summary: Summary) -> list[list[Hashable]]:
    if not summary.by:
        return []
    if len(summary.by) == 1:
        return [list(summary.keys)]
    return [[k[i] for k in summary.keys] for i in range(len(summary.by))]  # type: ignore[index]


def to_arrow(summary: Summary) -> Any:
    """The summary as a `pyarrow.Table` (see the module docstring)."""
    pa = _pa()
    columns: dict[str, Any] = {}
    for field, labels in zip(summary.by, _key_columns(summary), strict=True):
        columns[f"key:{field}"] = pa.array(labels)
    shapes: dict[str, list[Any]] = {}
    sparse: dict[str, int] = {}
    rows = len(summary.keys) if not summary.is_empty else 0
    for name, array in summary.arrays.items():
        if isinstance(array, DayCounts):
            sparse[name] = array.columns
            row, column = np.divmod(array.cell, array.columns)
            edges = np.searchsorted(row, np.arange(rows + 1)).astype(np.int32)
            for part, values in (("column", column), ("day", array.day),
                                 ("count", array.count)):
                columns[f"{name}.{part}"] = pa.ListArray.from_arrays(
                    pa.array(edges), pa.array(np.asarray(values, dtype=np.int64)))
            continue
        flat = np.ascontiguousarray(array).reshape(len(array), int(np.prod(array.shape[1:])))
        shapes[name] = [str(array.dtype), *array.shape[1:]]
        if array.ndim == 1:
            columns[name] = pa.array(flat[:, 0])
        elif flat.shape[1] == 0:  # no cells (e.g. stage pairs of a one-stage process)
            columns[name] = pa.nulls(len(flat))
        else:
            columns[name] = pa.FixedSizeListArray.from_arrays(
                pa.array(flat.reshape(-1)), flat.shape[1])
    meta = {
        "version": _VERSION,
        "metric": summary.metric,
        "function": summary.function,
        "by": list(summary.by),
        "keys": None if summary.by else [_encode(k) for k in summary.keys],
        "options": [[k, _encode(v)] for k, v in summary.options],
        "context": None if summary.context is None else _encode(summary.context),
        "order": [_encode_order(o) for o in summary.order],
        "outside": dict(summary.outside),
        "shapes": shapes,
        "sparse": sparse,
        "empty": summary.is_empty,
    }
    table = pa.table(columns) if columns else pa.table({})
    return table.replace_schema_metadata({_META: json.dumps(meta).encode()})


def from_arrow(table: Any) -> Summary:
    """The summary stored by `to_arrow`; a `DataError` if the table is not one."""
    metadata = table.schema.metadata or {}
    if _META not in metadata:
        raise DataError("Summary.from_arrow(): the table has no salesmetrics summary metadata; "
                        "make it with Summary.to_arrow()")
    meta = json.loads(metadata[_META])
    if meta.get("version") not in (1, 2, _VERSION):
        raise DataError(f"Summary.from_arrow(): unknown summary format {meta.get('version')!r}")
    with_process = _WITH_PROCESS.get(meta["metric"])
    if (with_process is not None and not meta["empty"]
            and len(_decode(meta["context"]) or ()) < with_process):
        raise DataError(
            f"Summary.from_arrow(): this {meta['function'] or meta['metric']!r} summary was made "
            "by an older salesmetrics, which did not record the sales process, so it cannot be "
            "added to the summaries made now: summarize that part again")
    by = tuple(meta["by"])
    options = tuple((k, _decode(v)) for k, v in meta["options"])
    order = tuple(_decode_order(o, meta["version"]) for o in meta["order"])
    if meta["empty"]:
        return Summary(meta["metric"], by, (), {}, None, order, {}, function=meta["function"],
                       options=options)
    if by:
        labels = [table.column(f"key:{field}").to_pylist() for field in by]
        keys: tuple[Hashable, ...] = (tuple(labels[0]) if len(by) == 1
                                      else tuple(zip(*labels, strict=True)))
    else:
        keys = tuple(_decode(k) for k in meta["keys"])
    arrays: dict[str, Any] = {}
    for name, (dtype, *shape) in meta["shapes"].items():
        column = table.column(name).combine_chunks()
        if shape and not int(np.prod(shape)):
            arrays[name] = np.zeros((len(keys), *shape), dtype=dtype)
            continue
        if shape:
            values = column.flatten().to_numpy(zero_copy_only=False)
        else:
            values = column.to_numpy(zero_copy_only=False)
        arrays[name] = np.array(values, dtype=dtype).reshape(len(keys), *shape)
    for name, width in meta["sparse"].items():
        parts = {}
        for part in ("column", "day", "count"):
            column = table.column(f"{name}.{part}").combine_chunks()
            parts[part] = np.array(column.flatten().to_numpy(zero_copy_only=False),
                                   dtype=np.int64)
            lengths = np.array(column.value_lengths().to_numpy(zero_copy_only=False),
                               dtype=np.int64)
        row = np.repeat(np.arange(len(keys), dtype=np.int64), lengths)
        arrays[name] = DayCounts(len(keys), width, row * width + parts["column"], parts["day"],
                                 parts["count"])
    context = meta["context"]
    return Summary(meta["metric"], by, keys, arrays,
                   None if context is None else _decode(context), order,
                   {k: int(v) for k, v in meta["outside"].items()},
                   function=meta["function"], options=options)


def to_bytes(summary: Summary) -> bytes:
    """`to_arrow` as an Arrow IPC stream."""
    pa = _pa()
    table = to_arrow(summary)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def from_bytes(data: bytes) -> Summary:
    """The summary stored by `to_bytes`."""
    pa = _pa()
    with pa.ipc.open_stream(pa.py_buffer(data)) as reader:
        return from_arrow(reader.read_all())
