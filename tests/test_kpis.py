"""Lead, renewal, retention and peer KPIs on worked examples by hand, and the Olist funnel."""

import datetime as dt
import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics import (
    Deal,
    Outcome,
    Pipeline,
    Stage,
    lead_conversion,
    logo_retention,
    new_leads,
    peer_scores,
    renewal_rate,
)
from salesmetrics.errors import DataError, DataQualityWarning, OptionError

STAGES = [Stage("Open", 0.3), Stage("Won", 1.0, Outcome.WON), Stage("Lost", 0.0, Outcome.LOST),
          Stage("Stalled", 0.0, Outcome.NO_DECISION)]


def pipeline(rows):
    """Deals ``(stage, created, close_date, {fields})`` with amount 1,000."""
    return Pipeline.from_deals([
        Deal(i, 1_000, s, created=c, close_date=d, owner=f.get("owner"),
             fields={k: v for k, v in f.items() if k != "owner"})
        for i, (s, c, d, f) in enumerate(rows)], STAGES)


# -- leads -------------------------------------------------------------------------------------
# January: 5 leads (2 web, 3 ads); won: web 1 (L1), ads 1 (L4); L2 lost, L3 open, L5 stalled.
# February: 2 web leads, 1 won. Conversion: January 2/5, web 1/2, ads 1/3; all 3/7.
LEADS = pipeline([
    ("Won", "2024-01-02", "2024-02-10", {"source": "web"}),
    ("Lost", "2024-01-03", "2024-01-20", {"source": "web"}),
    ("Open", "2024-01-08", None, {"source": "ads"}),
    ("Won", "2024-01-15", "2024-03-01", {"source": "ads"}),
    ("Stalled", "2024-01-31", "2024-03-01", {"source": "ads"}),
    ("Won", "2024-02-01", "2024-02-20", {"source": "web"}),
    ("Open", "2024-02-29", None, {"source": "web"}),
])


def test_lead_conversion_worked_example():
    assert lead_conversion(LEADS, period="2024-01") == pytest.approx(2 / 5)
    assert lead_conversion(LEADS) == pytest.approx(3 / 7)
    by = lead_conversion(LEADS, period="2024-01", by="source")
    assert dict(by) == pytest.approx({"ads": 1 / 3, "web": 1 / 2})
    assert "lead_conversion by source" in repr(by) and "33.3 %" in repr(by)
    assert math.isnan(lead_conversion(LEADS, period="2023-01"))
    assert lead_conversion(LEADS, period="2023-01", zero_division=0) == 0.0


def test_lead_conversion_is_the_cohort_win_rate_with_open_leads_lost():
    assert lead_conversion(LEADS, period="2024-Q1", by="source") == sm.win_rate(
        LEADS, period="2024-Q1", view="cohort", open_deals="lost", by="source")


def test_new_leads_per_group_and_month():
    assert new_leads(LEADS) == 7
    assert new_leads(LEADS, period="2024-01") == 5
    assert dict(new_leads(LEADS, period="2024-01", by="source")) == {"ads": 3, "web": 2}
    monthly = new_leads(LEADS, freq="month", by="source")
    assert dict(monthly) == {("ads", "2024-01"): 3, ("ads", "2024-02"): 0,
                             ("web", "2024-01"): 2, ("web", "2024-02"): 2}
    table = monthly.to_pandas().unstack()
    assert table.loc["web", "2024-02"] == 2
    assert dict(new_leads(LEADS, period="2024-Q1", freq="month")) == {
        "2024-01": 5, "2024-02": 2, "2024-03": 0}


def test_new_leads_iso_weeks_cut_by_the_period():
    # January 2024 starts on a Monday: W01 holds Jan 2 and 3, W02 Jan 8, W03 Jan 15; W05
    # (Jan 29 – Feb 4) is cut by the month's end: only Jan 31 counts, not Feb 1.
    weeks = new_leads(LEADS, period="2024-01", freq="week")
    assert dict(weeks) == {"2024-W01": 2, "2024-W02": 1, "2024-W03": 1, "2024-W04": 0,
                           "2024-W05": 1}


@given(st.lists(st.tuples(st.dates(dt.date(2020, 1, 1), dt.date(2025, 12, 31)),
                          st.sampled_from("abc")), max_size=40),
       st.sampled_from(["week", "month", "quarter"]))
def test_new_leads_per_period_sum_to_the_total(rows, freq):
    p = Pipeline.from_deals([Deal(i, 1, "Discovery", created=d, fields={"src": s})
                             for i, (d, s) in enumerate(rows)])
    per = new_leads(p, freq=freq, by="src") if rows else {}
    assert sum(per.values()) == len(rows) == new_leads(p)


def test_new_leads_without_a_created_date():
    p = pipeline([("Open", None, None, {}), ("Open", "2024-01-05", None, {})])
    assert new_leads(p) == 2  # every lead, dated or not
    with pytest.warns(DataQualityWarning, match="1 deal has no created date"):
        assert new_leads(p, period="2024-01") == 1
    with pytest.raises(OptionError, match="freq must be"):
        new_leads(p, freq="day")


# -- renewals and retention ------------------------------------------------------------------
# Renewals closed in 2024-Q2: won 2 (ana, bo), lost 1 (ana), stalled 1 (bo): 2 / 4. The new
# deal, the open renewal and the renewal closed in Q1 do not count. ana 1/2, bo 1/2.
RENEWALS = pipeline([
    ("Won", "2024-01-01", "2024-04-10", {"type": "renewal", "owner": "ana"}),
    ("Lost", "2024-01-01", "2024-05-10", {"type": "renewal", "owner": "ana"}),
    ("Won", "2024-01-01", "2024-06-10", {"type": "renewal", "owner": "bo"}),
    ("Stalled", "2024-01-01", "2024-06-30", {"type": "renewal", "owner": "bo"}),
    ("Won", "2024-01-01", "2024-05-01", {"type": "new", "owner": "bo"}),
    ("Open", "2024-01-01", "2024-06-01", {"type": "renewal", "owner": "bo"}),
    ("Lost", "2024-01-01", "2024-03-01", {"type": "renewal", "owner": "bo"}),
])


def test_renewal_rate_worked_example():
    assert renewal_rate(RENEWALS, period="2024-Q2") == 0.5
    assert dict(renewal_rate(RENEWALS, period="2024-Q2", by="owner")) == {"ana": 0.5, "bo": 0.5}
    assert renewal_rate(RENEWALS, period=None) == pytest.approx(2 / 5)
    assert renewal_rate(RENEWALS, period="2024-Q2", renewal="new") == 1.0


def test_renewal_rate_unknown_label_and_field():
    with pytest.warns(DataQualityWarning, match=r"no deal has type 'Renewal'.*'new'"):
        assert math.isnan(renewal_rate(RENEWALS, period="2024-Q2", renewal="Renewal"))
    with pytest.raises(DataError, match=r"renewal_rate\(\): type_field='kind'.*unknown field"):
        renewal_rate(RENEWALS, period="2024-Q2", type_field="kind")


# Accounts won in 2024-Q1: Acme, Bolt, Core; in Q2: Acme, Core, Dyn (Bolt's Q2 deal is lost):
# 2 of 3 kept.
ACCOUNTS = pipeline([
    ("Won", "2024-01-01", "2024-01-10", {"account": "Acme"}),
    ("Won", "2024-01-01", "2024-02-10", {"account": "Bolt"}),
    ("Won", "2024-01-01", "2024-03-10", {"account": "Core"}),
    ("Won", "2024-01-01", "2024-03-11", {"account": "Core"}),
    ("Won", "2024-01-01", "2024-04-10", {"account": "Acme"}),
    ("Lost", "2024-01-01", "2024-04-10", {"account": "Bolt"}),
    ("Won", "2024-01-01", "2024-05-10", {"account": "Core"}),
    ("Won", "2024-01-01", "2024-06-10", {"account": "Dyn"}),
])


def test_logo_retention_worked_example():
    assert logo_retention(ACCOUNTS, period="2024-Q2") == pytest.approx(2 / 3)
    assert math.isnan(logo_retention(ACCOUNTS, period="2024-Q1"))  # nothing won in 2023-Q4
    assert logo_retention(ACCOUNTS, period="2024-Q1", zero_division=0) == 0.0
    assert logo_retention(ACCOUNTS, period="2024-03") == 0.0  # February: Bolt; March: Core


def test_logo_retention_missing_accounts_and_bad_options():
    p = pipeline([("Won", "2024-01-01", "2024-01-10", {"account": "Acme"}),
                  ("Won", "2024-01-01", "2024-04-10", {"account": None}),
                  ("Won", "2024-01-01", "2024-04-11", {"account": "Acme"})])
    with pytest.warns(DataQualityWarning, match="1 won deal .* has no account"):
        assert logo_retention(p, period="2024-Q2") == 1.0
    with pytest.raises(OptionError, match="period is required"):
        logo_retention(p, period=None)
    with pytest.raises(DataError, match="account_field='client'"):
        logo_retention(p, period="2024-Q2", account_field="client")


# -- peer scores ------------------------------------------------------------------------------
# All created 2024-01-01, period 2024-Q1 (every deal in play: N counts them all).
#   ana: 2 won of 10,000 in 30 days:               N 2, V 10,000, W 1,   L 30
#   bo:  1 won of 20,000 in 60 days, 1 lost:       N 2, V 20,000, W 1/2, L 60
#   cy:  1 won of 10,000 in 60 days, 2 lost:       N 3, V 10,000, W 1/3, L 60
#   dee: 1 lost:                                   N 1, V nan,    W 0,   L nan
# Medians: N 2, V 10,000, W (1/2 + 1/3) / 2 = 5/12, L 60.
def _peer_pipeline():
    rows = [("ana", "Closed won", 10_000, "2024-01-31"), ("ana", "Closed won", 10_000,
                                                          "2024-01-31"),
            ("bo", "Closed won", 20_000, "2024-03-01"), ("bo", "Closed lost", 5_000,
                                                         "2024-02-01"),
            ("cy", "Closed won", 10_000, "2024-03-01"), ("cy", "Closed lost", 1, "2024-02-01"),
            ("cy", "Closed lost", 1, "2024-02-01"), ("dee", "Closed lost", 1, "2024-02-01")]
    return Pipeline.from_deals([Deal(i, a, s, created="2024-01-01", close_date=d, owner=o)
                                for i, (o, s, a, d) in enumerate(rows)])


def test_peer_scores_worked_example():
    s = peer_scores(_peer_pipeline(), period="2024-Q1")
    assert list(s) == ["ana", "bo", "cy", "dee"]
    # Mid-rank percentiles, (below + (equal − 1) / 2) / (n − 1):
    # N [2, 2, 3, 1]: ana, bo (1 + 0.5) / 3 = 0.5, cy 1, dee 0.
    assert [s[o].opportunities for o in s] == [0.5, 0.5, 1.0, 0.0]
    # V over the 3 defined: [10k, 20k, 10k] → 0.25, 1, 0.25; dee nan.
    assert [s[o].average_deal_value for o in ["ana", "bo", "cy"]] == [0.25, 1.0, 0.25]
    assert math.isnan(s["dee"].average_deal_value)
    assert [s[o].win_rate for o in s] == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])
    assert [s[o].cycle_days for o in ["ana", "bo", "cy"]] == [1.0, 0.25, 0.25]  # shorter wins
    # overall = (N/2 × V/10,000 × W/(5/12) × 60/L) ** (1/4)
    assert s["ana"].overall == pytest.approx((1 * 1 * (12 / 5) * 2) ** 0.25)
    assert s["bo"].overall == pytest.approx((1 * 2 * (6 / 5) * 1) ** 0.25)
    assert s["cy"].overall == pytest.approx((1.5 * 1 * (4 / 5) * 1) ** 0.25)
    assert s["dee"].overall == 0.0  # nothing won: velocity 0
    assert s["ana"].velocity.win_rate == 1.0


def test_peer_scores_overall_is_the_fourth_root_of_relative_velocity():
    s = peer_scores(_peer_pipeline(), period="2024-Q1")
    median_rep = 2 * 10_000 * (5 / 12) / 60
    for owner in ("ana", "bo", "cy"):
        assert s[owner].overall ** 4 == pytest.approx(
            s[owner].velocity.revenue_per_day / median_rep)


def test_peer_scores_weights_print_and_options():
    only_w = peer_scores(_peer_pipeline(), period="2024-Q1", weights={"win_rate": 1})
    assert only_w["ana"].overall == pytest.approx(12 / 5)
    s = peer_scores(_peer_pipeline(), period="2024-Q1")
    text = repr(s)
    assert "peer_scores by owner" in text and "overall" in text and "100 %" in text
    assert list(s.to_pandas().columns) == ["opportunities", "average_deal_value", "win_rate",
                                           "cycle_days", "overall"]
    with pytest.raises(OptionError, match="weights"):
        peer_scores(_peer_pipeline(), period="2024-Q1", weights={"speed": 1})
    with pytest.raises(OptionError, match="weights"):
        peer_scores(_peer_pipeline(), period="2024-Q1", weights={"win_rate": -1})
    with pytest.raises(OptionError, match="by must name"):
        peer_scores(_peer_pipeline(), period="2024-Q1", by=None)
    with pytest.raises(OptionError, match="period is required"):
        peer_scores(_peer_pipeline(), period=None)


def test_peer_scores_median_win_rate_of_zero_uses_the_mean():
    # ana wins 1 of 1; bo loses 2; cy loses 1 (all created 01-01, ana's win on 01-31).
    # N [1, 2, 1]: median 1; W [1, 0, 0]: median 0, so the reference is the mean 1/3;
    # V and L: ana's alone (ratio 1). ana = (1 × 1 × 3 × 1) ** (1/4); bo, cy won nothing: 0.
    rows = [("ana", "Closed won", "2024-01-31"), ("bo", "Closed lost", "2024-02-01"),
            ("bo", "Closed lost", "2024-02-01"), ("cy", "Closed lost", "2024-02-01")]
    p = Pipeline.from_deals([Deal(i, 100, s, created="2024-01-01", close_date=d, owner=o)
                             for i, (o, s, d) in enumerate(rows)])
    s = peer_scores(p, period="2024-Q1")
    assert s["ana"].overall == pytest.approx(3 ** 0.25)
    assert s["bo"].overall == 0.0 and s["cy"].overall == 0.0
    # a lever of weight 0 plays no part: with opportunities alone, no win is no penalty
    n_only = peer_scores(p, period="2024-Q1", weights={"opportunities": 1})
    assert [n_only[o].overall for o in ("ana", "bo", "cy")] == [1.0, 2.0, 1.0]
    # the no-win 0 stays when the win rate is weighted at all
    assert peer_scores(p, period="2024-Q1",
                       weights={"opportunities": 1, "win_rate": 1})["bo"].overall == 0.0


def test_peer_scores_median_cycle_of_zero_is_finite():
    # ana wins 2 on the created day (L 0), bo 1 on the created day (L 0), cy 1 in 10 days.
    # Medians: N 1, V 100, W 1, L 0 → cycles count at least 1 day: ratios ana 1, bo 1, cy 1/10.
    rows = [("ana", "2024-01-01"), ("ana", "2024-01-01"), ("bo", "2024-01-01"),
            ("cy", "2024-01-11")]
    p = Pipeline.from_deals([Deal(i, 100, "Closed won", created="2024-01-01", close_date=d,
                                  owner=o) for i, (o, d) in enumerate(rows)])
    s = peer_scores(p, period="2024-Q1")
    assert s["ana"].overall == pytest.approx(2 ** 0.25)
    assert s["bo"].overall == 1.0
    assert s["cy"].overall == pytest.approx(0.1 ** 0.25)


def test_peer_scores_on_the_sample_teams():
    p = sm.datasets.sample_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        s = peer_scores(p, period="2024-Q4", by="team")
    assert set(s) == {"Enterprise", "Mid-market", "SMB"}
    assert sorted(s[t].win_rate for t in s) == [0.0, 0.5, 1.0]


# -- the Olist marketing funnel (../shared/data) ----------------------------------------------
def olist(shared_data):
    pd = pytest.importorskip("pandas")
    folder = shared_data / "olist-marketing-funnel"
    mql = pd.read_csv(folder / "olist_marketing_qualified_leads_dataset.csv")
    deals = pd.read_csv(folder / "olist_closed_deals_dataset.csv")
    leads = mql.merge(deals[["mql_id", "won_date"]], on="mql_id", how="left")
    leads["stage"] = leads["won_date"].notna().map({True: "Closed won",
                                                    False: "Initial contact"})
    leads["close_date"] = leads["won_date"].str[:10]
    return Pipeline.from_columns(
        leads, columns={"id": "mql_id", "created": "first_contact_date", "channel": "origin"},
        allow_close_before_created=True)


def test_olist_funnel(shared_data):
    p = olist(shared_data)
    assert new_leads(p) == 8_000
    assert lead_conversion(p) == 842 / 8_000
    by_channel = new_leads(p, by="channel")
    assert by_channel["organic_search"] == 2_296 and by_channel["paid_search"] == 1_586
    monthly = new_leads(p, freq="month")
    months = list(monthly)
    assert sum(monthly.values()) == 8_000 and (months[0], months[-1]) == ("2017-06", "2018-05")
    rates = lead_conversion(p, by="channel")
    won = {k: round(v * by_channel[k]) for k, v in rates.items()}
    assert sum(won.values()) == 842
