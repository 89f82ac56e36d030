"""velocity_attribution: a change in sales velocity split into its four levers (issue 13)."""

import inspect
import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics import Deal, GroupedResult, Period, Pipeline, Velocity, VelocityAttribution
from salesmetrics.datasets import sample_pipeline
from salesmetrics.errors import CurrencyError, DataTypeError, OptionError, SalesMetricsError

LEVERS = ("opportunities", "average_deal_value", "win_rate", "cycle_days")
nan = math.nan


def velocity(n: float, v: float, w: float, cycle: float, currency: str | None = None) -> Velocity:
    revenue = n * v * w / cycle if cycle else nan
    return Velocity(n, v, w, cycle, revenue, currency)  # type: ignore[arg-type]


Q1 = velocity(100, 1_000.0, 0.50, 50.0)
Q2 = velocity(110, 1_100.0, 0.55, 45.0)


# -- the worked example -------------------------------------------------------------------------
def test_worked_example():
    a = sm.velocity_attribution(Q1, Q2)
    assert isinstance(a, VelocityAttribution)
    assert a.ratio == pytest.approx(1.1**3 / 0.9, rel=1e-12)
    assert round(a.ratio, 4) == 1.4789
    assert [round(a.shares[k], 4) for k in LEVERS] == [0.2436, 0.2436, 0.2436, 0.2693]
    assert a.factors == pytest.approx({"opportunities": 1.1, "average_deal_value": 1.1,
                                       "win_rate": 1.1, "cycle_days": 50 / 45})
    assert math.fsum(a.shares.values()) == pytest.approx(1.0, abs=1e-15)
    assert a.before is Q1 and a.after is Q2 and a.reason is None
    assert a.log_contributions["cycle_days"] == pytest.approx(-math.log(45 / 50))


def test_factors_are_what_velocity_change_multiplies():
    a = sm.velocity_attribution(Q1, Q2)
    factors = dict(a.factors, cycle_days=1 / a.factors["cycle_days"])  # velocity_change: L1/L0
    assert sm.velocity_change(**factors) == pytest.approx(a.ratio, rel=1e-12)


def test_a_lever_against_the_total_has_a_negative_share():
    a = sm.velocity_attribution(Q1, velocity(100, 800.0, 0.75, 50.0))
    assert a.factors["average_deal_value"] == pytest.approx(0.8)
    assert a.shares["average_deal_value"] < 0 < a.shares["win_rate"]
    assert a.shares["opportunities"] == a.shares["cycle_days"] == 0.0
    assert math.fsum(a.shares.values()) == pytest.approx(1.0)


# -- undefined parts: nan with a reason, never inf, never an error -----------------------------
@pytest.mark.parametrize("lever", LEVERS)
@pytest.mark.parametrize("value", [0, nan])
@pytest.mark.parametrize("side", ["before", "after"])
def test_a_lever_at_0_or_undefined_gives_nan_with_a_reason(lever, value, side):
    levers = dict(zip(LEVERS, (100, 1_000.0, 0.5, 50.0), strict=True))
    levers[lever] = value
    bad = velocity(*levers.values())
    before, after = (bad, Q2) if side == "before" else (Q1, bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from a division or a log
        a = sm.velocity_attribution(before, after)
    assert math.isnan(a.factors[lever])
    assert all(math.isnan(s) for s in a.shares.values())
    assert all(not math.isinf(x) for x in [a.ratio, *a.factors.values()])
    assert a.reason and lever in a.reason and side in a.reason
    assert ("is 0" if value == 0 else "undefined (nan)") in a.reason
    others = [k for k in LEVERS if k != lever]
    assert all(not math.isnan(a.factors[k]) for k in others)
    assert "n/a" in repr(a) and a.reason in repr(a)


def test_velocity_falling_to_0_is_a_ratio_of_0_not_an_error():
    a = sm.velocity_attribution(Q1, velocity(100, 1_000.0, 0.0, 50.0))
    assert a.ratio == 0.0 and math.isnan(a.factors["win_rate"])
    back = sm.velocity_attribution(velocity(100, 1_000.0, 0.0, 50.0), Q1)
    assert math.isnan(back.ratio)  # never inf


def test_no_change_gives_nan_shares_with_a_reason():
    a = sm.velocity_attribution(Q1, Q1)
    assert a.ratio == 1.0 and all(f == 1.0 for f in a.factors.values())
    assert all(math.isnan(s) for s in a.shares.values())
    assert a.reason and "did not change" in a.reason
    # offsetting levers: the factors still show what moved
    b = sm.velocity_attribution(Q1, velocity(200, 1_000.0, 0.5, 100.0))
    assert b.ratio == 1.0 and b.factors["opportunities"] == 2.0
    assert b.factors["cycle_days"] == 0.5 and all(math.isnan(s) for s in b.shares.values())


# -- properties ----------------------------------------------------------------------------------
positive = st.floats(1e-3, 1e6, allow_nan=False, allow_infinity=False)
rates = st.floats(1e-3, 1.0, allow_nan=False)
velocities = st.builds(velocity, st.integers(1, 10**6), positive, rates, st.floats(0.5, 1e4))


@given(velocities, velocities)
def test_the_factors_multiply_to_the_ratio(before, after):
    a = sm.velocity_attribution(before, after)
    product = math.prod(a.factors.values())
    assert product == pytest.approx(a.ratio, rel=1e-12)
    if a.reason is None:
        assert math.fsum(a.shares.values()) == pytest.approx(1.0, rel=1e-9)


@given(velocities, velocities)
def test_swapping_before_and_after_negates_every_log_contribution(before, after):
    forward = sm.velocity_attribution(before, after).log_contributions
    backward = sm.velocity_attribution(after, before).log_contributions
    for lever in LEVERS:
        assert backward[lever] == pytest.approx(-forward[lever], rel=1e-12, abs=1e-15)


# -- grouped results --------------------------------------------------------------------------
def grouped(values: dict[str, Velocity]) -> GroupedResult[Velocity]:
    return GroupedResult(("team",), list(values), list(values.values()), name="sales_velocity")


def test_grouped_results_give_one_attribution_per_group():
    r = sm.velocity_attribution(grouped({"east": Q1, "west": Q2}),
                                grouped({"east": Q2, "west": Q2}))
    assert isinstance(r, GroupedResult) and list(r) == ["east", "west"] and r.by == ("team",)
    assert r["east"] == sm.velocity_attribution(Q1, Q2)
    assert r["west"].reason and "did not change" in r["west"].reason
    text = repr(r)
    assert text.startswith("velocity_attribution by team") and "×1.4789" in text
    assert "24.4 %" in text and "<table>" in r._repr_html_()


def test_grouped_results_with_other_groups_are_an_error_naming_them():
    with pytest.raises(OptionError, match=r"only before: 'north'.*only after: 'west'"):
        sm.velocity_attribution(grouped({"east": Q1, "north": Q1}),
                                grouped({"east": Q2, "west": Q2}))
    with pytest.raises(SalesMetricsError, match="both be Velocity or both GroupedResult"):
        sm.velocity_attribution(grouped({"east": Q1}), Q2)  # type: ignore[call-overload]


def test_bad_arguments_are_named():
    with pytest.raises(DataTypeError, match="before must be a Velocity"):
        sm.velocity_attribution(1.0, Q2)  # type: ignore[call-overload]
    with pytest.raises(CurrencyError, match=r"USD.*EUR"):
        sm.velocity_attribution(velocity(1, 1.0, 1.0, 1.0, "USD"),
                                velocity(1, 1.0, 1.0, 1.0, "EUR"))
    with pytest.raises(OptionError, match="'period' only apply to a pipeline"):
        sm.velocity_attribution(Q1, Q2, period="2024-Q2")  # type: ignore[call-overload]


# -- from one pipeline -------------------------------------------------------------------------
def _two_quarters() -> Pipeline:
    deals = [
        Deal("a", 1_000, "Closed won", owner="ana", created="2024-01-01", close_date="2024-02-20"),
        Deal("b", 1_000, "Closed lost", owner="ana", created="2024-01-01",
             close_date="2024-02-01"),
        Deal("c", 3_000, "Closed won", owner="ana", created="2024-04-01", close_date="2024-04-21"),
        Deal("d", 2_000, "Closed won", owner="bo", created="2024-04-01", close_date="2024-05-01"),
    ]
    return Pipeline.from_deals(deals)


def test_from_a_pipeline_the_baseline_is_the_period_before():
    p = _two_quarters()
    a = sm.velocity_attribution(p, period="2024-Q2")
    assert a == sm.velocity_attribution(sm.sales_velocity(p, period="2024-Q1"),
                                        sm.sales_velocity(p, period="2024-Q2"))
    given_baseline = sm.velocity_attribution(p, period=Period.parse("2024-Q2"),
                                             baseline="2024-Q1")
    assert given_baseline == a
    closed = sm.velocity_attribution(p, period="2024-Q2", opportunities="closed")
    assert closed.before.opportunities == 2 and closed.after.opportunities == 2


def test_from_a_pipeline_by_group_keeps_a_group_of_one_period():
    p = _two_quarters()
    r = sm.velocity_attribution(p, period="2024-Q2", by="owner")
    assert list(r) == ["ana", "bo"]
    assert r["ana"] == sm.velocity_attribution(
        sm.sales_velocity(p, period="2024-Q1", by="owner")["ana"],
        sm.sales_velocity(p, period="2024-Q2", by="owner")["ana"])
    assert r["bo"].reason == "the group has no deals in 2024-Q1: its factors and shares are nan"
    assert all(math.isnan(x) for x in [*r["bo"].factors.values(), *r["bo"].shares.values()])


def test_pipeline_form_options_are_checked():
    p = _two_quarters()
    with pytest.raises(OptionError, match="give period="):
        sm.velocity_attribution(p)  # type: ignore[call-overload]
    with pytest.raises(OptionError, match=r"unknown option 'basis'.*'opportunities'"):
        sm.velocity_attribution(p, period="2024-Q2", basis="value")
    with pytest.raises(OptionError, match="opportunities must be"):
        sm.velocity_attribution(p, period="2024-Q2", opportunities="some")


def test_options_are_keyword_only_and_documented():
    params = list(inspect.signature(sm.velocity_attribution).parameters.values())
    assert [p.kind for p in params[:2]] == [inspect.Parameter.POSITIONAL_ONLY] * 2
    assert all(p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)
               for p in params[2:])
    doc = sm.velocity_attribution.__doc__ or ""
    assert doc.count("Examples") == 1 and "References" in doc and "1.4789" in doc


def test_on_the_sample():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.errors.DataQualityWarning)
        a = sm.velocity_attribution(sample_pipeline(), period="2024-Q2")
    assert math.prod(a.factors.values()) == pytest.approx(a.ratio, rel=1e-12)
    assert math.fsum(a.shares.values()) == pytest.approx(1.0)


# -- conversions and printing ------------------------------------------------------------------
def test_to_dict_and_to_pandas():
    a = sm.velocity_attribution(Q1, Q2)
    d = a.to_dict()
    assert d["ratio"] == a.ratio and d["shares"] == a.shares and d["reason"] is None
    assert d["before"]["opportunities"] == 100 and set(d["log_contributions"]) == set(LEVERS)
    pd = pytest.importorskip("pandas")
    frame = a.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == [*LEVERS, "revenue_per_day"]
    assert list(frame.columns) == ["before", "after", "factor", "log_contribution", "share"]
    assert frame.loc["revenue_per_day", "factor"] == a.ratio
    assert frame["share"].iloc[:4].sum() == pytest.approx(1.0)


def test_repr_and_html_use_the_shared_renderer():
    a = sm.velocity_attribution(velocity(100, 1_000.0, 0.5, 50.0, "USD"),
                                velocity(110, 1_100.0, 0.55, 45.0, "USD"))
    text = repr(a)
    assert "USD 1,000.00 → USD 1,478.89" in text and "(+47.9 %)" in text
    assert "×1.1111" in text and "26.9 %" in text and "50.0 days" in text
    page = a._repr_html_()
    assert page.count("<tr>") == 5 and "USD 1,100.00" in page and "24.4 %" in page


# -- the figure ----------------------------------------------------------------------------------
def test_waterfall_steps_add_up_to_the_change():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    a = sm.velocity_attribution(Q1, Q2)
    ax = sm.plot.velocity_attribution(a, ax=Figure().add_subplot())
    bars = ax.patches
    assert len(bars) == 6
    assert bars[0].get_height() == pytest.approx(Q1.revenue_per_day)
    assert bars[1].get_height() == pytest.approx(Q2.revenue_per_day)
    steps = [bar.get_height() for bar in bars[2:]]
    assert sum(steps) == pytest.approx(Q2.revenue_per_day - Q1.revenue_per_day)
    assert steps[3] == pytest.approx(0.2693 * (Q2.revenue_per_day - Q1.revenue_per_day),
                                     rel=1e-3)
    assert any("×1.111" in t.get_text() for t in ax.texts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["before", "N", "V", "W", "L",
                                                            "after"]


def test_waterfall_without_shares_says_why():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    a = sm.velocity_attribution(Q1, velocity(100, 1_000.0, 0.0, 50.0))
    ax = sm.plot.velocity_attribution(a, ax=Figure().add_subplot())
    assert len(ax.patches) == 2 and a.reason in [t.get_text() for t in ax.texts]
    with pytest.raises(OptionError, match="give period="):
        sm.plot.velocity_attribution(_two_quarters(), ax=Figure().add_subplot())
    with pytest.raises(OptionError, match="one group"):
        sm.plot.velocity_attribution(  # type: ignore[arg-type]
            sm.velocity_attribution(grouped({"e": Q1}), grouped({"e": Q2})))


# -- the review ---------------------------------------------------------------------------------
def _review_deals() -> Pipeline:
    deals = [
        Deal("a", 1_000, "Closed won", created="2024-01-01", close_date="2024-02-20"),
        Deal("b", 1_000, "Closed lost", created="2024-01-01", close_date="2024-02-01"),
        Deal("x", 1_000, "Closed won", close_date="2024-03-01"),  # no created date: warns
        Deal("c", 3_000, "Closed won", created="2024-04-01", close_date="2024-04-21"),
        Deal("d", 2_000, "Closed won", created="2024-04-01", close_date="2024-05-01"),
    ]
    return Pipeline.from_deals(deals)


def test_review_with_a_period_says_which_lever_moved():
    p = _review_deals()
    text = sm.report.pipeline_review(p, period="2024-Q2")
    assert "Which lever moved: velocity against 2024-Q1" in text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Which lever moved"))
    header = lines[start + 1].split()
    assert header == ["lever", "2024-Q1", "2024-Q2", "factor", "share"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.errors.DataQualityWarning)
        a = sm.velocity_attribution(p, period="2024-Q2")
    table = "\n".join(lines[start:start + 9])
    assert f"×{a.ratio:.4f}" in table and "100.0 %" in table
    assert f"{a.shares['cycle_days']:.1%}".replace("%", " %") in table
    # the baseline's data-quality finding is said, and said to be the baseline's
    assert "- baseline 2024-Q1: sales_velocity(): the cycle length L leaves out" in text
    page = sm.report.pipeline_review_html(p, period="2024-Q2")
    assert "Which lever moved: velocity against 2024-Q1" in page and f"×{a.ratio:.4f}" in page


def test_review_without_a_period_has_no_attribution():
    assert "Which lever moved" not in sm.report.pipeline_review(_review_deals())


def test_review_with_nothing_to_compare_gives_the_reason():
    text = sm.report.pipeline_review(_review_deals(), period="2024-Q1")
    assert "Which lever moved: velocity against 2023-Q4" in text
    assert "win_rate is undefined (nan) before" in text and "Traceback" not in text


def test_cli_report_with_a_period(capsys):
    from salesmetrics.__main__ import main

    assert main(["report", "--period", "2024-Q2"]) == 0
    out = capsys.readouterr().out
    assert "Which lever moved: velocity against 2024-Q1" in out


def test_grouped_attribution_converts_to_flat_frames():
    p = sm.datasets.sample_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.errors.DataQualityWarning)
        grouped = sm.velocity_attribution(p, period="2024-Q2", by="team")
    frame = grouped.to_pandas()
    levers = ("opportunities", "average_deal_value", "win_rate", "cycle_days")
    assert list(frame.columns) == ["ratio", *(f"{x}_factor" for x in levers),
                                   *(f"{x}_share" for x in levers), "reason"]
    for team, row in frame.iterrows():
        assert row["ratio"] == pytest.approx(grouped[team].ratio, nan_ok=True)
        assert row["win_rate_share"] == pytest.approx(grouped[team].shares["win_rate"], nan_ok=True)
    assert grouped.to_polars().columns[0] == "team"


def test_a_lever_that_did_not_move_has_a_share_of_zero_not_minus_zero():
    # N doubles (log 2), V falls to 40 % (log 0.4); W and L stay: their log terms are 0, and
    # 0 ÷ a falling total (log 0.8 < 0) would print as -0.0 %.
    r = sm.velocity_attribution(Velocity(10, 100.0, 0.5, 10.0, 50.0),
                                Velocity(20, 40.0, 0.5, 10.0, 40.0))
    assert math.copysign(1.0, r.shares["win_rate"]) == 1.0
    assert math.copysign(1.0, r.shares["cycle_days"]) == 1.0
    assert "-0.0" not in repr(r)
