"""Issue 6, dates and periods: only documented date formats parse; every bad date or period is a
`SalesMetricsError` that names the deal, row, field and value, never a raw exception or a
silently wrong year."""

import datetime as dt
import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from salesmetrics import Deal, FiscalCalendar, Period, Pipeline
from salesmetrics.domain.dates import to_date, to_date_array
from salesmetrics.errors import DataError, DataTypeError, OptionError, SalesMetricsError

D = dt.date
NEW_YORK = dt.timezone(-dt.timedelta(hours=5))


def cols(created):
    return {"id": ["D-1", "D-2"], "stage": ["Meeting", "Proposal"], "amount": [1.0, 2.0],
            "created": created}


def as_list(values):
    return list(values)


def as_unicode(values):
    return np.array(values)


def as_object(values):
    return np.array(values, dtype=object)


CONTAINERS = [as_list, as_unicode, as_object]


# -- item 2: digit strings and other undocumented shapes are errors, never dates -----------------
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize(
    "bad",
    [
        "1704067200",  # epoch seconds: numpy read it as the year 1,704,067,200
        "-002024-01",  # numpy's signed year: the year -2024
        "20240101",  # ISO basic format: an 8-digit string, not a documented format
        "1677110400000",  # epoch milliseconds (HubSpot's adapter reads those, not a date column)
        "2024-W01",  # ISO week date
        "2024-01-01T10",  # hour without minutes
        "2024-1-1",
        "01/02/2024",
        "+2024-01-01",
    ],
)
def test_undocumented_date_strings_are_data_errors(container, bad):
    with pytest.raises(DataError) as info:
        Pipeline.from_columns(cols(container(["2024-01-01", bad])))
    message = str(info.value)
    assert "deal 'D-2' (row 1" in message
    assert "created" in message
    assert repr(bad) in message
    assert "YYYY-MM-DD" in message  # says which formats are read


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize(
    "bad",
    ["0000-01-01", "2024-13-01", "2024-00-10", "2024-02-30", "2023-02-29", "2100-02-29",
     "2024-04-31", "2024-01-00", "2024-01-01T24:00"],
)
def test_dates_that_do_not_exist_are_data_errors(container, bad):
    with pytest.raises(DataError) as info:
        Pipeline.from_columns(cols(container(["2024-01-01", bad])))
    message = str(info.value)
    assert "deal 'D-2' (row 1" in message
    assert f"created {bad!r} is not a date that exists" in message


@pytest.mark.parametrize("years", [(1, 4), (1599, 1602), (1899, 1902), (1999, 2101), (9997, 10000)])
def test_vectorized_parse_agrees_with_numpy_on_every_day(years):
    first, end = (np.datetime64(f"{y:04d}-01-01") if y < 10000 else np.datetime64("10000-01-01")
                  for y in years)
    days = np.arange(first, end)
    text = days.astype("U10")
    assert (to_date_array(text, field="created") == days).all()
    assert (to_date_array(text.astype(object), field="created") == days).all()


@pytest.mark.parametrize("bad", ["1704067200", "-002024-01", "20240101", "2024-W01"])
def test_to_date_rejects_undocumented_strings(bad):
    with pytest.raises(DataError, match=re.escape("deal 'X' (row 3") + r".*: closed must be"):
        to_date(bad, field="closed", deal_id="X", row=3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01", D(2024, 1, 1)),
        (" 2024-01-01 ", D(2024, 1, 1)),
        ("2024-01-01T09:30", D(2024, 1, 1)),
        ("2024-01-01T09:30:00Z", D(2024, 1, 1)),
        ("2024-01-01 09:30:00", D(2024, 1, 1)),  # pandas' str() of a Timestamp
        ("2024-01-01T09:30:00.123456789", D(2024, 1, 1)),  # nanoseconds, pandas' isoformat
        ("2017-03-01T23:30:00.000+0000", D(2017, 3, 1)),  # Salesforce's REST API
        ("2024-01-01T23:30:00-05:00", D(2024, 1, 2)),  # an offset: the date in UTC
        ("2024-01-01T01:00:00+02", D(2023, 12, 31)),
        ("9999-12-31", D(9999, 12, 31)),
        ("0001-01-01", D(1, 1, 1)),
    ],
)
def test_documented_formats_still_parse(text, expected):
    assert to_date(text) == expected
    for container in CONTAINERS:
        days = to_date_array(container([text, ""]), field="created")
        assert days[0] == np.datetime64(expected, "D") and np.isnat(days[1])


def test_str_dates_with_gaps_parse_in_bulk_into_a_new_array(monkeypatch):
    """A column of ISO dates with None, NaN and empty gaps (pandas' object column) is parsed by
    the vectorized path, never one value at a time, into a new array (not a view, which a
    pipeline would copy again); other strings are read once per distinct string."""
    from salesmetrics.domain import dates

    calls: list[object] = []
    real = dates.to_date

    def counted(value: object, **kwargs: object) -> object:
        calls.append(value)
        return real(value, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dates, "to_date", counted)
    days = to_date_array(as_object(["2024-01-02", None, np.nan, "", "2024-03-04"]), field="c")
    assert days.tolist() == [D(2024, 1, 2), None, None, None, D(2024, 3, 4)]
    assert days.base is None and not calls
    stamps = as_object(["2024-01-02T10:00:00Z", None, "2024-01-02T10:00:00Z"] * 100)
    days = to_date_array(stamps, field="c")
    assert days.tolist() == [D(2024, 1, 2), None, D(2024, 1, 2)] * 100
    assert sorted(map(str, calls)) == ["", "2024-01-02T10:00:00Z"]


def test_objects_still_parse():
    pd = pytest.importorskip("pandas")
    values = [dt.date(2024, 1, 1), dt.datetime(2024, 1, 2, 10), np.datetime64("2024-01-03"),
              pd.Timestamp("2024-01-04 10:00"), None, "NaT"]
    days = to_date_array(as_object(values), field="created")
    assert days.tolist()[:4] == [D(2024, 1, 1), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4)]
    assert np.isnat(days[4:]).all()


@pytest.mark.parametrize("unit", ["D", "s", "us"])
@pytest.mark.parametrize("bad", ["10000-01-01", "-0001-06-01", "0000-12-31"])
def test_datetime64_outside_years_1_to_9999_is_an_error(unit, bad):
    created = np.array(["2024-01-01", bad], dtype=f"datetime64[{unit}]")
    with pytest.raises(DataError) as info:
        Pipeline.from_columns(cols(created))
    message = str(info.value)
    assert "deal 'D-2' (row 1" in message and "created" in message
    assert "0001-01-01" in message and "9999-12-31" in message


def test_datetime64_at_the_edges_loads():
    created = np.array(["0001-01-01", "9999-12-31"], dtype="datetime64[s]")
    p = Pipeline.from_columns(cols(created))
    assert p.created.tolist() == [D(1, 1, 1), D(9999, 12, 31)]


def test_timezone_past_the_last_date_is_an_error():
    created = np.array(["2024-01-01", "9999-12-31T23:00"], dtype="datetime64[s]")
    with pytest.raises(DataError, match=r"deal 'D-2' \(row 1.*\): created"):
        Pipeline.from_columns(cols(created), timezone="Asia/Tokyo")


# -- item 9: Deal names the field and the deal ----------------------------------------------------
@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Deal("A", 1, "Meeting", created=np.datetime64("10000-01-01")), DataError,
         "deal 'A': created 10000-01-01 is outside the dates"),
        (lambda: Deal("A", 1, "Meeting", created="1704067200"), DataError,
         "deal 'A': created must be an ISO date"),
        (lambda: Deal("A", 1, "Meeting", close_date="-002024-01"), DataError,
         "deal 'A': close_date must be an ISO date"),
        (lambda: Deal("A", 1, "Meeting", close_date=5), DataTypeError,
         "deal 'A': close_date must be a date, got 5"),
        (lambda: Deal("A", 1, "Meeting", created=dt.datetime(9999, 12, 31, 23, tzinfo=NEW_YORK)),
         DataError, "deal 'A': created 9999-12-31T23:00:00-05:00 falls outside"),
        (lambda: Deal("A", "x", "Meeting"), DataTypeError, "deal 'A': amount must be a number"),
        (lambda: Deal("A", 10**400, "Meeting"), DataError, "deal 'A': amount must be finite"),
        (lambda: Deal("A", 1, "Meeting", probability="high"), DataTypeError,
         "deal 'A': probability must be a number"),
        (lambda: Deal("A", 1, "Meeting", currency="dollars"), DataError,
         "deal 'A': currency must be"),
        (lambda: Deal("A", 1, "Meeting", currency=5), DataTypeError, "deal 'A': currency must be"),
        (lambda: Deal("A", 1, "Meeting", fields=[1]), DataTypeError,
         "deal 'A': fields must be a mapping"),
        (lambda: Deal("A", 1, "Meeting", history="Meeting"), DataTypeError,
         "deal 'A': history must be a sequence"),
        (lambda: Deal("A", 1, "Meeting", history=[("Meeting",)]), DataTypeError,
         "deal 'A': history entries must be"),
        (lambda: Deal("A", 1, "Meeting", history=[(1, "2024-01-01")]), DataTypeError,
         "deal 'A': history stage must be"),
        (lambda: Deal("A", 1, "Meeting", history=[("Meeting", "1704067200")]), DataError,
         "deal 'A': history date of stage 'Meeting' must be an ISO date"),
        (lambda: Deal("A", 1, "Meeting", history=[("Meeting", None)]), DataError,
         "deal 'A': history entry for stage 'Meeting' has no date"),
    ],
)
def test_deal_messages_name_the_field_and_deal(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert message in str(info.value)


# -- item 9: periods ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: Period.parse("9999"), DataError, ["'9999'", "9999-12-31"]),
        (lambda: Period.parse("0000-01"), DataError, ["'0000-01'", "year must be in 1..9999"]),
        (lambda: Period.parse("0000"), DataError, ["'0000'", "year must be in 1..9999"]),
        (lambda: Period.parse("FY9999", calendar=FiscalCalendar()), DataError,
         ["'FY9999'", "9999-12-31"]),
        (lambda: Period.parse("FY0001", calendar=FiscalCalendar(start_month=2)), DataError,
         ["'FY0001'", "0001-01-01"]),
        (lambda: Period.parse("9999-Q4"), DataError, ["'9999-Q4'", "9999-12-31"]),
        (lambda: Period.parse("9999-12"), DataError, ["'9999-12'", "9999-12-31"]),
        (lambda: Period.parse("9999-W52"), DataError, ["'9999-W52'", "9999-12-31"]),
        (lambda: Period.parse("9999-12-31"), DataError, ["'9999-12-31'", "9999-12-31"]),
        (lambda: Period.parse("0000-01-01"), DataError, ["'0000-01-01'"]),
        (lambda: Period.year(10_000), DataError, ["year must be in 1..9999, got 10000"]),
        (lambda: Period.year("2024"), DataTypeError, ["year must be an int, got '2024'"]),
        (lambda: Period.month("2024", 1), DataTypeError, ["year must be an int"]),
        (lambda: Period.quarter(2024, 5), DataError, ["quarter must be in 1..4, got 5"]),
        (lambda: Period.month(2024, 13), DataError, ["month must be in 1..12, got 13"]),
        (lambda: Period.week(2024, 54), DataError, ["week must be in 1..53, got 54"]),
        (lambda: Period.week(0, 1), DataError, ["year must be in 1..9999, got 0"]),
        (lambda: FiscalCalendar(start_month=13), OptionError, ["start_month", "13"]),
        (lambda: FiscalCalendar().year("2024"), DataTypeError, ["fiscal year must be an int"]),
        (lambda: FiscalCalendar().quarter(2024, 5), DataError, ["quarter must be in 1..4"]),
        (lambda: Period.parse("2024-Q1").shift(10**6), DataError, ["2024-Q1", "9999-12-31"]),
        (lambda: Period.parse("2024-W01").shift(10**6), DataError, ["2024-W01", "9999-12-31"]),
        (lambda: Period.day("20240101"), DataError, ["'20240101'", "YYYY-MM-DD"]),
        (lambda: Period("1704067200", "2024-01-01"), DataError, ["'1704067200'"]),
        (lambda: Period(np.datetime64("10000-01-01"), "2024-01-01"), DataError, ["10000-01-01"]),
        (lambda: "20170701" in Period.parse("2017-Q3"), DataError, ["'20170701'"]),
        (lambda: Period.parse("2017-Q3").contains(["2017-07-01", "1704067200"]), DataError,
         ["row 1", "'1704067200'"]),
        (lambda: Period.parse("FY2024", calendar="x"), DataTypeError,
         ["calendar must be a FiscalCalendar or None, got 'x'"]),
        (lambda: Period("2024-01-01", "2024-02-01", calendar="x"), DataTypeError,
         ["calendar must be a FiscalCalendar"]),
        (lambda: FiscalCalendar().fiscal_year("2024-13-01"), DataError, ["'2024-13-01'"]),
        (lambda: Period.range("2024-Q3", "2024-Q1"), DataError,
         ["'2024-Q1'", "before", "'2024-Q3'"]),
    ],
)
def test_period_errors_say_what_was_wrong(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_periods_at_the_edges_work():
    assert Period.parse("9999-Q3").end == D(9999, 10, 1)
    assert Period.parse("9999-12-30").end == D(9999, 12, 31)
    assert Period.parse("0001").start == D(1, 1, 1)
    assert Period.parse("FY9999", calendar=FiscalCalendar(start_month=2)).end == D(9999, 2, 1)
    with pytest.raises(DataError, match="FY9999"):  # would end on 10000-02-01
        Period.parse("FY9999", calendar=FiscalCalendar(start_month=2, naming="start"))
    assert Period.year(5).label == "0005" and Period.parse("0005-Q2").label == "0005-Q2"
    assert Period.range("2024-Q1", "2024-Q1") == [Period.parse("2024-Q1")]
    assert FiscalCalendar(start_month=2).fiscal_year("2024-02-01") == 2025
    assert Period.parse("2017-Q3").contains(["2017-07-01", "2017-10-01", None]).tolist() == [
        True, False, False]


# -- property: any text is a date that fromisoformat agrees with, or a DataError ------------------
NEAR_ISO = st.from_regex(
    r"[-+ 0-9]{0,7}-[0-9]{1,3}-[0-9]{1,3}([T t][0-9:.,]{0,14})?(Z|[-+][0-9:]{0,6})?\s?",
    fullmatch=True,
)
DOCUMENTED = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?(Z|[-+][0-9]{2}(:?[0-9]{2})?)?)?"
)


@given(st.one_of(st.text(), st.text("0123456789-+:TZ .W"), NEAR_ISO, st.dates().map(str)))
@example("1704067200")
@example("-002024-01")
@example("20240101")
@example("0000-01-01")
@example("2024-01-01T10")
def test_any_text_is_an_iso_date_or_a_data_error(text):
    try:
        day = to_date(text, field="created", deal_id="D", row=0)
    except DataError as error:
        message = str(error)
        day = "error"
    else:
        message = "created"
    assert "created" in message
    try:
        column = to_date_array(np.array([text, "2024-01-01"]), field="created")
        from_array = None if np.isnat(column[0]) else column[0].item()
    except DataError:
        from_array = "error"
    assert from_array == day  # the vectorized path agrees with the scalar one
    stripped = text.strip()
    if day is None:
        assert stripped in ("", "NaT", "nan", "NaN", "None", "null")
    elif day != "error":
        assert DOCUMENTED.fullmatch(stripped), text
        offset = re.search(r"(Z|[-+][0-9:]+)$", stripped[10:])
        if offset is None or offset.group() in ("Z", "+00:00", "+0000", "+00", "-00:00"):
            assert day == dt.date.fromisoformat(stripped[:10])
        else:
            assert day == dt.datetime.fromisoformat(stripped).astimezone(dt.UTC).date()
    elif DOCUMENTED.fullmatch(stripped):  # a documented shape is rejected only when invalid
        with pytest.raises((ValueError, OverflowError)):
            dt.datetime.fromisoformat(stripped).astimezone(dt.UTC)


@given(st.dates())
def test_every_iso_date_round_trips(day):
    assert to_date(day.isoformat()) == day
    assert to_date_array([day.isoformat()], field="created")[0].item() == day


@given(st.one_of(st.text(), st.from_regex(r"(FY)?[0-9]{4}(-?Q[0-9]|-W[0-9]{2}|-[0-9]{2}){0,2}",
                                          fullmatch=True)),
       st.sampled_from([None, FiscalCalendar(start_month=2), FiscalCalendar(naming="start",
                                                                             start_month=7)]))
def test_period_parse_raises_only_salesmetrics_errors_and_labels_round_trip(text, calendar):
    try:
        period = Period.parse(text, calendar=calendar)
    except SalesMetricsError:
        return
    assert Period.parse(period.label, calendar=calendar) == period
