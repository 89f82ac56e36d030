"""win_curve: the Aalen–Johansen cumulative incidence of a win by age, open deals censored."""

from __future__ import annotations

import datetime as dt
import inspect
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics import Deal, GroupedResult, Pipeline, WinCurve, win_curve
from salesmetrics.errors import DataQualityWarning, OptionError, SalesMetricsError

START = dt.date(2024, 1, 1)
Z95 = 1.959963984540054


def deal(i: str, stage: str, created: int | None, closed: int | None = None,
         owner: str = "ana") -> Deal:
    """A deal created ``created`` days after START, closed ``closed`` days after creation."""
    made = None if created is None else START + dt.timedelta(days=created)
    close = None
    if closed is not None:
        close = (made or START) + dt.timedelta(days=closed)
    return Deal(i, 100, stage, created=made, close_date=close, owner=owner)


def hand_pipeline() -> Pipeline:
    """Eight deals, all created on START; as_of = START + 30 days (see `test_hand_computation`)."""
    return Pipeline.from_deals([
        deal("H", "Closed won", 0, 0),    # won at age 0
        deal("G", "Negotiation", 25),     # open, created day 25: censored at age 5
        deal("A", "Closed won", 0, 10),   # won at 10
        deal("B", "Closed lost", 0, 10),  # lost at 10
        deal("C", "Proposal", 15),        # open, created day 15: censored at age 15
        deal("D", "Closed won", 0, 20),   # won at 20
        deal("E", "Closed lost", 0, 30),  # lost at 30
        deal("F", "Closed won", 0, 30),   # won at 30
    ])


AS_OF = START + dt.timedelta(days=30)


def test_hand_computation():
    # Ages (close or censoring) and outcomes: H 0 won, G 5 open, A 10 won, B 10 lost,
    # C 15 open, D 20 won, E 30 lost, F 30 won.
    #
    # age  at risk n  won w  closed d   KM S(t) = S(t-) (1 - d/n)     F(t) = F(t-) + S(t-) w/n
    #  0       8        1       1       1 * 7/8        = 7/8          0 + 1 * 1/8      = 1/8
    #  5   (G censored: no close, not a step; at risk 7 after it)
    # 10       6        1       2       7/8 * 4/6      = 7/12         1/8 + 7/8 * 1/6  = 13/48
    # 15   (C censored; at risk 3 after it)
    # 20       3        1       1       7/12 * 2/3     = 7/18         13/48 + 7/12 / 3 = 67/144
    # 30       2        1       2       7/18 * 0       = 0            67/144 + 7/18/2  = 95/144
    #
    # Closed-only win rate 4/6 = 0.667, "open counts as lost" 4/8 = 0.5, the curve 95/144 = 0.660.
    c = win_curve(hand_pipeline(), as_of=AS_OF)
    assert isinstance(c, WinCurve)
    assert c.days.tolist() == [0, 10, 20, 30]
    expected = [Fraction(1, 8), Fraction(13, 48), Fraction(67, 144), Fraction(95, 144)]
    np.testing.assert_allclose(c.probability, [float(f) for f in expected], rtol=1e-12)
    assert c.at_risk.tolist() == [8, 6, 3, 2]
    assert c.won_at.tolist() == [1, 1, 1, 1] and c.lost_at.tolist() == [0, 1, 0, 1]
    assert (c.n, c.won, c.lost, c.open) == (8, 4, 2, 2)
    assert c.final == pytest.approx(95 / 144)
    assert c.as_of == AS_OF and c.max_days is None and c.alpha == 0.05
    # Variance (delta method), summed over ages t_j <= t:
    #   (F(t) - F_j)² d_j / (n_j (n_j - d_j)) + S(t_j-)² w_j (n_j - w_j) / n_j³
    #   - 2 (F(t) - F_j) S(t_j-) w_j / n_j²
    # At age 0: 0 + 1 * 1 * 7 / 512 - 0 = 7/512 (the binomial 1/8 * 7/8 / 8).
    # At age 10: j = 0: (13/48 - 6/48)² / 56 + 7/512 - 2 (7/48) / 64
    #            j = 1: 0 + (7/8)² * 1 * 5 / 216 - 0
    #          = 7/18432 + 7/512 - 7/1536 + 245/13824 = 1505/55296.
    var0 = Fraction(7, 512)
    var10 = (Fraction(7, 48) ** 2 / 56 + Fraction(7, 512) - 2 * Fraction(7, 48) / 64
             + Fraction(7, 8) ** 2 * 5 / 216)
    assert var10 == Fraction(1505, 55296)
    for i, var in ((0, var0), (1, var10)):  # lower clipped to 0 at age 0: 0.125 - 0.229
        half = Z95 * math.sqrt(var)
        assert c.lower[i] == pytest.approx(max(float(expected[i]) - half, 0.0), rel=1e-9)
        assert c.upper[i] == pytest.approx(float(expected[i]) + half, rel=1e-9)


def test_end_value_between_closed_only_and_open_as_lost():
    p = hand_pipeline()
    closed_only = sm.win_rate(p, basis="unit", open_deals="exclude", no_decision="lost")
    open_lost = sm.win_rate(p, basis="unit", open_deals="lost", no_decision="lost")
    assert (closed_only, open_lost) == (4 / 6, 4 / 8)
    assert open_lost < win_curve(p, as_of=AS_OF).final < closed_only


def test_at_is_a_step_function():
    c = win_curve(hand_pipeline(), as_of=AS_OF)
    assert c.at(0) == pytest.approx(1 / 8)
    assert isinstance(c.at(9), float)
    assert c.at(9.99) == pytest.approx(1 / 8)
    assert c.at(-1) == 0.0
    assert math.isnan(c.at(float("nan")))
    values = c.at(np.array([[0, 10], [25, 1000]]))
    assert values.shape == (2, 2)
    np.testing.assert_allclose(values, [[1 / 8, 13 / 48], [67 / 144, 95 / 144]])
    assert c.at([10, 20]).tolist() == c.probability[1:3].tolist()
    cut = win_curve(hand_pipeline(), as_of=AS_OF, max_days=20)
    assert cut.days.tolist() == [0, 10, 20]
    assert cut.at(20) == pytest.approx(67 / 144)
    assert math.isnan(cut.at(21))


def test_max_days_keeps_the_curve_up_to_it():
    p = sm.datasets.sample_pipeline()
    whole = win_curve(p)
    for cut in (0, 1, 30, 90, 10_000):
        part = win_curve(p, max_days=cut)
        k = len(part.days)
        assert part.days.tolist() == whole.days[:k].tolist()
        assert part.days[-1] <= cut
        for name in ("probability", "lower", "upper", "at_risk"):
            np.testing.assert_array_equal(getattr(part, name), getattr(whole, name)[:k])


def test_as_of_censors_later_closes_and_leaves_out_later_deals():
    # On START + 12: H (won 0), A (won 10), B (lost 10) closed; D, E, F are open at age 12
    # (closed later); C and G did not exist yet. As if only those deals were on record.
    c = win_curve(hand_pipeline(), as_of=START + dt.timedelta(days=12))
    same = Pipeline.from_deals([
        deal("H", "Closed won", 0, 0), deal("A", "Closed won", 0, 10),
        deal("B", "Closed lost", 0, 10), deal("D", "Proposal", 0), deal("E", "Proposal", 0),
        deal("F", "Proposal", 0)])
    assert c == win_curve(same, as_of="2024-01-13")
    assert (c.n, c.won, c.lost, c.open) == (6, 2, 1, 3)


def test_default_as_of_is_the_latest_date_on_record():
    p = hand_pipeline()
    assert p.latest_date == np.datetime64(AS_OF)
    assert win_curve(p) == win_curve(p, as_of=AS_OF)


def test_nothing_open_ends_at_the_closed_only_win_rate():
    p = hand_pipeline()
    closed = p.filter(p.outcome_codes != 0)
    assert win_curve(closed).final == pytest.approx(4 / 6, abs=1e-12)


def test_by_gives_one_curve_per_group():
    p = sm.datasets.sample_pipeline()
    curves = win_curve(p, by="owner")
    assert isinstance(curves, GroupedResult)
    assert list(curves) == list(sm.win_rate(p, by="owner"))
    for owner, curve in curves.items():
        assert curve == win_curve(p.filter(p.labels("owner").decoded() == owner),
                                  as_of=p.latest_date.astype(dt.date))
    assert sum(c.n for c in curves.values()) == win_curve(p).n
    two = win_curve(p, by=["owner", "team"])
    assert all(isinstance(k, tuple) and len(k) == 2 for k in two)
    assert sum(c.n for c in two.values()) == win_curve(p).n


def test_prints_and_converts():
    c = win_curve(hand_pipeline(), as_of=AS_OF)
    text = repr(c)
    assert text.startswith("WinCurve(66.0 % won by day 30, 95 % band ")
    assert "8 deals: 4 won, 2 lost, 2 open (censored)" in text
    assert "<table" in c._repr_html_()
    frame = c.to_pandas()
    assert list(frame.columns) == ["probability", "lower", "upper", "at_risk", "won", "lost"]
    assert frame.index.name == "days" and frame.index.tolist() == [0, 10, 20, 30]
    grouped = win_curve(sm.datasets.sample_pipeline(), by="owner")
    printed = repr(grouped)
    assert printed.splitlines()[0] == "win_curve by owner"
    assert "won by end" in printed and "open" in printed
    table = grouped.to_pandas()
    assert list(table.columns) == ["probability", "lower", "upper", "last_day", "n", "won",
                                   "lost", "open"]
    assert len(table) == len(grouped)


def test_arrays_are_read_only():
    c = win_curve(hand_pipeline())
    with pytest.raises(ValueError, match="read-only"):
        c.probability[0] = 1.0


def test_empty_and_all_open():
    empty = win_curve(Pipeline.from_deals([]))
    assert empty.days.tolist() == [0] and math.isnan(empty.final) and empty.n == 0
    assert math.isnan(empty.at(5)) and "n/a" in repr(empty)
    assert len(win_curve(Pipeline.from_deals([]), by="owner")) == 0
    p = Pipeline.from_deals([deal("A", "Proposal", 0), deal("B", "Proposal", 3)])
    c = win_curve(p)
    assert c.days.tolist() == [0] and c.probability.tolist() == [0.0]
    assert (c.lower.tolist(), c.upper.tolist(), c.open) == ([0.0], [0.0], 2)


def test_left_out_deals_warn():
    p = Pipeline.from_deals([
        deal("A", "Closed won", 0, 5), deal("B", "Closed won", None, 5),
        deal("C", "Proposal", None)])
    with pytest.warns(DataQualityWarning, match="2 deals without a created date"):
        c = win_curve(p)
    assert c.n == 1
    backwards = Pipeline.from_deals(
        [deal("A", "Closed won", 0, 5), deal("B", "Closed lost", 10, -3)],
        allow_close_before_created=True)
    with pytest.warns(DataQualityWarning, match="1 deal whose close date is before its created"):
        assert win_curve(backwards).n == 1


@pytest.mark.parametrize(("options", "words"), [
    ({"alpha": 0}, ("alpha", "0")), ({"alpha": 1.0}, ("alpha", "1.0")),
    ({"alpha": True}, ("alpha", "True")), ({"alpha": "5%"}, ("alpha", "'5%'")),
    ({"alpha": float("nan")}, ("alpha", "nan")),
    ({"max_days": -1}, ("max_days", "-1")), ({"max_days": 1.5}, ("max_days", "1.5")),
    ({"max_days": True}, ("max_days", "True")),
    ({"as_of": "2024-13-01"}, ("as_of", "2024-13-01")), ({"as_of": ""}, ("as_of", "''")),
    ({"by": "nope"}, ("nope",)), ({"by": 3}, ("by", "3")),
])
def test_bad_options(options, words):
    with pytest.raises(SalesMetricsError) as info:
        win_curve(hand_pipeline(), **options)
    for word in words:
        assert word in str(info.value)
    if "alpha" in options or "max_days" in options:
        assert isinstance(info.value, OptionError)
        assert "win_curve()" in str(info.value)


def test_not_a_pipeline():
    with pytest.raises(SalesMetricsError, match="Pipeline"):
        win_curve([1, 2])  # type: ignore[call-overload]


def test_options_are_keyword_only():
    params = list(inspect.signature(win_curve).parameters.values())
    assert params[0].name == "p"
    assert [q.name for q in params[1:]] == ["by", "as_of", "max_days", "alpha"]
    assert all(q.kind is inspect.Parameter.KEYWORD_ONLY for q in params[1:])


def reference_variance(days, status):
    """The variance of F at each event age, summed term by term (one loop per age): the
    formula of the docstring, written out without the cumulative-sum expansion."""
    ages = sorted({t for t, s in zip(days, status, strict=True) if s})
    n = [sum(t >= a for t in days) for a in ages]
    w = [sum(t == a and s == 1 for t, s in zip(days, status, strict=True)) for a in ages]
    d = [sum(t == a and s > 0 for t, s in zip(days, status, strict=True)) for a in ages]
    surv, f, before = 1.0, 0.0, []
    cif = []
    for nj, wj, dj in zip(n, w, d, strict=True):
        before.append(surv)
        f += surv * wj / nj
        surv *= 1 - dj / nj
        cif.append(f)
    out = {}
    for k, age in enumerate(ages):
        total = 0.0
        for j in range(k + 1):
            gap = cif[k] - cif[j]
            if n[j] > d[j]:
                total += gap**2 * d[j] / (n[j] * (n[j] - d[j]))
            total += before[j] ** 2 * w[j] * (n[j] - w[j]) / n[j] ** 3
            total -= 2 * gap * before[j] * w[j] / n[j] ** 2
        out[age] = (cif[k], max(total, 0.0))
    return out


outcomes = st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["open", "won", "lost"])),
                    min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(outcomes)
def test_band_matches_the_formula_term_by_term(rows):
    deals, days, status = [], [], []
    for i, (age, kind) in enumerate(rows):
        if kind == "open":
            deals.append(deal(f"D{i}", "Proposal", 40 - age))
        else:
            stage = "Closed won" if kind == "won" else "Closed lost"
            deals.append(deal(f"D{i}", stage, 0, age))
        days.append(age)
        status.append({"open": 0, "won": 1, "lost": 2}[kind])
    c = win_curve(Pipeline.from_deals(deals), as_of=START + dt.timedelta(days=40))
    for age, (f, var) in reference_variance(days, status).items():
        i = c.days.tolist().index(age)
        assert c.probability[i] == pytest.approx(f, abs=1e-12)
        half = Z95 * math.sqrt(var)
        assert c.lower[i] == pytest.approx(max(f - half, 0.0), abs=1e-7)
        assert c.upper[i] == pytest.approx(min(f + half, 1.0), abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(deal_rows(), st.randoms(use_true_random=False))
def test_properties(rows, rnd):
    p = build(rows)
    c = win_curve(p)
    assert c.days[0] == 0 and np.all(np.diff(c.days) > 0)
    if c.n:
        prob = c.probability
        assert np.all(np.diff(prob) >= -1e-12)
        assert np.all((prob >= 0) & (prob <= 1))
        assert np.all((c.lower >= 0) & (c.upper <= 1))
        assert np.all(c.lower <= prob + 1e-12) and np.all(prob <= c.upper + 1e-12)
    order = list(range(len(rows["id"])))
    rnd.shuffle(order)
    assert win_curve(build(rows, order=order)) == c
    closed = p.filter(p.outcome_codes != 0)
    if len(closed):
        rate = sm.win_rate(closed, basis="unit", open_deals="exclude", no_decision="lost")
        assert win_curve(closed).final == pytest.approx(rate, abs=1e-12)


def test_plot_on_a_figure():
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from salesmetrics import plot

    p = sm.datasets.sample_pipeline()
    fig = Figure()
    ax = fig.subplots()
    assert plot.win_curve(p, ax=ax) is ax
    assert [line.get_label() for line in ax.get_lines()] == ["all deals (2,000): 24.4 %"]
    assert len(ax.collections) == 1  # the band
    curve = win_curve(p)
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), curve.days)
    fig2 = Figure()
    ax2 = fig2.subplots()
    plot.win_curve(p, by="owner", ax=ax2)
    owners = win_curve(p, by="owner")
    assert len(ax2.get_lines()) == len(owners) == len(ax2.collections)
    assert ax2.get_legend() is not None
    fig3 = Figure()
    ax3 = fig3.subplots()
    plot.win_curve(Pipeline.from_deals([]), ax=ax3)
    assert [t.get_text() for t in ax3.texts] == ["no deals with a created date"]
    assert matplotlib is not None
