"""Forecast categories: Stage.forecast_category, the CRM adapters' category fields and
forecast_rollup's cumulative roll-ups, on worked examples computed by hand."""

import math

import pytest

import salesmetrics as sm
from salesmetrics import Deal, Outcome, Pipeline, Stage, forecast_rollup
from salesmetrics.domain.stage import FORECAST_CATEGORIES, forecast_category_name
from salesmetrics.errors import DataError, DataQualityWarning, DataTypeError, OptionError
from salesmetrics.io import read_hubspot, read_salesforce

STAGES = (
    Stage("Qualify", 0.1, forecast_category="Pipeline"),
    Stage("Propose", 0.5, forecast_category="Best Case"),
    Stage("Negotiate", 0.8, forecast_category="Commit"),
    Stage("Won", 1.0, Outcome.WON),
    Stage("Lost", 0.0, Outcome.LOST),
)


def deal(i, amount, stage, category=None, *, close="2024-11-15", owner="ana"):
    fields = {} if category is None else {"forecast_category": category}
    return Deal(i, amount, stage, close_date=close, owner=owner, fields=fields)


# Hand computation, Q4 2024:
#   ana: won 1,000 (A, labelled Pipeline: closed only); open Commit 2,000 (B); open Best Case
#        4,000 (C, from its stage); open Pipeline 8,000 (D); Omitted 16,000 (E, never).
#        closed 1,000; commit 3,000; best case 7,000; open pipeline 14,000.
#   bo:  won 100 (F); lost 32,000 labelled Commit (G, nowhere); open Commit 200 (H, from its
#        stage); open Commit 50,000 closing in 2025 (I, outside the period).
#        closed 100; commit 300; best case 300; open pipeline 200.
DEALS = [
    deal("A", 1_000, "Won", "Pipeline"),
    deal("B", 2_000, "Propose", "Commit"),
    deal("C", 4_000, "Propose"),
    deal("D", 8_000, "Negotiate", "Pipeline"),
    deal("E", 16_000, "Negotiate", "Omitted"),
    deal("F", 100, "Won", owner="bo"),
    deal("G", 32_000, "Lost", "Commit", owner="bo"),
    deal("H", 200, "Negotiate", owner="bo"),
    deal("I", 50_000, "Negotiate", "Commit", close="2025-01-15", owner="bo"),
]


@pytest.fixture
def p():
    return Pipeline.from_deals(DEALS, STAGES)


def test_worked_example_by_owner(p):
    r = forecast_rollup(p, period="2024-Q4", by="owner")
    assert list(r) == ["ana", "bo"]
    assert r["ana"] == sm.ForecastRollup(1_000.0, 3_000.0, 7_000.0, 14_000.0)
    assert r["bo"] == sm.ForecastRollup(100.0, 300.0, 300.0, 200.0)
    total = forecast_rollup(p, period="2024-Q4")
    assert (total.closed, total.commit, total.best_case, total.open_pipeline) == (
        1_100.0, 3_300.0, 7_300.0, 14_200.0)


def test_closed_is_won_revenue_and_rollups_are_cumulative(p):
    r = forecast_rollup(p, period="2024-Q4", by="owner")
    assert {k: v.closed for k, v in r.items()} == sm.won_revenue(p, period="2024-Q4", by="owner")
    for v in r.values():
        assert v.closed <= v.commit <= v.best_case


def test_deals_without_a_category_take_their_stages():
    stages = (Stage("Open", 0.5, forecast_category="BEST_CASE"),
              Stage("Won", 1.0, Outcome.WON), Stage("Lost", 0.0, Outcome.LOST))
    q = Pipeline.from_deals([deal("A", 10, "Open"), deal("B", 20, "Won")], stages)
    assert "forecast_category" not in q.fields
    r = forecast_rollup(q, period="2024-Q4")
    assert (r.closed, r.commit, r.best_case, r.open_pipeline) == (20.0, 20.0, 30.0, 10.0)


def test_columns_mapping_and_renamed_crm_values():
    data = {"id": ["A", "B", "C"], "stage": ["Propose", "Propose", "Won"],
            "amount": [10, 20, 40], "close_date": ["2024-10-01"] * 3,
            "Forecast_Bucket": ["Most likely", "Upside", None]}
    q = Pipeline.from_columns(data, STAGES, columns={"forecast_category": "Forecast_Bucket"})
    with pytest.raises(DataError, match=r"'Most likely' \(1 deal\).*categories="):
        forecast_rollup(q, period="2024-Q4")
    r = forecast_rollup(q, period="2024-Q4",
                        categories={"Most likely": "Commit", "Upside": "pipeline"})
    assert (r.closed, r.commit, r.best_case, r.open_pipeline) == (40.0, 50.0, 50.0, 30.0)
    with pytest.raises(OptionError, match="not a forecast category"):
        forecast_rollup(q, period="2024-Q4", categories={"Upside": "Maybe"})


def test_category_field_option():
    q = Pipeline.from_deals(
        [Deal("A", 10, "Qualify", close_date="2024-11-01", fields={"fc": "Commit"})], STAGES)
    assert forecast_rollup(q, period="2024-Q4", category_field="fc").commit == 10.0
    assert forecast_rollup(q, period="2024-Q4").commit == 0.0  # no field: the stage's Pipeline
    with pytest.raises(DataError, match="unknown field 'nope'"):
        forecast_rollup(q, period="2024-Q4", category_field="nope")


def test_no_category_anywhere_counts_as_pipeline_with_a_warning():
    q = Pipeline.from_deals([deal("A", 10, "Proposal"), deal("B", 5, "Closed won")])
    with pytest.warns(DataQualityWarning, match=r"1 open deal of the period has no forecast "
                      r"category, neither its own nor its stage's, and counts? as Pipeline"):
        r = forecast_rollup(q, period="2024-Q4")
    assert (r.closed, r.commit, r.open_pipeline) == (5.0, 5.0, 10.0)


def test_open_deal_labelled_closed_counts_nowhere_with_a_warning(p):
    q = Pipeline.from_deals([deal("A", 10, "Propose", "Closed")], STAGES)
    with pytest.warns(DataQualityWarning,
                      match="1 open deal of the period is labelled Closed but is not won"):
        r = forecast_rollup(q, period="2024-Q4")
    assert (r.closed, r.commit, r.best_case, r.open_pipeline) == (0.0, 0.0, 0.0, 0.0)


def test_missing_amounts_and_close_dates_warn():
    q = Pipeline.from_deals([deal("A", None, "Propose"), deal("B", 10, "Propose", close=None)],
                            STAGES)
    with pytest.warns(DataQualityWarning) as record:
        r = forecast_rollup(q, period="2024-Q4")
    text = " ".join(str(w.message) for w in record)
    assert "no expected close date" in text and "no amount" in text
    assert r.best_case == 0.0


def test_results_print_and_convert(p):
    r = forecast_rollup(p, period="2024-Q4")
    assert "commit" in repr(r) and "3,300.00" in repr(r)
    assert r.to_pandas().to_dict() == {"closed": 1_100.0, "commit": 3_300.0,
                                       "best_case": 7_300.0, "open_pipeline": 14_200.0}
    grouped = forecast_rollup(p, period="2024-Q4", by="owner")
    frame = grouped.to_pandas()
    assert list(frame.columns) == ["closed", "commit", "best_case", "open_pipeline"]
    assert frame.loc["bo", "commit"] == 300.0
    assert "best_case" in repr(grouped)


def test_bad_options(p):
    with pytest.raises(OptionError, match="period is required"):
        forecast_rollup(p, period=None)
    with pytest.raises(DataTypeError, match="categories must be a mapping"):
        forecast_rollup(p, period="2024-Q4", categories=["Commit"])
    with pytest.raises(TypeError):
        forecast_rollup(p, "2024-Q4")  # keyword-only


def test_stage_forecast_category():
    assert Stage("W", 1.0, Outcome.WON).forecast_category == "Closed"
    assert Stage("L", 0.0, Outcome.LOST).forecast_category == "Omitted"
    assert Stage("O", 0.5).forecast_category is None
    assert Stage("O", 0.5, forecast_category="best case").forecast_category == "Best Case"
    assert repr(Stage("O", 0.5, forecast_category="Commit")) == (
        "Stage('O', 0.5, forecast_category='Commit')")
    assert repr(Stage("W", 1.0, Outcome.WON)) == "Stage('W', 1.0, Outcome.WON)"
    with pytest.raises(DataError, match=r"forecast_category must be None or one of 'Pipeline'"):
        Stage("O", 0.5, forecast_category="Likely")
    assert [forecast_category_name(c.upper()) for c in FORECAST_CATEGORIES] == list(
        FORECAST_CATEGORIES)


def test_read_salesforce_maps_forecast_categories():
    def opp(i, stage, category, amount, closed=False, won=False):
        return {"Id": i, "StageName": stage, "Amount": amount, "CloseDate": "2024-11-30",
                "CreatedDate": "2024-10-01T00:00:00.000+0000", "IsClosed": closed,
                "IsWon": won, "ForecastCategory": category, "Probability": 10}

    q = read_salesforce([opp("1", "Negotiation", "Forecast", 300),   # API name of Commit
                         opp("2", "Proposal", "BestCase", 200),
                         opp("3", "Prospecting", "Pipeline", 100),
                         opp("4", "Closed Won", "Closed", 1_000, True, True)])
    assert sm.pipeline_value(q, by="forecast_category") == {
        "Best Case": 200.0, "Commit": 300.0, "Pipeline": 100.0}
    r = forecast_rollup(q, period="2024-Q4")
    assert (r.closed, r.commit, r.best_case, r.open_pipeline) == (1_000.0, 1_300.0, 1_500.0,
                                                                    600.0)


def test_read_hubspot_maps_forecast_categories():
    def obj(i, stage, category, amount):
        return {"id": i, "properties": {"dealstage": stage, "amount": str(amount),
                                        "createdate": "2024-10-01T00:00:00Z",
                                        "closedate": "2024-11-30T00:00:00Z",
                                        "hs_forecast_category": category}}

    q = read_hubspot({"results": [obj("1", "contractsent", "COMMIT", 300),
                                  obj("2", "presentationscheduled", "BEST_CASE", 200),
                                  obj("3", "appointmentscheduled", "PIPELINE", 100),
                                  obj("4", "qualifiedtobuy", "OMIT", 50),
                                  obj("5", "closedwon", "CLOSED", 1_000)]})
    r = forecast_rollup(q, period="2024-Q4")
    assert (r.closed, r.commit, r.best_case, r.open_pipeline) == (1_000.0, 1_300.0, 1_500.0,
                                                                    600.0)
    assert not math.isnan(r.open_pipeline)


def test_grouped_by_several_fields_and_degenerate_pipelines(p):
    r = forecast_rollup(p, period="2024-Q4", by=["owner", "stage"])
    assert r[("ana", "Propose")] == sm.ForecastRollup(0.0, 2_000.0, 6_000.0, 6_000.0)
    assert r[("bo", "Lost")] == sm.ForecastRollup(0.0, 0.0, 0.0, 0.0)
    assert sum(v.open_pipeline for v in r.values()) == 14_200.0
    assert forecast_rollup(p.open, period="2024-Q4").commit == 2_200.0  # no won deal
    empty = forecast_rollup(p.filter([False] * len(p)), period="2024-Q4")
    assert empty == sm.ForecastRollup(0.0, 0.0, 0.0, 0.0)
    forecast_rollup(p, period="2024-Q4", by="owner")
    assert p == Pipeline.from_deals(DEALS, STAGES)  # left unchanged
