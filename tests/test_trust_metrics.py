"""Never a silent wrong number from the metrics (issue 6, items 4-6 and 9).

Each test reproduced a case where a metric returned a plausible number (0.0, 1.0, 2.0) with no
warning, or where a bad option escaped as a raw Python error.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics import Deal, Outcome, Pipeline, Stage
from salesmetrics.errors import DataQualityWarning, OptionError

CLOSE = "2024-03-15"


def one_warning(call):
    """``call()`` under recorded warnings: its result and its one DataQualityWarning message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call()
    messages = [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]
    assert len(messages) == 1, messages
    assert len(caught) == 1, [str(w.message) for w in caught]
    return value, messages[0]


def no_amounts():
    """Open, won and lost deals, none with an amount."""
    return Pipeline.from_columns({
        "id": [1, 2, 3, 4], "stage": ["Proposal", "Closed won", "Closed lost", "Meeting"],
        "created": ["2024-01-01"] * 4, "close_date": [CLOSE] * 4,
    }, history={"id": [3], "stage": ["Discovery"], "date": ["2024-01-01"]})


def some_open_without_amount():
    return Pipeline.from_deals([
        Deal("A", 1_000, "Proposal"),
        Deal("B", None, "Proposal"),
        Deal("C", None, "Negotiation"),
        Deal("D", 500, "Closed won", close_date=CLOSE),
        Deal("E", 500, "Closed lost", close_date=CLOSE, history=[("Meeting", "2024-01-01")]),
    ])


# -- item 4: value metrics over deals without amounts ----------------------------------------------
@pytest.mark.parametrize("metric", [sm.pipeline_value, sm.weighted_pipeline])
def test_open_deals_without_amount_warn_with_the_count(metric):
    value, message = one_warning(lambda: metric(some_open_without_amount()))
    assert value == (1_000.0 if metric is sm.pipeline_value else 600.0)
    assert "2 of the 3 open deals have no amount" in message
    assert "amount" in message and "columns=" in message  # the fix


@pytest.mark.parametrize("metric", [sm.pipeline_value, sm.weighted_pipeline])
def test_open_deals_without_amount_warn_once_when_grouped(metric):
    value, message = one_warning(lambda: metric(some_open_without_amount(), by="stage"))
    assert value["Proposal"] == (1_000.0 if metric is sm.pipeline_value else 600.0)
    assert "2 of the 3 open deals" in message


def test_open_deals_without_amount_outside_the_period_do_not_warn():
    p = Pipeline.from_deals([Deal("A", 1_000, "Proposal", close_date="2024-02-01"),
                             Deal("B", None, "Proposal", close_date="2024-05-01")])
    assert sm.pipeline_value(p, period="2024-Q1") == 1_000.0
    with pytest.warns(DataQualityWarning, match="the 1 open deal has no amount"):
        assert sm.pipeline_value(p, period="2024-Q2") == 0.0


@pytest.mark.parametrize(("call", "value"), [
    (lambda p: sm.pipeline_value(p), 0.0),
    (lambda p: sm.weighted_pipeline(p), 0.0),
    (lambda p: sm.won_revenue(p), 0.0),
    (lambda p: sm.win_rate(p, basis="value"), math.nan),
    (lambda p: sm.outcome_shares(p, basis="value").won, math.nan),
    (lambda p: sm.sales_velocity(p).average_deal_value, math.nan),
    (lambda p: sm.conversion_from_stage(p, basis="value")["Discovery"], math.nan),
    (lambda p: sm.funnel_counts(p, basis="value")["Initial contact"], 0.0),
    (lambda p: sm.stage_conversion(p, basis="value")["Initial contact"], math.nan),
])
def test_a_pipeline_without_amounts_warns_in_every_value_metric(call, value):
    result, message = one_warning(lambda: call(no_amounts()))
    assert result == value or (math.isnan(value) and math.isnan(result))
    assert "no amount" in message or "has an amount" in message


def test_unit_metrics_of_a_pipeline_without_amounts_do_not_warn():
    p = no_amounts()
    assert sm.win_rate(p) == 0.5
    assert sm.outcome_shares(p).won == 0.5
    assert sm.conversion_from_stage(p)["Discovery"] == 0.5


def test_won_revenue_counts_won_deals_without_amount():
    p = Pipeline.from_deals([Deal("A", 100, "Closed won", close_date=CLOSE),
                             Deal("B", None, "Closed won", close_date=CLOSE)])
    value, message = one_warning(lambda: sm.won_revenue(p))
    assert value == 100.0
    assert "1 of the 2 won deals has no amount" in message


def test_velocity_says_won_deals_without_amount_are_left_out_of_v():
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-01-01", close_date=CLOSE),
        Deal("B", None, "Closed won", created="2024-01-01", close_date=CLOSE),
    ])
    v, message = one_warning(lambda: sm.sales_velocity(p))
    assert v.average_deal_value == 100.0
    assert "1 of the 2 won deals has no amount" in message and "left out" in message


def test_velocity_says_won_deals_are_left_out_of_l():
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-11"),
        Deal("B", 100, "Closed won", close_date=CLOSE),
        Deal("C", 100, "Closed lost", close_date=CLOSE, history=[("Meeting", "2024-01-01")]),
    ])
    v, message = one_warning(lambda: sm.sales_velocity(p))
    assert v.cycle_days == 10.0   # A only
    assert "L leaves out 1 won deal without a created date" in message
    assert "of 2 won deals" in message


def test_value_win_rate_counts_decided_deals_without_amount():
    p = Pipeline.from_deals([Deal("A", 100, "Closed won", close_date=CLOSE),
                             Deal("B", None, "Closed lost", close_date=CLOSE),
                             Deal("C", 100, "Closed lost", close_date=CLOSE)])
    rate, message = one_warning(lambda: sm.win_rate(p, basis="value"))
    assert rate == 0.5
    assert "1 of the 3 deals in the value win rate has no amount" in message


def test_value_win_rate_counts_stale_open_deals_without_amount():
    p = Pipeline.from_deals([Deal("A", 100, "Closed won", close_date=CLOSE),
                             Deal("B", None, "Proposal", created="2020-01-01")])
    assert sm.win_rate(p, basis="value") == 1.0  # the open deal is not decided: no warning
    rate, message = one_warning(
        lambda: sm.win_rate(p, basis="value", stale_after=30, as_of="2024-06-30"))
    assert rate == 1.0
    assert "1 of the 2 deals in the value win rate has no amount" in message
    # by owner; in a period, the stale deal (no expected close) is in no period: it is not
    # counted, so no amount warning, but a warning that stale_after leaves it out
    rate, message = one_warning(
        lambda: sm.win_rate(p, basis="value", stale_after=30, as_of="2024-06-30", by="owner"))
    assert "1 of the 2 deals in the value win rate has no amount" in message
    rate, message = one_warning(lambda: sm.win_rate(p, basis="value", stale_after=30,
                                                    as_of="2024-06-30", period="2024-03"))
    assert rate == 1.0
    assert "1 open deal has no expected close date and is not in any period" in message


def test_pipelines_with_every_amount_do_not_warn():
    p = Pipeline.from_deals([Deal("A", 100, "Proposal"),
                             Deal("B", 100, "Closed won", created="2024-01-01", close_date=CLOSE),
                             Deal("C", 100, "Closed lost", close_date=CLOSE,
                                  history=[("Meeting", "2024-01-01")])])
    sm.pipeline_value(p), sm.weighted_pipeline(p), sm.won_revenue(p)
    sm.win_rate(p, basis="value"), sm.outcome_shares(p, basis="value")
    sm.sales_velocity(p), sm.conversion_from_stage(p, basis="value")


# -- item 4: lost deals whose amount the CRM zeroed -----------------------------------------------
def zeroed_on_loss():
    return Pipeline.from_deals([
        Deal("A", 100, "Closed won", close_date=CLOSE),
        Deal("B", 0, "Closed lost", close_date=CLOSE, history=[("Meeting", "2024-01-01")]),
        Deal("C", 0, "Closed lost", close_date=CLOSE, history=[("Proposal", "2024-01-01")]),
    ])


@pytest.mark.parametrize(("call", "value"), [
    (lambda p: sm.win_rate(p, basis="value"), 1.0),
    (lambda p: sm.win_rate(p, basis="value", by="owner")[None], 1.0),
    (lambda p: sm.outcome_shares(p, basis="value").won, 1.0),
    (lambda p: sm.conversion_from_stage(p, basis="value")["Meeting"], 1.0),
])
def test_value_win_rate_warns_when_every_lost_deal_has_amount_0(call, value):
    result, message = one_warning(lambda: call(zeroed_on_loss()))
    assert result == value
    assert "2 lost deals have amount 0" in message
    assert "basis='unit'" in message


def test_unit_win_rate_and_a_real_zero_loss_among_others_do_not_warn():
    p = zeroed_on_loss()
    assert sm.win_rate(p) == pytest.approx(1 / 3)
    mixed = Pipeline.from_deals([Deal("A", 100, "Closed won", close_date=CLOSE),
                                 Deal("B", 0, "Closed lost", close_date=CLOSE),
                                 Deal("C", 50, "Closed lost", close_date=CLOSE)])
    assert sm.win_rate(mixed, basis="value") == pytest.approx(100 / 150)


def test_maven_value_win_rate_warns(shared_data):
    from test_shared_data import MAVEN_COLUMNS, MAVEN_STAGES

    p = Pipeline.read_csv(shared_data / "maven-crm-sales-opportunities" / "sales_pipeline.csv",
                          MAVEN_STAGES, columns=MAVEN_COLUMNS, currency="USD")
    rate, message = one_warning(lambda: sm.win_rate(p, basis="value"))
    assert rate == 1.0
    assert "2,473 lost deals have amount 0" in message
    total, message = one_warning(lambda: sm.pipeline_value(p))
    assert total == 0.0
    assert "none of the 2,089 open deals has an amount" in message
    conversion, message = one_warning(lambda: sm.conversion_from_stage(p))
    assert conversion["Engaging"] == 1.0
    assert "2,473 closed deals that were not won have no record of the stages" in message


# -- item 5: closed deals that were not won, without stage history --------------------------------
def lost_without_history():
    return Pipeline.from_deals([
        Deal("A", 100, "Closed won", close_date=CLOSE),
        Deal("B", 100, "Closed lost", close_date=CLOSE),
        Deal("C", 100, "Closed lost", close_date=CLOSE),
        Deal("D", 100, "Proposal"),
    ])


@pytest.mark.parametrize("metric", [sm.conversion_from_stage, sm.stage_conversion,
                                    sm.funnel_counts])
@pytest.mark.parametrize("skipped", ["implied", "visited"])
def test_lost_deals_without_history_warn(metric, skipped):
    _, message = one_warning(lambda: metric(lost_without_history(), skipped=skipped))
    # under "visited" the won deal A, without history either, reached only the first stage too
    won = " and 1 won deal have" if skipped == "visited" else " have"
    assert f"2 closed deals that were not won{won} no record of the stages" in message
    assert "history=" in message and "stage_entered=" in message
    assert "'Initial contact'" in message


def test_lost_deals_without_history_warn_once_per_call_when_grouped():
    result, message = one_warning(
        lambda: sm.conversion_from_stage(lost_without_history(), by="stage"))
    assert result["Closed won"]["Negotiation"] == 1.0
    assert message.startswith("conversion_from_stage(): 2 closed deals")


def test_the_warning_counts_the_deals_in_the_window_only():
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", close_date=CLOSE),
        Deal("B", 100, "Closed lost", close_date="2024-07-01"),
    ])
    assert sm.conversion_from_stage(p, period="2024-Q1")["Proposal"] == 1.0
    with pytest.warns(DataQualityWarning, match="1 closed deal that was not won has no record"):
        sm.conversion_from_stage(p, period="2024-Q3")


def test_lost_deals_with_history_do_not_warn():
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", close_date=CLOSE),
        Deal("B", 100, "Closed lost", close_date=CLOSE, history=[("Meeting", "2024-01-01")]),
    ])
    assert sm.conversion_from_stage(p)["Meeting"] == 0.5
    assert sm.conversion_from_stage(p)["Proposal"] == 1.0


def test_sample_pipeline_has_history_for_every_closed_deal():
    p = sm.datasets.sample_pipeline()
    sm.conversion_from_stage(p), sm.stage_conversion(p), sm.funnel_counts(p)


# -- item 6: stage_conversion is a rate under both skipped rules -----------------------------------
def later_stage_reached_more_often():
    """Two deals skipped Initial contact; one entered it and then Discovery."""
    stages = [Stage("First", 0.1), Stage("Second", 0.5), Stage("Won", 1.0, Outcome.WON),
              Stage("Lost", 0.0, Outcome.LOST)]
    return Pipeline.from_deals([
        Deal("A", 100, "Second", history=[("Second", "2024-01-01")]),
        Deal("B", 100, "Second", history=[("Second", "2024-01-01")]),
        Deal("C", 100, "Second", history=[("First", "2024-01-01"), ("Second", "2024-01-02")]),
        Deal("D", 100, "Won", close_date=CLOSE, history=[("First", "2024-01-01")]),
        Deal("E", 100, "Won", close_date=CLOSE,
             history=[("First", "2024-01-01"), ("Second", "2024-01-02")]),
        Deal("F", 100, "Won", close_date=CLOSE, history=[("Second", "2024-01-01")]),
    ], stages)


def test_visited_stage_conversion_is_reached_both_over_reached_first():
    p = later_stage_reached_more_often()
    funnel = sm.funnel_counts(p, skipped="visited")
    assert dict(funnel) == {"First": 3, "Second": 5, "Won": 3}   # Second reached more often
    rates = sm.stage_conversion(p, skipped="visited")
    assert rates["First"] == pytest.approx(2 / 3)    # C and E reached both; was 5 / 3
    assert rates["Second"] == pytest.approx(2 / 5)   # E and F won having reached Second
    value = sm.stage_conversion(p, skipped="visited", basis="value")
    assert value["First"] == pytest.approx(2 / 3)
    assert value["Second"] == pytest.approx(2 / 5)


def test_implied_stage_conversion_is_unchanged():
    p = later_stage_reached_more_often()
    funnel = sm.funnel_counts(p)
    rates = sm.stage_conversion(p)
    assert rates["First"] == funnel["Second"] / funnel["First"]
    assert rates["Second"] == funnel["Won"] / funnel["Second"]


# Random deals have open deals without amounts (and now and then lost deals all of amount 0):
# the value basis warns about those, rightly; the property is about the numbers.
@pytest.mark.filterwarnings(
    r"ignore:.*(no amount|has an amount|amount 0):salesmetrics.errors.DataQualityWarning")
@given(deal_rows(), st.sampled_from(["implied", "visited"]), st.sampled_from(["unit", "value"]),
       st.sampled_from([None, "owner"]), st.sampled_from([None, "2023-Q3"]))
def test_stage_conversion_is_a_fraction(rows, skipped, basis, by, period):
    p = build(rows)
    result = sm.stage_conversion(p, skipped=skipped, basis=basis, by=by, period=period)
    groups = result.values() if by else [result]
    for rates in groups:
        for rate in rates.values():
            assert math.isnan(rate) or 0.0 <= rate <= 1.0


@given(deal_rows())
def test_implied_stage_conversion_is_the_funnel_ratio(rows):
    p = build(rows)
    funnel = list(sm.funnel_counts(p).values())
    rates = list(sm.stage_conversion(p).values())
    expected = [b / a if a else math.nan for a, b in itertools.pairwise(funnel)]
    assert np.allclose(rates, expected, equal_nan=True)


# -- item 9: absurd options are clear errors ---------------------------------------------------
@pytest.fixture
def small():
    return Pipeline.from_deals([Deal("A", 100, "Closed won", close_date=CLOSE),
                                Deal("B", 100, "Proposal", created="2024-01-01")])


@pytest.mark.parametrize("stale_after", [10**20, 2**62, 10**7, -1, True, 1.5, "30", np.float64(3)])
def test_absurd_stale_after_is_an_option_error(small, stale_after):
    with pytest.raises(OptionError, match=r"win_rate\(\): stale_after must be a whole number "
                                          r"of days from 0 to 3,652,425.*got"):
        sm.win_rate(small, stale_after=stale_after, as_of="2024-06-30")


def test_stale_after_takes_numpy_integers(small):
    assert sm.win_rate(small, stale_after=np.int64(30), as_of="2024-06-30") == 0.5
    assert sm.win_rate(small, stale_after=3_652_425, as_of="2024-06-30") == 1.0


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"win_rate": [1, 2], "cycle_days": [1, 2, 3]},
     r"velocity_change\(\): the factors do not broadcast together: win_rate has shape \(2,\), "
     r"cycle_days has shape \(3,\)"),
    ({"win_rate": True}, r"win_rate must be a number > 0.*, got True"),
    ({"win_rate": "2"}, r"win_rate must be a number > 0.*, got '2'"),
    ({"opportunities": [1.0, None]}, r"opportunities must be a number > 0"),
    ({"cycle_days": [[1.0], [1.0, 2.0]]}, r"cycle_days must be a number > 0"),
])
def test_velocity_change_bad_factors(kwargs, pattern):
    with pytest.raises(OptionError, match=pattern):
        sm.velocity_change(**kwargs)


@pytest.mark.parametrize("call", [
    lambda p: sm.win_rate(p, zero_division=math.inf),
    lambda p: sm.win_rate(p, zero_division=2.0),
    lambda p: sm.win_rate(p, zero_division=-1),
    lambda p: sm.win_rate(p, zero_division=True),
    lambda p: sm.conversion_from_stage(p, zero_division=1.5),
    lambda p: sm.stage_conversion(p, zero_division=math.inf),
    lambda p: sm.sales_velocity(p, zero_division=-math.inf),
    lambda p: sm.sales_velocity(p, zero_division="0"),
])
def test_zero_division_outside_the_metrics_range_is_an_option_error(small, call):
    with pytest.raises(OptionError, match=r"zero_division must be .*got"):
        call(small)


def test_zero_division_in_range_is_used(small):
    assert sm.win_rate(small.open, zero_division=np.float32(0.0)) == 0.0
    assert sm.win_rate(small.open, zero_division=1) == 1.0
    assert math.isnan(sm.win_rate(small.open, zero_division=math.nan))
