"""Hypothesis properties that every metric keeps."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics.metrics._summarize import (
    summarize_open,
    summarize_outcomes,
    summarize_reached,
    summarize_velocity,
)
from salesmetrics.metrics.cycle import finalize_cycle_length
from salesmetrics.metrics.pipeline_totals import finalize_weighted
from salesmetrics.metrics.velocity import finalize_velocity
from salesmetrics.metrics.win_rates import finalize_win_rate

PERIOD = "2023-Q3"
# Random pipelines have open deals without an amount (and, now and then, lost deals that all have
# amount 0): value metrics rightly warn about those. These properties are about the numbers.
AMOUNT_WARNINGS = pytest.mark.filterwarnings(
    r"ignore:.*(no amount|has an amount|amount 0):salesmetrics.errors.DataQualityWarning")
RATES = [
    lambda p, **k: sm.win_rate(p, **k),
    lambda p, **k: sm.win_rate(p, basis="value", **k),
    lambda p, **k: sm.win_rate(p, open_deals="lost", **k),
    lambda p, **k: sm.win_rate(p, stale_after=90, as_of="2024-06-30", **k),
    lambda p, **k: sm.win_rate(p, no_decision="exclude", view="cohort", **k),
]


def scalars(value):
    """Every float inside a result (scalar, GroupedResult, nested, or Velocity)."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, sm.Velocity):
        return [value.win_rate]
    if isinstance(value, sm.GroupedResult):
        return [x for v in value.values() for x in scalars(v)]
    raise AssertionError(type(value))


def same(a, b):
    """Equal, with nan equal to nan, inside any result."""
    return np.allclose(scalars(a), scalars(b), equal_nan=True, rtol=1e-12, atol=1e-9)


@AMOUNT_WARNINGS
@given(deal_rows(), st.sampled_from([None, PERIOD]), st.sampled_from([None, "owner", "team"]))
def test_rates_are_fractions(rows, period, by):
    p = build(rows)
    results = [f(p, period=period, by=by) for f in RATES]
    results += [
        sm.conversion_from_stage(p, period=period, by=by),
        sm.conversion_from_stage(p, basis="value", skipped="visited", by=by),
        sm.stage_conversion(p, by=by),
        sm.sales_velocity(p, period=period, by=by),
    ]
    for result in results:
        for x in scalars(result):
            assert math.isnan(x) or 0.0 <= x <= 1.0


@AMOUNT_WARNINGS
@given(deal_rows(), st.sampled_from([None, PERIOD]))
def test_weighted_at_most_open_total(rows, period):
    p = build(rows)
    assert sm.weighted_pipeline(p, period=period) <= sm.pipeline_value(p, period=period) + 1e-6
    assert sm.weighted_pipeline(p) >= 0


METRICS = {
    "weighted": lambda p, **k: sm.weighted_pipeline(p, **k),
    "open": lambda p, **k: sm.pipeline_value(p, **k),
    "won": lambda p, **k: sm.won_revenue(p, **k),
    "win_unit": lambda p, **k: sm.win_rate(p, **k),
    "win_value": lambda p, **k: sm.win_rate(p, basis="value", open_deals="lost", **k),
    "conversion": lambda p, **k: sm.conversion_from_stage(p, skipped="visited", **k),
    "stage_conv": lambda p, **k: sm.stage_conversion(p, **k),
    "funnel": lambda p, **k: sm.funnel_counts(p, basis="value", **k),
    "velocity": lambda p, **k: sm.sales_velocity(p, **k),
    "cycle_mean": lambda p, **k: sm.sales_cycle_length(p, **k),
    "cycle_p90": lambda p, **k: sm.sales_cycle_length(p, statistic=90, outcome="closed", **k),
    "size": lambda p, **k: sm.average_deal_size(p, **k),
}


@AMOUNT_WARNINGS
@pytest.mark.parametrize("name", list(METRICS))
@given(rows=deal_rows(min_size=1), data=st.data())
def test_invariant_to_deal_order(name, rows, data):
    n = len(rows["id"])
    order = data.draw(st.permutations(list(range(n))))
    a, b = build(rows), build(rows, order=order)
    for kwargs in ({}, {"by": "owner"}, {"period": PERIOD, "by": ["team", "owner"]}):
        ra, rb = METRICS[name](a, **kwargs), METRICS[name](b, **kwargs)
        assert same(ra, rb)
        if isinstance(ra, sm.GroupedResult):
            assert list(ra) == list(rb)


@AMOUNT_WARNINGS
@given(deal_rows())
def test_group_totals_add_up_to_the_whole(rows):
    p = build(rows)
    for metric in (sm.pipeline_value, sm.won_revenue):
        by_owner = metric(p, by="owner")
        assert sum(by_owner.values()) == pytest.approx(metric(p), abs=1e-6)
    assert sum(sm.weighted_pipeline(p, by="team").values()) == pytest.approx(
        sm.weighted_pipeline(p), abs=1e-6)
    v = sm.sales_velocity(p, by="owner", period=PERIOD)
    assert sum(x.opportunities for x in v.values()) == sm.sales_velocity(
        p, period=PERIOD).opportunities


@AMOUNT_WARNINGS
@given(deal_rows())
def test_per_group_results_equal_the_filtered_pipeline(rows):
    p = build(rows)
    grouped = sm.win_rate(p, by="team", basis="value")
    for team, value in grouped.items():
        sub = p.filter(p.categories("team")[p.codes("team")] == team)
        assert same(value, sm.win_rate(sub, basis="value"))
    conv = sm.conversion_from_stage(p, by="owner", skipped="visited")
    for owner, value in conv.items():
        sub = p.filter(np.array([o == owner for o in p.categories("owner")[p.codes("owner")]]))
        assert same(value, sm.conversion_from_stage(sub, skipped="visited"))
    weighted = sm.weighted_pipeline(p, by="team")  # to the bit: no BLAS path by group count
    for team, value in weighted.items():
        sub = p.filter(p.categories("team")[p.codes("team")] == team)
        assert value == sm.weighted_pipeline(sub)


def test_a_groups_weighted_value_does_not_depend_on_the_other_groups():
    # Found by review: with `amounts @ probabilities`, BLAS summed one row alone and the same
    # row inside a matrix differently (42029.182 against 42029.18199999999).
    p = sm.Pipeline.from_columns({
        "id": [1, 2, 3, 4], "owner": ["ana", "ana", "ana", "bo"],
        "stage": ["Discovery", "Proposal", "Meeting", "Initial contact"],
        "amount": [49155.97, 26072.47, 71567.01, 1.0]})
    alone = sm.weighted_pipeline(p.filter(np.array([True, True, True, False])))
    assert sm.weighted_pipeline(p, by="owner")["ana"] == alone
    assert sm.pipeline_changes(p, p, weighted=True, by="owner")["ana"].start == alone


@AMOUNT_WARNINGS
@given(deal_rows(), st.sampled_from([2, 10, 1000]))
def test_scaling_amounts(rows, factor):
    p = build(rows)
    scaled_rows = dict(rows, amount=[None if a is None else a * factor for a in rows["amount"]])
    q = build(scaled_rows)
    assert sm.pipeline_value(q) == pytest.approx(factor * sm.pipeline_value(p))
    assert sm.won_revenue(q) == pytest.approx(factor * sm.won_revenue(p))
    assert sm.weighted_pipeline(q) == pytest.approx(factor * sm.weighted_pipeline(p))
    assert same(sm.win_rate(q, basis="value"), sm.win_rate(p, basis="value"))
    assert same(sm.win_rate(q), sm.win_rate(p))
    assert same(sm.conversion_from_stage(q), sm.conversion_from_stage(p))
    assert same(sm.sales_cycle_length(q), sm.sales_cycle_length(p))


@AMOUNT_WARNINGS
@given(rows=deal_rows(), data=st.data())
def test_split_and_merge_gives_the_whole(rows, data):
    p = build(rows)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(p), max_size=len(p))), bool)
    a, b = p.filter(mask), p.filter(~mask)
    kw = {"by": "owner"}
    open_ = summarize_open(a, **kw) + summarize_open(b, **kw)
    whole_open = summarize_open(p, **kw)
    assert open_.keys == whole_open.keys
    assert np.array_equal(open_.arrays["amount"], whole_open.arrays["amount"])
    probs = np.array([s.probability for s in p.stages])
    assert same(finalize_weighted(open_, probs), sm.weighted_pipeline(p, **kw))

    out = (summarize_outcomes(a, function="t", cycles=True, histogram=True, **kw)
           + summarize_outcomes(b, function="t", cycles=True, histogram=True, **kw))
    whole = summarize_outcomes(p, function="t", cycles=True, histogram=True, **kw)
    assert out.keys == whole.keys
    for name in ("count", "value", "valued", "cycle_sum", "cycle_count"):
        assert np.array_equal(out.arrays[name], whole.arrays[name])
    assert same(finalize_win_rate(out, basis="value"), sm.win_rate(p, basis="value", **kw))
    assert same(finalize_cycle_length(out, statistic="median"),
                sm.sales_cycle_length(p, statistic="median", **kw))

    reached = summarize_reached(a, **kw) + summarize_reached(b, **kw)
    assert np.array_equal(reached.arrays["count"], summarize_reached(p, **kw).arrays["count"])

    vel = (summarize_velocity(a, period=PERIOD, **kw) + summarize_velocity(b, period=PERIOD, **kw))
    assert same(finalize_velocity(vel), sm.sales_velocity(p, period=PERIOD, **kw))


@AMOUNT_WARNINGS
@given(deal_rows())
def test_views_partition_the_deals(rows):
    p = build(rows)
    assert len(p.open) + len(p.closed) == len(p)
    assert len(p.won) + len(p.lost) + len(p.no_decision) == len(p.closed)
    assert sm.won_revenue(p) == pytest.approx(sm.won_revenue(p.won))
    assert sm.pipeline_value(p) == pytest.approx(sm.pipeline_value(p.open))


@given(deal_rows())
def test_implied_reaches_at_least_what_visited_reaches(rows):
    p = build(rows)
    implied, visited = sm.funnel_counts(p), sm.funnel_counts(p, skipped="visited")
    assert all(implied[s] >= visited[s] for s in implied)
    values = list(implied.values())[:-1]
    assert values == sorted(values, reverse=True)  # a funnel narrows


@given(deal_rows(min_size=1))
def test_cycle_statistics_match_numpy(rows):
    p = build(rows)
    won = p.won
    days = (won.close_date - won.created).astype(int)
    for stat, expected in (("mean", np.mean), ("median", np.median),
                           (90, lambda d: np.percentile(d, 90))):
        got = sm.sales_cycle_length(p, statistic=stat)
        if len(days):
            assert got == pytest.approx(expected(days))
        else:
            assert math.isnan(got)


@given(deal_rows())
def test_round_trip_through_columns_and_deals(rows):
    p = build(rows)
    cols = p.to_columns()
    # (an empty pipeline's currency cannot ride in its columns: say it)
    again = sm.Pipeline.from_columns(cols, p.stages, columns={k: k for k in cols},
                                     history=p.history_columns(), currency=p.currency)
    assert again == p
    rebuilt = sm.Pipeline.from_deals(list(p), p.stages)
    assert list(rebuilt) == list(p)
