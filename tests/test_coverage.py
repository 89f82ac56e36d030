"""pipeline_coverage, required_pipeline and plan: worked examples computed by hand, options,
warnings, printing, and the linearity of required in the target (hypothesis)."""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics import Deal, Pipeline
from salesmetrics.errors import DataQualityWarning, OptionError, UnknownStageError

Q2 = "2024-Q2"


def example() -> Pipeline:
    """Before 2024-Q2: A won 400 (reached every stage), B lost 600 after Negotiation, E lost
    1,000 after Discovery. In Q2: C won 300, D (1,500, Proposal) closes; F (200, Discovery)
    closes in Q3."""
    return Pipeline.from_deals([
        Deal("A", 400, "Closed won", close_date="2024-02-01", owner="ana"),
        Deal("B", 600, "Closed lost", close_date="2024-03-01", owner="ana", history=[
            ("Negotiation", "2024-02-15"), ("Closed lost", "2024-03-01")]),
        Deal("E", 1_000, "Closed lost", close_date="2024-03-10", owner="bo", history=[
            ("Discovery", "2024-02-10"), ("Closed lost", "2024-03-10")]),
        Deal("C", 300, "Closed won", close_date="2024-04-15", owner="ana"),
        Deal("D", 1_500, "Proposal", close_date="2024-05-31", owner="bo"),
        Deal("F", 200, "Discovery", close_date="2024-08-01", owner="bo"),
    ])


# pipeline_coverage ------------------------------------------------------------------------------

def test_coverage_by_hand():
    # won 300 of the 800 target: 500 remains; 1,500 is open in Q2 (F closes in Q3): 3×.
    # Before Q2, 400 won of 2,000 closed by value (20 %): 5× needed; by deals 1 of 3: 3×.
    c = sm.pipeline_coverage(example(), target=800, period=Q2)
    assert (c.target, c.won, c.remaining, c.open_value) == (800.0, 300.0, 500.0, 1500.0)
    assert c.ratio == 3.0
    assert c.required_ratio == pytest.approx(5.0)
    unit = sm.pipeline_coverage(example(), target=800, period=Q2, basis="unit")
    assert unit.required_ratio == pytest.approx(3.0)
    assert c.to_dict() == {"target": 800.0, "won": 300.0, "remaining": 500.0,
                           "open_value": 1500.0, "ratio": 3.0, "required_ratio": c.required_ratio}
    assert "ratio=3×" in repr(c) and "required_ratio=5×" in repr(c)
    assert c.to_pandas()["open_value"] == 1500.0
    assert "<table" in c._repr_html_()


def test_coverage_nothing_remains_is_zero_division_never_inf():
    c = sm.pipeline_coverage(example(), target=200, period=Q2)
    assert c.remaining == 0.0 and math.isnan(c.ratio)
    assert sm.pipeline_coverage(example(), target=200, period=Q2, zero_division=0).ratio == 0.0


def test_coverage_by_owner_every_target_group_appears():
    # ana: won 300, nothing open, history 400 of 1,000 (2.5×); bo: 1,500 open, history 0 of
    # 1,000 won (nan, with a warning); cy: no deals at all.
    with pytest.warns(DataQualityWarning, match="required_ratio is nan"):
        r = sm.pipeline_coverage(example(), target={"ana": 500, "bo": 600, "cy": 100},
                                 period=Q2, by="owner")
    assert list(r) == ["ana", "bo", "cy"]
    assert (r["ana"].remaining, r["ana"].open_value, r["ana"].ratio) == (200.0, 0.0, 0.0)
    assert r["ana"].required_ratio == pytest.approx(2.5)
    assert r["bo"].ratio == 2.5 and math.isnan(r["bo"].required_ratio)
    assert (r["cy"].won, r["cy"].open_value, r["cy"].ratio) == (0.0, 0.0, 0.0)
    frame = r.to_pandas()
    assert list(frame.columns) == ["target", "won", "remaining", "open_value", "ratio",
                                   "required_ratio"]
    assert "required_ratio" in repr(r)


def test_coverage_warns_about_groups_without_a_target():
    with pytest.warns(DataQualityWarning, match="no target and is left out"):
        r = sm.pipeline_coverage(example(), target={"ana": 500}, period=Q2, by="owner")
    assert list(r) == ["ana"]


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"target": -1}, OptionError, "target must be a finite number >= 0"),
    ({"target": math.inf}, OptionError, "target"),
    ({"target": True}, OptionError, "target"),
    ({"target": {"ana": 1}}, OptionError, "needs by="),
    ({"target": 1, "by": "owner"}, TypeError, "must be a mapping"),
    ({"target": 1, "basis": "deals"}, OptionError, "basis"),
    ({"target": 1, "zero_division": -1}, OptionError, "zero_division"),
    ({"target": 1, "period": None}, OptionError, "period is required"),
])
def test_coverage_bad_options(kwargs, error, match):
    options = {"period": Q2, **kwargs}
    with pytest.raises(error, match=match):
        sm.pipeline_coverage(example(), **options)


# required_pipeline -------------------------------------------------------------------------------

def test_required_pipeline_by_hand():
    # Value conversion before Q2: from Initial contact and Discovery 400 of 2,000 (factor 5),
    # from Meeting on 400 of 1,000 (2.5). 500 remains; D holds 1,500 in Proposal.
    r = sm.required_pipeline(example(), target=800, period=Q2)
    assert list(r) == list(example().open_stage_names)
    assert r["Discovery"].factor == pytest.approx(5.0)
    assert r["Discovery"].required == pytest.approx(2500.0)
    assert (r["Discovery"].held, r["Discovery"].gap) == (0.0, pytest.approx(-2500.0))
    assert r["Proposal"] == sm.StageRequirement(2.5, 1250.0, 1500.0, 250.0)
    assert (r.target, r.won, r.remaining) == (800.0, 300.0, 500.0)
    assert r.probabilities["Proposal"] == pytest.approx(0.4)
    # by deals: 1 of 3 from Discovery (3×), 1 of 2 from Proposal (2×)
    unit = sm.required_pipeline(example(), target=800, period=Q2, basis="unit")
    assert unit["Discovery"].factor == pytest.approx(3.0)
    assert unit["Proposal"].required == pytest.approx(1000.0)
    assert unit["Proposal"].gap == pytest.approx(500.0)


def test_required_pipeline_results_print_and_convert():
    r = sm.required_pipeline(example(), target=800, period=Q2)
    assert repr(r).splitlines()[0] == ("required_pipeline for 2024-Q2: target 800.00 − won "
                                       "300.00 = 500.00 to win")
    assert "5×" in repr(r) and "<table" in r._repr_html_()
    frame = r.to_pandas()
    assert frame.index.name == "stage" and list(frame.columns) == ["factor", "required", "held",
                                                                  "gap"]
    assert r.to_dict()["Proposal"] == {"factor": 2.5, "required": 1250.0, "held": 1500.0,
                                       "gap": 250.0}


def test_required_pipeline_is_nan_with_a_warning_where_nothing_won():
    p = example()
    only_lost = p.filter(p.ids != "A")
    with pytest.warns(DataQualityWarning, match="factor, required and gap are nan"):
        r = sm.required_pipeline(only_lost, target=800, period=Q2)
    assert all(math.isnan(row.factor) and math.isnan(row.required) for row in r.values())
    assert r["Proposal"].held == 1500.0


def test_required_pipeline_target_met_requires_nothing():
    r = sm.required_pipeline(example(), target=100, period=Q2)
    assert r.remaining == 0.0 and r["Proposal"].required == 0.0 and r["Proposal"].gap == 1500.0


@given(rows=deal_rows(), target=st.floats(0, 1e7), k=st.floats(0, 100))
def test_required_scales_linearly_with_the_target(rows, target, k):
    """required(won + k·t) = k · required(won + t): linear in what remains to win; with
    nothing won in the period, in the target itself."""
    p = build(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        base = sm.required_pipeline(p, target=target, period="2024-Q1")
        won = base.won
        one = sm.required_pipeline(p, target=won + target, period="2024-Q1")
        scaled = sm.required_pipeline(p, target=won + k * target, period="2024-Q1")
    for stage, row in one.items():
        if math.isnan(row.factor):
            assert math.isnan(scaled[stage].required)
        else:
            assert scaled[stage].required == pytest.approx(k * row.required, rel=1e-9, abs=1e-6)


# plan --------------------------------------------------------------------------------------------

def test_plan_by_hand():
    # Closed before Q2 (A, B, E): all 3 reached Initial contact and Discovery, 2 reached Meeting,
    # Proposal and Negotiation, 1 won: rates 1, 2/3, 1, 1, 1/2. Average won deal 400; 500 remains:
    # 1.25 wins, so 2.5 deals must enter Negotiation, Proposal and Meeting, 3.75 Discovery and
    # Initial contact, over the quarter's 91 days = 13 weeks.
    pl = sm.plan(example(), target=800, period=Q2)
    assert (pl.target, pl.won, pl.remaining, pl.average_deal_size) == (800.0, 300.0, 500.0, 400.0)
    assert pl.wins_needed == 1.25 and pl.weeks == 13.0
    assert pl.rates["Discovery"] == pytest.approx(2 / 3)
    expected = {"Initial contact": 3.75, "Discovery": 3.75, "Meeting": 2.5, "Proposal": 2.5,
                "Negotiation": 2.5}
    assert dict(pl) == pytest.approx(expected)
    assert pl.per_week["Initial contact"] == pytest.approx(3.75 / 13)
    assert list(pl.to_pandas().columns) == ["rate", "deals", "per_week"]
    assert repr(pl).splitlines()[-1].split() == ["(won)", "1.2", "0.1"]  # 1.25 rounds to even


def test_plan_explicit_rates_and_weeks():
    pl = sm.plan(example(), target=800, period=Q2, weeks=10, average_deal_size=250,
                 rates={"Proposal": 0.5, "Negotiation": 0.8})
    # 500 ÷ 250 = 2 wins; 2 ÷ 0.8 = 2.5 into Negotiation; 2.5 ÷ 0.5 = 5 into Proposal
    assert dict(pl) == pytest.approx({"Proposal": 5.0, "Negotiation": 2.5})
    assert pl.per_week["Proposal"] == pytest.approx(0.5)


def test_plan_without_a_pipeline():
    pl = sm.plan(None, target=100_000, period="2024-Q4", rates={"Meeting": 0.25, "Proposal": 0.5},
                 average_deal_size=10_000)
    assert pl.won == 0.0 and pl.wins_needed == 10.0 and dict(pl) == {"Meeting": 80.0,
                                                                      "Proposal": 20.0}
    assert pl.weeks == pytest.approx(92 / 7)


def test_plan_zero_rate_is_nan_with_a_warning():
    # the 0 was given, not measured: the warning says so (no deal "closed before" to blame)
    with pytest.warns(DataQualityWarning, match=r"with the rates= given, no deal entering "
                                                r"'Meeting' goes on to win") as caught:
        pl = sm.plan(None, target=100, period=Q2, rates={"Meeting": 0.0, "Proposal": 0.5},
                     average_deal_size=10)
    assert not any("closed before" in str(w.message) for w in caught)
    assert math.isnan(pl["Meeting"]) and pl["Proposal"] == 20.0


def test_plan_without_won_history_warns():
    p = example()
    with pytest.warns(DataQualityWarning, match="average deal"):
        pl = sm.plan(p.filter(p.ids != "A"), target=800, period=Q2,
                     rates={"Proposal": 0.5})
    assert math.isnan(pl.wins_needed) and math.isnan(pl["Proposal"])


@pytest.mark.parametrize(("p", "kwargs", "error", "match"), [
    (None, {"rates": {"Proposal": 0.5}}, OptionError, "give both rates= and average_deal_size="),
    (None, {"average_deal_size": 10}, OptionError, "give both"),
    ("example", {"weeks": 0}, OptionError, "weeks must be a finite number > 0"),
    ("example", {"average_deal_size": -5}, OptionError, "average_deal_size"),
    ("example", {"target": -1}, OptionError, "target"),
    ("example", {"rates": {"Nope": 0.5}}, UnknownStageError, "Nope"),
    ("example", {"rates": {"Proposal": 1.5}}, ValueError, r"\[0, 1\]"),
    ("example", {"period": None}, OptionError, "period is required"),
])
def test_plan_bad_options(p, kwargs, error, match):
    options = {"target": 100, "period": Q2, **kwargs}
    with pytest.raises(error, match=match):
        sm.plan(example() if p == "example" else p, **options)


# plot --------------------------------------------------------------------------------------------

def test_plot_required_pipeline():
    import matplotlib

    matplotlib.use("Agg")
    ax = sm.plot.required_pipeline(example(), target=800, period=Q2)
    assert ax.get_title() == "Required vs held pipeline — 2024-Q2: 500.00 to win"
    required, held = ax.containers
    assert [b.get_height() for b in held] == [0, 0, 0, 1500, 0]
    assert [round(b.get_height()) for b in required] == [2500, 2500, 1250, 1250, 1250]
