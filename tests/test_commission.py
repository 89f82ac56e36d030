"""CommissionPlan and commission: worked examples by hand, exact rounding, and properties."""

import math
import warnings
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics import CommissionPlan, Deal, Pipeline, Quota, commission
from salesmetrics.errors import DataError, DataQualityWarning, DataTypeError, OptionError

PLAN = CommissionPlan([(0.0, 0.10), (1.0, 0.15)])  # 10 % to quota, 15 % above (marginal)


def won(*rows):
    """Won deals ``(amount, owner[, team[, close date]])``, closed on 2024-11-15 by default."""
    return Pipeline.from_deals([
        Deal(i, r[0], "Closed won", created="2024-09-01",
             close_date=r[3] if len(r) > 3 else "2024-11-15", owner=r[1],
             fields={"team": r[2] if len(r) > 2 else "East"})
        for i, r in enumerate(rows)])


def test_the_worked_example():
    # 130 % of a USD 500,000 quota: 500,000 × 10 % + 150,000 × 15 % = 50,000 + 22,500 = 72,500.
    p = won((400_000, "ana"), (250_000, "ana"), (10_000, "ana", "East", "2024-09-30"))
    r = commission(PLAN, p, quotas={"ana": 500_000}, period="2024-Q4")
    ana = r["ana"]
    assert (ana.quota, ana.revenue, ana.attainment, ana.amount) == (
        500_000.0, 650_000.0, 1.3, 72_500.0)
    assert [(t.band, t.revenue, t.rate, t.pay) for t in ana.tiers] == [
        ("0 % to 100 %", 500_000.0, 0.10, 50_000.0), ("from 100 %", 150_000.0, 0.15, 22_500.0)]
    assert PLAN.pay(650_000, 500_000) == 72_500.0


def test_retroactive_pays_the_band_reached_on_all_revenue():
    # 130 %: the 15 % band is reached, so 650,000 × 15 % = 97,500; at 90 %, 450,000 × 10 %.
    plan = CommissionPlan([(0.0, 0.10), (1.0, 0.15)], retroactive=True)
    assert plan.pay(650_000, 500_000) == 97_500.0
    assert plan.pay(450_000, 500_000) == 45_000.0
    p = won((650_000, "ana"))
    ana = commission(plan, p, quotas={"ana": 500_000}, period="2024-Q4")["ana"]
    assert [(t.band, t.revenue, t.rate, t.pay) for t in ana.tiers] == [
        ("from 100 %", 650_000.0, 0.15, 97_500.0)]


def test_cap_and_draw_are_their_own_lines():
    p = won((650_000, "ana"), (10_000, "bo"))
    plan = CommissionPlan([(0.0, 0.10), (1.0, 0.15)], cap=60_000, draw=2_000)
    r = commission(plan, p, quotas={"ana": 500_000, "bo": 100_000, "cy": 50_000},
                   period="2024-Q4")
    # ana: 72,500 capped at 60,000 (a cap line of −12,500); bo: 1,000 topped up to 2,000;
    # cy: no deals, 0 topped up to the draw.
    assert r["ana"].amount == 60_000.0
    assert [(t.band, t.pay) for t in r["ana"].tiers][-1] == ("cap", -12_500.0)
    assert math.isnan(r["ana"].tiers[-1].rate) and math.isnan(r["ana"].tiers[-1].revenue)
    assert r["bo"].amount == 2_000.0 and r["bo"].tiers[-1].band == "draw"
    assert r["bo"].tiers[-1].pay == 1_000.0
    assert r["cy"].amount == 2_000.0 and r["cy"].revenue == 0.0
    for row in r.values():
        assert sum(t.pay for t in row.tiers) == pytest.approx(row.amount, abs=1e-9)


def test_a_gate_pays_nothing_below_its_threshold():
    # Nothing below 50 % of quota, 8 % from 50 %: 300,000 on 400,000 (75 %) pays
    # (300,000 − 200,000) × 8 % = 8,000; 150,000 (37.5 %) pays 0.
    plan = CommissionPlan([(0.5, 0.08)])
    assert plan.pay(300_000, 400_000) == 8_000.0
    assert plan.pay(150_000, 400_000) == 0.0
    lines = commission(plan, won((300_000, "ana")), quotas={"ana": 400_000},
                       period="2024-Q4")["ana"].tiers
    assert [(t.band, t.revenue, t.rate) for t in lines] == [
        ("0 % to 50 %", 200_000.0, 0.0), ("from 50 %", 100_000.0, 0.08)]


def test_every_owner_in_quotas_appears_and_unplanned_revenue_warns():
    p = won((100_000, "ana"), (5_000, "zed"))
    with pytest.warns(DataQualityWarning, match=r"1 group with won revenue has no quota.*zed"):
        r = commission(PLAN, p, quotas={"bo": 80_000, "ana": 100_000}, period="2024-Q4")
    assert list(r) == ["bo", "ana"]
    assert r["bo"].amount == 0.0 and r["bo"].attainment == 0.0
    assert r["ana"].amount == 10_000.0


def test_a_zero_quota_pays_the_top_rate_with_a_warning():
    with pytest.warns(DataQualityWarning, match="quota of 0"):
        r = commission(PLAN, won((1_000, "ana")), quotas={"ana": 0}, period="2024-Q4")
    assert r["ana"].amount == 150.0 and math.isnan(r["ana"].attainment)


def test_rounding_is_half_to_even_once_per_owner():
    # 5 cents at 10 % is half a cent: rounds to 0 (even); 15 cents at 10 % is 1.5: rounds to 2.
    assert CommissionPlan([(0.0, 0.1)]).pay(0.05, 1) == 0.0
    assert CommissionPlan([(0.0, 0.1)]).pay(0.15, 1) == 0.02
    # 0.25 cents + 0.75 cents exact = 1 cent: rounding per band would give 0 + 1 or 0 + 0;
    # once per owner gives 1, and the band lines (rounded running totals) add up to it.
    plan = CommissionPlan([(0.0, 0.05), (1.0, 0.15)])
    p = won((0.15, "ana"))
    ana = commission(plan, p, quotas={"ana": 0.10}, period="2024-Q4")["ana"]
    # bands: 10 cents × 5 % = 0.5 cent; 5 cents × 15 % = 0.75 cent; total 1.25 → 1 cent.
    assert ana.amount == 0.01
    assert [t.pay for t in ana.tiers] == [0.0, 0.01]


def test_no_rounding_drift_across_owners():
    # 1,000 owners each earning half a cent: each rounds (half to even) to 0, so the total is 0,
    # not the 500 cents that summing first would give.
    p = won(*((0.05, f"rep{i:04d}") for i in range(1_000)))
    r = commission(CommissionPlan([(0.0, 0.1)]), p,
                   quotas={f"rep{i:04d}": 1.0 for i in range(1_000)}, period="2024-Q4")
    assert sum(row.amount for row in r.values()) == 0.0


def test_money_is_exact_for_large_amounts():
    # 12,345,678,901.23 at 7 % to quota 10,000,000,000 then 11 %: by Fraction, in cents.
    plan = CommissionPlan([(0.0, 0.07), (1.0, 0.11)])
    revenue, quota = 1_234_567_890_123, 1_000_000_000_000
    exact = Fraction(quota) * Fraction(7, 100) + Fraction(revenue - quota) * Fraction(11, 100)
    assert plan.pay(revenue / 100, quota / 100) == round(exact) / 100


def test_quota_table_and_team_roll_up():
    q = Quota.from_columns({"owner": ["ana", "bo"], "period": ["2024-Q4", "2024-Q4"],
                            "amount": [500_000, 100_000], "team": ["East", "East"]})
    p = won((650_000, "ana"), (50_000, "bo"))
    by_owner = commission(PLAN, p, quotas=q, period="2024-Q4")
    assert by_owner["ana"].amount == 72_500.0 and by_owner["bo"].amount == 5_000.0
    team = commission(PLAN, p, quotas=q, period="2024-Q4", by="team")
    # East: quota 600,000, revenue 700,000: 60,000 + 100,000 × 15 % = 75,000.
    assert team["East"].amount == 75_000.0
    one = commission(PLAN, p, quotas=600_000, period="2024-Q4", by=None)
    assert one.amount == 75_000.0


def test_prints_and_converts():
    r = commission(PLAN, won((650_000, "ana")), quotas={"ana": 500_000}, period="2024-Q4")
    text = repr(r)
    assert "commission by owner" in text and "72,500.00" in text and "130.0 %" in text
    assert "from 100 %" in repr(r["ana"]) and "22,500.00" in repr(r["ana"])
    frame = r.to_pandas()
    assert list(frame.columns) == ["quota", "revenue", "attainment", "amount"]
    assert frame.loc["ana", "amount"] == 72_500.0
    assert list(r["ana"].to_pandas()["pay"]) == [50_000.0, 22_500.0]


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"tiers": [(1.0, 0.1), (0.0, 0.2)]}, DataError, "sorted"),
    ({"tiers": [(0.0, 0.1), (0.0, 0.2)]}, DataError, "sorted"),
    ({"tiers": [(-0.5, 0.1)]}, DataError, "attainment_from"),
    ({"tiers": [(0.0, 1.5)]}, DataError, r"rate must be .*<= 1.*1\.5"),
    ({"tiers": [(0.0, -0.1)]}, DataError, "rate"),
    ({"tiers": [(0.0, math.nan)]}, DataError, "nan"),
    ({"tiers": []}, DataTypeError, "non-empty"),
    ({"tiers": [0.1]}, DataTypeError, r"tiers\[0\]"),
    ({"tiers": [(0.0, 0.1)], "cap": -1}, DataError, "cap"),
    ({"tiers": [(0.0, 0.1)], "cap": 10, "draw": 20}, DataError, "draw 20 is above cap 10"),
    ({"tiers": [(0.0, 0.1)], "retroactive": "yes"}, OptionError, "retroactive"),
    # 100 meant as 100 %: 10,000 % of quota, refused (1.0 is 100 %)
    ({"tiers": [(0.0, 0.1), (100, 0.2)]}, DataError,
     r"tiers\[1\] attainment_from is 100, i.e. 10,000 % of quota; thresholds are fractions "
     r"of quota \(1.0 is 100 %\), at most 10 \(1,000 %\). For 100 % of quota write 1.0"),
    ({"tiers": [(0.0, 0.1), (10.5, 0.2)]}, DataError, "1,050 % of quota"),
])
def test_invalid_plans(kwargs, error, match):
    tiers = kwargs.pop("tiers")
    with pytest.raises(error, match=match):
        CommissionPlan(tiers, **kwargs)


def test_thresholds_up_to_ten_times_quota_are_accepted():
    # 10 % up to 1,000 % of quota, 20 % beyond: 12,000 on a 1,000 quota (1,200 %) pays
    # 10,000 × 10 % + 2,000 × 20 % = 1,400
    plan = CommissionPlan([(0.0, 0.1), (10, 0.2)])
    assert plan.pay(12_000, 1_000) == 10_000 * 0.1 + 2_000 * 0.2  # 1,000 + 400


def test_commission_bad_arguments():
    p = won((1, "ana"))
    with pytest.raises(DataTypeError, match="CommissionPlan"):
        commission([(0, 0.1)], p, quotas={"ana": 1}, period="2024-Q4")
    with pytest.raises(OptionError, match="period is required"):
        commission(PLAN, p, quotas={"ana": 1}, period=None)
    with pytest.raises(DataTypeError, match="quotas must be a Quota or a mapping"):
        commission(PLAN, p, quotas=5, period="2024-Q4")


# -- properties --------------------------------------------------------------------------------
rates = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 4))


@st.composite
def plans(draw, *, retroactive=False, increasing=False):
    n = draw(st.integers(1, 4))
    starts = sorted(draw(st.sets(st.integers(0, 300), min_size=n, max_size=n)))
    values = sorted(draw(st.lists(rates, min_size=n, max_size=n))) if increasing else \
        draw(st.lists(rates, min_size=n, max_size=n))
    cap = draw(st.none() | st.integers(0, 10**7))
    draw_ = draw(st.none() | st.integers(0, 10**5))
    if cap is not None and draw_ is not None and draw_ > cap:
        draw_ = cap
    return CommissionPlan([(s / 100, r) for s, r in zip(starts, values, strict=True)],
                          retroactive=retroactive, cap=cap, draw=draw_)


revenues = st.integers(0, 10**10)


@given(plans(), revenues, revenues, st.integers(1, 10**9))
def test_marginal_commission_is_monotone_in_attainment(plan, a, b, quota):
    low, high = sorted((a, b))
    assert plan.pay_minor(low, quota)[0] <= plan.pay_minor(high, quota)[0]


@given(plans(retroactive=True, increasing=True), revenues, revenues, st.integers(1, 10**9))
def test_retroactive_with_rising_rates_is_monotone(plan, a, b, quota):
    low, high = sorted((a, b))
    assert plan.pay_minor(low, quota)[0] <= plan.pay_minor(high, quota)[0]


def test_the_documented_cliff_of_a_retroactive_decelerator():
    # 12 % below quota, 8 % from quota, retroactive: 99 % pays more than 100 %.
    plan = CommissionPlan([(0.0, 0.12), (1.0, 0.08)], retroactive=True)
    assert plan.pay(99_000, 100_000) == 11_880.0 > plan.pay(100_000, 100_000) == 8_000.0


@given(plans(), revenues, st.integers(0, 10**9))
def test_band_lines_add_up_to_the_total_before_cap_and_draw(plan, revenue, quota):
    total, lines = plan.pay_minor(revenue, quota)
    bands = [pay for band, _, _, pay in lines if band not in ("cap", "draw")]
    adjustments = [pay for band, _, _, pay in lines if band in ("cap", "draw")]
    exact = sum((inside * rate for band, inside, rate, _ in lines
                 if band not in ("cap", "draw")), Fraction(0))
    assert sum(bands) == round(exact)  # rounded once, half to even
    assert sum(bands) + sum(adjustments) == total
    if not plan.retroactive:
        assert sum(inside for band, inside, _, _ in lines if band not in ("cap", "draw")) \
            == revenue
    if plan.cap is not None:
        assert total <= round(Fraction(repr(plan.cap)) * 100)  # a draw is never above the cap
    for pay in bands:
        assert pay >= 0


@given(st.booleans().flatmap(lambda retro: plans(retroactive=retro)), revenues,
       st.integers(1, 10**9))
def test_commission_matches_the_plan_on_a_pipeline(plan, revenue, quota):
    p = won((revenue / 100, "ana"))
    row = commission(plan, p, quotas={"ana": quota / 100}, period="2024-Q4")["ana"]
    assert row.amount == plan.pay_minor(revenue, quota)[0] / 100
    assert sum(t.pay for t in row.tiers) == pytest.approx(row.amount, abs=1e-6)


def test_top_level_names():
    assert sm.CommissionPlan is CommissionPlan and sm.commission is commission


# -- the figures ---------------------------------------------------------------------------------
def test_attainment_and_commission_curve_plots():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from salesmetrics import plot
    from salesmetrics.datasets import SAMPLE_QUOTAS, sample_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # the sample's open deals
        ax = plot.attainment(sample_pipeline(), quotas=SAMPLE_QUOTAS, period="2024-Q4")
        expected = sm.quota_attainment(sample_pipeline(), quotas=SAMPLE_QUOTAS,
                                       period="2024-Q4")
    widths = sorted(bar.get_width() for bar in ax.patches)
    assert widths == pytest.approx(sorted(v.attainment for v in expected.values()))
    assert ax.get_title() == "Quota attainment — 2024-Q4"
    curve = plot.commission_curve(CommissionPlan([(0.0, 0.10), (1.0, 0.15)], cap=40_000),
                                  quota=500_000)
    x, y = curve.get_lines()[0].get_data()
    at = {round(float(a), 4): float(b) for a, b in zip(x, y, strict=True)}
    assert at[1.3] == pytest.approx(40_000 / 500_000)  # 72,500 capped at 40,000
    assert at[0.5] == pytest.approx(0.05)
    assert "marginal" in curve.get_title()
    curve.figure.canvas.draw()
    with pytest.raises(DataTypeError, match="CommissionPlan"):
        plot.commission_curve([(0, 0.1)])


def test_plan_and_activity_targets_cite_their_references():
    for documented in (sm.CommissionPlan, sm.activity_vs_target):
        doc = documented.__doc__ or ""
        assert "References\n    ----------" in doc and "https://" in doc.split("References")[1]
