"""Every error path: messages name the field, the deal and row, the value and the choices."""

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Deal, Outcome, Pipeline, Stage
from salesmetrics.errors import (
    CurrencyError,
    DataError,
    DataTypeError,
    DuplicateDealError,
    OptionError,
    RaggedColumnsError,
    SalesMetricsError,
    UnknownStageError,
)


def cols(**extra):
    base = {"id": ["D-1", "D-2"], "stage": ["Meeting", "Proposal"], "amount": [1.0, 2.0]}
    base.update(extra)
    return base


def test_hierarchy():
    for error in (DataError, UnknownStageError, DuplicateDealError, CurrencyError,
                  RaggedColumnsError, OptionError):
        assert issubclass(error, SalesMetricsError) and issubclass(error, ValueError)
    assert issubclass(DataTypeError, TypeError) and issubclass(DataTypeError, SalesMetricsError)


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (cols(stage=["Meeting", "Won big"]), UnknownStageError,
         "deal 'D-2' (row 1 of the data): stage 'Won big' is not a stage of the process; valid "
         "stages are 'Initial contact', 'Discovery', 'Meeting', 'Proposal', 'Negotiation', "
         "'Closed won' or 'Closed lost'"),
        (cols(amount=[1.0, -5.0]), DataError,
         "deal 'D-2' (row 1 of the data): amount must be >= 0, got -5.0"),
        (cols(amount=[np.inf, 1.0]), DataError,
         "deal 'D-1' (row 0 of the data): amount must be finite"),
        (cols(amount=["12", "abc"]), DataTypeError,
         "deal 'D-2' (row 1 of the data): amount must be a number, got 'abc'"),
        (cols(amount=[1.0, True]), DataTypeError, "amount must be a number, got True"),
        (cols(probability=[0.5, 30.0]), DataError,
         "deal 'D-2' (row 1 of the data): probability must be in [0, 1], got 30.0"),
        (cols(id=["D-1", "D-1"]), DuplicateDealError,
         "deal 'D-1' occurs twice, in row 0 of the data and in row 1 of the data"),
        (cols(id=["D-1", None]), DataError, "row 1 of the data: id is missing"),
        (cols(id=["D-1", 2.5]), DataTypeError,
         "row 1 of the data: id must be a str or int, got 2.5"),
        (cols(currency=["USD", "EUR"]), CurrencyError, "several currencies (EUR, USD)"),
        (cols(currency=["USD", "US"]), DataError, "three-letter ISO 4217 code"),
        (cols(amount=[1.0]), RaggedColumnsError, "'id' has 2, 'amount' has 1"),
        (cols(created=["2024-01-01", "2024-13-01"]), DataError,
         "deal 'D-2' (row 1 of the data): created '2024-13-01' is not a date that exists"),
        (cols(created=["2024-01-01", "1704067200"]), DataError,
         "deal 'D-2' (row 1 of the data): created must be an ISO date 'YYYY-MM-DD'"),
        (cols(created=["2024-01-01", 5]), DataTypeError,
         "deal 'D-2' (row 1 of the data): created must be a date, got 5"),
        (cols(stage=["Meeting", "Closed won"]), DataError,
         "deal 'D-2' (row 1 of the data): close_date is missing on a closed deal "
         "(stage 'Closed won')"),
        (cols(created=["2024-02-01", None], close_date=["2024-01-01", None]), DataError,
         "deal 'D-1' (row 0 of the data): close_date 2024-01-01 is before created 2024-02-01; pass "
         "allow_close_before_created=True"),
        (cols(stage=["Meeting", None]), UnknownStageError,
         "deal 'D-2' (row 1 of the data): stage is missing"),
    ],
)
def test_from_columns_errors(data, error, message):
    with pytest.raises(error) as info:
        Pipeline.from_columns(data)
    assert message in str(info.value)


def test_missing_column_lists_the_columns():
    message = "column 'opportunity_id' \\(for 'id'\\) is not in the data; columns are 'amount'"
    with pytest.raises(DataError, match=message):
        Pipeline.from_columns(cols(), columns={"id": "opportunity_id"})
    with pytest.raises(DataError, match="for field 'region'"):
        Pipeline.from_columns(cols(), columns={"region": "Region"})
    with pytest.raises(DataTypeError, match="data must be a mapping"):
        Pipeline.from_columns(42)


def test_history_errors():
    with pytest.raises(DataError, match="history row 0: deal 'X' is not in the pipeline"):
        Pipeline.from_columns(cols(), history={"id": ["X"], "stage": ["Meeting"],
                                               "date": ["2024-01-01"]})
    with pytest.raises(UnknownStageError, match="stage 'Nope' is not a stage"):
        Pipeline.from_columns(cols(), history={"id": ["D-1"], "stage": ["Nope"],
                                               "date": ["2024-01-01"]})
    with pytest.raises(DataError, match="history: column 'date'"):
        Pipeline.from_columns(cols(), history={"id": ["D-1"], "stage": ["Meeting"]})
    with pytest.raises(DataError, match="history date is missing"):
        Pipeline.from_columns(cols(), history={"id": ["D-1"], "stage": ["Meeting"],
                                               "date": [None]})


def test_allow_close_before_created_loads():
    p = Pipeline.from_columns(
        cols(created=["2024-02-01", None], close_date=["2024-01-01", None]),
        allow_close_before_created=True,
    )
    assert len(p) == 2


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Deal("A", -1, "Meeting"), DataError, "deal 'A': amount must be >= 0, got -1.0"),
        (lambda: Deal("A", "x", "Meeting"), DataTypeError, "amount must be a number, got 'x'"),
        (lambda: Deal("A", 1, "Meeting", probability=1.5), DataError,
         "deal 'A': probability must be in [0, 1], got 1.5"),
        (lambda: Deal("A", 1, "Meeting", probability="high"), DataTypeError, "probability"),
        (lambda: Deal(None, 1, "Meeting"), DataTypeError, "deal id must be a str or int"),
        (lambda: Deal("A", 1, 3), DataTypeError, "stage must be a stage name"),
        (lambda: Deal("A", 1, "Meeting", created="01/02/2024"), DataError, "ISO date"),
        (lambda: Deal("A", 1, "Meeting", currency="dollars"), DataError, "ISO 4217"),
        (lambda: Deal("A", 1, "Meeting", fields=[1]), DataTypeError, "fields must be a mapping"),
        (lambda: Deal("A", 1, "Meeting", history="Meeting"), DataTypeError, "(stage, date) pairs"),
        (lambda: Deal("A", 1, "Meeting", history=[("Meeting",)]), DataTypeError, "pairs"),
        (lambda: Stage("X", 30), DataError, "probability must be in [0, 1], got 30.0"),
        (lambda: Stage("X", "high"), DataTypeError, "must be a number"),
        (lambda: Stage("", 0.1), DataTypeError, "non-empty str"),
        (lambda: Stage("X", 0.1, "maybe"), DataTypeError, "'open', 'won', 'lost', 'no_decision'"),
    ],
)
def test_deal_and_stage_errors(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([], "must not be empty"),
        ([Stage("A", 0.1), Stage("A", 0.2)], "occurs twice"),
        ([Stage("W", 1, Outcome.WON), Stage("A", 0.1)], "comes after a closed stage"),
        ([Stage("W", 1, Outcome.WON)], "at least one open stage"),
        (["Meeting"], "sequence of Stage"),
        ("Meeting", "sequence of Stage"),
    ],
)
def test_process_errors(stages, message):
    with pytest.raises(SalesMetricsError, match=message):
        Pipeline.from_columns(cols(), stages)


def test_from_deals_errors():
    with pytest.raises(DataTypeError, match="row 1: expected a Deal"):
        Pipeline.from_deals([Deal("A", 1, "Meeting"), {"id": "B"}])
    with pytest.raises(CurrencyError, match="EUR, USD"):
        Pipeline.from_deals([Deal("A", 1, "Meeting", currency="USD"),
                             Deal("B", 1, "Meeting", currency="EUR")])
    with pytest.raises(DuplicateDealError, match="'A' occurs twice"):
        Pipeline.from_deals([Deal("A", 1, "Meeting"), Deal("A", 2, "Meeting")])


@pytest.fixture
def p():
    return Pipeline.from_deals([Deal("A", 1, "Closed won", close_date="2024-01-01", owner="x")])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda p: sm.win_rate(p, basis="dollars"), OptionError,
         "win_rate(): basis must be 'unit' or 'value', got 'dollars'"),
        (lambda p: sm.win_rate(p, open_deals="won"), OptionError, "'exclude' or 'lost'"),
        (lambda p: sm.win_rate(p, no_decision="won"), OptionError, "'lost' or 'exclude'"),
        (lambda p: sm.win_rate(p, view="closed"), OptionError, "'period' or 'cohort'"),
        (lambda p: sm.win_rate(p, stale_after=-1), OptionError, "stale_after must be"),
        (lambda p: sm.win_rate(p, stale_after=1.5), OptionError, "stale_after must be"),
        (lambda p: sm.win_rate(p, zero_division="x"), OptionError, "zero_division"),
        (lambda p: sm.win_rate(p, by="region"), DataError,
         "unknown field 'region'; valid fields are 'stage' or 'owner'"),
        (lambda p: sm.win_rate(p, by=3), DataTypeError, "by must be a field name"),
        (lambda p: sm.win_rate(p, period="soon"), DataError, "win_rate(): Period.parse()"),
        (lambda p: sm.win_rate(p, period=2024), DataTypeError, "period must be a Period"),
        (lambda p: sm.win_rate(p, stale_after=3, as_of=3), DataTypeError, "as_of must be a date"),
        (lambda p: sm.win_rate([1, 2]), DataTypeError, "win_rate(): expected a Pipeline"),
        (lambda p: sm.conversion_from_stage(p, skipped="some"), OptionError,
         "'implied' or 'visited'"),
        (lambda p: sm.conversion_from_stage(p, basis="x"), OptionError, "basis"),
        (lambda p: sm.funnel_counts(p, basis="x"), OptionError, "basis"),
        (lambda p: sm.stage_conversion(p, basis="x"), OptionError, "basis"),
        (lambda p: sm.sales_velocity(p, opportunities="some"), OptionError,
         "'all', 'created', 'open' or 'closed'"),
        (lambda p: sm.sales_velocity(p, zero_division=None), OptionError, "zero_division"),
        (lambda p: sm.sales_cycle_length(p, statistic="mode"), OptionError,
         "'mean', 'median' or a percentile in [0, 100]"),
        (lambda p: sm.sales_cycle_length(p, statistic=101), OptionError, "percentile"),
        (lambda p: sm.sales_cycle_length(p, outcome="open"), OptionError, "'won', 'lost' or"),
        (lambda p: sm.average_deal_size(p, outcome="x"), OptionError, "outcome"),
        (lambda p: sm.outcome_shares(p, basis="x"), OptionError, "basis"),
        (lambda p: sm.weighted_pipeline(p, probabilities={"Nope": 0.1}), UnknownStageError,
         "probabilities names stage 'Nope'"),
        (lambda p: sm.weighted_pipeline(p, probabilities={"Meeting": 2}), DataError,
         "probabilities['Meeting'] must be in [0, 1], got 2"),
        (lambda p: sm.weighted_pipeline(p, probabilities=[0.1]), DataTypeError, "mapping"),
        (lambda p: sm.velocity_change(cycle_days=0), OptionError, "cycle_days must be finite"),
        (lambda p: sm.velocity_change(win_rate=[1, -1]), OptionError, "win_rate"),
        (lambda p: sm.velocity_change(win_rate="x"), OptionError, "win_rate must be a number"),
        (lambda p: p.filter([True, False]), DataTypeError, "mask must be a bool array of length 1"),
        (lambda p: p.deal("nope"), KeyError, "no deal with id 'nope'"),
    ],
)
def test_metric_option_errors(p, call, error, message):
    with pytest.raises(error) as info:
        call(p)
    assert message in str(info.value)


def test_inputs_are_not_mutated():
    amounts = np.array([1.0, 2.0])
    created = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    data = cols(amount=amounts, created=created)
    p = Pipeline.from_columns(data)
    sm.win_rate(p)
    assert amounts.flags.writeable and created.flags.writeable
    assert amounts.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="read-only"):
        p.created[0] = np.datetime64("2020-01-01")
    with pytest.raises(ValueError, match="read-only"):
        p.amount_minor[0] = 5
    assert data["id"] == ["D-1", "D-2"]


def test_read_csv_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        Pipeline.read_csv(empty)
    long = tmp_path / "long.csv"
    long.write_text("id,stage\nA,Meeting,extra\n")
    with pytest.raises(DataError, match="line 2: 3 cells but the header has 2"):
        Pipeline.read_csv(long)
    with pytest.raises(FileNotFoundError):
        Pipeline.read_csv(tmp_path / "missing.csv")


def test_timezone_errors():
    with pytest.raises(DataError, match="not a known IANA time zone"):
        Pipeline.from_columns(cols(), timezone="Mars/Olympus")
    with pytest.raises(DataTypeError, match="timezone must be"):
        Pipeline.from_columns(cols(), timezone=5)


def test_float_ids():
    p = Pipeline.from_columns({"id": np.array([1.0, 2.0]), "stage": ["Meeting", "Meeting"]})
    assert p.ids.tolist() == [1, 2]
    with pytest.raises(DataError, match="row 1 of the data: id is missing"):
        Pipeline.from_columns({"id": np.array([1.0, np.nan]), "stage": ["Meeting", "Meeting"]})
    with pytest.raises(DataTypeError, match=r"row 0 of the data: id must be a str or int, got 1\."):
        Pipeline.from_columns({"id": np.array([1.5, 2.0]), "stage": ["Meeting", "Meeting"]})
    # a plain list reads the same as the array; an integral float among ints is that int
    for ids in ([1.0, 2.0], [1, 2.0]):
        assert Pipeline.from_columns({"id": ids, "stage": ["Meeting"] * 2}).ids.tolist() == [1, 2]
    with pytest.raises(DataError, match="row 1 of the data: id is missing"):
        Pipeline.from_columns({"id": [1.0, None], "stage": ["Meeting", "Meeting"]})
    # past 2**53 a float has lost the integer (2**60 + 1 reads as 2**60): refused, not merged
    for ids in ([2.0**60, 3.0], np.array([2.0**60, 3.0])):
        with pytest.raises(DataTypeError, match=r"row 0 of the data: id 1\.15.*e\+18 was read "
                                                r"as float64.*past 9,007,199,254,740,992"):
            Pipeline.from_columns({"id": ids, "stage": ["Meeting", "Meeting"]})
    # float32 (a polars or Arrow column) holds integers exactly only below 2**24
    with pytest.raises(DataTypeError, match=r"id 16777216\.0 was read as float32.*past "
                                            r"16,777,216"):
        Pipeline.from_columns({"id": np.array([16777217, 20000001], dtype=np.float32),
                               "stage": ["Meeting", "Meeting"]})
    assert Pipeline.from_columns({"id": np.array([1, 2], dtype=np.float32),
                                  "stage": ["Meeting", "Meeting"]}).ids.tolist() == [1, 2]
    with pytest.raises(DataTypeError, match=r"row 0 of the data: id must be a str or int, got "
                                            r"1\.5"):
        Pipeline.from_columns({"id": [1.5, 2.0], "stage": ["Meeting", "Meeting"]})
