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


# -- a kind must match the dates (probe M4) ------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "kwargs", "match"),
    [
        # 5 days are no quarter: refused, not printed as '2024-Q1'
        ("2024-01-15", "2024-01-20", {"kind": "quarter"},
         r"kind='quarter' does not match the dates 2024-01-15 to 2024-01-20.*first day of "
         r"Jan/Apr/Jul/Oct and lasts 3 months; these dates are 5 days from Monday 2024-01-15"),
        # three months are a quarter, not a month (it printed as '2024-01')
        ("2024-01-01", "2024-04-01", {"kind": "month"},
         r"kind='month'.*lasts 1 month; these dates are one quarter: pass kind='quarter'"),
        ("2024-01-01", "2024-02-01", {"kind": "year"}, r"starts on Jan 1 and lasts 12 months"),
        ("2024-02-01", "2024-05-01", {"kind": "quarter"}, r"Jan/Apr/Jul/Oct"),  # Feb: not calendar
        ("2024-01-02", "2024-01-09", {"kind": "week"}, r"starts on a Monday.*Tuesday"),
        ("2024-01-01", "2024-01-03", {"kind": "day"}, r"lasts 1 day"),
        ("2024-01-15", "2024-02-15", {"kind": "month"}, r"first day of a month"),
        # fiscal kinds are checked against their calendar: Feb/May/Aug/Nov for start_month=2
        ("2024-01-01", "2024-04-01", {"kind": "quarter", "calendar": FiscalCalendar(start_month=2)},
         r"quarter of FiscalCalendar\(start_month=2\) starts on the first day of Feb/May/Aug/Nov"
         r".*FiscalCalendar.quarter\(\)"),
        ("2024-01-01", "2025-01-01", {"kind": "year", "calendar": FiscalCalendar(start_month=4)},
         r"year of FiscalCalendar\(start_month=4\) starts on Apr 1"),
    ],
)
def test_kind_that_does_not_match_the_dates_is_refused(start, end, kwargs, match):
    with pytest.raises(DataError, match=match):
        Period(start, end, **kwargs)


@pytest.mark.parametrize(
    ("start", "end", "kwargs", "label"),
    [
        ("2024-01-01", "2024-04-01", {"kind": "quarter"}, "2024-Q1"),
        ("2024-02-01", "2024-05-01", {"kind": "quarter", "calendar": FiscalCalendar(start_month=2)},
         "FY2025-Q1"),
        ("2024-11-01", "2025-02-01", {"kind": "quarter", "calendar": FiscalCalendar(start_month=2)},
         "FY2025-Q4"),  # a quarter across the new year
        ("2024-04-01", "2025-04-01",
         {"kind": "year", "calendar": FiscalCalendar(start_month=4, naming="start")}, "FY2024"),
        ("2024-01-01", "2024-01-08", {"kind": "week"}, "2024-W01"),  # 2024-01-01 is a Monday
        ("2024-02-29", "2024-03-01", {"kind": "day"}, "2024-02-29"),
        ("2024-02-01", "2024-03-01", {"kind": "month"}, "2024-02"),
        ("2024-01-15", "2024-01-20", {}, "2024-01-15/2024-01-20"),  # custom: any dates
    ],
)
def test_kind_that_matches_the_dates_is_accepted(start, end, kwargs, label):
    period = Period(start, end, **kwargs)
    assert period.label == label
    if kwargs:
        assert Period.parse(label, calendar=kwargs.get("calendar")) == period


_KINDS = ["day", "week", "month", "quarter", "year"]


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 1, 1)), st.integers(1, 400),
       st.sampled_from(_KINDS), st.one_of(st.none(), st.integers(1, 12)))
def test_a_period_label_always_names_its_dates(start, days, kind, start_month):
    calendar = None if start_month is None else FiscalCalendar(start_month=start_month)
    try:
        period, refusal = Period(start, start + dt.timedelta(days=days), kind=kind,
                                 calendar=calendar), ""
    except DataError as error:
        period, refusal = None, str(error)
    if period is None:
        assert f"kind={kind!r} does not match the dates" in refusal
    else:  # accepted: its label reads back as the same dates
        assert Period.parse(period.label, calendar=calendar) == period


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 1, 1)), st.sampled_from(_KINDS),
       st.integers(1, 12), st.integers(-8, 8))
def test_every_constructor_and_shift_builds_a_matching_kind(day, kind, start_month, n):
    fc = FiscalCalendar(start_month=start_month)
    built = {"day": Period.day(day), "week": Period.week(*day.isocalendar()[:2]),
             "month": Period.month(day.year, day.month),
             "quarter": fc.quarter(fc.fiscal_year(day), 1 + (day.month - start_month) % 12 // 3),
             "year": fc.year(fc.fiscal_year(day))}[kind]
    assert day in built
    shifted = built.shift(n)  # would raise if shift built a kind its dates do not match
    assert Period.parse(shifted.label, calendar=fc) == shifted


# -- quarters out of range say so (probe U3) -----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "calendar", "match"),
    [
        ("2024-Q0", None, r"cannot read '2024-Q0': Period.quarter\(\): quarter must be in 1..4, "
                          r"got 0"),
        ("2024-Q5", None, r"quarter must be in 1..4, got 5"),
        ("2024Q12", None, r"quarter must be in 1..4, got 12"),
        ("FY2024-Q5", FiscalCalendar(), r"'FY2024-Q5': FiscalCalendar.quarter\(\): quarter must "
                                        r"be in 1..4, got 5"),
        ("FY2024-Q0", FiscalCalendar(start_month=2), r"quarter must be in 1..4, got 0"),
    ],
)
def test_parse_quarter_out_of_range_says_why(text, calendar, match):
    with pytest.raises(DataError, match=match):
        Period.parse(text, calendar=calendar)


# -- ordering (probe U4) -------------------------------------------------------------------------
def test_periods_sort_by_start_then_end():
    q1, q2, jan = Period.parse("2024-Q1"), Period.parse("2024-Q2"), Period.parse("2024-01")
    assert q1 < q2 and q2 > q1 and q1 <= q1 and not q1 < q1
    # same start: the shorter first (2024-01-01..02-01 before 2024-01-01..04-01)
    assert sorted([q2, q1, jan]) == [jan, q1, q2]
    assert max([jan, q2, q1]) == q2
    # different calendars compare by their dates: FY2024-Q4 (start_month=2) is Nov 2023..Jan 2024
    fiscal = FiscalCalendar(start_month=2).quarter(2024, 4)
    assert fiscal < q1 < Period("2024-02-01", "2024-02-02")
    assert not fiscal < Period.parse("FY2024-Q4", calendar=FiscalCalendar(start_month=2))
    with pytest.raises(TypeError):
        assert q1 < "2024-Q2"


@given(st.lists(st.tuples(st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 1, 1)),
                          st.integers(1, 100)), max_size=12))
def test_sorting_periods_sorts_their_dates(spans):
    periods = [Period(s, s + dt.timedelta(days=n)) for s, n in spans]
    assert [(p.start, p.end) for p in sorted(periods)] == sorted((p.start, p.end) for p in periods)
