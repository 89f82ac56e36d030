"""Real exports from ../shared/data (skipped where ../shared is absent, as in a fresh clone)."""

import pytest

import salesmetrics as sm
from salesmetrics import Outcome, Pipeline, Stage
from salesmetrics.errors import DataQualityWarning

MAVEN_STAGES = (
    Stage("Prospecting", 0.1), Stage("Engaging", 0.5),
    Stage("Won", 1.0, Outcome.WON), Stage("Lost", 0.0, Outcome.LOST),
)
MAVEN_COLUMNS = {"id": "opportunity_id", "stage": "deal_stage", "owner": "sales_agent",
                 "created": "engage_date", "close_date": "close_date", "amount": "close_value",
                 "product": "product", "account": "account"}


@pytest.fixture
def maven(shared_data):
    return Pipeline.read_csv(shared_data / "maven-crm-sales-opportunities" / "sales_pipeline.csv",
                             MAVEN_STAGES, columns=MAVEN_COLUMNS, currency="USD")


def test_maven_loads_with_the_documented_counts(maven):
    assert len(maven) == 8800
    assert (len(maven.won), len(maven.lost), len(maven.open)) == (4238, 2473, 2089)
    assert maven.fields == ("owner", "product", "account")
    assert len(set(maven.categories("owner").tolist())) == 30
    assert maven.amount_missing.sum() == 2089  # every open deal has no value


def test_maven_quoted_figures(maven):
    # PROVENANCE.md: 63.2 % win rate, 45-day median cycle (engage → close)
    assert sm.win_rate(maven) == pytest.approx(4238 / (4238 + 2473))
    assert round(sm.win_rate(maven), 3) == 0.632
    assert sm.sales_cycle_length(maven, statistic="median", outcome="closed") == 45
    # lost deals carry close_value 0, so the value win rate is degenerate, and says so
    with pytest.warns(DataQualityWarning, match="all 2,473 lost deals have amount 0"):
        assert sm.win_rate(maven, basis="value") == 1.0
    # open deals have no close_value: the open total is not a measured 0
    with pytest.warns(DataQualityWarning, match="none of the 2,089 open deals has an amount"):
        assert sm.pipeline_value(maven) == 0.0
    # no stage history: lost deals count as reaching only Prospecting, and that is said
    with pytest.warns(DataQualityWarning, match="2,473 closed deals that were not won have no "
                                                "record of the stages they reached"):
        assert sm.conversion_from_stage(maven)["Engaging"] == 1.0


def test_maven_grouped_totals(maven):
    by_agent = sm.won_revenue(maven, by="owner")
    assert sum(by_agent.values()) == pytest.approx(sm.won_revenue(maven))
    assert sm.won_revenue(maven) == float(maven.won.amount_minor.sum()) / 100
    q = sm.win_rate(maven, period="2017-Q2", by="product")
    assert all(0 <= v <= 1 for v in q.values())
