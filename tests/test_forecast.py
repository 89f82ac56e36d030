"""forecast(): the distribution of the revenue won in a period. Hand enumeration, the methods
against each other, the documented grid bound, groups, options, and the properties of the issue."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics import Deal, Pipeline, forecast
from salesmetrics.datasets import sample_pipeline
from salesmetrics.errors import DataQualityWarning, DataTypeError, OptionError, UnknownStageError
from salesmetrics.metrics._distribution import exact_distribution

METHODS = ("exact", "normal", "simulate")


def three_deals() -> Pipeline:
    return Pipeline.from_deals([
        Deal("A", 1_000.10, "Proposal", close_date="2024-11-15", probability=0.3),
        Deal("B", 2_500, "Negotiation", close_date="2024-12-01", probability=0.6),
        Deal("C", 4_000.05, "Meeting", close_date="2024-10-02", probability=0.15),
        Deal("W", 700, "Closed won", close_date="2024-10-10"),
        Deal("L", 9_000, "Closed lost", close_date="2024-10-11"),
        Deal("X", 50_000, "Proposal", close_date="2025-01-05"),  # next period: left out
    ])


def test_three_deals_equal_the_hand_enumeration_of_the_eight_outcomes():
    amounts, probs = [1_000.10, 2_500, 4_000.05], [0.3, 0.6, 0.15]
    outcomes: dict[float, float] = {}
    for wins in itertools.product([0, 1], repeat=3):
        value = round(700 + sum(a * w for a, w in zip(amounts, wins, strict=True)), 2)
        chance = float(np.prod([q if w else 1 - q for q, w in zip(probs, wins, strict=True)]))
        outcomes[value] = outcomes.get(value, 0.0) + chance
    f = forecast(three_deals(), period="2024-Q4")
    assert f.values.tolist() == pytest.approx(sorted(outcomes))
    assert f.probabilities.tolist() == pytest.approx([outcomes[v] for v in sorted(outcomes)],
                                                     abs=1e-12)
    assert len(f.values) == 8 and f.resolution == 0.05 and f.deals == 3  # the amounts' gcd: exact
    assert f.won == 700
    assert f.mean == pytest.approx(700 + sum(a * q for a, q in zip(amounts, probs, strict=True)))
    assert f.std == pytest.approx(np.sqrt(sum(a * a * q * (1 - q)
                                              for a, q in zip(amounts, probs, strict=True))))
    assert f.probability_at_least(700 + 4_000.05) == pytest.approx(
        sum(c for v, c in outcomes.items() if v >= 4_700.05))
    assert f.quantile(0) == 700 and f.quantile(1) == max(outcomes)
    assert f.quantile(0.5) == min(v for v in sorted(outcomes)
                                  if sum(outcomes[u] for u in outcomes if u <= v) >= 0.5)


def realistic() -> Pipeline:
    """200 of the sample's open deals with an amount, all expected to close in 2025-Q1."""
    o = sample_pipeline().open
    o = o.filter(~o.amount_missing)
    own = o.probability
    deals = [Deal(str(i), float(a), str(o.stage_names[s]), close_date="2025-02-14",
                  probability=None if np.isnan(q) else float(q))
             for i, a, s, q in zip(o.ids[:200], o.amount[:200], o.stage_codes[:200],
                                   own[:200], strict=True)]
    return Pipeline.from_deals(deals)


def test_exact_agrees_with_a_million_draws_on_a_realistic_pipeline():
    p = realistic()
    assert len(p) == 200
    exact = forecast(p, period="2025-Q1")
    simulated = forecast(p, period="2025-Q1", method="simulate", draws=1_000_000, seed=7)
    for k in (-2.1, -1.3, -0.55, 0.05, 0.7, 1.45, 2.2):
        x = exact.mean + k * exact.std
        assert abs(exact.probability_at_least(x) - simulated.probability_at_least(x)) < 0.005
    assert float(exact.values @ exact.probabilities) == pytest.approx(exact.mean, rel=1e-4)
    normal = forecast(p, period="2025-Q1", method="normal")
    assert normal.probability_at_least(exact.mean) == pytest.approx(0.5)
    assert abs(normal.quantile(0.5) - exact.quantile(0.5)) < exact.std / 4


def test_a_large_support_is_rounded_to_a_grid_within_the_documented_bound():
    rng = np.random.default_rng(3)
    amounts = rng.integers(10**6, 10**9, 60)
    probs = rng.uniform(0.05, 0.95, 60)
    fine, fine_p, fine_delta = exact_distribution(amounts, probs, grid_size=1 << 20)
    coarse, coarse_p, delta = exact_distribution(amounts, probs, grid_size=1 << 12)
    assert delta == -(-int(amounts.sum()) // (1 << 12)) and fine_delta < delta
    assert np.all(np.diff(coarse) > 0) and coarse_p.sum() == pytest.approx(1)
    bound = len(amounts) * delta / 2 + fine_delta * len(amounts) / 2
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        a = fine[np.searchsorted(np.cumsum(fine_p), q - 1e-12)]
        b = coarse[np.searchsorted(np.cumsum(coarse_p), q - 1e-12)]
        assert abs(a - b) <= bound


def test_simulation_is_reproducible_with_a_seed():
    p = three_deals()
    a = forecast(p, period="2024-Q4", method="simulate", draws=5_000, seed=11)
    b = forecast(p, period="2024-Q4", method="simulate", draws=5_000, seed=11)
    assert a == b and a.to_dict()["values"] == b.values.tolist()
    assert set(a.values.tolist()) <= set(forecast(p, period="2024-Q4").values.tolist())


def test_by_gives_one_forecast_per_group():
    p = sample_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        whole = forecast(p, period="2024-Q4")
        groups = forecast(p, period="2024-Q4", by="owner")
        ana = forecast(p.filter(p.codes("owner") == 0), period="2024-Q4")
        won = sm.won_revenue(p, period="2024-Q4", by="owner")
    assert isinstance(groups, sm.GroupedResult) and list(groups) == list(won)
    assert sum(f.mean for f in groups.values()) == pytest.approx(whole.mean)
    assert sum(f.std**2 for f in groups.values()) == pytest.approx(whole.std**2)
    first = groups[next(iter(groups))]
    assert first.mean == pytest.approx(ana.mean) and first.values.tolist() == pytest.approx(
        ana.values.tolist())
    assert "p90" in repr(groups) and list(groups.to_pandas().columns) == [
        "won", "mean", "std", "p10", "p50", "p90"]


def test_prints_converts_and_warns_about_missing_amounts():
    f = forecast(three_deals(), period="2024-Q4")
    assert repr(f).startswith("forecast (exact, 3 open deals): mean")
    assert "<table" in f._repr_html_()
    assert f.to_dict()["won"] == 700 and len(f.to_dict()["probabilities"]) == 8
    assert f.to_pandas()["probability"].sum() == pytest.approx(1)
    p = Pipeline.from_deals([Deal("A", None, "Proposal", close_date="2024-11-01"),
                             Deal("B", 100, "Proposal", close_date="2024-11-01")])
    with pytest.warns(DataQualityWarning, match=r"forecast\(\): 1 of the 2 open deals"):
        forecast(p, period="2024-Q4")


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"method": "bootstrap"}, OptionError),
    ({"draws": 0}, OptionError),
    ({"draws": True}, OptionError),
    ({"seed": "x"}, DataTypeError),
    ({"period": None}, OptionError),
    ({"probabilities": {"Nope": 0.5}}, UnknownStageError),
])
def test_bad_options(kwargs, error):
    with pytest.raises(error, match=r"forecast\(\)"):
        forecast(three_deals(), **({"period": "2024-Q4"} | kwargs))


def test_bad_quantiles():
    f = forecast(three_deals(), period="2024-Q4")
    with pytest.raises(OptionError):
        f.quantile(1.5)
    with pytest.raises(DataTypeError):
        f.probability_at_least("a lot")  # type: ignore[arg-type]


def test_forecast_distribution_plot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = sm.plot.forecast_distribution(three_deals(), period="2024-Q4", target=3_000)
    assert ax.get_title() == "Forecast — 2024-Q4: P(≥ 3,000.00) = 66.0 %"
    assert len(ax.patches) > 1 and len(ax.get_lines()) == 2
    ax = sm.plot.forecast_distribution(Pipeline.from_deals([]), period="2024-Q4")
    assert ax.get_title() == "Forecast — 2024-Q4"


def quietly(p, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return forecast(p, **kwargs)


periods = st.sampled_from(["2023", "2024", "2024-Q2", "2025"])


@given(deal_rows(), periods, st.sampled_from(METHODS))
def test_mean_is_won_plus_the_weighted_pipeline(rows, period, method):
    p = build(rows)
    f = quietly(p, period=period, method=method, draws=200, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        expected = (sm.won_revenue(p, period=period)
                    + sm.weighted_pipeline(p, period=period))
    assert f.mean == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert f.probability_at_least(0) == 1
    qs = np.linspace(0, 1, 21)
    assert np.all(np.diff(f.quantile(qs)) >= 0)
    assert f.values[0] >= f.won - 1e-6 and np.all(np.diff(f.values) > 0)
    assert f.probabilities.sum() == pytest.approx(1)


@given(deal_rows(), periods, st.sampled_from(METHODS), st.data())
def test_certain_outcomes_give_a_single_value(rows, period, method, data):
    n = len(rows["id"])
    choice = data.draw(st.lists(st.sampled_from([None, 0.0, 1.0]), min_size=n, max_size=n))
    rows["probability"] = [None if q is None else c for q, c in
                           zip(rows["probability"], choice, strict=True)]
    p = build(rows)
    stages = {s.name: data.draw(st.sampled_from([0.0, 1.0])) for s in p.stages
              if not s.is_closed}
    f = quietly(p, period=period, probabilities=stages, method=method, draws=50, seed=2)
    assert f.values.tolist() == [pytest.approx(f.mean)] and f.probabilities.tolist() == [1.0]
    assert f.std == 0 and f.quantile(0.3) == pytest.approx(f.mean)
