"""The ``date_formats=`` option: checking it, reading a string with it, and one format per column.

`salesmetrics.domain.dates` re-exports the public parts; this module imports nothing of it.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Sequence
from typing import Literal, TypeAlias, cast

from salesmetrics.errors import DataQualityWarning, DataTypeError, OptionError, user_stacklevel

__all__ = [
    "FORMATS", "DateFormats", "Formats", "accepted", "check_date_formats", "column_formats",
    "parse_with",
]

#: The ``date_formats=`` option: strptime formats (each date column takes the first that reads
#: all its dates; see `column_formats`), or ``"dateutil"``.
DateFormats: TypeAlias = Sequence[str] | Literal["dateutil"] | None
#: ``date_formats`` once checked: a tuple of formats, ``"dateutil"``, or None.
Formats: TypeAlias = tuple[str, ...] | Literal["dateutil"] | None

#: The date strings that parse, for error messages.
FORMATS = (
    "an ISO date 'YYYY-MM-DD' such as '2017-03-01' or an ISO date-time "
    "'YYYY-MM-DDTHH:MM[:SS[.fff]]' with an optional 'Z' or '±HH:MM' offset such as "
    "'2017-03-01T09:30:00Z'"
)
#: strptime directives that read a time of day (a format without one reads a plain date).
_TIME_DIRECTIVE = r"%[HIMSfzZpcXT]"
_DATEUTIL_A = dt.datetime(2000, 1, 1, 0, 0, 0)
_DATEUTIL_B = dt.datetime(2001, 2, 2, 1, 1, 1)


def check_date_formats(date_formats: object) -> Formats:
    """The ``date_formats=`` option checked: None, ``"dateutil"`` or a tuple of strptime formats.

    Raises
    ------
    OptionError
        For a single format given as a bare str (put it in a list), an empty format, a format
        with no ``%`` directive, or one that strptime cannot use (``"%q"``, a stray ``%``).
    DataTypeError
        For anything that is not a str or a sequence of str.
    """
    if date_formats is None or date_formats == "dateutil":
        return cast("Formats", date_formats)
    if isinstance(date_formats, str):
        raise OptionError(
            f"date_formats must be a list of strptime formats such as ['%d/%m/%Y'] or 'dateutil', "
            f"got the str {date_formats!r}; put a single format in a list: [{date_formats!r}]"
        )
    if not isinstance(date_formats, Sequence):
        raise DataTypeError(
            "date_formats must be a list of strptime formats such as ['%d/%m/%Y'] or 'dateutil', "
            f"got {date_formats!r}"
        )
    formats = tuple(date_formats)
    for fmt in formats:
        if not isinstance(fmt, str):
            raise DataTypeError(f"date_formats: each format must be a str, got {fmt!r}")
        if "%" not in fmt:
            raise OptionError(
                f"date_formats: {fmt!r} has no strptime directive such as %d, %m or %Y; "
                "formats look like '%d/%m/%Y'"
            )
        _check_directives(fmt)
    return formats or None


def _check_directives(fmt: str) -> None:
    """An `OptionError` if strptime cannot use ``fmt`` at all (an unknown directive such as
    ``%q``, a stray ``%``): otherwise every date would be reported as unreadable."""
    try:
        dt.datetime.strptime("", fmt)
    except ValueError as error:
        reason = str(error)
        if "bad directive" in reason or "stray %" in reason:
            raise OptionError(
                f"date_formats: {fmt!r} is not a valid strptime format ({reason}); the "
                "directives are those of datetime.strptime, such as %d, %m, %Y, %y, %b, %H, %M"
            ) from None


def parse_with(text: str, formats: Formats) -> dt.date | dt.datetime | str | None:
    """``text`` read by ``date_formats``: a date, a date-time, None if none matches, or the
    reason it cannot be a date (a str) when it looks like one but is incomplete."""
    if formats is None:
        return None
    if formats == "dateutil":
        from dateutil import parser  # lazily: a 10 ms import, needed only here

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:  # twice, with different defaults: a part the string lacks comes out different
                a = parser.parse(text, default=_DATEUTIL_A)
                b = parser.parse(text, default=_DATEUTIL_B)
            except (ValueError, OverflowError):
                return None
        if caught:
            return f"has a time zone that python-dateutil does not know ({caught[0].message})"
        if a.date() != b.date():
            return "lacks the year, month or day (it is never filled in from today)"
        return a if a.hour == b.hour else a.date()
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if re.search(_TIME_DIRECTIVE, fmt.replace("%%", "")) else parsed.date()
    return None


def accepted(formats: Formats) -> str:
    """The forms a date string may take, for an error message."""
    if formats is None:
        return FORMATS
    if formats == "dateutil":
        return f"{FORMATS}, or a date python-dateutil reads (date_formats='dateutil')"
    return f"{FORMATS}, or match date_formats {list(formats)!r}"


def _reads(text: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def column_formats(texts: Sequence[str], formats: Formats, *, field: str) -> Formats:
    """The formats to read one column's ``texts`` with (the column's distinct stripped strings
    that are neither missing nor ISO dates): a column uses one format, so the first of several
    strptime formats that reads every string is the only one used. ``"03/04/2024"`` and
    ``"25/04/2024"`` with ``["%m/%d/%Y", "%d/%m/%Y"]`` are both day first (April 3 and 25), as
    the second string shows.

    If no single format reads them all, each string keeps the first format that reads it. When
    two of the formats used have the same shape (the same separators, the directives in
    another order: ``"%m/%d/%Y"`` and ``"%d/%m/%Y"``), the column mixes conventions that swap
    day and month, and a `DataQualityWarning` names the column, the formats used and an example
    of each; formats of different shapes (``"%d.%m.%Y"`` and ``"%m/%d/%Y"``) cannot be confused
    and do not warn.
    """
    if not isinstance(formats, tuple) or len(formats) < 2 or not texts:
        return formats
    for fmt in formats:
        if all(_reads(text, fmt) for text in texts):
            return (fmt,)
    used: dict[str, tuple[str, int]] = {}
    for text in texts:
        for fmt in formats:
            if _reads(text, fmt):
                example, count = used.get(fmt, (text, 0))
                used[fmt] = (example, count + 1)
                break
    shapes = [re.sub(r"%.", "%", fmt) for fmt in used]
    if len(set(shapes)) < len(shapes):  # two formats of one shape: day and month may swap
        parts = ", ".join(f"{fmt!r} for {used[fmt][1]} (e.g. {used[fmt][0]!r})"
                          for fmt in formats if fmt in used)
        warnings.warn(
            f"{field}: no single one of date_formats {list(formats)!r} reads every date of the "
            "column, so its distinct dates were read with formats that differ only in the "
            f"order of their parts (day and month swapped): {parts}. A column normally holds "
            "one convention, so some of these dates are probably read wrongly. Fix: clean the "
            "column in the CRM, or give the one format it uses",
            DataQualityWarning, stacklevel=user_stacklevel(),
        )
    return formats
