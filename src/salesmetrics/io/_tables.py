"""What every CRM adapter shares: tables from CSV files, API records or response envelopes, and
the parsing of vendor values (percent or fraction probabilities, date formats, flags)."""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics._csv import DEFAULT_ENCODING
from salesmetrics.domain.columns import is_missing_value, to_float_array, to_numpy
from salesmetrics.domain.dates import Formats, to_date_array
from salesmetrics.domain.stage import Outcome, Stage
from salesmetrics.errors import (
    DataError,
    DataQualityWarning,
    DataTypeError,
    OptionError,
    SalesMetricsError,
    choices,
    where,
)
from salesmetrics.errors import user_stacklevel as _stacklevel
from salesmetrics.io.csv import read_columns_and_lines

__all__ = [
    "DEFAULT_ENCODING",
    "Rows",
    "Table",
    "column",
    "date_column",
    "deal_ids",
    "first_present",
    "load_table",
    "ordered_process",
    "own_probability",
    "parse_dates",
    "parse_flags",
    "parse_probability",
    "records_to_columns",
    "stage_history",
    "subset",
    "text_of",
]

#: Column name → values (numpy arrays or lists), as read from a file or API records.
Table = dict[str, Any]


class Rows:
    """How messages name a row of a table: what it counts, and its position in the source.

    API records are ``record 9`` (the position in the list the caller passed); rows of columns
    are ``row 9 of the data``; rows of a CSV file also give their line, ``row 9 of the data,
    line 11 of 'sales.csv'``. ``index`` maps the rows of a filtered table back to the source's.
    """

    __slots__ = ("file", "index", "lines", "records")

    def __init__(
        self, *, records: bool, index: npt.NDArray[np.intp] | None = None,
        lines: Sequence[int] | None = None, file: str | None = None,
    ) -> None:
        self.records = records
        self.index = index
        self.lines = lines
        self.file = file

    def name(self, row: int) -> str:
        """``record 9``, ``row 9 of the data`` or ``row 9 of the data, line 11 of 'x.csv'``
        for the table's row ``row``."""
        at = row if self.index is None else int(self.index[row])
        if self.records:
            return f"record {at}"
        if self.lines is not None and at < len(self.lines):
            return f"row {at} of the data, line {self.lines[at]} of {self.file!r}"
        return f"row {at} of the data"

    def where(self, deal: object, row: int) -> str:
        """The ``deal '7' (record 9): `` prefix of a message (without a deal: ``record 9: ``)."""
        if deal is None:
            return f"{self.name(row)}: "
        return f"deal {deal!r} ({self.name(row)}): "

    def take(self, keep: npt.NDArray[np.bool_]) -> Rows:
        """The rows kept by the mask ``keep``, still named by their position in the source."""
        index = np.flatnonzero(keep) if self.index is None else self.index[keep]
        return Rows(records=self.records, index=index, lines=self.lines, file=self.file)


def subset(table: Table, keep: npt.NDArray[np.bool_]) -> Table:
    """The rows of every column of ``table`` where ``keep`` is true."""
    return {name: to_numpy(values)[keep] for name, values in table.items()}


def text_of(values: object) -> npt.NDArray[np.str_]:
    """Any column as text, ``str()`` of each value (of nested lists or dicts in API records
    too)."""
    arr = to_numpy(values)
    if arr.dtype.kind == "U":
        return arr
    try:
        return arr.astype(str)
    except (TypeError, ValueError):  # a list or other sequence in an object column
        return np.array([str(v) for v in arr.tolist()], dtype=str)


def _where(rows: Rows | None, deal: object, row: int) -> str:
    return where(deal, row) if rows is None else rows.where(deal, row)


def _deal(ids: Any, row: int) -> object:
    """The deal id of ``row`` for a message (None if there are no ids, or it is missing)."""
    if ids is None:
        return None
    deal = to_numpy(ids)[row]
    deal = deal.item() if isinstance(deal, np.generic) else deal
    return None if is_missing_value(deal) else deal


def load_table(
    source: object, *, what: str, envelope: Sequence[str] = (), drop: Iterable[str] = (),
    merge: Iterable[str] = (), delimiter: str = ",", encoding: str = DEFAULT_ENCODING,
) -> tuple[Table, Rows]:
    """A table from a CSV path, a list of record dicts, an API response envelope (a dict holding
    the records under one of ``envelope``), or a mapping of columns; and how messages name its
    rows (`Rows`).

    Record keys in ``drop`` (e.g. Salesforce's ``attributes``) are ignored; nested dicts under
    ``merge`` (e.g. HubSpot's ``properties``) are merged into the record; other nested dicts
    become ``key.subkey`` columns. ``delimiter`` and ``encoding`` are those of a CSV file.
    """
    columns = Rows(records=False)
    if isinstance(source, (str, os.PathLike)):
        table, lines = read_columns_and_lines(source, delimiter=delimiter, encoding=encoding)
        return dict(table), Rows(records=False, lines=lines,
                                 file=os.path.basename(os.fspath(source)))
    if isinstance(source, Mapping):
        for key in envelope:
            if key in source:
                records = records_to_columns(_records(source[key], what), drop=drop, merge=merge)
                return records, Rows(records=True)
        if all(isinstance(v, (list, tuple, np.ndarray)) for v in source.values()):
            return dict(source), columns
        raise DataTypeError(
            f"{what}: a dict must be an API response with the records under "
            f"{choices(envelope)}, or a mapping of column name to values; got keys "
            f"{choices(list(source)[:8])}"
        )
    if hasattr(source, "columns") and hasattr(source, "__getitem__"):  # a data frame
        return {str(name): to_numpy(source[name]) for name in source.columns}, columns
    return records_to_columns(_records(source, what), drop=drop, merge=merge), Rows(records=True)


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


def deal_ids(values: object, *, field: str, what: str, rows: Rows) -> npt.NDArray[np.str_]:
    """Deal ids as text (``101`` and ``101.0`` both as ``"101"``); `DataError` naming every
    record or row without one (None, NaN, an empty or blank cell): never the text ``"None"``."""
    arr = to_numpy(values)
    if arr.dtype.kind in "iuU":
        missing = (np.char.str_len(np.char.strip(arr)) == 0 if arr.dtype.kind == "U"
                   else np.zeros(len(arr), bool))
        text = arr.astype(str)
    else:
        items = arr.tolist()
        for row, value in enumerate(items):
            if isinstance(value, bool) or not (
                isinstance(value, (str, int, float, np.generic)) or is_missing_value(value)
            ):
                raise DataTypeError(
                    f"{what}: {rows.name(row)}: {field} must be a str or int, got {value!r}"
                )
        missing = np.array([is_missing_value(v) for v in items], dtype=bool)
        text = np.array([str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                         for v in items], dtype=str)
    if missing.any():
        bad = np.flatnonzero(missing)
        listed = ", ".join(rows.name(int(r)) for r in bad[:5]) + (", …" if len(bad) > 5 else "")
        raise DataError(
            f"{what}: {rows.name(int(bad[0]))}: {field} is missing; every deal needs an id "
            f"({len(bad)} without one: {listed})"
        )
    return text


def own_probability(
    probability: npt.NDArray[np.float64], stage: object, process: Sequence[Stage]
) -> npt.NDArray[np.float64]:
    """Each deal's own probability where it differs from its stage's, else NaN (the stage's
    applies, and follows a later change to the stage's probability)."""
    default = {s.name: s.probability for s in process}
    names, inverse = np.unique(text_of(stage), return_inverse=True)
    stage_default = np.array([default.get(name, np.nan) for name in names.tolist()],
                             dtype=np.float64)[inverse.reshape(-1)]
    return np.where(np.isclose(probability, stage_default), np.nan, probability)


def ordered_process(stages: Iterable[tuple[str, float, Outcome, float]]) -> tuple[Stage, ...]:
    """The process from ``(name, probability, outcome, sort order)`` of each stage: ordered by
    outcome, in the order of `Outcome` (open stages first, then won, lost and no decision),
    then by sort order; stages that tie keep the order given."""
    ordered = sorted(stages, key=lambda s: (s[2], s[3]))
    return tuple(Stage(name, prob, outcome) for name, prob, outcome, _ in ordered)


def date_column(
    table: Table, names: Sequence[str], *, ids: Any, formats: Formats = None,
    timezone: dt.tzinfo | None = None, epoch_ms: bool = False, rows: Rows | None = None,
) -> npt.NDArray[np.datetime64]:
    """The first of the date columns ``names`` parsed by `parse_dates`; NaT if none."""
    name = first_present(table, names)
    if name is None:
        return np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[D]")
    return parse_dates(table[name], field=name, ids=ids, formats=formats, timezone=timezone,
                       epoch_ms=epoch_ms, rows=rows)


def stage_history(
    source: object, *, what: str, loaded: npt.NDArray[np.str_], envelope: Sequence[str] = (),
    formats: Formats = None, timezone: dt.tzinfo | None = None, epoch_ms: bool = False,
    delimiter: str = ",", encoding: str = DEFAULT_ENCODING,
) -> dict[str, Any]:
    """A stage history given as a CSV path, records or columns ``id``, ``stage`` (as the deals
    name their stages) and ``date``, one row per stage entered: the ``history=`` option of the
    adapters whose CRM has no history object of its own. Rows of deals that were not loaded
    (``loaded``: the ids of those that were) are left out, as for the deals themselves."""
    table, rows = load_table(source, what=what, envelope=envelope, delimiter=delimiter,
                             encoding=encoding)
    ids = deal_ids(column(table, "id", what=what), field="id", what=what, rows=rows)
    stage = column(table, "stage", what=what)
    dates = parse_dates(column(table, "date", what=what), field="history date", ids=ids,
                        formats=formats, timezone=timezone, epoch_ms=epoch_ms, rows=rows)
    keep = np.isin(ids, loaded)
    return {"id": ids[keep], "stage": to_numpy(stage)[keep], "date": dates[keep]}


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
    values: object, *, scale: str, field: str = "probability", ids: Any = None,
    rows: Rows | None = None, fix: str | None = None,
) -> npt.NDArray[np.float64]:
    """Probabilities as fractions in [0, 1] (NaN where missing) from a ``"percent"`` (0–100:
    Salesforce, Pipedrive) or ``"fraction"`` (0–1: HubSpot) column.

    Values on the other scale: above 1 as fractions is an error; as percents, all at most 1
    and not all 0 or 1 (``0.6``, read as 0.6 %) is an error, and values below 1 among larger
    ones (``50`` and ``0.5``) a `DataQualityWarning`. ``fix`` says how to mend it (default:
    pass `read_records`' ``probability_scale=`` the other scale)."""
    if scale not in ("percent", "fraction"):
        raise OptionError(f"probability_scale must be 'percent' or 'fraction', got {scale!r}")
    probs = to_float_array(values, field=field,
                           ids=None if ids is None else text_of(ids))
    other = "fraction" if scale == "percent" else "percent"
    fix = fix or f"pass probability_scale={other!r}"
    high = 100.0 if scale == "percent" else 1.0
    bad = (probs < 0) | (probs > high) | np.isinf(probs)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        hint = (f" (the values look like percents: {fix})"
                if scale == "fraction" and 1 < probs[row] <= 100 else "")
        raise DataError(
            f"{_where(rows, _deal(ids, row), row)}{field} must be in [0, {high:g}] "
            f"as a {scale}, got {float(probs[row])!r}{hint}"
        )
    if scale == "percent":
        _check_percents(probs, field, ids, rows, fix)
    return probs / 100.0 if scale == "percent" else probs


def _check_percents(
    probs: npt.NDArray[np.float64], field: str, ids: Any, rows: Rows | None, fix: str
) -> None:
    """`DataError` if percents look like fractions, `DataQualityWarning` if some do."""
    below_one = (probs > 0) & (probs < 1)
    if not below_one.any():
        return
    row = int(np.flatnonzero(below_one)[0])
    value, largest = float(probs[row]), float(np.nanmax(probs))
    first = _where(rows, _deal(ids, row), row)
    if largest <= 1:
        raise DataError(
            f"{first}{field} must be a percent (0-100, 60 for 60 %), got {value!r}: every "
            f"value is at most 1, so they look like fractions ({value:g} read as {value:g} %); "
            f"{fix}"
        )
    count = int(below_one.sum())
    warnings.warn(
        f"{field}: {count} value{'s are' if count > 1 else ' is'} between 0 and 1 on the "
        f"percent scale (below 1 %) while others reach {largest:g} %: fractions mixed with "
        f"percents? (first: {first[:-2]}, {value:g} read as {value:g} %); write every value "
        f"as a percent (60 for 60 %)",
        DataQualityWarning, stacklevel=_stacklevel(),
    )


_DAY_MS = 86_400_000


def parse_dates(
    values: object, *, field: str, ids: Any = None, formats: Formats = None,
    timezone: dt.tzinfo | None = None, epoch_ms: bool = False, rows: Rows | None = None,
) -> npt.NDArray[np.datetime64]:
    """Dates read by the library's one date parser (`salesmetrics.domain.dates.to_date_array`):
    ISO strings (with or without time and offset), ``datetime64``, date objects and, with
    ``formats`` (the checked ``date_formats=`` option), ``strptime`` formats such as
    ``"%m/%d/%Y"`` for a US-locale Salesforce report export, or ``"dateutil"``.

    With ``epoch_ms`` (HubSpot's API and older exports), 12- and 13-digit numbers and digit
    strings are milliseconds since 1970-01-01 UTC (1973-03-03 to 2286-11-20), converted in one
    pass: never the ISO basic date that ``"1677110400000"`` also spells (1677-11-04).

    Errors are the parser's, with the row named as ``rows`` names it (``record 9``, or the row
    and line of a CSV file).
    """
    arr = to_numpy(values)
    if epoch_ms and len(arr):
        stamped, days = _epoch_days(arr, timezone)
        if stamped.any():
            out = np.empty(len(arr), dtype="datetime64[D]")
            out[stamped] = days
            rest = ~stamped
            if rest.any():
                out[rest] = parse_dates(
                    arr[rest], field=field, ids=None if ids is None else np.asarray(ids)[rest],
                    formats=formats, timezone=timezone, epoch_ms=True,
                    rows=(rows or Rows(records=False)).take(rest),
                )
            return out
    try:
        return to_date_array(arr, field=field, timezone=timezone, formats=formats)
    except (DataError, DataTypeError) as error:
        raise _renamed(error, ids, rows, epoch_ms, formats is None) from None


_DATA_ROW = re.compile(r"row (\d+) of the data: ")


def _renamed(
    error: SalesMetricsError, ids: Any, rows: Rows | None, epoch_ms: bool, no_formats: bool
) -> SalesMetricsError:
    """The date parser's ``error`` with its ``row 9 of the data: `` prefix naming the deal and
    the row as ``rows`` names row 9 of the table (its record, or its line in the file); with
    ``epoch_ms``, saying that epoch milliseconds are read too; without ``date_formats``, for a
    date in another form, how to read it."""
    message = str(error)
    found = _DATA_ROW.match(message)
    if found:
        row = int(found.group(1))
        message = _where(rows, _deal(ids, row), row) + message[found.end():]
    if epoch_ms:
        message += " (epoch milliseconds, 12 or 13 digits, are read too)"
    if no_formats and isinstance(error, DataError) and " must be an ISO date " in message:
        message += ("; to read dates in another form, pass date_formats=['%m/%d/%Y'] (strptime "
                    "formats) or date_formats='dateutil'")
    return type(error)(message)


def _epoch_days(
    arr: npt.NDArray[Any], timezone: dt.tzinfo | None
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.datetime64]]:
    """Which cells are epoch milliseconds, and those cells as calendar days in ``timezone``."""
    if arr.dtype.kind in "iuf":
        number = arr.astype(np.float64)
        with np.errstate(invalid="ignore"):
            stamped = (np.isfinite(number) & (number == np.floor(number))
                       & (number >= 1e11) & (number < 1e13))
        ms = number[stamped].astype(np.int64)
    elif arr.dtype.kind in "UO":
        if arr.dtype.kind == "O":
            # bools and date objects are no stamps; ints and integral floats may be
            keep = np.array([not isinstance(v, bool) and isinstance(v, (str, int, float))
                             for v in arr.tolist()], dtype=bool)
            text = text_of(np.where(keep, arr, ""))
        else:
            text = arr
        parts = np.char.partition(np.char.strip(text), ".")
        whole, point, fraction = parts[..., 0], parts[..., 1], parts[..., 2]
        text = np.where((point == "") | (fraction == "0"), whole, "")  # "1677110400000.0"
        length = np.char.str_len(text)
        stamped = np.char.isdigit(text) & ((length == 12) | (length == 13))
        ms = text[stamped].astype(np.int64)
    else:
        return np.zeros(len(arr), bool), np.empty(0, dtype="datetime64[D]")
    if timezone is not None:
        ms = ms + _utc_offsets_ms(ms, timezone)
    return stamped, (ms // _DAY_MS).astype("datetime64[D]")


def _utc_offsets_ms(ms: npt.NDArray[np.int64], zone: dt.tzinfo) -> npt.NDArray[np.int64]:
    """The UTC offset of ``zone`` at each instant (ms since the epoch), looked up once per UTC
    day, and per instant only on days when the offset changes (DST)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def offset(at_ms: int) -> int:
        moment = (epoch + dt.timedelta(milliseconds=at_ms)).astimezone(zone)
        delta = moment.utcoffset() or dt.timedelta(0)
        return int(delta.total_seconds() * 1000)

    days, inverse = np.unique(ms // _DAY_MS, return_inverse=True)
    inverse = inverse.reshape(-1)
    start = np.array([offset(int(d) * _DAY_MS) for d in days.tolist()], dtype=np.int64)
    end = np.array([offset((int(d) + 1) * _DAY_MS - 1) for d in days.tolist()], dtype=np.int64)
    out = start[inverse]
    changing = np.flatnonzero(np.isin(inverse, np.flatnonzero(start != end)))
    for row in changing.tolist():
        out[row] = offset(int(ms[row]))
    return out


_TRUE = ("1", "1.0", "true", "t", "yes", "y")
_FALSE = ("0", "0.0", "false", "f", "no", "n")
_ABSENT = ("", "none", "nan", "null")


def parse_flags(
    values: object, *, field: str, missing: bool = False, ids: Any = None,
    rows: Rows | None = None,
) -> npt.NDArray[np.bool_]:
    """Boolean flags from ``True``/``False``, 1/0 or their spellings in CSV exports; a missing
    cell (None, empty) is ``missing`` (e.g. True for an ``active_flag`` a record leaves out)."""
    arr = to_numpy(values)
    if arr.dtype == bool:
        return arr
    text = np.char.lower(np.char.strip(text_of(arr)))
    true, false, absent = np.isin(text, _TRUE), np.isin(text, _FALSE), np.isin(text, _ABSENT)
    bad = ~(true | false | absent)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = arr.tolist()[row]
        raise DataError(
            f"{_where(rows, _deal(ids, row), row)}{field} must be true or false, got {value!r}"
        )
    return true | (absent & missing)
