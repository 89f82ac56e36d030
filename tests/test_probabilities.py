"""historical_probabilities: measured stage probabilities, their sample sizes and the prior."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics import Deal, Pipeline, historical_probabilities
from salesmetrics.errors import DataQualityWarning, OptionError

OPEN = ("Initial contact", "Discovery", "Meeting", "Proposal", "Negotiation")
CONFIGURED = (0.0, 0.1, 0.3, 0.6, 0.8)  # DEFAULT_STAGES


def lost(deal_id, *stages):
    """A lost deal whose history entered ``stages``."""
    history = [(s, f"2024-0{i + 1}-01") for i, s in enumerate(stages)]
    return Deal(deal_id, 100, "Closed lost", created="2024-01-01", close_date="2024-06-01",
                history=[*history, ("Closed lost", "2024-06-01")])


def worked():
    """Two won deals (a won deal reached every open stage), three lost ones that reached
    Proposal, Discovery and Meeting, and two open deals."""
    return Pipeline.from_deals([
        Deal("W1", 100, "Closed won", created="2024-01-01", close_date="2024-05-01"),
        Deal("W2", 300, "Closed won", created="2024-01-01", close_date="2024-07-01"),
        lost("L1", "Initial contact", "Discovery", "Meeting", "Proposal"),
        lost("L2", "Initial contact", "Discovery"),
        lost("L3", "Initial contact", "Discovery", "Meeting"),
        Deal("O1", 1000, "Meeting", created="2024-05-01", close_date="2024-09-30"),
        Deal("O2", 500, "Negotiation", created="2024-05-01", close_date="2024-09-30"),
    ])


def test_worked_example_by_hand():
    # Reached (closed deals): Initial contact and Discovery all 5, Meeting W1 W2 L1 L3,
    # Proposal W1 W2 L1, Negotiation W1 W2; won 2 from each.
    r = historical_probabilities(worked())
    assert list(r) == list(OPEN)
    assert dict(r) == pytest.approx({"Initial contact": 2 / 5, "Discovery": 2 / 5,
                                     "Meeting": 2 / 4, "Proposal": 2 / 3, "Negotiation": 1.0})
    assert dict(r.n) == {"Initial contact": 5, "Discovery": 5, "Meeting": 4, "Proposal": 3,
                         "Negotiation": 2}
    assert dict(r.won) == dict.fromkeys(OPEN, 2)
    assert dict(r.closed) == dict(r.n)
    assert dict(r.configured) == dict(zip(OPEN, CONFIGURED, strict=True))


def test_worked_example_with_a_prior():
    # (won + k × configured) ÷ (closed + k) with k = 2.
    r = historical_probabilities(worked(), prior_strength=2)
    assert dict(r) == pytest.approx({
        "Initial contact": (2 + 0) / 7, "Discovery": (2 + 2 * 0.1) / 7,
        "Meeting": (2 + 2 * 0.3) / 6, "Proposal": (2 + 2 * 0.6) / 5,
        "Negotiation": (2 + 2 * 0.8) / 4})
    assert r.n["Proposal"] == 3 and r.prior_strength == 2.0


def test_worked_example_by_value():
    # Won value 400 from every stage; closed value: 700 where all three lost deals reached it.
    r = historical_probabilities(worked(), basis="value")
    assert dict(r) == pytest.approx({"Initial contact": 400 / 700, "Discovery": 400 / 700,
                                     "Meeting": 400 / 600, "Proposal": 400 / 500,
                                     "Negotiation": 1.0})
    assert r.won["Proposal"] == 400 and r.closed["Proposal"] == 500 and r.n["Proposal"] == 3


def test_plugs_into_weighted_pipeline():
    p = worked()
    r = historical_probabilities(p)
    # O1 (1000 in Meeting) × 2/4 + O2 (500 in Negotiation) × 1.0
    assert sm.weighted_pipeline(p, probabilities=r) == pytest.approx(1000.0)
    sample = sm.datasets.sample_pipeline()
    with pytest.warns(DataQualityWarning, match="no amount"):
        assert sm.weighted_pipeline(sample, probabilities=historical_probabilities(sample)) > 0


def test_a_stage_no_closed_deal_reached_takes_its_configured_probability():
    p = Pipeline.from_deals([
        lost("L1", "Initial contact", "Discovery", "Meeting"),
        lost("L2", "Initial contact", "Discovery"),
        Deal("O1", 1000, "Proposal", created="2024-05-01", close_date="2024-09-30"),
    ])
    with pytest.warns(DataQualityWarning, match=r"2 stages \('Proposal', 'Negotiation'\) had no "
                                                r"closed deal and show their configured "
                                                r"probability, not a measured rate"):
        r = historical_probabilities(p, prior_strength=0)
    assert r["Proposal"] == 0.6 and r.n["Proposal"] == 0
    assert r["Negotiation"] == 0.8 and r.n["Negotiation"] == 0
    assert r["Meeting"] == 0.0 and r.n["Meeting"] == 1
    assert sm.weighted_pipeline(p, probabilities=r) == pytest.approx(600.0)


@pytest.mark.parametrize("p", [
    Pipeline.from_deals([]),
    Pipeline.from_deals([Deal("O1", 10, "Meeting", close_date="2024-09-30")]),
], ids=["empty", "open only"])
def test_no_closed_deals_gives_the_configured_probabilities(p):
    with pytest.warns(DataQualityWarning, match=r"no closed deal reached any stage, so every "
                                                r"probability is the configured one"):
        r = historical_probabilities(p)
    assert dict(r) == dict(zip(OPEN, CONFIGURED, strict=True))
    assert set(r.n.values()) == {0}
    assert sm.weighted_pipeline(p, probabilities=r) == sm.weighted_pipeline(p)


def test_equals_conversion_from_stage():
    p = sm.datasets.sample_pipeline()
    for options in ({}, {"period": "2024"}, {"period": "2023-Q2"}):
        assert dict(historical_probabilities(p, **options)) == dict(
            sm.conversion_from_stage(p, **options))
    assert dict(historical_probabilities(p, basis="value")) == pytest.approx(
        dict(sm.conversion_from_stage(p, basis="value")))


def test_period_selects_closed_deals():
    p = worked()
    # Closed in 2024-05: W1, and the lost deals closed 2024-06-01 are out.
    r = historical_probabilities(p, period="2024-05")
    assert r["Proposal"] == 1.0 and r.n["Proposal"] == 1
    with pytest.warns(DataQualityWarning, match=r"no closed deal in the period reached any "
                                                r"stage"):
        none = historical_probabilities(p, period="2023")
    assert dict(none) == dict(zip(OPEN, CONFIGURED, strict=True))


def test_result_is_a_read_only_mapping_that_prints_and_converts():
    r = historical_probabilities(worked())
    with pytest.raises(TypeError):
        r["Proposal"] = 0.5  # type: ignore[index]
    with pytest.raises(TypeError):
        r.n["Proposal"] = 0  # type: ignore[index]
    assert r == r.to_dict() and all(isinstance(v, float) for v in r.values())
    frame = r.to_pandas()
    assert list(frame.columns) == ["probability", "won", "closed", "n", "configured"]
    assert frame.index.name == "stage" and list(frame.index) == list(OPEN)
    assert frame.loc["Proposal", "n"] == 3
    text = repr(r)
    assert text.splitlines()[0].startswith("historical_probabilities by stage")
    assert "66.7 %" in text and "60.0 %" in text
    assert "<table>" in r._repr_html_()
    assert "pseudo-deals" in repr(historical_probabilities(worked(), prior_strength=5))
    by_value = repr(historical_probabilities(sm.datasets.sample_pipeline(), basis="value"))
    assert "by value" in by_value and "USD 11,833,566.50" in by_value


@pytest.mark.parametrize(("options", "names"), [
    ({"basis": "count"}, ["basis", "'count'", "'unit'", "'value'"]),
    ({"prior_strength": -1}, ["prior_strength", "-1", ">= 0"]),
    ({"prior_strength": math.inf}, ["prior_strength", "inf"]),
    ({"prior_strength": math.nan}, ["prior_strength", "nan"]),
    ({"prior_strength": "10"}, ["prior_strength", "'10'"]),
    ({"prior_strength": True}, ["prior_strength", "True"]),
    ({"prior_strength": 5, "basis": "value"}, ["prior_strength", "5", "'unit'", "'value'"]),
])
def test_bad_options(options, names):
    with pytest.raises(OptionError) as error:
        historical_probabilities(worked(), **options)
    for name in names:
        assert name in str(error.value)
    assert str(error.value).startswith("historical_probabilities(): ")


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        historical_probabilities(worked(), None)  # type: ignore[misc]


def test_zero_prior_with_value_basis_is_allowed():
    assert historical_probabilities(worked(), basis="value", prior_strength=0.0)["Negotiation"] == 1


def test_warns_where_conversion_warns_about_missing_history():
    p = Pipeline.from_deals([
        Deal("W1", 100, "Closed won", close_date="2024-05-01"),
        Deal("L1", 100, "Closed lost", close_date="2024-05-01"),
    ])
    with pytest.warns(DataQualityWarning, match=r"^historical_probabilities\(\): 1 closed deal "
                      r".*no record of the stages.*Fix: load the stage history"):
        r = historical_probabilities(p)
    assert r["Initial contact"] == 0.5 and r["Discovery"] == 1.0


def test_no_open_deal_warning_with_a_period():
    # The sample has open deals without an expected close date; these rates count closed deals
    # only, so a period gives no warning about them (warnings are errors here).
    historical_probabilities(sm.datasets.sample_pipeline(), period="2024")


@pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")
@given(deal_rows(), st.sampled_from([None, "2023-Q3"]), st.sampled_from([0, 0.5, 3, 100]),
       st.booleans())
def test_values_are_probabilities(rows, period, k, history):
    p = build(rows, history=history)
    r = historical_probabilities(p, period=period, prior_strength=k)
    assert list(r) == list(p.open_stage_names)
    assert all(0.0 <= v <= 1.0 for v in r.values())
    assert all(r.n[s] == r.closed[s] >= r.won[s] >= 0 for s in r)
    configured = dict(zip(p.stage_names, p.stage_probabilities.tolist(), strict=False))
    assert all(r[s] == configured[s] for s in r if r.n[s] == 0)
    measured = historical_probabilities(p, period=period, basis="value")
    assert all(0.0 <= v <= 1.0 for v in measured.values())
    sm.weighted_pipeline(p, probabilities=r)  # always plugs in


@pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")
@given(deal_rows(min_size=1))
def test_a_strong_prior_tends_to_the_configured_probabilities(rows):
    p = build(rows)
    configured = dict(zip(p.stage_names, p.stage_probabilities.tolist(), strict=False))
    raw = historical_probabilities(p)
    previous = None
    for k in (0, 10, 1e3, 1e6, 1e12):
        r = historical_probabilities(p, prior_strength=k)
        gap = np.array([abs(r[s] - configured[s]) for s in r])
        if previous is not None:
            assert (gap <= previous + 1e-12).all()  # shrinks monotonically towards configured
        previous = gap
        # the shrunk rate lies between the raw rate and the configured one
        for s in r:
            low, high = sorted((raw[s], configured[s]))
            assert low - 1e-12 <= r[s] <= high + 1e-12
    assert previous is not None and (previous < 1e-9).all()


def test_measured_probabilities_plug_into_forecast():
    p = sm.datasets.sample_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        measured = sm.historical_probabilities(p, period="2024")
        fc = sm.forecast(p, period="2024-Q4", probabilities=measured)
        expected = sm.won_revenue(p, period="2024-Q4") + sm.weighted_pipeline(
            p, period="2024-Q4", probabilities=measured)
    assert fc.mean == pytest.approx(expected, rel=1e-9)
