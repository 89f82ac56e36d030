"""What every CRM adapter shares: tables from CSV files, API records or response envelopes, and
the parsing of vendor values (percent or fraction probabilities, date formats, flags)."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import to_float_array, to_numpy
from salesmetrics.domain.dates import to_date, to_date_array
from salesmetrics.errors import DataError, DataTypeError, OptionError, choices, where
from salesmetrics.io.csv import read_columns

__all__ = [
    "Table",
    "column",
    "date_column",
    "first_present",
    "load_table",
    "parse_dates",
    "parse_flags",
    "parse_probability",
    "records_to_columns",
]

#: Column name → values (numpy arrays or lists), as read from a file or API records.
Table = dict[str, Any]


def load_table(
    source: object, *, what: str, envelope: Sequence[str] = (), drop: Iterable[str] = (),
    merge: Iterable[str] = (), delimiter: str = ",",
) -> Table:
    """A table from a CSV path, a list of record dicts, an API response envelope (a dict holding
    the records under one of ``envelope``), or a mapping of columns.

    Record keys in ``drop`` (e.g. Salesforce's ``attributes``) are ignored; nested dicts under
    ``merge`` (e.g. HubSpot's ``properties``) are merged into the record; other nested dicts
    become ``key.subkey`` columns.
    """
    if isinstance(source, (str, os.PathLike)):
        return dict(read_columns(source, delimiter=delimiter))
    if isinstance(source, Mapping):
        for key in envelope:
            if key in source:
                return records_to_columns(_records(source[key], what), drop=drop, merge=merge)
        if all(isinstance(v, (list, tuple, np.ndarray)) for v in source.values()):
            return dict(source)
        raise DataTypeError(
            f"{what}: a dict must be an API response with the records under "
            f"{choices(envelope)}, or a mapping of column name to values; got keys "
            f"{choices(list(source)[:8])}"
        )
    if hasattr(source, "columns") and hasattr(source, "__getitem__"):  # a data frame
        return {str(name): to_numpy(source[name]) for name in source.columns}
    return records_to_columns(_records(source, what), drop=drop, merge=merge)


def _records(value: object, what: str) -> list[Mapping[str, Any]]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DataTypeError(
            f"{what}: expected a CSV path, a list of records (dicts) or an API response, "
            f"got {type(value).__name__}"
        )
    records = list(value)
    for row, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise DataTypeError(f"{what}: record {row} must be a dict, got {record!r}")
    return records


def records_to_columns(
    records: Sequence[Mapping[str, Any]], *, drop: Iterable[str] = (), merge: Iterable[str] = ()
) -> Table:
    """Records (dicts) as columns: the union of their keys, None where a record lacks one."""
    dropped, merged = set(drop), set(merge)
    flat: list[dict[str, Any]] = []
    for record in records:
        row: dict[str, Any] = {}
        _flatten(record, "", row, dropped, merged)
        flat.append(row)
    names: dict[str, None] = {}
    for row in flat:
        names.update(dict.fromkeys(row))
    out: Table = {}
    for name in names:
        values = np.empty(len(flat), dtype=object)
        values[:] = [row.get(name) for row in flat]
        out[name] = values
    return out


def _flatten(
    record: Mapping[str, Any], prefix: str, out: dict[str, Any], drop: set[str], merge: set[str]
) -> None:
    for key, value in record.items():
        if key in drop:
            continue
        if isinstance(value, Mapping):
            _flatten(value, prefix if key in merge else f"{prefix}{key}.", out, drop, merge)
        else:
            out[f"{prefix}{key}"] = value


def first_present(table: Table, names: Sequence[str]) -> str | None:
    """The first of ``names`` that is a column of ``table`` (API field, then export header…)."""
    return next((name for name in names if name in table), None)


def date_column(
    table: Table, names: Sequence[str], *, ids: Any, formats: Sequence[str] = (),
    timezone: dt.tzinfo | None = None,
) -> npt.NDArray[np.datetime64]:
    """The first of the date columns ``names`` parsed by `parse_dates`; NaT if none."""
    name = first_present(table, names)
    if name is None:
        return np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[D]")
    return parse_dates(table[name], field=name, ids=ids, formats=formats, timezone=timezone)


def column(table: Table, name: str, *, what: str, required: bool = True) -> Any:
    """The column ``name`` of ``table``; `DataError` listing the columns if required and
    absent, else None."""
    if name in table:
        return table[name]
    if required:
        raise DataError(
            f"{what}: column {name!r} is missing; columns are {choices(sorted(table)[:40])}"
        )
    return None


def parse_probability(
    values: object, *, scale: str, field: str = "probability", ids: Any = None
) -> npt.NDArray[np.float64]:
    """Probabilities as fractions in [0, 1] (NaN where missing) from a ``"percent"`` (0–100:
    Salesforce, Pipedrive) or ``"fraction"`` (0–1: HubSpot) column."""
    if scale not in ("percent", "fraction"):
        raise OptionError(f"probability_scale must be 'percent' or 'fraction', got {scale!r}")
    probs = to_float_array(values, field=field, ids=ids)
    high = 100.0 if scale == "percent" else 1.0
    bad = (probs < 0) | (probs > high) | np.isinf(probs)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        hint = (" (the values look like percents: pass probability_scale='percent')"
                if scale == "fraction" and 1 < probs[row] <= 100 else "")
        deal = None if ids is None else np.asarray(ids)[row].item()
        raise DataError(
            f"{where(deal, row)}{field} must be in [0, {high:g}] "
            f"as a {scale}, got {float(probs[row])!r}{hint}"
        )
    return probs / 100.0 if scale == "percent" else probs


def parse_dates(
    values: object, *, field: str, ids: Any = None, formats: Sequence[str] = (),
    timezone: dt.tzinfo | None = None,
) -> npt.NDArray[np.datetime64]:
    """Dates from ISO strings (with or without time and offset), ``datetime64``, date objects,
    epoch milliseconds (HubSpot's older exports) or, failing those, the ``strptime`` formats
    given (e.g. ``"%m/%d/%Y"`` for a US-locale Salesforce report export)."""
    arr = to_numpy(values)
    try:
        return to_date_array(arr, field=field, timezone=timezone)
    except (DataError, DataTypeError):
        pass
    out = np.empty(len(arr), dtype="datetime64[D]")
    for row, value in enumerate(arr.tolist()):
        deal = None if ids is None else np.asarray(ids)[row].item()
        day = _one_date(value, field, row, deal, formats, timezone)
        out[row] = np.datetime64("NaT") if day is None else np.datetime64(day, "D")
    return out


def _one_date(
    value: object, field: str, row: int, deal: object, formats: Sequence[str],
    timezone: dt.tzinfo | None,
) -> dt.date | None:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, (int, float)) and not isinstance(text, bool) and not math.isnan(text):
        text = str(int(text))
    if isinstance(text, str) and text.isdigit() and len(text) in (12, 13):  # epoch milliseconds
        stamp = dt.datetime.fromtimestamp(int(text) / 1000, dt.UTC)
        return to_date(stamp, field=field, row=row, timezone=timezone)
    if isinstance(text, str):
        for fmt in formats:
            try:
                return to_date(dt.datetime.strptime(text, fmt), field=field, row=row,
                               timezone=timezone)
            except ValueError:
                continue
    try:
        return to_date(value, field=field, deal_id=deal, row=row, timezone=timezone)
    except (DataError, DataTypeError):
        tried = ", ".join(repr(f) for f in formats) or "none given"
        raise DataError(
            f"{where(deal, row)}{field}: cannot read the date {value!r}; ISO dates, epoch "
            f"milliseconds and the date_formats given ({tried}) are understood"
        ) from None


_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n", ""}


def parse_flags(values: object, *, field: str) -> npt.NDArray[np.bool_]:
    """Boolean flags from ``True``/``False``, 1/0 or their spellings in CSV exports."""
    arr = to_numpy(values)
    if arr.dtype == bool:
        return arr
    out = np.empty(len(arr), dtype=bool)
    for row, value in enumerate(arr.tolist()):
        text = "" if value is None else str(value).strip().lower()
        if isinstance(value, float) and value == value:
            text = str(int(value)) if value in (0.0, 1.0) else text
        if text in _TRUE:
            out[row] = True
        elif text in _FALSE:
            out[row] = False
        else:
            raise DataError(f"row {row}: {field} must be true or false, got {value!r}")
    return out
