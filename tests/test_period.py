import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesmetrics import FiscalCalendar, Period
from salesmetrics.errors import DataError, DataTypeError, OptionError

D = dt.date


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2017-Q2", D(2017, 4, 1), D(2017, 7, 1)),
        ("2017-07", D(2017, 7, 1), D(2017, 8, 1)),
        ("2017-W05", D(2017, 1, 30), D(2017, 2, 6)),
        ("2017", D(2017, 1, 1), D(2018, 1, 1)),
        ("2017-07-04", D(2017, 7, 4), D(2017, 7, 5)),
    ],
)
def test_parse(label, start, end):
    period = Period.parse(label)
    assert (period.start, period.end) == (start, end)
    assert repr(period) == f"Period({label!r})"
    assert Period.parse(period.label) == period


def test_fiscal_year_named_after_end_year():
    fc = FiscalCalendar(start_month=2)
    fy = Period.parse("FY2025", calendar=fc)
    assert (fy.start, fy.end) == (D(2024, 2, 1), D(2025, 2, 1))
    q1 = Period.parse("FY2025-Q1", calendar=fc)
    assert (q1.start, q1.end) == (D(2024, 2, 1), D(2024, 5, 1))
    assert q1.label == "FY2025-Q1"
    assert q1.next().label == "FY2025-Q2"
    assert q1.shift(4).label == "FY2026-Q1"
    assert fc.fiscal_year(D(2025, 1, 31)) == 2025
    assert fc.fiscal_year(D(2025, 2, 1)) == 2026


def test_fiscal_year_named_after_start_year():
    fc = FiscalCalendar(start_month=4, naming="start")
    fy = fc.year(2025)
    assert (fy.start, fy.end) == (D(2025, 4, 1), D(2026, 4, 1))
    assert fy.label == "FY2025"


def test_shift_next_previous_days():
    q = Period.quarter(2017, 4)
    assert q.next() == Period.quarter(2018, 1)
    assert q.previous() == Period.quarter(2017, 3)
    assert Period.month(2024, 2).days == 29
    assert Period.week(2020, 53).next() == Period.week(2021, 1)
    custom = Period("2024-01-01", "2024-01-11")
    assert custom.next() == Period("2024-01-11", "2024-01-21")
    assert repr(custom) == "Period('2024-01-01', '2024-01-11')"


def test_range():
    months = Period.range("2024-11", "2025-02")
    assert [m.label for m in months] == ["2024-11", "2024-12", "2025-01", "2025-02"]
    with pytest.raises(DataError, match="same kind"):
        Period.range("2024-11", "2025-Q1")


def test_membership_vectorized_and_scalar():
    q = Period.parse("2017-Q2")
    dates = np.array(["2017-03-31", "2017-04-01", "2017-06-30", "2017-07-01", "NaT"],
                     dtype="datetime64[D]")
    assert q.contains(dates).tolist() == [False, True, True, False, False]
    stamps = np.array(["2017-06-30T23:59:59"], dtype="datetime64[s]")
    assert q.contains(stamps).tolist() == [True]
    assert D(2017, 5, 5) in q
    assert "2017-07-01" not in q
    assert len(list(q)) == q.days


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 1, 1)),
       st.integers(1, 12), st.sampled_from(["end", "start"]))
def test_every_day_is_in_exactly_its_fiscal_quarter(day, start_month, naming):
    fc = FiscalCalendar(start_month=start_month, naming=naming)
    fy = fc.fiscal_year(day)
    year = fc.year(fy)
    assert day in year
    quarters = [fc.quarter(fy, q) for q in range(1, 5)]
    assert sum(day in q for q in quarters) == 1
    assert quarters[0].start == year.start and quarters[-1].end == year.end


@given(st.integers(1900, 2200), st.integers(1, 12), st.integers(-30, 30))
def test_shift_composes(year, month, n):
    m = Period.month(year, month)
    assert m.shift(n).shift(-n) == m
    assert m.shift(n).days in (28, 29, 30, 31)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: Period.parse("2017-Q5"), DataError, "cannot read"),
        (lambda: Period.parse("next year"), DataError, "cannot read"),
        (lambda: Period.parse(2017), DataTypeError, "expected a str"),
        (lambda: Period.month(2017, 13), DataError, "month must be in 1..12"),
        (lambda: Period.quarter(2017, 0), DataError, "quarter must be in 1..4"),
        (lambda: Period.week(2021, 53), DataError, "has no week 53"),
        (lambda: Period("2024-02-01", "2024-01-01"), DataError, "must be after start"),
        (lambda: Period("2024-02-31", "2024-03-01"), DataError, "ISO date"),
        (lambda: FiscalCalendar(start_month=13), OptionError, "start_month"),
        (lambda: FiscalCalendar(naming="middle"), OptionError, "'end' or 'start'"),
        (lambda: Period.month(2017, 1).shift(1.5), DataTypeError, "must be an int"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_html_repr():
    assert "2017-Q2" in Period.parse("2017-Q2")._repr_html_()


@given(st.lists(st.one_of(st.none(), st.integers(-40_000, 80_000)), max_size=50),
       st.integers(-40_000, 80_000), st.integers(1, 800))
def test_contains_matches_plain_comparisons(days, start, length):
    values = np.array([np.datetime64("NaT") if d is None else np.datetime64(d, "D") for d in days],
                      dtype="datetime64[D]")
    first = np.datetime64(start, "D").item()
    period = Period(first, first + dt.timedelta(days=length))
    lo, hi = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    expected = (values >= lo) & (values < hi)
    assert period.contains(values).tolist() == expected.tolist()
    assert period.contains(values.astype("datetime64[s]")).tolist() == expected.tolist()
