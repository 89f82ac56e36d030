"""Calendar dates from the many forms a CRM export gives them.

Timestamps become calendar dates in UTC unless a time zone is given: an aware timestamp is
converted to that zone and its date taken; a naive one is taken to be in UTC already (CRM APIs
export UTC). Durations such as cycle length are whole days between those dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import is_missing_value, to_numpy
from salesmetrics.errors import DataError, DataTypeError, where

__all__ = ["NAT", "to_date", "to_date_array", "to_zone"]

NAT = np.datetime64("NaT", "D")


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
    if isinstance(value, str) and value.strip() in ("NaT", "nan", "NaN", "None", "null"):
        return True
    return is_missing_value(value)


def to_date(
    value: object,
    *,
    field: str = "date",
    deal_id: object = None,
    row: int | None = None,
    timezone: dt.tzinfo | None = None,
) -> dt.date | None:
    """One value (date, datetime, ISO string, ``datetime64``) as a calendar date, or None."""
    if _is_missing(value):
        return None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        if timezone is None:
            result: object = value.astype("datetime64[D]").item()
            assert isinstance(result, dt.date)
            return result
        value = value.astype("datetime64[us]").item()
    if isinstance(value, str):
        text = value.strip()
        try:
            value = (
                dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
            )
        except ValueError:
            raise DataError(
                f"{where(deal_id, row)}{field} must be an ISO date such as '2017-03-01' or "
                f"'2017-03-01T09:30:00Z', got {value!r}"
            ) from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone or dt.UTC)
        elif timezone is not None:
            value = value.replace(tzinfo=dt.UTC).astimezone(timezone)
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
) -> npt.NDArray[np.datetime64]:
    """A column of dates as ``datetime64[D]`` with NaT for missing values.

    ``datetime64`` columns of any unit are floored to days without a copy per element; ISO date
    strings are parsed by numpy; anything else goes through `to_date` one value at a time.
    """
    arr = to_numpy(values)
    if arr.dtype.kind == "M":
        if timezone is None or arr.dtype == np.dtype("datetime64[D]"):
            return arr.astype("datetime64[D]", copy=False)
        arr = arr.astype("datetime64[us]").astype(object)  # [ns] would give ints
    if arr.dtype.kind == "U" or (arr.dtype == object and timezone is None):
        try:
            fast = _parse_iso_days(arr)
        except (ValueError, TypeError):
            fast = None
        if fast is not None:
            return fast
    out = np.empty(len(arr), dtype="datetime64[D]")
    seq: Sequence[object] = arr.tolist()
    for row, value in enumerate(seq):
        day = to_date(
            value, field=field, deal_id=None if ids is None else ids[row].item(), row=row,
            timezone=timezone,
        )
        out[row] = NAT if day is None else np.datetime64(day, "D")
    return out


def _parse_iso_days(arr: npt.NDArray[np.generic]) -> npt.NDArray[np.datetime64] | None:
    """Parse plain ``YYYY-MM-DD`` strings (and empty ones) in one numpy call, else None."""
    if arr.dtype == object:
        if not all(type(v) is str for v in arr.tolist()):
            return None
        arr = arr.astype(str)
    if arr.dtype.kind != "U" or arr.dtype.itemsize // 4 > 10:
        return None
    lengths = np.char.str_len(arr.astype(str))
    if not np.isin(lengths, (0, 10)).all():
        return None
    return arr.astype("datetime64[D]")
