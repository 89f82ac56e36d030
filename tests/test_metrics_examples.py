"""Hand-computed results for conversion, funnel, cycle, deal size, velocity options and by=."""

import warnings

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Deal, Outcome, Pipeline, Stage
from salesmetrics.errors import DataQualityWarning, OptionError


def history(*pairs):
    return list(pairs)


def one_unrecorded():
    """The warning about one lost deal (L2) with no stage history."""
    return pytest.warns(DataQualityWarning,
                        match="1 closed deal that was not won has no record of the stages")


@pytest.fixture
def funnel():
    """W1 won straight through; W2 won, skipped Meeting; L1 lost after Proposal; L2 lost with no
    history; O1 open in Meeting."""
    return Pipeline.from_deals([
        Deal("W1", 100, "Closed won", created="2024-01-01", close_date="2024-02-01", owner="a",
             history=history(("Initial contact", "2024-01-01"), ("Discovery", "2024-01-05"),
                             ("Meeting", "2024-01-10"), ("Proposal", "2024-01-15"),
                             ("Negotiation", "2024-01-20"), ("Closed won", "2024-02-01"))),
        Deal("W2", 300, "Closed won", created="2024-01-01", close_date="2024-03-01", owner="b",
             history=history(("Discovery", "2024-01-02"), ("Proposal", "2024-01-15"),
                             ("Negotiation", "2024-02-01"), ("Closed won", "2024-03-01"))),
        Deal("L1", 200, "Closed lost", created="2024-01-01", close_date="2024-02-15", owner="a",
             history=history(("Initial contact", "2024-01-01"), ("Discovery", "2024-01-05"),
                             ("Meeting", "2024-01-10"), ("Proposal", "2024-01-15"),
                             ("Closed lost", "2024-02-15"))),
        Deal("L2", 400, "Closed lost", created="2024-01-01", close_date="2024-01-11", owner="b"),
        Deal("O1", 500, "Meeting", created="2024-02-01", owner="a",
             history=history(("Initial contact", "2024-02-01"), ("Meeting", "2024-02-10"))),
    ])


def test_conversion_implied(funnel):
    with one_unrecorded():
        c = sm.conversion_from_stage(funnel)
    # closed deals: W1, W2 reach all (won); L1 reaches up to Proposal; L2 only the first stage.
    assert c == {"Initial contact": 2 / 4, "Discovery": 2 / 3, "Meeting": 2 / 3,
                 "Proposal": 2 / 3, "Negotiation": 1.0}
    with one_unrecorded():
        v = sm.conversion_from_stage(funnel, basis="value")
    assert v["Initial contact"] == pytest.approx(400 / 1000)
    assert v["Proposal"] == pytest.approx(400 / 600)


def test_conversion_visited(funnel):
    with one_unrecorded():
        c = sm.conversion_from_stage(funnel, skipped="visited")
    # W2 did not enter Initial contact nor Meeting; L2 counts in the first stage only.
    assert c == {"Initial contact": 1 / 3, "Discovery": 2 / 3, "Meeting": 1 / 2,
                 "Proposal": 2 / 3, "Negotiation": 1.0}


def test_conversion_without_history_uses_current_stage():
    p = Pipeline.from_deals([
        Deal("W", 1, "Closed won", close_date="2024-01-02"),
        Deal("L", 1, "Closed lost", close_date="2024-01-02"),
        Deal("O", 1, "Proposal"),
    ])
    with one_unrecorded():
        assert sm.conversion_from_stage(p)["Discovery"] == 1.0
    with one_unrecorded():
        funnel = sm.funnel_counts(p)
    assert funnel == {"Initial contact": 3, "Discovery": 2, "Meeting": 2, "Proposal": 2,
                      "Negotiation": 1, "Closed won": 1}


def test_funnel_and_stage_conversion(funnel):
    with one_unrecorded():
        counts = sm.funnel_counts(funnel)
    # implied: W1, W2 reach every stage; L1 up to Proposal; L2 the first; O1 up to Meeting
    assert counts == {"Initial contact": 5, "Discovery": 4, "Meeting": 4, "Proposal": 3,
                      "Negotiation": 2, "Closed won": 2}
    with one_unrecorded():
        steps = sm.stage_conversion(funnel)
    assert steps["Initial contact"] == pytest.approx(4 / 5)
    assert steps["Negotiation"] == pytest.approx(2 / 2)


def test_grouped_conversion_is_nested(funnel):
    with one_unrecorded():
        by_owner = sm.conversion_from_stage(funnel, by="owner")
    assert list(by_owner) == ["a", "b"]
    assert by_owner["a"]["Proposal"] == pytest.approx(1 / 2)
    assert by_owner["b"]["Initial contact"] == pytest.approx(1 / 2)
    frame = by_owner.to_dict()
    assert frame["a"]["Negotiation"] == 1.0


def test_cycle_length_outcomes(funnel):
    assert sm.sales_cycle_length(funnel) == pytest.approx((31 + 60) / 2)
    assert sm.sales_cycle_length(funnel, outcome="lost") == pytest.approx((45 + 10) / 2)
    assert sm.sales_cycle_length(funnel, outcome="closed", statistic="median") == pytest.approx(
        (31 + 45) / 2)
    assert sm.sales_cycle_length(funnel, statistic=0) == 31
    assert sm.sales_cycle_length(funnel, statistic=100) == 60


def test_average_deal_size(funnel):
    assert sm.average_deal_size(funnel) == 200
    assert sm.average_deal_size(funnel, outcome="lost") == 300
    assert sm.average_deal_size(funnel, outcome="open") == 500
    assert sm.average_deal_size(funnel, by="owner") == {"a": 100, "b": 300}


def test_velocity_opportunities_options(funnel):
    q1 = "2024-Q1"
    # in play during Q1: all five; created in Q1: all five; open at Q1 start: none
    # (created 2024-01-01 is not before the start); closed in Q1: four.
    assert sm.sales_velocity(funnel, period=q1).opportunities == 5
    assert sm.sales_velocity(funnel, period=q1, opportunities="created").opportunities == 5
    assert sm.sales_velocity(funnel, period=q1, opportunities="open").opportunities == 0
    assert sm.sales_velocity(funnel, period=q1, opportunities="closed").opportunities == 4
    feb = sm.Period.month(2024, 2)
    # in play in February: W2, L1 (closed in Feb/Mar), W1 (closed Feb 1), O1; not L2 (Jan 11)
    assert sm.sales_velocity(funnel, period=feb).opportunities == 4
    assert sm.sales_velocity(funnel, period=feb, opportunities="open").opportunities == 3
    v = sm.sales_velocity(funnel, period=feb)
    assert (v.win_rate, v.average_deal_value, v.cycle_days) == (0.5, 100, 31)


def test_period_views(funnel):
    feb = "2024-02"
    assert sm.win_rate(funnel, period=feb) == 0.5  # W1 won, L1 lost in February
    assert sm.win_rate(funnel, period="2024-01", view="cohort") == pytest.approx(2 / 4)
    assert sm.won_revenue(funnel, period="2024-03") == 300
    assert sm.won_revenue(funnel, period="2024-01", view="cohort") == 400


def test_pipeline_period_selects_expected_close():
    p = Pipeline.from_deals([
        Deal("A", 100, "Proposal", close_date="2024-02-10"),
        Deal("B", 100, "Proposal", close_date="2024-05-10"),
        Deal("C", 100, "Proposal"),
    ])
    assert sm.pipeline_value(p) == 300
    with pytest.warns(DataQualityWarning, match="1 open deal has no expected close date"):
        assert sm.pipeline_value(p, period="2024-Q1") == 100  # C is in no period
    with pytest.warns(DataQualityWarning, match="1 open deal has no expected close date"):
        assert sm.weighted_pipeline(p, period="2024-Q1") == pytest.approx(60)


def test_no_decision_policy():
    stages = [Stage("Open", 0.5), Stage("Won", 1.0, Outcome.WON),
              Stage("Lost", 0.0, Outcome.LOST), Stage("No decision", 0.0, Outcome.NO_DECISION)]
    p = Pipeline.from_deals([Deal(i, 10, s, close_date="2024-01-01")
                             for i, s in enumerate(["Won", "Lost", "No decision", "No decision"])],
                            stages)
    assert sm.win_rate(p) == pytest.approx(1 / 4)
    assert sm.win_rate(p, no_decision="exclude") == pytest.approx(1 / 2)
    shares = sm.outcome_shares(p)
    assert (shares.won, shares.lost, shares.no_decision) == (0.25, 0.25, 0.5)


def test_probability_override_and_replacement():
    p = Pipeline.from_deals([
        Deal("A", 1000, "Proposal"), Deal("B", 1000, "Proposal", probability=0.9),
    ])
    assert sm.weighted_pipeline(p) == pytest.approx(600 + 900)
    assert sm.weighted_pipeline(p, probabilities={"Proposal": 0.5}) == pytest.approx(500 + 900)
    assert sm.weighted_pipeline(p, by="stage")["Proposal"] == pytest.approx(1500)


def test_missing_amounts_count_zero_in_values_and_are_left_out_of_averages():
    p = Pipeline.from_deals([
        Deal("A", None, "Discovery"), Deal("B", 100, "Discovery"),
        Deal("C", None, "Closed won", close_date="2024-01-01"),
        Deal("D", 50, "Closed won", close_date="2024-01-01"),
    ])
    with pytest.warns(DataQualityWarning, match="1 of the 2 open deals has no amount"):
        assert sm.pipeline_value(p) == 100
    with pytest.warns(DataQualityWarning, match="1 of the 2 won deals has no amount"):
        assert sm.won_revenue(p) == 50
    with pytest.warns(DataQualityWarning, match="average_deal_size.*1 of the 2 won deals has no "
                                                "amount, left out of the average"):
        assert sm.average_deal_size(p) == 50
    assert sm.win_rate(p) == 1.0


def test_negative_cycles_are_left_out_with_a_warning():
    p = Pipeline.from_deals(
        [Deal("A", 1, "Closed won", created="2024-02-01", close_date="2024-01-01"),
         Deal("B", 1, "Closed won", created="2024-01-01", close_date="2024-01-11")],
        allow_close_before_created=True,
    )
    with pytest.warns(DataQualityWarning, match="left out 1 deal whose close date"):
        assert sm.sales_cycle_length(p) == 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sm.win_rate(p) == 1.0


def test_by_stage_and_several_fields(funnel):
    by_stage = sm.pipeline_value(funnel, by="stage")
    assert by_stage == {"Meeting": 500}
    two = sm.win_rate(funnel, by=["owner", "stage"])
    assert two[("a", "Closed won")] == 1.0
    assert ("b", "Meeting") not in two


def test_currency_exponent():
    yen = Pipeline.from_columns({"id": [1, 2], "stage": ["Meeting", "Meeting"],
                                 "amount": [1000, 2001]}, currency="JPY")
    assert yen.minor_unit == 1
    assert sm.pipeline_value(yen) == 3001
    kwd = Pipeline.from_columns({"id": [1], "stage": ["Meeting"], "amount": [1.2346]},
                                currency="KWD")
    assert kwd.amount_minor.tolist() == [1235]
    assert sm.pipeline_value(kwd) == 1.235


def test_exact_cents_regardless_of_order():
    amounts = [0.1] * 10 + [0.2] * 10
    p = Pipeline.from_columns({"id": list(range(20)), "stage": ["Meeting"] * 20,
                               "amount": amounts})
    assert sm.pipeline_value(p) == 3.0
    assert int(p.amount_minor.sum()) == 300


def test_sums_stay_exact_beyond_float_precision():
    # 300 deals near the largest amount: the total (about 2.7e16 cents) is past 2**53, where float
    # sums lose cents; the kernels notice and sum in int64 instead.
    amounts = [900_000_000_000 + (i * 7919 % 100_003) / 100 for i in range(300)]
    p = Pipeline.from_columns({"id": list(range(300)), "stage": ["Meeting", "Proposal"] * 150,
                               "amount": amounts, "owner": ["a", "b", "c"] * 100})
    exact = sum(round(a * 100) for a in amounts)
    assert int(p.amount_minor.sum()) == exact
    assert not p.amounts_below_2_53
    from salesmetrics.metrics._summarize import summarize_open

    summary = summarize_open(p, by="owner")
    assert int(summary.arrays["amount"].sum()) == exact
    by_stage = summarize_open(p).arrays["amount"][0]
    assert [int(x) for x in by_stage[2:4]] == [
        sum(round(a * 100) for a in amounts[0::2]),
        sum(round(a * 100) for a in amounts[1::2])]


def test_velocity_cohort_view(funnel):
    # deals created in January: W1, W2 won (31 and 60 days), L1, L2 lost
    v = sm.sales_velocity(funnel, period="2024-01", view="cohort")
    assert (v.win_rate, v.average_deal_value, v.cycle_days) == (0.5, 200, 45.5)
    with pytest.raises(sm.errors.OptionError, match="view must be 'period' or 'cohort'"):
        sm.sales_velocity(funnel, view="closed")


# -- cycle_days: the per-deal days that sales_cycle_length counts --

def _cycle_deals() -> Pipeline:
    return Pipeline.from_deals([
        # won, closed in January, created in December: 40 days
        Deal("A", 100, "Closed won", created="2023-12-01", close_date="2024-01-10"),
        # won, January: 10 days
        Deal("B", 100, "Closed won", created="2024-01-05", close_date="2024-01-15"),
        # lost, January: 20 days
        Deal("C", 100, "Closed lost", created="2024-01-01", close_date="2024-01-21"),
        # won, February: 3 days
        Deal("D", 100, "Closed won", created="2024-02-01", close_date="2024-02-04"),
        # open: never counted
        Deal("E", 100, "Proposal", created="2024-01-02", close_date="2024-03-01"),
    ])


def test_cycle_days_worked_example() -> None:
    p = _cycle_deals()
    assert sm.cycle_days(p).dtype == np.int64
    assert sm.cycle_days(p).tolist() == [40, 10, 3]
    assert sm.cycle_days(p, outcome="lost").tolist() == [20]
    assert sm.cycle_days(p, outcome="closed").tolist() == [40, 10, 20, 3]
    # period view: closed in January; cohort view: created in January
    assert sm.cycle_days(p, period="2024-01").tolist() == [40, 10]
    assert sm.cycle_days(p, period="2024-01", view="cohort").tolist() == [10]
    assert sm.cycle_days(p, period="2024-03").tolist() == []


@pytest.mark.parametrize("outcome", ["won", "lost", "closed"])
@pytest.mark.parametrize(("period", "view"), [(None, "period"), ("2024-01", "period"),
                                              ("2024-01", "cohort")])
def test_cycle_days_are_what_sales_cycle_length_counts(outcome: str, period: str | None,
                                                       view: str) -> None:
    p = sm.datasets.sample_pipeline()
    days = sm.cycle_days(p, outcome=outcome, period=period, view=view)  # type: ignore[arg-type]
    for statistic, expected in (("mean", np.mean), ("median", np.median),
                                (90, lambda d: np.percentile(d, 90))):
        got = sm.sales_cycle_length(p, statistic=statistic, outcome=outcome,  # type: ignore[arg-type]
                                    period=period, view=view)  # type: ignore[arg-type]
        if len(days):
            assert got == pytest.approx(float(expected(days)))  # type: ignore[operator]
        else:
            assert got != got


def test_cycle_days_leaves_out_bad_dates_with_the_same_warning() -> None:
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-11"),
        Deal("B", 100, "Closed won", close_date="2024-01-11"),
        Deal("C", 100, "Closed won", created="2024-02-01", close_date="2024-01-11"),
    ], allow_close_before_created=True)
    with pytest.warns(DataQualityWarning, match=r"cycle_days\(\).*1 deal whose close date is "
                                                r"before.*1 deal without a created date"):
        assert sm.cycle_days(p).tolist() == [10]


def test_cycle_days_checks_its_options() -> None:
    with pytest.raises(OptionError, match="outcome"):
        sm.cycle_days(_cycle_deals(), outcome="open")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="view"):
        sm.cycle_days(_cycle_deals(), view="closed")  # type: ignore[arg-type]


def test_cycle_and_velocity_say_the_same_about_left_out_deals() -> None:
    """One warning for cycle metrics: counts of each kind and the fix for each, in both."""
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-11"),
        Deal("B", 100, "Closed won", close_date="2024-01-11"),
        Deal("C", 100, "Closed won", close_date="2024-01-12"),
        Deal("D", 100, "Closed won", created="2024-02-01", close_date="2024-01-11"),
    ], allow_close_before_created=True)
    messages = {}
    for name, metric in (("sales_cycle_length", sm.sales_cycle_length),
                         ("sales_velocity", sm.sales_velocity)):
        with pytest.warns(DataQualityWarning) as caught:
            metric(p)
        (message,) = [str(w.message) for w in caught if "created date" in str(w.message)]
        assert message.startswith(f"{name}(): ")
        messages[name] = message
    assert "left out 1 deal whose close date is before its created date and 2 deals without " \
           "a created date" in messages["sales_cycle_length"]
    assert "the cycle length L leaves out 1 won deal whose close date is before its created " \
           "date and 2 won deals without a created date, of 4 won deals" \
           in messages["sales_velocity"]
    for message in messages.values():
        assert message.endswith("to count them, map the created column (columns={'created': "
                                "...}) or fill it in the CRM and fix the dates in the CRM")
