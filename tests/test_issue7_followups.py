"""Issue 7 follow-ups: one cycle-day computation (cycle_days), one left-out warning, NaN-aware
GroupedResult equality."""

from __future__ import annotations

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Deal, Pipeline, cycle_days, sales_cycle_length
from salesmetrics.errors import DataQualityWarning, OptionError


def _deals() -> Pipeline:
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
    p = _deals()
    assert cycle_days(p).dtype == np.int64
    assert cycle_days(p).tolist() == [40, 10, 3]
    assert cycle_days(p, outcome="lost").tolist() == [20]
    assert cycle_days(p, outcome="closed").tolist() == [40, 10, 20, 3]
    # period view: closed in January; cohort view: created in January
    assert cycle_days(p, period="2024-01").tolist() == [40, 10]
    assert cycle_days(p, period="2024-01", view="cohort").tolist() == [10]
    assert cycle_days(p, period="2024-03").tolist() == []


@pytest.mark.parametrize("outcome", ["won", "lost", "closed"])
@pytest.mark.parametrize(("period", "view"), [(None, "period"), ("2024-01", "period"),
                                              ("2024-01", "cohort")])
def test_cycle_days_are_what_sales_cycle_length_counts(outcome: str, period: str | None,
                                                       view: str) -> None:
    p = sm.datasets.sample_pipeline()
    days = cycle_days(p, outcome=outcome, period=period, view=view)  # type: ignore[arg-type]
    for statistic, expected in (("mean", np.mean), ("median", np.median),
                                (90, lambda d: np.percentile(d, 90))):
        got = sales_cycle_length(p, statistic=statistic, outcome=outcome,  # type: ignore[arg-type]
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
        assert cycle_days(p).tolist() == [10]


def test_cycle_days_checks_its_options() -> None:
    with pytest.raises(OptionError, match="outcome"):
        cycle_days(_deals(), outcome="open")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="view"):
        cycle_days(_deals(), view="closed")  # type: ignore[arg-type]


def test_cycle_and_velocity_say_the_same_about_left_out_deals() -> None:
    """One warning for cycle metrics: counts of each kind and the fix for each, in both."""
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-11"),
        Deal("B", 100, "Closed won", close_date="2024-01-11"),
        Deal("C", 100, "Closed won", close_date="2024-01-12"),
        Deal("D", 100, "Closed won", created="2024-02-01", close_date="2024-01-11"),
    ], allow_close_before_created=True)
    messages = {}
    for name, metric in (("sales_cycle_length", sales_cycle_length),
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


def test_grouped_results_with_nan_values_are_equal() -> None:
    from salesmetrics import GroupedResult

    def make(value: float) -> GroupedResult[float]:
        return GroupedResult(("owner",), ["ana", None], [0.5, value], name="win_rate",
                             unit="rate")

    nan = float("nan")
    assert make(nan) == make(float("nan"))   # two different nan objects
    assert make(nan) == {"ana": 0.5, None: float("nan")}
    assert make(nan) != make(0.0) and make(0.0) != make(nan)
    assert make(0.25) != make(0.5) and make(0.5) == make(0.5)
    # the same data twice: equal, whatever the nans
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-11",
             owner="ana"),
        Deal("B", 100, "Proposal", created="2024-01-01", close_date="2024-03-01", owner="bo"),
    ])
    assert sales_cycle_length(p, by="owner")["bo"] != sales_cycle_length(p, by="owner")["bo"]
    assert sales_cycle_length(p, by="owner") == sales_cycle_length(p, by="owner")
    assert sm.sales_velocity(p, by="owner") == sm.sales_velocity(p, by="owner")
    assert sm.outcome_shares(p, by="owner") == sm.outcome_shares(p, by="owner")
    assert sales_cycle_length(p, by="owner") != sales_cycle_length(p, by="owner",
                                                                   zero_division=0.0)
