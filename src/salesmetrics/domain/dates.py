"""Calendar dates from the many forms a CRM export gives them.

Accepted values, and nothing else:

- ``datetime.date``, ``datetime.datetime`` (pandas ``Timestamp`` is one) and ``numpy.datetime64``
  of any unit;
- ISO 8601 dates ``YYYY-MM-DD`` (``"2017-03-01"``);
- ISO 8601 date-times ``YYYY-MM-DDTHH:MM[:SS[.fff…]]``, with ``T`` or a space between date and
  time, optionally followed by ``Z`` or an offset ``±HH:MM``, ``±HHMM`` or ``±HH``
  (``"2017-03-01T09:30:00Z"``, Salesforce's ``"2017-03-01T09:30:00.000+0000"``, pandas'
  ``"2017-03-01 09:30:00"``);
- missing cells: None, NaN, pandas' NA and NaT, empty or blank strings, and the strings
  ``"NaT"``, ``"nan"``, ``"NaN"``, ``"None"`` and ``"null"``.

With ``date_formats=`` (an option of `Pipeline.from_columns`, ``read_csv`` and the adapters), a
string in none of the forms above is also tried against:

- a list of `~datetime.datetime.strptime` formats, in order, such as ``["%d/%m/%Y", "%d.%m.%Y"]``
  (a format without a time directive reads a plain date, never shifted by ``timezone``). A
  column uses one format: the first that reads every string of the column, so with
  ``["%m/%d/%Y", "%d/%m/%Y"]`` a column holding ``"03/04/2024"`` and ``"25/04/2024"`` is read
  day first (April 3 and April 25). Only if no single format reads them all is each string read
  by the first format that reads it, with a `DataQualityWarning` naming the formats used if two
  of them differ only in the order of day and month. A format strptime cannot use (``"%q"``) is
  an `OptionError`;
- or ``"dateutil"``: python-dateutil's flexible parser (``"March 1, 2024"``, ``"1 Mar 2024
  10:00"``). It reads ambiguous numeric dates month first (``"01/03/2024"`` is January 3): give
  explicit formats for day-first data. A string that lacks the year, month or day (``"March"``)
  is an error, never filled in from today, and so is a time-zone name it does not know
  (``"EST"``).

Each distinct string is parsed once, so a long column of few dates costs little.

Anything else is an error naming the deal, row, field and value: digit strings such as
``"1704067200"`` (epoch seconds are not a date; the HubSpot adapter reads its epoch
milliseconds itself), ISO basic ``"20240101"``, week dates ``"2024-W01"``, signed or
five-digit years (``"-002024-01"``), and any date outside 0001-01-01 to 9999-12-31, the dates a
``datetime.date`` holds (never a wrapped or clipped value).

Timestamps become calendar dates in UTC unless a time zone is given: an aware timestamp is
converted to that zone and its date taken; a naive one is taken to be in UTC already (CRM APIs
export UTC). Durations such as cycle length are whole days between those dates.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._date_formats import (
    FORMATS,
    DateFormats,
    Formats,
    accepted,
    check_date_formats,
    column_formats,
    parse_with,
)
from salesmetrics.domain.columns import is_missing_value, to_numpy
from salesmetrics.errors import DataError, DataTypeError, where

__all__ = [
    "FORMATS", "MISSING_DAY", "NAT", "RANGE", "DateFormats", "Formats", "check_date_formats",
    "dates_of_days", "day_numbers", "days_of_dates", "iso_date", "to_date", "to_date_array",
    "to_day", "to_zone",
]

NAT = np.datetime64("NaT", "D")
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # the ISO date and date-time, compiled on first use
_ISO_DATETIME = (_ISO_DATE + r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
                 r"(?:Z|[-+][0-9]{2}(?::?[0-9]{2})?)?")
_iso_patterns = functools.cache(lambda: (re.compile(_ISO_DATE), re.compile(_ISO_DATETIME)))
_FIRST = np.datetime64("0001-01-01", "D")
_LAST = np.datetime64("9999-12-31", "D")
_SPAN = np.uint64(int(_LAST.astype(np.int64)) - int(_FIRST.astype(np.int64)))
#: The dates a ``datetime.date`` holds, the only ones a pipeline or a period may have.
RANGE = "0001-01-01 to 9999-12-31"
_RANGE = f"the dates {RANGE}"
_MISSING_WORDS = frozenset(("NaT", "nan", "NaN", "None", "null"))
#: The int32 day number of a missing date: below every date, so that ``day < end`` keeps it.
MISSING_DAY = np.int32(np.iinfo(np.int32).min)
_UNIX_ORDINAL = dt.date(1970, 1, 1).toordinal()
_BLOCK = 1 << 16


def dates_of_days(days: npt.NDArray[np.int32]) -> npt.NDArray[np.datetime64]:
    """int32 day numbers (`MISSING_DAY` where missing) as ``datetime64[D]`` with NaT."""
    out = days.astype(np.int64)
    out[days == MISSING_DAY] = np.iinfo(np.int64).min
    return out.view("datetime64[D]")


def day_numbers(dates: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int32]:
    """Days since 1970-01-01 as int32, `MISSING_DAY` where NaT (every date of `RANGE` fits)."""
    days = dates.astype("datetime64[D]", copy=False).view(np.int64)
    out = days.astype(np.int32)
    out[days == np.iinfo(np.int64).min] = MISSING_DAY
    return out


def to_zone(timezone: str | dt.tzinfo | None) -> dt.tzinfo | None:
    """Resolve a time-zone name such as ``"Europe/Berlin"`` (None means UTC)."""
    if timezone is None or isinstance(timezone, dt.tzinfo):
        return timezone
    if isinstance(timezone, str):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # lazily: a 2 ms import

        try:
            return ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise DataError(f"timezone {timezone!r} is not a known IANA time zone") from None
    raise DataTypeError(f"timezone must be a str or tzinfo, got {timezone!r}")


def _is_missing(value: object) -> bool:
    """A missing cell, or a date column's spelled-out missing value (``"NaT"``, ``"null"``…)."""
    if isinstance(value, str) and value.strip() in _MISSING_WORDS:
        return True
    return is_missing_value(value)


def iso_date(text: str) -> dt.date | dt.datetime | None:
    """``text`` as a date (``YYYY-MM-DD``) or date-time in a documented format, else None.

    None also for a date of the right shape that does not exist (``"2024-02-30"``,
    ``"0000-01-01"``).
    """
    iso_date_pattern, iso_datetime_pattern = _iso_patterns()
    try:
        if iso_date_pattern.fullmatch(text):
            return dt.date.fromisoformat(text)
        if iso_datetime_pattern.fullmatch(text):
            return dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


def to_day(value: object, *, field: str) -> dt.date:
    """One required calendar day, for options and periods rather than data: a ``datetime.date``,
    a ``datetime.datetime`` (its date, as given), a ``numpy.datetime64`` (not NaT) or an ISO date
    string ``'YYYY-MM-DD'``; a date-time string is not a day.

    Raises
    ------
    DataError
        For a string that is not an ISO date, or a day outside 0001-01-01 to 9999-12-31.
    DataTypeError
        For a value of another type.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64) and not np.isnat(value):
        day = value.astype("datetime64[D]")
        if _first_outside(np.array([day])) is not None:
            raise DataError(f"{field} {day} is outside {_RANGE}")
        result: object = day.item()
        assert isinstance(result, dt.date)
        return result
    if isinstance(value, str):
        parsed = iso_date(value.strip())
        if type(parsed) is not dt.date:  # not a date-time either
            raise DataError(f"{field} must be an ISO date 'YYYY-MM-DD', got {value!r}")
        return parsed
    raise DataTypeError(f"{field} must be a date, got {value!r}")


def to_date(
    value: object,
    *,
    field: str = "date",
    deal_id: object = None,
    row: int | None = None,
    timezone: dt.tzinfo | None = None,
    formats: Formats = None,
) -> dt.date | None:
    """One value in an accepted form (see the module docs) as a calendar date, or None if missing.

    ``formats`` is the checked ``date_formats=`` option (see `check_date_formats`), tried on
    strings that are not ISO dates.

    Raises
    ------
    DataError
        For a string in no accepted format, or a date outside 0001-01-01 to 9999-12-31.
    DataTypeError
        For a value of another type (a number, say).
    """
    if _is_missing(value):
        return None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        if _first_outside(np.array([value])) is not None:
            raise DataError(f"{where(deal_id, row)}{field} {value} is outside {_RANGE}")
        if timezone is None:
            result: object = value.astype("datetime64[D]").item()
            assert isinstance(result, dt.date)  # years 1..9999, checked above
            return result
        value = value.astype("datetime64[us]").item()
    if isinstance(value, str):
        text = value.strip()
        parsed = iso_date(text)
        if parsed is None:
            if any(pattern.fullmatch(text) for pattern in _iso_patterns()):
                raise DataError(
                    f"{where(deal_id, row)}{field} {value!r} is not a date that exists: years "
                    "are 0001..9999, months 01..12, days those of the month, hours 00..23"
                )
            found = parse_with(text, formats)
            if isinstance(found, str):
                raise DataError(f"{where(deal_id, row)}{field} {value!r} {found}")
            if found is None:
                raise DataError(
                    f"{where(deal_id, row)}{field} must be {accepted(formats)}, got {value!r}"
                )
            parsed = found
        value = parsed
    if isinstance(value, dt.datetime):
        try:
            if value.tzinfo is not None:
                value = value.astimezone(timezone or dt.UTC)
            elif timezone is not None:
                value = value.replace(tzinfo=dt.UTC).astimezone(timezone)
        except OverflowError:
            raise DataError(
                f"{where(deal_id, row)}{field} {value.isoformat()} falls outside {_RANGE} in "
                f"time zone {timezone or dt.UTC}"
            ) from None
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise DataTypeError(f"{where(deal_id, row)}{field} must be a date, got {value!r}")


def to_date_array(
    values: object,
    *,
    field: str,
    ids: npt.NDArray[np.generic] | None = None,
    timezone: dt.tzinfo | None = None,
    formats: Formats = None,
) -> npt.NDArray[np.datetime64]:
    """A column of dates as ``datetime64[D]`` with NaT for missing values.

    ``datetime64`` columns of any unit are floored to days without a copy per element; columns of
    ``YYYY-MM-DD`` strings (None, NaN and empty strings missing) are checked and parsed by numpy
    in a few vectorized passes; a column of other strings is parsed by `to_date` once per distinct
    string; anything else (date objects, mixed values) goes through `to_date` one value at a
    time. Only the forms listed in the module docs are read.

    Raises
    ------
    DataError
        Naming the deal, row, field and value of the first value in no accepted format or
        outside 0001-01-01 to 9999-12-31.
    DataTypeError
        For a value of another type.
    """
    arr = to_numpy(values)
    if arr.dtype.kind == "M":
        days = arr.astype("datetime64[D]", copy=False)
        bad = _first_outside(days)
        if bad is not None:
            deal = None if ids is None else ids[bad].item()
            raise DataError(f"{where(deal, bad)}{field} {arr[bad]} is outside {_RANGE}")
        if timezone is None or arr.dtype == np.dtype("datetime64[D]"):
            return days
        arr = arr.astype("datetime64[us]").astype(object)  # [ns] would give ints
    if arr.dtype == object:
        plain = _plain_dates(arr)
        if plain is not None:
            return plain
    text = _as_text(arr)
    if text is not None:
        fast = _parse_iso_days(text)
        if fast is not None:
            return fast
        return _parse_distinct(text, field=field, ids=ids, timezone=timezone, formats=formats)
    out = np.empty(len(arr), dtype="datetime64[D]")
    seq: Sequence[object] = arr.tolist()
    for row, value in enumerate(seq):
        day = to_date(
            value, field=field, deal_id=None if ids is None else ids[row].item(), row=row,
            timezone=timezone, formats=formats,
        )
        out[row] = NAT if day is None else np.datetime64(day, "D")
    return out


def _plain_dates(arr: npt.NDArray[Any]) -> npt.NDArray[np.datetime64] | None:
    """A column of ``datetime.date`` objects and None as ``datetime64[D]``, else None (any
    other value: the general path)."""
    values = arr.tolist()
    if not {type(v) for v in values} <= {dt.date, type(None)}:
        return None
    return days_of_dates(values)


def days_of_dates(values: Sequence[dt.date | None]) -> npt.NDArray[np.datetime64]:
    """``datetime.date`` objects and None (as a `Deal` holds them) as ``datetime64[D]`` with NaT
    for None, from their ordinals (``map`` of the C methods: no Python step per date)."""
    present = list(filter(None, values))  # a date is never false
    ordinals = np.fromiter(map(dt.date.toordinal, present), np.int64, len(present))
    ordinals -= _UNIX_ORDINAL
    if len(present) == len(values):
        return ordinals.view("datetime64[D]")
    days = np.full(len(values), NAT, dtype="datetime64[D]")
    days[np.fromiter(map(operator.is_not, values, repeat(None)), bool, len(values))] = \
        ordinals.view("datetime64[D]")
    return days


def _as_text(arr: npt.NDArray[Any]) -> npt.NDArray[np.str_] | None:
    """A column of strings (None and NaN as empty strings) as a str array, else None."""
    if arr.ndim != 1:
        return None
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype != object:
        return None
    values = arr.tolist()
    if not all(type(v) is str or v is None or (type(v) is float and v != v) for v in values):
        return None
    return np.array(["" if type(v) is not str else v for v in values], dtype=str)


def _parse_distinct(
    text: npt.NDArray[np.str_],
    *,
    field: str,
    ids: npt.NDArray[np.generic] | None,
    timezone: dt.tzinfo | None,
    formats: Formats,
) -> npt.NDArray[np.datetime64]:
    """A str column parsed by `to_date` once per distinct string, in order of first occurrence
    (so that an error names the first bad row); of several strptime ``formats``, the one that
    reads every string of the column (`column_formats`)."""
    uniques, first, inverse = np.unique(text, return_index=True, return_inverse=True)
    if isinstance(formats, tuple) and len(formats) > 1:
        order = np.argsort(first, kind="stable").tolist()
        stripped = [str(uniques[k]).strip() for k in order]
        formats = column_formats(
            [t for t in stripped if not _is_missing(t) and iso_date(t) is None], formats,
            field=field,
        )
    days = np.empty(len(uniques), dtype="datetime64[D]")
    for k in np.argsort(first, kind="stable").tolist():
        row = int(first[k])
        day = to_date(
            str(uniques[k]), field=field, deal_id=None if ids is None else ids[row].item(),
            row=row, timezone=timezone, formats=formats,
        )
        days[k] = NAT if day is None else np.datetime64(day, "D")
    return days[inverse.ravel()]


def _first_outside(dates: npt.NDArray[np.datetime64]) -> int | None:
    """Position of the first date outside 0001-01-01..9999-12-31 (NaT is not), else None."""
    days = dates.astype("datetime64[D]", copy=False)
    numbers, first = days.view(np.int64), _FIRST.astype(np.int64)
    for lo in range(0, len(days), _BLOCK):  # small temporaries: fresh memory is slow to touch
        # as unsigned, day - first exceeds the span for days outside the range (and NaT)
        outside = (numbers[lo:lo + _BLOCK] - first).view(np.uint64) > _SPAN
        if outside.any():
            outside &= ~np.isnat(days[lo:lo + _BLOCK])
            if outside.any():
                return lo + int(np.flatnonzero(outside)[0])
    return None


# The code points of a ``YYYY-MM-DD`` string: the lowest and the span at each position.
_LOW = np.array([48, 48, 48, 48, 45, 48, 48, 45, 48, 48], dtype=np.uint32)
_WIDTH = np.array([9, 9, 9, 9, 0, 9, 9, 0, 9, 9], dtype=np.uint32)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
_ZERO = ord("0")


def _parse_iso_days(arr: npt.NDArray[np.str_]) -> npt.NDArray[np.datetime64] | None:
    """Parse a str column of ``YYYY-MM-DD`` strings (and empty ones) in a few numpy passes, else
    None.

    Not numpy's own parser: it also reads ``"1704067200"`` (the year 1,704,067,200),
    ``"-002024-01"`` and ``"today"``. The code points are checked to be digits and dashes in
    place, year, month and day are checked to be a real date in years 1..9999, and the day
    number is computed from them (H. Hinnant's ``days_from_civil``), twice as fast as numpy's
    parser. None sends the strings through `to_date`, whose error names the first bad one.
    """
    wide = arr.dtype.itemsize != 40  # not <U10: only strings of 0 or 10 characters parse here
    if wide and not np.isin(np.char.str_len(arr), (0, 10)).all():
        return None
    arr = np.ascontiguousarray(arr, dtype=np.dtype("=U10"))
    codes = arr.view(np.uint32).reshape(len(arr), 10)
    shaped = ((codes - _LOW) <= _WIDTH).all(axis=1)
    c = codes.astype(np.int32)
    year = c[:, 0] * 1000 + c[:, 1] * 100 + c[:, 2] * 10 + c[:, 3] - _ZERO * 1111
    month = c[:, 5] * 10 + c[:, 6] - _ZERO * 11
    day = c[:, 8] * 10 + c[:, 9] - _ZERO * 11
    empty = None
    if not shaped.all():
        empty = ~shaped
        if (codes[empty] != 0).any():  # only empty strings may have another shape
            return None
        year[empty], month[empty], day[empty] = 2000, 1, 1
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    known_month = (month >= 1) & (month <= 12)
    last = _MONTH_DAYS[np.where(known_month, month, 0)] + (leap & (month == 2))
    if not (known_month & (year >= 1) & (day >= 1) & (day <= last)).all():
        return None
    y = year - (month <= 2)  # years start in March: the leap day is the year's last
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    # Written into a new datetime64 array, not returned as a view of an int64 one: a view has a
    # base, so `owned` would copy it again.
    days: npt.NDArray[np.datetime64] = np.empty(len(arr), dtype="datetime64[D]")
    days.view(np.int64)[:] = era * 146097 + day_of_era - 719468
    if empty is not None:
        days[empty] = NAT
    return days
