"""The worked examples of the specification, with their known answers."""

import math

import pytest

import salesmetrics as sm
from salesmetrics import Deal, Pipeline

CLOSE = "2024-03-15"


def four_deals(c_stage: str = "Closed lost") -> Pipeline:
    """Deal A $20,000, B $10,000, C $40,000, D $30,000; A and B won, D lost."""
    c_close = CLOSE if c_stage.startswith("Closed") else None
    return Pipeline.from_deals([
        Deal("A", 20_000, "Closed won", created="2024-01-01", close_date=CLOSE),
        Deal("B", 10_000, "Closed won", created="2024-01-01", close_date=CLOSE),
        Deal("C", 40_000, c_stage, created="2024-01-01", close_date=c_close),
        Deal("D", 30_000, "Closed lost", created="2024-01-01", close_date=CLOSE),
    ])


def test_two_won_two_lost():
    p = four_deals()
    assert sm.win_rate(p) == 0.5
    assert sm.win_rate(p, basis="value") == pytest.approx(0.3)


def test_c_still_open_excluded():
    p = four_deals("Proposal")
    assert sm.win_rate(p) == pytest.approx(2 / 3)
    assert sm.win_rate(p, basis="value") == pytest.approx(0.5)


def test_c_still_open_counted_as_lost():
    p = four_deals("Proposal")
    assert sm.win_rate(p, open_deals="lost") == pytest.approx(0.5)
    assert sm.win_rate(p, open_deals="lost", basis="value") == pytest.approx(0.3)


def test_stale_open_deal_counts_as_lost_only_when_old():
    p = four_deals("Proposal")  # C created 2024-01-01
    assert sm.win_rate(p, stale_after=30, as_of="2024-03-31") == pytest.approx(0.5)
    assert sm.win_rate(p, stale_after=120, as_of="2024-03-31") == pytest.approx(2 / 3)


def test_velocity_change_plus_48_percent():
    ratio = sm.velocity_change(
        opportunities=1.1, average_deal_value=1.1, win_rate=1.1, cycle_days=0.9
    )
    assert round(ratio, 4) == 1.4789


def test_velocity_change_arrays():
    out = sm.velocity_change(win_rate=[1.0, 2.0], cycle_days=[[1.0], [0.5]])
    assert out.shape == (2, 2)
    assert out.tolist() == [[1.0, 2.0], [2.0, 4.0]]


def test_velocity_equation():
    p = four_deals("Proposal")
    v = sm.sales_velocity(p)
    # N = 4 deals, V = 15,000, W = 2/3, L = 74 days (Jan 1 → Mar 15)
    assert v.opportunities == 4
    assert v.average_deal_value == 15_000
    assert v.win_rate == pytest.approx(2 / 3)
    assert v.cycle_days == 74
    assert v.revenue_per_day == pytest.approx(4 * 15_000 * (2 / 3) / 74)


def test_weighted_pipeline_uses_default_stage_probabilities():
    p = Pipeline.from_deals([
        Deal("1", 1000, "Initial contact"), Deal("2", 1000, "Discovery"),
        Deal("3", 1000, "Meeting"), Deal("4", 1000, "Proposal"), Deal("5", 1000, "Negotiation"),
        Deal("6", 1000, "Closed won", close_date=CLOSE),
    ])
    assert sm.weighted_pipeline(p) == pytest.approx(1000 * (0 + 0.1 + 0.3 + 0.6 + 0.8))
    assert sm.pipeline_value(p) == 5000
    assert sm.won_revenue(p) == 1000


def test_nothing_decided_is_nan_or_zero_division():
    p = Pipeline.from_deals([Deal("1", 10, "Proposal")])
    assert math.isnan(sm.win_rate(p))
    assert sm.win_rate(p, zero_division=0.0) == 0.0
    assert math.isnan(sm.sales_cycle_length(p))
    assert math.isnan(sm.average_deal_size(p))
    assert math.isnan(sm.sales_velocity(p).revenue_per_day)
