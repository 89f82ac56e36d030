"""Issue 7, metrics side: one renderer, one summarize module, merged summaries in the whole's
order, uniform options (zero_division, outcome, statistic, the velocity's win-rate policies),
integer funnel counts, one clock-free default for as_of."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import STAGES, deal_rows

import salesmetrics as sm
from salesmetrics import Pipeline
from salesmetrics.metrics._summarize import (
    summarize_open,
    summarize_outcomes,
    summarize_reached,
    summarize_velocity,
)

AMOUNT_WARNINGS = pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")

# -- merged summaries keep the whole's key order --------------------------------------------------

#: A categorical's categories in an order that is not sorted, the missing label last.
OWNER_ORDER = ["zed", "mo", "amy", "bo"]
RENAME = {"ana": "zed", "bo": "amy", "cy": "mo"}


def _frame(rows: dict, idx: list[int], *, categorical: bool) -> Pipeline:
    cols = ("id", "amount", "stage", "created", "close_date", "owner", "team")
    data = {k: [rows[k][i] for i in idx] for k in cols}
    data["amount"] = [np.nan if v is None else v for v in data["amount"]]
    owners = [RENAME.get(o) for o in data["owner"]]
    frame = pd.DataFrame(data)
    frame["owner"] = (pd.Categorical(owners, categories=OWNER_ORDER) if categorical
                      else pd.Series(owners, dtype=object))
    return Pipeline.from_columns(frame, STAGES, currency="USD", columns={"team": "team"})


SUMMARIES = {
    "open": lambda p, by: summarize_open(p, by=by),
    "outcomes": lambda p, by: summarize_outcomes(p, by=by, function="t", cycles=True,
                                                 histogram=True),
    "reached": lambda p, by: summarize_reached(p, by=by),
    "velocity": lambda p, by: summarize_velocity(p, by=by, period="2023-Q3"),
}


@AMOUNT_WARNINGS
@settings(max_examples=60, deadline=None)
@given(rows=deal_rows(min_size=1), data=st.data(), categorical=st.booleans(),
       by=st.sampled_from(["owner", "stage", ["owner", "team"], ["stage", "owner"], None]),
       kind=st.sampled_from(sorted(SUMMARIES)))
def test_split_and_merge_gives_the_whole_in_the_same_key_order(rows, data, categorical, by,
                                                               kind):
    n = len(rows["id"])
    side = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    left = [i for i in range(n) if side[i]]
    right = [i for i in range(n) if not side[i]]
    summarize = SUMMARIES[kind]
    whole = summarize(_frame(rows, list(range(n)), categorical=categorical), by)
    parts = [summarize(_frame(rows, idx, categorical=categorical), by)
             for idx in (left, right) if idx]
    merged = parts[0] if len(parts) == 1 else parts[0] + parts[1]
    assert merged.keys == whole.keys
    if len(parts) == 2:
        assert (parts[1] + parts[0]).keys == whole.keys  # deterministic: either way round
    for name, array in whole.arrays.items():
        if isinstance(array, np.ndarray):
            assert np.array_equal(merged.arrays[name], array), name
        else:
            assert merged.arrays[name] == array, name


def test_merged_categorical_summary_keeps_the_category_order():
    frame = pd.DataFrame({
        "id": [1, 2, 3, 4], "amount": [1, 2, 3, 4],
        "stage": ["Closed won", "Closed lost", "Closed won", "Proposal"],
        "close_date": ["2024-01-01"] * 4,
        "owner": pd.Categorical(["zed", "amy", "mo", None], categories=["zed", "mo", "amy"]),
    })
    p = Pipeline.from_columns(frame)
    a, b = p.filter(np.array([True, False, False, True])), p.filter(np.array([0, 1, 1, 0], bool))
    for by in ("owner", "stage"):
        whole = summarize_outcomes(p, by=by, function="t")
        merged = summarize_outcomes(a, by=by, function="t") + summarize_outcomes(b, by=by,
                                                                                 function="t")
        assert merged.keys == whole.keys
    assert whole.keys == ("Proposal", "Closed won", "Closed lost")  # process order


# -- one default for as_of: the latest date on record, never the clock --------------------------

def _aged() -> Pipeline:
    return sm.Pipeline.from_deals([
        sm.Deal("W", 100, "Closed won", created="2024-01-01", close_date="2024-03-01"),
        sm.Deal("L", 100, "Closed lost", created="2024-01-01", close_date="2024-03-10"),
        sm.Deal("O1", 100, "Proposal", created="2024-01-05"),   # 65 days before 2024-03-10
        sm.Deal("O2", 100, "Proposal", created="2024-03-01"),   # 9 days before
    ])


def test_as_of_defaults_to_the_latest_date_on_record_not_the_clock(monkeypatch):
    p = _aged()
    assert p.latest_date == np.datetime64("2024-03-10")
    default = sm.win_rate(p, stale_after=30)
    assert default == sm.win_rate(p, stale_after=30, as_of="2024-03-10") == pytest.approx(1 / 3)
    # with a period, too: the same one default
    assert sm.win_rate(p, stale_after=30, period="2024", view="cohort") == pytest.approx(1 / 3)


def test_no_result_reads_the_clock():
    import datetime as dt
    from unittest import mock

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # pragma: no cover - must not be called
            raise AssertionError("a metric read the clock")

        @classmethod
        def today(cls):  # pragma: no cover
            raise AssertionError("a metric read the clock")

    p = _aged()
    with mock.patch("datetime.datetime", Frozen):
        assert sm.win_rate(p, stale_after=30) == pytest.approx(1 / 3)
        assert sm.sales_velocity(p, stale_after=30).win_rate == pytest.approx(1 / 3)


# -- the velocity's W takes the win_rate policies --------------------------------------------------

@pytest.mark.parametrize("policy", [
    {}, {"open_deals": "lost"}, {"no_decision": "exclude"},
    {"stale_after": 30}, {"stale_after": 30, "as_of": "2024-03-31"},
])
def test_velocity_win_rate_is_win_rate_under_the_same_policies(policy):
    p = sm.Pipeline.from_deals([
        sm.Deal("W", 100, "Closed won", created="2024-01-01", close_date="2024-03-01"),
        sm.Deal("L", 100, "Closed lost", created="2024-01-01", close_date="2024-03-10"),
        sm.Deal("O1", 100, "Proposal", created="2024-01-05"),
        sm.Deal("O2", 100, "Proposal", created="2024-03-01"),
        sm.Deal("N", 100, "No decision", created="2024-01-01", close_date="2024-03-05"),
    ], (*sm.DEFAULT_STAGES, sm.Stage("No decision", 0.0, sm.Outcome.NO_DECISION)))
    v = sm.sales_velocity(p, **policy)
    assert v.win_rate == sm.win_rate(p, **policy)
    grouped = sm.sales_velocity(p, by="stage", **policy)
    rates = sm.win_rate(p, by="stage", **policy)
    assert all(math.isclose(grouped[k].win_rate, rates[k]) or math.isnan(rates[k])
               for k in rates)


def test_lead_funnel_velocity_counts_open_leads_as_not_won():
    leads = [sm.Deal(f"L{i}", 100, "Initial contact", created="2024-01-01") for i in range(8)]
    won = [sm.Deal(f"W{i}", 100, "Closed won", created="2024-01-01", close_date="2024-01-11")
           for i in range(2)]
    p = sm.Pipeline.from_deals(leads + won)
    assert sm.sales_velocity(p).win_rate == 1.0  # default unchanged: won ÷ closed
    v = sm.sales_velocity(p, open_deals="lost")
    assert v.win_rate == pytest.approx(0.2)
    assert v.revenue_per_day == pytest.approx(10 * 100 * 0.2 / 10)


def test_velocity_policies_are_checked():
    with pytest.raises(sm.errors.OptionError, match="open_deals"):
        sm.sales_velocity(_aged(), open_deals="won")
    with pytest.raises(sm.errors.OptionError, match="stale_after"):
        sm.sales_velocity(_aged(), stale_after=-1)


# -- zero_division on every ratio metric -----------------------------------------------------------

def test_every_ratio_metric_takes_zero_division():
    import inspect

    for name in ("win_rate", "outcome_shares", "conversion_from_stage", "stage_conversion",
                 "sales_velocity", "sales_cycle_length", "average_deal_size"):
        assert "zero_division" in inspect.signature(getattr(sm, name)).parameters, name


def test_zero_division_fills_empty_groups():
    p = sm.Pipeline.from_deals([sm.Deal("O", 100, "Proposal", created="2024-01-01")])
    assert sm.outcome_shares(p, zero_division=0) == sm.OutcomeShares(0.0, 0.0, 0.0)
    assert math.isnan(sm.outcome_shares(p).won)
    assert sm.sales_cycle_length(p, zero_division=0) == 0.0
    assert sm.sales_cycle_length(p, statistic="median", zero_division=0) == 0.0
    assert sm.average_deal_size(p, zero_division=0) == 0.0
    assert math.isnan(sm.average_deal_size(p))
    for metric, bad in (("outcome_shares", 2), ("sales_cycle_length", -1),
                        ("average_deal_size", "0")):
        with pytest.raises(sm.errors.OptionError, match="zero_division"):
            getattr(sm, metric)(p, zero_division=bad)


# -- typed literals, integer funnel ----------------------------------------------------------------

def test_statistic_accepts_numpy_percentiles_and_names_bad_values():
    p = _aged()
    assert sm.sales_cycle_length(p, statistic=np.float64(50)) == sm.sales_cycle_length(
        p, statistic="median")
    with pytest.raises(sm.errors.OptionError, match=r"statistic.*'mode'"):
        sm.sales_cycle_length(p, statistic="mode")  # type: ignore[arg-type]


def test_funnel_counts_are_integers():
    from salesmetrics.datasets import sample_pipeline

    funnel = sm.funnel_counts(sample_pipeline())
    assert all(type(v) is int for v in funnel.values())
    by_team = sm.funnel_counts(sample_pipeline(), by="team")
    assert all(type(v) is int for g in by_team.values() for v in g.values())


# -- printed results --

def test_printed_results_use_separators_currency_and_percentages_never_exponents():
    p = sm.Pipeline.from_columns({
        "id": ["A", "B", "C", "D"], "amount": [1_222_490, 5, 100, 100],
        "stage": ["Proposal", "Proposal", "Closed won", "Closed lost"],
        "created": ["2024-01-01"] * 4,
        "close_date": [None, None, "2024-01-31", "2024-01-31"],
        "owner": ["ana", None, "ana", None],
    }, currency="USD")
    text = repr(sm.pipeline_value(p, by="owner"))
    assert "USD 1,222,490.00" in text and "e+" not in text
    assert "(none)" in text and "None" not in text
    assert "USD 5.00" in sm.pipeline_value(p, by="owner")._repr_html_()
    rates = sm.win_rate(p, by="owner")
    assert "100.0 %" in repr(rates) and "0.0 %" in repr(rates)
    html = rates._repr_html_()
    assert "(none)" in html and "100.0 %" in html
    assert list(rates.to_pandas().index) == ["ana", "(none)"]
    assert rates[None] == 0.0  # the mapping keeps the key None
    assert "50.0 %" in repr(sm.outcome_shares(p))
    v = repr(sm.sales_velocity(p))
    assert "USD" in v and "%" in v and "days" in v and "e+" not in v


def test_missing_group_prints_the_same_whether_none_or_nan():
    from salesmetrics.metrics import GroupedResult

    none = GroupedResult(("team",), ["a", None], [0.5, 0.25], name="win_rate", unit="rate")
    nan = GroupedResult(("team",), ["a", float("nan")], [0.5, 0.25], name="win_rate",
                        unit="rate")
    assert repr(none) == repr(nan)
    assert none._repr_html_() == nan._repr_html_()
    assert list(none.to_pandas().index) == list(nan.to_pandas().index) == ["a", "(none)"]


def test_grouped_results_with_nan_values_are_equal() -> None:
    from salesmetrics.metrics import GroupedResult

    def make(value: float) -> GroupedResult[float]:
        return GroupedResult(("owner",), ["ana", None], [0.5, value], name="win_rate",
                             unit="rate")

    nan = float("nan")
    assert make(nan) == make(float("nan"))   # two different nan objects
    assert make(nan) == {"ana": 0.5, None: float("nan")}
    assert make(nan) != make(0.0) and make(0.0) != make(nan)
    assert make(0.25) != make(0.5) and make(0.5) == make(0.5)
    # the same data twice: equal, whatever the nans
    p = sm.Pipeline.from_deals([
        sm.Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-11",
                owner="ana"),
        sm.Deal("B", 100, "Proposal", created="2024-01-01", close_date="2024-03-01", owner="bo"),
    ])
    cycle = sm.sales_cycle_length(p, by="owner")
    assert cycle["bo"] != cycle["bo"]  # nan
    assert cycle == sm.sales_cycle_length(p, by="owner")
    assert sm.sales_velocity(p, by="owner") == sm.sales_velocity(p, by="owner")
    assert sm.outcome_shares(p, by="owner") == sm.outcome_shares(p, by="owner")
    assert cycle != sm.sales_cycle_length(p, by="owner", zero_division=0.0)


def test_amount_error_names_the_metric(monkeypatch):
    from salesmetrics.errors import AmountError
    from salesmetrics.metrics import _summarize

    def overflow(*args, **kwargs):
        raise AmountError("amounts add up past 2**63 - 1")

    monkeypatch.setattr(_summarize, "run_chunked", overflow)
    p = _aged()
    for call, name in ((lambda: sm.sales_velocity(p), "sales_velocity"),
                       (lambda: sm.funnel_counts(p), "funnel_counts"),
                       (lambda: sm.conversion_from_stage(p), "conversion_from_stage")):
        with pytest.raises(AmountError, match=rf"^{name}\(\): amounts add up"):
            call()
