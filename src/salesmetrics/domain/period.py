"""Periods of time: half-open date ranges ``[start, end)`` with calendar and fiscal constructors."""

from __future__ import annotations

import datetime as dt
import functools
import numbers
import re
from collections.abc import Callable, Iterator
from typing import Literal, TypeAlias, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics.domain._period_kinds import check_kind
from salesmetrics.domain.columns import to_numpy
from salesmetrics.domain.dates import RANGE, to_date_array, to_day
from salesmetrics.errors import DataError, DataTypeError, OptionError, check_option

__all__ = ["FiscalCalendar", "Period", "PeriodKind", "PeriodLike"]

PeriodKind: TypeAlias = Literal["day", "week", "month", "quarter", "year", "custom"]
_MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}


def _check_month(instance: FiscalCalendar, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 12:
        raise OptionError(f"FiscalCalendar(): start_month must be an int in 1..12, got {value!r}")


def _check_naming(instance: FiscalCalendar, attribute: attrs.Attribute[str], value: str) -> None:
    check_option("FiscalCalendar", "naming", value, ("end", "start"))


@attrs.frozen
class FiscalCalendar:
    """A fiscal year that starts on the first day of ``start_month``.

    Naming convention: with ``naming="end"`` (the default, used by Salesforce's "ending month"
    setting, the US federal government and most US companies), a fiscal year is named after the
    calendar year in which it **ends**: with ``start_month=2``, FY2025 runs from 2024-02-01 to
    2025-02-01 (exclusive). With ``naming="start"`` (Salesforce's "starting month" setting, used
    e.g. in Japan and India), it is named after the year in which it starts: FY2025 runs from
    2025-02-01 to 2026-02-01. With ``start_month=1`` both agree with the calendar year.

    Fiscal quarters are the consecutive three-month blocks of the fiscal year: FY2025-Q1 starts on
    the fiscal year's first day.

    Examples
    --------
    >>> fc = FiscalCalendar(start_month=2)
    >>> fc.year(2025)
    Period('FY2025')
    >>> fc.year(2025).start, fc.year(2025).end
    (datetime.date(2024, 2, 1), datetime.date(2025, 2, 1))
    >>> fc.quarter(2025, 1).end
    datetime.date(2024, 5, 1)
    """

    #: Month [1..12] in which the fiscal year starts.
    start_month: int = attrs.field(default=1, validator=_check_month)
    #: ``"end"``: FY named after the calendar year it ends in; ``"start"``: the year it starts in.
    naming: Literal["end", "start"] = attrs.field(default="end", validator=_check_naming)

    def year_start(self, fiscal_year: int) -> dt.date:
        """First day of fiscal year ``fiscal_year``."""
        fiscal_year = _check_range("FiscalCalendar.year_start()", "fiscal year", fiscal_year,
                                   *_YEARS)
        shift = 1 if (self.naming == "end" and self.start_month != 1) else 0
        return _fitting(f"FY{fiscal_year:04d}",
                        lambda: dt.date(fiscal_year - shift, self.start_month, 1))

    def fiscal_year(self, day: dt.date | str) -> int:
        """The fiscal year that ``day`` (a date or ``'YYYY-MM-DD'``) falls in."""
        day = _to_date(day, "day")
        year = day.year if day.month >= self.start_month else day.year - 1
        if self.naming == "end" and self.start_month != 1:
            year += 1
        return year

    def year(self, fiscal_year: int) -> Period:
        """The fiscal year ``fiscal_year`` (1..9999) as a `Period`."""
        fiscal_year = _check_range("FiscalCalendar.year()", "fiscal year", fiscal_year, *_YEARS)
        start = self.year_start(fiscal_year)
        end = _fitting(f"FY{fiscal_year:04d}", lambda: _add_months(start, 12))
        return Period(start, end, kind="year", calendar=self)

    def quarter(self, fiscal_year: int, quarter: int) -> Period:
        """Quarter ``quarter`` (1..4) of fiscal year ``fiscal_year`` (1..9999)."""
        fiscal_year = _check_range("FiscalCalendar.quarter()", "fiscal year", fiscal_year,
                                   *_YEARS)
        quarter = _check_range("FiscalCalendar.quarter()", "quarter", quarter, 1, 4)
        first = self.year_start(fiscal_year)
        start, end = _fitting(
            f"FY{fiscal_year:04d}-Q{quarter}",
            lambda: (_add_months(first, 3 * (quarter - 1)), _add_months(first, 3 * quarter)),
        )
        return Period(start, end, kind="quarter", calendar=self)


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months (dateutil's relativedelta, imported on first use)."""
    from dateutil.relativedelta import relativedelta

    result: dt.date = day + relativedelta(months=months)
    return result


#: The years a period can be in: those of ``datetime.date``.
_YEARS = (1, 9999)
_RANGE = RANGE
_T = TypeVar("_T")


def _check_range(function: str, name: str, value: object, low: int, high: int) -> int:
    """``value`` as an int in ``low..high``, else `DataTypeError` or `DataError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DataTypeError(f"{function}: {name} must be an int, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise DataError(f"{function}: {name} must be in {low}..{high}, got {value!r}")
    return number


def _fitting(what: str, compute: Callable[[], _T]) -> _T:
    """``compute()``, or a `DataError` when its dates fall outside those a date can hold."""
    try:
        return compute()
    except (ValueError, OverflowError):
        raise DataError(
            f"Period: {what} does not fit in the dates {_RANGE} (a period's end, the day "
            "after its last day, must be one of them too)"
        ) from None


def _check_calendar(function: str, calendar: object) -> None:
    if calendar is not None and not isinstance(calendar, FiscalCalendar):
        raise DataTypeError(
            f"{function}(): calendar must be a FiscalCalendar or None, got {calendar!r}"
        )


def _to_date(value: object, name: str) -> dt.date:
    """A day given to a period (`salesmetrics.domain.dates.to_day`), errors prefixed "Period:"."""
    try:
        return to_day(value, field=name)
    except DataError as error:
        raise DataError(f"Period: {error}") from None
    except DataTypeError as error:
        raise DataTypeError(f"Period: {error}") from None


# Label patterns, compiled on first use (``re`` caches them). [0-9], not \d: no other digits.
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^FY([0-9]{4})-?Q([0-9]{1,2})$", "fq"),  # a quarter outside 1..4: says so
    (r"^FY([0-9]{4})$", "fy"),
    (r"^([0-9]{4})-?Q([0-9]{1,2})$", "q"),
    (r"^([0-9]{4})-W([0-9]{2})$", "w"),
    (r"^([0-9]{4})-([0-9]{2})$", "m"),
    (r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$", "d"),
    (r"^([0-9]{4})$", "y"),
)

_CALENDAR_YEAR = FiscalCalendar()
_DAY = np.dtype("datetime64[D]")


def _to_start(value: object) -> dt.date:
    return _to_date(value, "start")


def _to_end(value: object) -> dt.date:
    return _to_date(value, "end")


@attrs.frozen(eq=True, order=True)
class Period:
    """A half-open date range ``[start, end)``: ``start`` is in it, ``end`` is not.

    Build one with `week`, `month`, `quarter`, `year`, `parse` or a
    `FiscalCalendar`; ``Period(start, end)`` gives a custom range. Weeks are ISO weeks
    (Monday to Sunday, week 1 holds the year's first Thursday).

    Two periods are equal (and hash alike) when they have the same dates: ``FY2025-Q1`` of a
    calendar starting in January equals ``2025-Q1``; ``kind`` and ``calendar`` only name it, and
    a ``kind`` other than ``"custom"`` must match the dates (a quarter starts on Jan/Apr/Jul/Oct 1
    and lasts 3 months, a fiscal one in its calendar's months). Periods sort by ``(start, end)``
    (``<``, ``sorted``), whatever their kind or calendar; a label string is not compared.

    Examples
    --------
    >>> q = Period.parse("2017-Q2")
    >>> q
    Period('2017-Q2')
    >>> q.start, q.end, q.days
    (datetime.date(2017, 4, 1), datetime.date(2017, 7, 1), 91)
    >>> q.next(), q.shift(-2)
    (Period('2017-Q3'), Period('2016-Q4'))
    >>> import numpy as np
    >>> q.contains(np.array(["2017-03-31", "2017-04-01", "NaT"], dtype="datetime64[D]"))
    array([False,  True, False])
    """

    #: First day in the period.
    start: dt.date = attrs.field(converter=_to_start)
    #: First day after the period (exclusive).
    end: dt.date = attrs.field(converter=_to_end)
    #: What kind of period: decides its label and the step of `shift`.
    kind: PeriodKind = attrs.field(default="custom", kw_only=True, eq=False)
    #: The fiscal calendar for fiscal years and quarters, None for calendar periods.
    calendar: FiscalCalendar | None = attrs.field(
        default=None, kw_only=True, eq=False,
        validator=lambda _, __, value: _check_calendar("Period", value),
    )
    _start64: np.datetime64 = attrs.field(init=False, eq=False, repr=False)
    _end64: np.datetime64 = attrs.field(init=False, eq=False, repr=False)
    _start_day: np.int64 = attrs.field(init=False, eq=False, repr=False)
    _length: np.uint64 = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        check_option(
            "Period", "kind", self.kind, ("day", "week", "month", "quarter", "year", "custom")
        )
        if self.end <= self.start:
            raise DataError(f"Period: end {self.end} must be after start {self.start}")
        check_kind(self.kind, self.start, self.end,
                   None if self.calendar is None else self.calendar.start_month)
        object.__setattr__(self, "_start64", np.datetime64(self.start, "D"))
        object.__setattr__(self, "_end64", np.datetime64(self.end, "D"))
        object.__setattr__(self, "_start_day", np.int64(self._start64.astype(np.int64)))
        object.__setattr__(self, "_length", np.uint64(self.days))

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def day(cls, day: dt.date | str) -> Period:
        """One calendar day (a date or ``'YYYY-MM-DD'``)."""
        start = _to_date(day, "day")
        end = _fitting(start.isoformat(), lambda: start + dt.timedelta(days=1))
        return cls(start, end, kind="day")

    @classmethod
    def week(cls, year: int, week: int) -> Period:
        """ISO week ``week`` (1..53) of ISO year ``year`` (1..9999), Monday to Sunday."""
        year = _check_range("Period.week()", "year", year, *_YEARS)
        week = _check_range("Period.week()", "week", week, 1, 53)
        try:
            start = dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise DataError(f"Period.week(): ISO year {year} has no week {week}") from None
        end = _fitting(f"{year:04d}-W{week:02d}", lambda: start + dt.timedelta(days=7))
        return cls(start, end, kind="week")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """Calendar month ``month`` (1..12) of ``year`` (1..9999)."""
        year = _check_range("Period.month()", "year", year, *_YEARS)
        month = _check_range("Period.month()", "month", month, 1, 12)
        start = dt.date(year, month, 1)
        end = _fitting(f"{year:04d}-{month:02d}", lambda: _add_months(start, 1))
        return cls(start, end, kind="month")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        """Calendar quarter ``quarter`` (1..4) of ``year`` (1..9999)."""
        year = _check_range("Period.quarter()", "year", year, *_YEARS)
        quarter = _check_range("Period.quarter()", "quarter", quarter, 1, 4)
        start = dt.date(year, 3 * quarter - 2, 1)
        end = _fitting(f"{year:04d}-Q{quarter}", lambda: _add_months(start, 3))
        return cls(start, end, kind="quarter")

    @classmethod
    def year(cls, year: int) -> Period:
        """Calendar year ``year`` (1..9998: 9999 would end after the last date)."""
        year = _check_range("Period.year()", "year", year, *_YEARS)
        end = _fitting(f"{year:04d}", lambda: dt.date(year + 1, 1, 1))
        return cls(dt.date(year, 1, 1), end, kind="year")

    @classmethod
    def parse(cls, text: str, *, calendar: FiscalCalendar | None = None) -> Period:
        """Parse ``"2017-Q2"``, ``"2017-07"``, ``"2017-W05"``, ``"2017"``, ``"2017-07-04"``,
        ``"FY2025"`` or ``"FY2025-Q1"``.

        Fiscal labels need ``calendar``, the `FiscalCalendar` that says when fiscal years start
        (``FiscalCalendar()`` for fiscal years equal to calendar years). Years are 1..9999, and a
        period must end by 9999-12-31.

        >>> Period.parse("FY2025-Q1", calendar=FiscalCalendar(start_month=2)).start
        datetime.date(2024, 2, 1)

        Raises
        ------
        DataError
            For text in none of these forms, a number out of range (``"2024-Q0"``: quarter
            must be in 1..4), or a period outside the dates a date can hold (``"9999"``), with
            the reason.
        OptionError
            For a fiscal label (``"FY2025"``) without ``calendar``.
        """
        _check_calendar("Period.parse", calendar)
        if isinstance(text, Period):
            return text
        if not isinstance(text, str):
            raise DataTypeError(f"Period.parse(): expected a str such as '2017-Q2', got {text!r}")
        label = text.strip().upper()
        for pattern, kind in _PATTERNS:
            match = re.match(pattern, label)
            if match is None:
                continue
            try:
                return cls._from_label(kind, label, [int(g) for g in match.groups()], calendar)
            except DataError as error:
                raise DataError(f"Period.parse(): cannot read {text!r}: {error}") from None
        raise DataError(
            f"Period.parse(): cannot read {text!r}; use '2017-Q2', '2017-07', '2017-W05', '2017', "
            "'2017-07-04', 'FY2025' or 'FY2025-Q1'"
        )

    @classmethod
    def _from_label(
        cls, kind: str, label: str, numbers: list[int], calendar: FiscalCalendar | None
    ) -> Period:
        if kind in ("fq", "fy") and calendar is None:
            raise OptionError(
                f"Period.parse(): {label!r} is a fiscal period, and fiscal years start in a "
                f"month of their own: pass the calendar, e.g. Period.parse({label!r}, "
                "calendar=FiscalCalendar(start_month=2)), or FiscalCalendar() for fiscal years "
                "equal to calendar years; a metric's period= takes that Period"
            )
        fiscal = calendar or _CALENDAR_YEAR
        if kind == "fq":
            return fiscal.quarter(numbers[0], numbers[1])
        if kind == "fy":
            return fiscal.year(numbers[0])
        if kind == "q":
            return cls.quarter(numbers[0], numbers[1])
        if kind == "w":
            return cls.week(numbers[0], numbers[1])
        if kind == "m":
            return cls.month(numbers[0], numbers[1])
        if kind == "d":
            return cls.day(label)
        return cls.year(numbers[0])

    @classmethod
    def range(cls, first: PeriodLike, last: PeriodLike) -> list[Period]:
        """Consecutive periods from ``first`` to ``last``, both included.

        >>> Period.range("2017-Q3", "2018-Q1")
        [Period('2017-Q3'), Period('2017-Q4'), Period('2018-Q1')]

        Raises
        ------
        DataError
            When ``last`` is before ``first``, is of another kind, or is not a whole number of
            steps after it.
        """
        a, b = as_period(first, name="first"), as_period(last, name="last")
        if a.kind != b.kind or a.calendar != b.calendar:
            raise DataError(f"Period.range(): {a!r} and {b!r} are not of the same kind")
        if b.start < a.start:
            raise DataError(
                f"Period.range(): last {b.label!r} is before first {a.label!r}; give the "
                "earlier period first"
            )
        out = [a]
        while out[-1].start < b.start:
            out.append(out[-1].next())
        if out[-1] != b:
            raise DataError(
                f"Period.range(): last {b!r} is not a whole number of steps of {a.days} days "
                f"after first {a!r}"
            )
        return out

    # -- arithmetic -----------------------------------------------------------------------------
    @property
    def days(self) -> int:
        """Length of the period [days]."""
        return (self.end - self.start).days

    @property
    def label(self) -> str:
        """The period's name: ``'2017-Q2'``, ``'FY2025'``, ``'2017-W05'``…"""
        s = self.start
        if self.kind == "day":
            return s.isoformat()
        if self.kind == "week":
            year, week, _ = s.isocalendar()
            return f"{year:04d}-W{week:02d}"
        if self.kind == "month":
            return f"{s.year:04d}-{s.month:02d}"
        if self.calendar is not None:
            fy = self.calendar.fiscal_year(s)
            if self.kind == "year":
                return f"FY{fy:04d}"
            if self.kind == "quarter":
                months = (s.month - self.calendar.start_month) % 12
                return f"FY{fy:04d}-Q{months // 3 + 1}"
        if self.kind == "quarter":
            return f"{s.year:04d}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"{s.year:04d}"
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def shift(self, n: int) -> Period:
        """The period ``n`` steps later (earlier if negative), a step being this period's kind."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise DataTypeError(f"Period.shift(): n must be an int, got {n!r}")
        what = f"{self.label} shifted by {n}"
        if self.kind in _MONTHS_PER:
            months = _MONTHS_PER[self.kind] * n
            start, end = _fitting(what, lambda: (_add_months(self.start, months),
                                                 _add_months(self.end, months)))
        else:
            step = self.days * n
            start, end = _fitting(what, lambda: (self.start + dt.timedelta(days=step),
                                                 self.end + dt.timedelta(days=step)))
        return Period(start, end, kind=self.kind, calendar=self.calendar)

    def next(self) -> Period:
        """The period right after this one."""
        return self.shift(1)

    def previous(self) -> Period:
        """The period right before this one."""
        return self.shift(-1)

    # -- membership -----------------------------------------------------------------------------
    @property
    def bounds64(self) -> tuple[np.datetime64, np.datetime64]:
        """``(start, end)`` as ``datetime64[D]``."""
        return self._start64, self._end64

    def contains(self, dates: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorized membership: True where ``start <= date < end``; False for NaT.

        ``dates`` is a ``datetime64`` array, or anything the dates of a pipeline may be (see
        `salesmetrics.domain.dates`): ISO date strings, date objects, missing values.
        """
        arr = dates if isinstance(dates, np.ndarray) else to_numpy(dates)
        if arr.dtype != _DAY:
            if arr.dtype.kind != "M":
                arr = to_date_array(arr, field="date")
            else:  # another unit: compare in it
                return (arr >= self._start64) & (arr < self._end64)
        # One pass: as unsigned, day - start is below the length exactly for days in the period
        # (earlier days wrap around to huge values, and so does NaT, the smallest int64).
        offset = arr.view(np.int64) - self._start_day
        return offset.view(np.uint64) < self._length

    def __contains__(self, day: object) -> bool:
        return self.start <= _to_date(day, "date") < self.end

    def __iter__(self) -> Iterator[dt.date]:
        """The days of the period."""
        day = self.start
        while day < self.end:
            yield day
            day += dt.timedelta(days=1)

    def __repr__(self) -> str:
        if self.kind == "custom":
            return f"Period({self.start.isoformat()!r}, {self.end.isoformat()!r})"
        return f"Period({self.label!r})"

    def __str__(self) -> str:
        return self.label

    def _repr_html_(self) -> str:
        last = self.end - dt.timedelta(days=1)
        return (
            f"<b>{self.label}</b> <span style='color:#666'>{self.start.isoformat()} – "
            f"{last.isoformat()} ({self.days} days)</span>"
        )


PeriodLike: TypeAlias = Period | str


def as_period(value: object, *, name: str = "period") -> Period:
    """Accept a `Period` or a label that `parse` reads (labels read once, then remembered)."""
    if isinstance(value, Period):
        return value
    if type(value) is str:
        return _parse_label(value)
    if isinstance(value, str):
        return Period.parse(value)
    raise DataTypeError(f"{name} must be a Period or a label such as '2017-Q2', got {value!r}")


@functools.lru_cache(maxsize=256)
def _parse_label(text: str) -> Period:
    """`Period.parse` of ``text``, remembered: a `Period` is immutable, and a backend passes the
    same few labels (``"2024-Q2"``) on every request, where parsing would cost more than the
    metric on a small pipeline. Errors are not remembered: a bad label raises every time."""
    return Period.parse(text)
