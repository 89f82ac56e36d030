"""Activities and the activity KPIs (issue 11): worked examples computed by hand, the table's
construction from every input kind, and properties (counts add up, required activity is linear
in the target)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics import Activities, Activity, Deal, Pipeline
from salesmetrics.datasets import SAMPLE_ACTIVITY_TARGETS, sample_activities, sample_pipeline
from salesmetrics.errors import DataQualityWarning

RECORDS = [
    Activity("T-1", "call", "ana", "2024-09-30", deal_id="D-1", fields={"team": "east"}),
    Activity("T-2", "call", "ana", "2024-10-01", deal_id="D-1", fields={"team": "east"}),
    Activity("T-3", "Meeting", "ana", "2024-10-08", deal_id="D-1", fields={"team": "east"}),
    Activity("T-4", "email", "bo", "2024-10-08", fields={"team": "east"}),
    Activity("T-5", "proposal", "bo", "2024-10-15", deal_id="D-2", fields={"team": "east"}),
    Activity("T-6", "demo", "cy", "2024-12-30", deal_id="D-2", fields={"team": "west"}),
]


def table() -> Activities:
    return Activities.from_records(RECORDS)


def columns() -> dict[str, list[object]]:
    return {
        "id": [r.id for r in RECORDS], "kind": [r.kind for r in RECORDS],
        "owner": [r.owner for r in RECORDS], "date": [r.date.isoformat() for r in RECORDS],
        "deal_id": [r.deal_id for r in RECORDS], "team": [r.fields["team"] for r in RECORDS],
    }


# -- the table ----------------------------------------------------------------------------------
def test_records_columns_and_csv_give_the_same_table(tmp_path):
    a = table()
    assert len(a) == 6 and a.kinds == ("email", "call", "meeting", "proposal", "demo")
    assert a == Activities.from_columns(columns(), columns={"team": "team"})
    path = tmp_path / "activities.csv"
    data = columns()
    lines = [",".join(data)] + [",".join("" if v is None else str(v) for v in row)
                                for row in zip(*data.values(), strict=True)]
    path.write_text("\n".join(lines) + "\n")
    assert a == Activities.read_csv(path, columns={"team": "team"})
    assert a.activity("T-3") == RECORDS[2]  # "Meeting" reads as the standard kind
    assert a.activity("T-3").kind == "meeting"


def test_frames_give_the_same_table():
    pd = pytest.importorskip("pandas")
    a = table()
    frame = pd.DataFrame(columns())
    frame["date"] = pd.to_datetime(frame["date"])
    assert a == Activities.from_columns(frame, columns={"team": "team"})
    pl = pytest.importorskip("polars")
    assert a == Activities.from_columns(pl.from_pandas(frame), columns={"team": "team"})
    pa = pytest.importorskip("pyarrow")
    assert a == Activities.from_columns(pa.Table.from_pandas(frame), columns={"team": "team"})


def test_the_table_owns_read_only_columns():
    data = columns()
    data["date"] = np.array(data["date"], dtype="datetime64[D]")
    a = Activities.from_columns(data, columns={"team": "team"})
    data["date"][0] = np.datetime64("2000-01-01")
    assert a.dates[0] == np.datetime64("2024-09-30")
    for arr in (a.ids, a.dates, a.codes("kind"), a.codes("owner")):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[1]
    assert "6 activities" in repr(a) and "fields: team" in repr(a)


def test_kind_codes_put_standard_kinds_first():
    a = table()
    assert a.categories("kind").tolist() == ["email", "call", "meeting", "proposal", "demo"]
    assert a.codes("kind").tolist() == [1, 1, 2, 0, 3, 4]
    assert a.dates.dtype == np.dtype("datetime64[D]")


# -- activity_counts ---------------------------------------------------------------------------
def test_counts_by_owner_and_kind():
    t = sm.activity_counts(table())
    assert t.rows() == [
        {"owner": "ana", "kind": "call", "count": 2},
        {"owner": "ana", "kind": "meeting", "count": 1},
        {"owner": "bo", "kind": "email", "count": 1},
        {"owner": "bo", "kind": "proposal", "count": 1},
        {"owner": "cy", "kind": "demo", "count": 1},
    ]
    assert sm.activity_counts(table(), by=None)["count"].tolist() == [6]


def test_counts_per_iso_week_month_and_quarter():
    # 2024-09-30 (Mon) and 10-01 are ISO week 40; 10-08 week 41; 10-15 week 42; 2024-12-30 is
    # the Monday of ISO week 1 of 2025.
    t = sm.activity_counts(table(), by=None, freq="week")
    assert dict(zip(t["week"], t["count"], strict=True)) == {
        "2024-W40": 2, "2024-W41": 2, "2024-W42": 1, "2025-W01": 1}
    t = sm.activity_counts(table(), by="team", freq="month", period="2024-Q4")
    assert t.rows() == [
        {"team": "east", "month": "2024-10", "count": 4},
        {"team": "west", "month": "2024-12", "count": 1},
    ]
    t = sm.activity_counts(table(), by="kind", freq="quarter")
    assert ("call", "2024-Q3", 1) in zip(t["kind"], t["quarter"], t["count"], strict=True)
    frame = t.to_pandas()
    assert list(frame.columns) == ["kind", "quarter", "count"] and frame["count"].sum() == 6


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["call", "email", "x"]), st.sampled_from(["a", "b", None]),
                       st.integers(0, 200)), max_size=40),
    st.sampled_from([None, "owner", "kind", ("owner", "kind"), ("kind", "deal_id")]),
    st.sampled_from([None, "week", "month", "quarter"]),
    st.sampled_from([None, "2024-Q2", "2024-06"]),
)
def test_counts_per_group_sum_to_the_total(rows, by, freq, period):
    start = np.datetime64("2024-04-01")
    a = Activities.from_columns({
        "id": list(range(len(rows))), "kind": [r[0] for r in rows],
        "owner": [r[1] for r in rows], "deal_id": [None if i % 3 else f"D{i % 4}"
                                                  for i in range(len(rows))],
        "date": np.array([start + r[2] for r in rows], dtype="datetime64[D]"),
    })
    t = sm.activity_counts(a, by=by, period=period, freq=freq)
    inside = len(a) if period is None else int(sm.Period.parse(period).contains(a.dates).sum())
    assert int(np.sum(t["count"])) == inside
    assert (t["count"] > 0).all() or (by is None and freq is None)


# -- activity_vs_target --------------------------------------------------------------------------
def test_vs_target_per_owner_week_with_an_owner_without_activity():
    t = sm.activity_vs_target(table(), targets={"call": 2, "email": 1}, period="2024-10",
                              owners=["ana", "bo", "dee"])
    frame = t.to_pandas().set_index(["owner", "kind", "week"])
    # October 2024 touches ISO weeks 40 (from Tue 1 Oct) to 44: 5 weeks × 2 kinds × 3 owners.
    assert len(frame) == 30
    assert frame.loc[("ana", "call", "2024-W40")].tolist() == [1, 2.0, 0.5, -1.0]  # T-1 is Sept
    assert frame.loc[("bo", "email", "2024-W41")].tolist() == [1, 1.0, 1.0, 0.0]
    assert (frame.loc["dee", "count"] == 0).all() and (frame.loc["dee", "gap"] < 0).all()


def test_vs_target_prorates_weeks_cut_by_the_period():
    t = sm.activity_vs_target(table(), targets={"call": 7}, period="2024-10", prorate=True,
                              owners=["ana"])
    # W40 has 6 of its days in October, W44 (28 Oct – 3 Nov) 4: 7 × 6/7 = 6 and 7 × 4/7 = 4.
    assert t["target"].tolist() == pytest.approx([6.0, 7.0, 7.0, 7.0, 4.0])
    assert sm.activity_vs_target(table(), targets={"call": 7}, period="2024-10",
                                 owners=["ana"])["target"].tolist() == [7.0] * 5


def test_vs_target_by_team_multiplies_by_its_owners():
    t = sm.activity_vs_target(table(), targets={"call": 2}, period="2024-10", by="team",
                              freq="month")
    # east has ana and bo (2 owners): 2 × 2 = 4 calls in October, and made 1 (T-2).
    assert t.rows()[0] == {"team": "east", "kind": "call", "month": "2024-10", "count": 1,
                           "target": 4.0, "attainment": 0.25, "gap": -3.0}
    t = sm.activity_vs_target(table(), targets={"call": 2}, period="2024-10", by="team",
                              freq="month", owners={"east": ["ana", "bo", "x"], "north": []})
    assert t["team"].tolist() == ["east", "north"] and t["target"].tolist() == [6.0, 0.0]
    assert math.isnan(t["attainment"][1])  # a target of 0: nan, never inf


def test_vs_target_team_size_counts_owners_seen_in_the_period():
    # west's only owner (cy) is active in December: in October west has no owner, target 0
    t = sm.activity_vs_target(table(), targets={"call": 2}, period="2024-10", by="team",
                              freq="month")
    assert t["team"].tolist() == ["east", "west"] and t["target"].tolist() == [4.0, 0.0]
    q4 = sm.activity_vs_target(table(), targets={"call": 2}, period="2024-Q4", by="team",
                               freq="quarter")
    assert q4["target"].tolist() == [4.0, 2.0]  # east: ana, bo; west: cy (T-6 in December)
    # an owner active only before the period does not count: ana's T-1 is 30 September
    sept = Activities.from_records([
        Activity("S-1", "call", "ana", "2024-09-30", fields={"team": "east"}),
        Activity("S-2", "call", "bo", "2024-10-02", fields={"team": "east"})])
    assert sm.activity_vs_target(sept, targets={"call": 2}, period="2024-10", by="team",
                                 freq="month")["target"].tolist() == [2.0]


def test_vs_target_duplicate_kinds_are_an_error():
    with pytest.raises(sm.errors.DataError, match=r"'follow_up' and 'Follow-up'.*follow_up"):
        sm.activity_vs_target(table(), targets={"follow_up": 3, "Follow-up": 4},
                              period="2024-10")


def test_vs_target_warns_on_a_target_kind_no_activity_has():
    # "cals" is a typo of "call": no activity has it, so its count is 0 for everyone; "call"
    # is there (ana: T-2 in October) and "demo" too, though none in the period.
    with pytest.warns(DataQualityWarning, match=(
            r"activity_vs_target\(\): 1 target kind \('cals'\) has no activities at all, so "
            r"its count and attainment are 0 for everyone; the activities' kinds are 'email', "
            r"'call', 'meeting', 'proposal', 'demo'. Fix: spell the targets' kinds")):
        t = sm.activity_vs_target(table(), targets={"cals": 2, "call": 1}, period="2024-10",
                                  freq="month")
    assert t.to_pandas().set_index(["owner", "kind"])["count"].to_dict() == {
        ("ana", "cals"): 0, ("ana", "call"): 1, ("bo", "cals"): 0, ("bo", "call"): 0,
        ("cy", "cals"): 0, ("cy", "call"): 0}
    with warnings.catch_warnings():  # a kind with activities outside the period: no warning
        warnings.simplefilter("error")
        sm.activity_vs_target(table(), targets={"demo": 1}, period="2024-10", freq="month")


def test_vs_target_prorate_accepts_only_bools():
    with pytest.raises(sm.errors.DataTypeError, match="prorate must be True or False, got 1"):
        sm.activity_vs_target(table(), targets={"call": 1}, period="2024-10", prorate=1)


def test_vs_target_warns_on_activities_without_owner():
    a = Activities.from_records([
        Activity("N-1", "call", "ana", "2024-10-02"),
        Activity("N-2", "call", None, "2024-10-03"),
        Activity("N-3", "call", None, "2024-10-04"),
        Activity("N-4", "email", None, "2024-10-04"),   # not a target kind: not counted anyway
        Activity("N-5", "call", None, "2024-09-04")])   # before the period
    with pytest.warns(DataQualityWarning, match="2 activities in the period have no owner.*"
                      "left out.*Fix"):
        t = sm.activity_vs_target(a, targets={"call": 1}, period="2024-10", freq="month")
    assert t["owner"].tolist() == ["ana"] and t["count"].tolist() == [1]


def test_sample_has_no_activity_after_its_deal_closed():
    p, a = sample_pipeline(), sample_activities()
    deal = a.categories("deal_id")[a.codes("deal_id")]
    linked = np.flatnonzero(deal != None)  # noqa: E711
    row = np.searchsorted(p.ids, deal[linked].astype(p.ids.dtype), sorter=np.argsort(p.ids))
    row = np.argsort(p.ids)[row]
    assert (p.ids[row] == deal[linked]).all()
    closed = p.outcome_codes[row] != sm.domain.stage.OPEN
    close = p.close_date.astype("datetime64[D]")[row]
    assert not (closed & (a.dates[linked] > close)).any()
    # meetings and proposals only on deals that reached the stage (or a later open one) by
    # their close: their history has such an event on or before the close date
    h = p.history
    by_close = (p.outcome_codes[h.rows] == sm.domain.stage.OPEN) | ~(
        h.dates.astype("datetime64[D]") > p.close_date.astype("datetime64[D]")[h.rows])
    kinds = a.categories("kind")[a.codes("kind")]
    for kind, stage in (("meeting", "Meeting"), ("proposal", "Proposal")):
        code = p.stage_names.index(stage)
        reached = np.zeros(len(p), dtype=bool)
        reached[h.rows[by_close & (h.stages >= code) & (h.stages < p.n_open_stages)]] = True
        assert reached[row[kinds[linked] == kind]].all()
    assert len(a) == 31_925  # the same draws: only dates moved


def test_vs_target_on_the_sample_prints():
    t = sm.activity_vs_target(sample_activities(), targets=SAMPLE_ACTIVITY_TARGETS,
                              period="2024-Q4")
    assert len(t) == 12 * 5 * 14  # owners × kinds × ISO weeks W40..2025-W01
    assert "more rows" in repr(t) and "<table>" in t._repr_html_()


# -- activity_ratios and required_activity --------------------------------------------------------
def pipeline() -> Pipeline:
    return Pipeline.from_deals([
        Deal("D-1", 1000, "Closed won", created="2024-10-01", close_date="2024-10-20",
             owner="ana"),
        Deal("D-2", 1000, "Proposal", created="2024-10-02", owner="bo"),
        Deal("D-3", 1000, "Closed lost", created="2024-11-02", close_date="2024-11-20",
             owner="bo"),
    ])


def test_ratios_worked_example():
    r = sm.activity_ratios(table(), pipeline(), period="2024-Q4")
    # In Q4: calls T-2, meeting T-3, email T-4, proposal T-5, demo T-6; 3 deals created, 1 won.
    assert (r.opportunities, r.wins) == (3, 1)
    assert r.activities == {"email": 1, "call": 1, "follow_up": 0, "meeting": 1, "proposal": 1,
                            "demo": 1}
    assert r.per_opportunity["call"] == pytest.approx(1 / 3)
    assert r.activities_per_opportunity == pytest.approx(5 / 3)
    assert (r.meetings_per_proposal, r.proposals_per_win) == (1.0, 1.0)
    # Joined on deal_id: D-1 (won in Q4) has T-1 and T-2 (calls, any date) and T-3 (meeting).
    assert r.per_won_deal["call"] == 2.0 and r.per_won_deal["meeting"] == 1.0
    assert r.to_pandas().loc["call", "per_won_deal"] == 2.0
    by = sm.activity_ratios(table(), pipeline(), period="2024-Q4", by="owner")
    assert list(by) == ["ana", "bo", "cy"]
    assert (by["bo"].opportunities, by["bo"].wins, by["bo"].activities["email"]) == (2, 0, 1)
    assert math.isnan(by["bo"].proposals_per_win)  # no win: nan, never inf
    assert by["cy"].opportunities == 0 and math.isnan(by["cy"].per_opportunity["demo"])


def test_ratios_warn_on_deals_without_a_created_date():
    p = Pipeline.from_deals([
        Deal("D-1", 1000, "Closed won", created="2024-10-01", close_date="2024-10-20"),
        Deal("D-2", 1000, "Proposal"),  # no created date: in no opportunity count
        Deal("D-3", 1000, "Proposal")])
    for period in ("2024-Q4", None):
        with pytest.warns(DataQualityWarning, match="activity_ratios\\(\\): 2 deals have no "
                          "created date.*opportunities.*Fix"):
            r = sm.activity_ratios(table(), p, period=period)
        assert r.opportunities == 1 and r.wins == 1


def test_required_activity_reuses_plan():
    p, a = sample_pipeline(), sample_activities()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        r = sm.required_activity(p, a, target=1_700_000, period="2025-Q1", weeks=13)
        funnel = sm.plan(p, target=1_700_000, period="2025-Q1", weeks=13)
        history = sm.activity_ratios(a, p, period=sm.Period("2022-12-11", "2025-01-01"))
    first = next(iter(funnel))
    assert r.opportunities_needed == pytest.approx(funnel[first])
    for kind in ("email", "call", "meeting", "proposal"):
        expected = funnel[first] * history.per_opportunity[kind] / 13
        assert r[kind] == pytest.approx(expected)
        assert r.per_day[kind] == pytest.approx(expected / 5)
    assert list(r.to_pandas().columns) == ["per_opportunity", "per_period", "per_week",
                                           "per_day"]
    assert repr(r).startswith("required_activity:")


@settings(max_examples=15, deadline=None)
@given(st.floats(1_000, 5_000_000), st.floats(0.1, 10))
def test_required_activity_is_linear_in_the_target(target, factor):
    p, a = sample_pipeline(), sample_activities()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        one = sm.required_activity(p, a, target=target, period="2025-Q1")
        scaled = sm.required_activity(p, a, target=target * factor, period="2025-Q1")
    for kind in one:
        assert scaled[kind] == pytest.approx(one[kind] * factor, rel=1e-9)


# -- the sample and the plot ---------------------------------------------------------------------
def test_sample_is_consistent_with_the_pipeline():
    p, a = sample_pipeline(), sample_activities()
    assert set(a.categories("owner").tolist()) == set(p.categories("owner").tolist())
    linked = a.labels("deal_id").decoded()
    linked = linked[linked != None]  # noqa: E711
    assert set(linked.tolist()) <= set(p.ids.tolist()) and len(linked) > 5000
    assert a.dates.max() <= np.datetime64(sm.datasets.SAMPLE_AS_OF)
    sample_activities.cache_clear()
    assert sample_activities() == a  # deterministic


def test_plot_activity_vs_target():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = sm.plot.activity_vs_target(sample_activities(), targets=SAMPLE_ACTIVITY_TARGETS,
                                    period="2024-Q4")
    assert ax.get_title() == "Activity vs target: all kinds — 2024-Q4"
    assert len(ax.texts) == 12 * 14 and ax.get_xticklabels()[-1].get_text() == "W01"
    with pytest.raises(sm.errors.OptionError, match="'meeting'"):
        sm.plot.activity_vs_target(table(), targets={"call": 1}, period="2024-10",
                                   kind="meeting")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_an_empty_table_gives_zeros_and_nan_never_inf():
    e = Activities.from_columns({"id": [], "kind": [], "date": []})
    assert len(e) == 0 and repr(e) == "Activities(0 activities; 0 owners)"
    assert len(sm.activity_counts(e)) == 0
    assert sm.activity_counts(e, by=None)["count"].tolist() == [0]
    t = sm.activity_vs_target(e, targets={"call": 1}, period="2024-10", owners=["ana"])
    assert t["count"].tolist() == [0] * 5 and t["attainment"].tolist() == [0.0] * 5
    r = sm.activity_ratios(e, pipeline())
    assert r.per_opportunity["call"] == 0.0 and math.isnan(r.meetings_per_proposal)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        need = sm.required_activity(pipeline(), e, target=1000, period="2025-Q1")
    assert any("no activity is dated before" in str(w.message) for w in caught)
    assert all(math.isnan(v) for v in need.values())


def test_inputs_are_left_unchanged():
    data = columns()
    before = {k: list(v) for k, v in data.items()}
    a = Activities.from_columns(data, columns={"team": "team"})
    targets = {"Call": 2}
    sm.activity_vs_target(a, targets=targets, period="2024-10")
    sm.activity_counts(a, freq="week")
    assert data == before and targets == {"Call": 2}
    kept = a.filter(a.codes("kind") == 1)
    assert len(kept) == 2 and len(a) == 6 and set(kept.activity("T-2").kind) == set("call")
    assert kept.kinds == a.kinds  # the codes keep their meaning in a filtered table
