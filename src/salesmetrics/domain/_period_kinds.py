"""The dates each kind of `~salesmetrics.Period` must have, so that its label matches its dates.

``Period("2024-01-15", "2024-01-20", kind="quarter")`` would print ``Period('2024-Q1')`` yet
not equal ``Period.parse("2024-Q1")``: `check_kind` refuses it, saying what a quarter is and
what the dates are.
"""

from __future__ import annotations

import datetime as dt

from salesmetrics.errors import DataError

__all__ = ["check_kind", "kind_of"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_KINDS = ("day", "week", "month", "quarter", "year")


def _months(start: dt.date, end: dt.date) -> int | None:
    """Whole calendar months from ``start`` to ``end`` when both are a month's first day."""
    if start.day != 1 or end.day != 1:
        return None
    return (end.year - start.year) * 12 + end.month - start.month


def _fits(kind: str, start: dt.date, end: dt.date, start_month: int) -> bool:
    if kind == "day":
        return (end - start).days == 1
    if kind == "week":
        return start.weekday() == 0 and (end - start).days == 7
    months = _months(start, end)
    if kind == "month":
        return months == 1
    if kind == "quarter":
        return months == 3 and (start.month - start_month) % 3 == 0
    return months == 12 and start.month == start_month  # year


def kind_of(start: dt.date, end: dt.date, start_month: int = 1) -> str | None:
    """The kind of period that ``[start, end)`` is (fiscal quarters and years starting in
    ``start_month``), or None for a custom range."""
    return next((kind for kind in _KINDS if _fits(kind, start, end, start_month)), None)


def _rule(kind: str, start_month: int, fiscal: bool) -> str:
    """What the dates of a ``kind`` period are, in words."""
    if kind == "day":
        return "a day lasts 1 day (end = start + 1 day)"
    if kind == "week":
        return "an ISO week starts on a Monday and lasts 7 days"
    if kind == "month":
        return "a month starts on the first day of a month and lasts 1 month"
    of = f" of FiscalCalendar(start_month={start_month})" if fiscal else ""
    if kind == "quarter":
        firsts = "/".join(_MONTHS[(start_month - 1 + 3 * i) % 12] for i in range(4))
        return f"a quarter{of} starts on the first day of {firsts} and lasts 3 months"
    return f"a year{of} starts on {_MONTHS[start_month - 1]} 1 and lasts 12 months"


def check_kind(kind: str, start: dt.date, end: dt.date, start_month: int | None) -> None:
    """Refuse a ``kind`` whose dates are not exactly one period of that kind.

    ``start_month`` is the fiscal calendar's first month, None for calendar periods.

    Raises
    ------
    DataError
        Naming the kind, the dates, what a period of that kind is, and what the dates are.
    """
    first = start_month or 1
    if kind == "custom" or _fits(kind, start, end, first):
        return
    actual = kind_of(start, end, first)
    days = (end - start).days
    what = (f"one {actual}: pass kind={actual!r}" if actual is not None else
            f"{days} days from {start:%A} {start.isoformat()}, no day, week, month, quarter "
            "or year: leave out kind= for a custom range")
    fiscal = start_month is not None and kind in ("quarter", "year")
    maker = f"FiscalCalendar.{kind}()" if fiscal else f"Period.{kind}()"
    raise DataError(
        f"Period: kind={kind!r} does not match the dates {start.isoformat()} to "
        f"{end.isoformat()} (end exclusive): {_rule(kind, first, fiscal)}; these dates are "
        f"{what} ({maker} and Period.parse() build a {kind} from its number)"
    )
