"""Building pipelines every way, views, round trips, display."""

import datetime as dt

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import DEFAULT_STAGES, Deal, Outcome, Pipeline, Stage
from salesmetrics.datasets import SAMPLE_STAGES, sample_pipeline
from salesmetrics.errors import DataQualityWarning


def test_default_stages():
    assert [(s.name, s.probability) for s in DEFAULT_STAGES] == [
        ("Initial contact", 0.0), ("Discovery", 0.1), ("Meeting", 0.3), ("Proposal", 0.6),
        ("Negotiation", 0.8), ("Closed won", 1.0), ("Closed lost", 0.0)]
    assert [s.outcome for s in DEFAULT_STAGES][-2:] == [Outcome.WON, Outcome.LOST]


def test_several_closed_stages_may_share_an_outcome():
    stages = [Stage("Open", 0.5), Stage("Won", 1, "won"), Stage("Closed lost", 0, "lost"),
              Stage("Closed - no budget", 0, Outcome.LOST)]
    p = Pipeline.from_columns({"id": [1, 2, 3], "stage": ["Won", "Closed lost",
                                                          "Closed - no budget"],
                               "close_date": ["2024-01-01"] * 3}, stages)
    assert sm.win_rate(p) == pytest.approx(1 / 3)


def test_from_deals_round_trips_through_iteration():
    deals = [
        Deal("A", 1234.56, "Closed won", created=dt.date(2024, 1, 1),
             close_date=dt.date(2024, 2, 1), owner="ana", currency="EUR",
             fields={"team": "east"}, history=[("Discovery", dt.date(2024, 1, 1)),
                                               ("Closed won", dt.date(2024, 2, 1))]),
        Deal("B", None, "Meeting", owner=None, probability=0.4, currency="EUR",
             fields={"team": None}),
    ]
    p = Pipeline.from_deals(deals)
    assert list(p) == deals
    assert p.deal("A") == deals[0]
    assert p.currency == "EUR" and p.fields == ("owner", "team")
    assert Pipeline.from_deals(list(p)) == p


def test_columns_round_trip_and_equality():
    p = sample_pipeline()
    cols = p.to_columns()
    q = Pipeline.from_columns(cols, p.stages, columns={k: k for k in cols}, currency="USD")
    assert q != p  # the history is not in to_columns
    r = Pipeline.from_columns(cols, p.stages, columns={k: k for k in cols},
                              history=p.history_columns())
    assert r == p
    assert q.open != p.won
    assert len(p.to_pandas()) == len(p)


def test_views_and_filters():
    p = sample_pipeline()
    assert len(p.open) + len(p.won) + len(p.lost) + len(p.no_decision) == len(p)
    assert len(p.closed) == len(p) - len(p.open)
    q2 = p.closing_in("2024-Q2")
    assert q2.close_date.min() >= np.datetime64("2024-04-01")
    assert q2.close_date.max() < np.datetime64("2024-07-01")
    created = p.created_in(sm.Period.year(2023))
    assert (created.created < np.datetime64("2024-01-01")).all()
    won = p.won
    assert won.history is not None
    assert set(won.history.rows.tolist()) <= set(range(len(won)))
    assert all(d.stage == "Closed won" for d in won)
    for deal in list(won)[:5]:  # the history followed each deal into the view
        assert deal.history == p.deal(deal.id).history


def test_sample_is_deterministic_and_rich():
    sample_pipeline.cache_clear()
    a = sample_pipeline()
    sample_pipeline.cache_clear()
    b = sample_pipeline()
    assert a == b and a is not b
    assert len(a) == 2000 and a.stages == SAMPLE_STAGES
    assert len(set(a.categories("owner").tolist())) == 12
    assert set(a.categories("team").tolist()) == {"Enterprise", "Mid-market", "SMB"}
    assert 0 < len(a.no_decision) < 0.1 * len(a)
    assert len(a.open) > 100
    assert a.amount_missing.any() and a.has_probability_overrides
    stale = sm.win_rate(a, stale_after=180, as_of="2024-12-31")
    assert stale < sm.win_rate(a)
    visited = sm.conversion_from_stage(a, skipped="visited")
    assert visited != sm.conversion_from_stage(a)
    span = a.created.min(), a.created.max()
    assert (span[1] - span[0]).astype(int) > 600


def test_repr_and_html():
    p = sample_pipeline()
    assert repr(p).startswith("Pipeline(2,000 deals: ")
    assert "history:" in repr(p)
    html = p._repr_html_()
    assert "<table>" in html and "Negotiation" in html
    grouped = sm.win_rate(p, by="team")
    assert "<table>" in grouped._repr_html_() and "Enterprise" in grouped._repr_html_()
    assert repr(grouped).splitlines()[0] == "win_rate by team"
    v = sm.sales_velocity(p)
    assert "revenue_per_day" in repr(v) and "USD" in repr(v)
    assert "Win rate" in v._repr_html_()


def test_timestamps_become_utc_dates_or_given_zone():
    data = {"id": ["A", "B"], "stage": ["Meeting", "Meeting"],
            "created": ["2024-03-01T23:30:00Z", "2024-03-01T23:30:00-05:00"],
            "close_date": np.array(["2024-03-05T12:00", "NaT"], dtype="datetime64[m]")}
    utc = Pipeline.from_columns(data)
    assert utc.created.astype(str).tolist() == ["2024-03-01", "2024-03-02"]
    assert utc.close_date.astype(str).tolist() == ["2024-03-05", "NaT"]
    tokyo = Pipeline.from_columns(data, timezone="Asia/Tokyo")
    assert tokyo.created.astype(str).tolist() == ["2024-03-02", "2024-03-02"]
    assert tokyo.close_date.astype(str).tolist() == ["2024-03-05", "NaT"]
    objects = {"id": [1], "stage": ["Meeting"],
               "created": [dt.datetime(2024, 1, 1, 22, tzinfo=dt.timezone(dt.timedelta(hours=-3)))]}
    assert str(Pipeline.from_columns(objects).created[0]) == "2024-01-02"


def test_missing_values_on_open_deals_load():
    p = Pipeline.from_columns({
        "id": ["A", "B", "C"], "stage": ["Meeting", "Discovery", "Closed won"],
        "amount": ["", "12.5", "100"], "created": ["", "2024-01-01", ""],
        "close_date": ["", "", "2024-02-01"], "owner": ["", "x", None],
    })
    assert p.amount_missing.tolist() == [True, False, False]
    assert np.isnan(p.amount[0]) and p.amount[1] == 12.5
    assert p.categories("owner").tolist() == ["x", None]
    assert p.deal("A").owner is None and p.deal("A").amount is None


def test_numeric_columns_are_copied():
    """A pipeline owns its data (issue 6): the caller's arrays stay theirs to change."""
    close = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    prob = np.array([0.5, np.nan])
    p = Pipeline.from_columns({"id": np.array([10, 11]), "stage": ["Meeting", "Meeting"],
                               "close_date": close, "probability": prob})
    assert not np.shares_memory(p.close_date, close)
    assert not np.shares_memory(p.probability, prob)
    prob[0] = 0.9
    assert p.probability[0] == 0.5


def test_integer_ids_and_labels():
    p = Pipeline.from_columns({"id": np.arange(5), "stage": ["Meeting"] * 5,
                               "owner": np.array([7, 3, 7, 1000, 3])})
    assert p.categories("owner").tolist() == [3, 7, 1000]
    with pytest.warns(DataQualityWarning, match="none of the 5 open deals has an amount"):
        assert sm.pipeline_value(p, by="owner") == {3: 0.0, 7: 0.0, 1000: 0.0}
    assert p.deal(3).owner == 1000


def test_read_csv(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(
        "Opportunity,Value,Stage,Created,Closed,Rep,Region\r\n"
        "O-1,1000,Closed won,2024-01-01,2024-02-01,ana,EU\r\n"
        "O-2,,Meeting,2024-01-05,,bo,US\r\n"
        "\r\n", encoding="utf-8")
    p = Pipeline.read_csv(path, columns={"id": "Opportunity", "amount": "Value",
                                         "stage": "Stage", "created": "Created",
                                         "close_date": "Closed", "owner": "Rep",
                                         "region": "Region"})
    assert len(p) == 2 and p.fields == ("owner", "region")
    assert sm.won_revenue(p, by="region") == {"EU": 1000.0, "US": 0.0}


def test_thread_safety_of_lazy_caches():
    from concurrent.futures import ThreadPoolExecutor

    p = sample_pipeline().filter(np.ones(2000, bool))
    expected = sm.conversion_from_stage(sample_pipeline(), by="owner")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: sm.conversion_from_stage(p, by="owner"), range(16)))
    assert all(r == expected for r in results)


def test_long_label_columns_encode_like_numpy_unique():
    from salesmetrics.domain.columns import encode_labels

    rng = np.random.default_rng(5)
    values = rng.choice(np.array(["Meeting", "Proposal", "Discovery"]), 100_000)
    values[[7, 50_001]] = ["Rare", "Zebra"]  # missed by the sample, caught by the check
    labels = encode_labels(values, field="stage")
    uniques, inverse = np.unique(values, return_inverse=True)
    assert labels.categories.tolist() == uniques.tolist()
    assert np.array_equal(labels.codes, inverse)


@pytest.mark.parametrize("ids", [np.arange(10, 20), np.arange(10, 20) * 10**12,
                                 np.array([f"D{i}" for i in range(10)])])
def test_history_resolves_ids_and_sorts_events(ids):
    data = {"id": ids, "stage": ["Proposal"] * 10}
    events = {"id": ids[[3, 3, 1, 9]], "stage": ["Proposal", "Discovery", "Meeting", "Meeting"],
              "date": ["2024-02-01", "2024-01-01", "2024-01-05", "2024-01-07"]}
    p = Pipeline.from_columns(data, history=events)
    assert p.history.rows.tolist() == [1, 3, 3, 9]
    assert p.history.dates.astype(str).tolist() == [
        "2024-01-05", "2024-01-01", "2024-02-01", "2024-01-07"]
    assert [s for s, _ in p.deal(ids[3].item()).history] == ["Discovery", "Proposal"]
    unknown = "nope" if ids.dtype.kind == "U" else 10**15
    missing = dict(events, id=[*ids[[3, 3, 1]].tolist(), unknown])
    with pytest.raises(sm.errors.DataError, match=r"history row 3: deal .* is not in the pipeline"):
        Pipeline.from_columns(data, history=missing)


def test_nanosecond_timestamps_in_a_time_zone():
    stamps = np.array(["2024-03-01T23:30:00", "NaT"], dtype="datetime64[ns]")
    p = Pipeline.from_columns({"id": [1, 2], "stage": ["Meeting", "Meeting"], "created": stamps},
                              timezone="Asia/Tokyo")
    assert p.created.astype(str).tolist() == ["2024-03-02", "NaT"]
