"""Pipeline inspection: time in stage, deal age, hygiene and concentration (issue 10).

Worked examples with answers computed by hand (in the comments), Hypothesis properties, and
every error path."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics import Pipeline
from salesmetrics.errors import DataError, DataQualityWarning, DataTypeError, OptionError
from salesmetrics.metrics._findings import HYGIENE_CODES

NAN = math.nan


def stages_pipeline() -> Pipeline:
    """A won (re-entered Discovery and Proposal), B lost (no closing event), C open in Proposal
    (skipped Discovery), D open with no history, E open created after 2024-03-01.

    Visits [days]:
      A: Initial contact 01-01→01-11 = 10; Discovery 01-11→01-21 = 10; Proposal 01-21→01-26 = 5;
         Discovery 01-26→02-05 = 10; Proposal 02-05→02-20 = 15 (then Closed won).
      B: Initial contact 01-01→01-07 = 6; Discovery 01-07→close 01-31 = 24.
      C: Initial contact 01-01→01-03 = 2; Proposal from 01-03, current (to 03-01: 58).
    """
    history = {
        "id": ["A"] * 6 + ["B"] * 2 + ["C"] * 2,
        "stage": ["Initial contact", "Discovery", "Proposal", "Discovery", "Proposal",
                  "Closed won", "Initial contact", "Discovery", "Initial contact", "Proposal"],
        "date": ["2024-01-01", "2024-01-11", "2024-01-21", "2024-01-26", "2024-02-05",
                 "2024-02-20", "2024-01-01", "2024-01-07", "2024-01-01", "2024-01-03"],
    }
    return Pipeline.from_columns(
        {"id": ["A", "B", "C", "D", "E"],
         "stage": ["Closed won", "Closed lost", "Proposal", "Discovery", "Meeting"],
         "amount": [100.0, 100.0, 100.0, 100.0, 100.0],
         "owner": ["ana", "bo", "ana", "bo", "bo"],
         "created": ["2024-01-01", "2024-01-01", "2024-01-01", "2024-02-01", "2024-03-05"],
         "close_date": ["2024-02-20", "2024-01-31", "2024-04-01", "2024-04-01", "2024-05-01"]},
        currency="USD", history=history)


def same(a: object, b: dict[str, float]) -> bool:
    return dict(a) == pytest.approx(b, nan_ok=True)  # type: ignore[call-overload]


# -- time_in_stage: worked examples ---------------------------------------------------------------
def test_time_in_stage_cumulative_mean():
    t = sm.time_in_stage(stages_pipeline())
    # Initial contact: A 10, B 6, C 2 → 6; Discovery: A 10+10, B 24 → 22; Proposal: A 5+15
    # (C's current visit left out) → 20; Meeting and Negotiation: nobody.
    assert same(t, {"Initial contact": 6.0, "Discovery": 22.0, "Meeting": NAN, "Proposal": 20.0,
                    "Negotiation": NAN})
    assert t.deals == {"Initial contact": 3, "Discovery": 2, "Meeting": 0, "Proposal": 1,
                       "Negotiation": 0}
    assert "time_in_stage (mean)" in repr(t) and "22.0 days" in repr(t)
    assert t.to_pandas().loc["Discovery", "days"] == 22.0


def test_time_in_stage_latest_visit():
    t = sm.time_in_stage(stages_pipeline(), reentry="latest")
    # Discovery: A's last visit 10, B 24 → 17; Proposal: A's last 15.
    assert same(t, {"Initial contact": 6.0, "Discovery": 17.0, "Meeting": NAN, "Proposal": 15.0,
                    "Negotiation": NAN})


def test_time_in_stage_include_open():
    t = sm.time_in_stage(stages_pipeline(), include_open=True, as_of="2024-03-01")
    # C in Proposal from 01-03 to 03-01: 28 (rest of Jan) + 29 (Feb) + 1 = 58; with A's 20 → 39.
    assert t["Proposal"] == 39.0 and t.deals["Proposal"] == 2
    assert sm.time_in_stage(stages_pipeline(), outcome="open", include_open=True,
                            as_of="2024-03-01")["Proposal"] == 58.0
    # an as_of before the visit started: the visit is not counted (nothing negative), and
    # events after as_of are ignored: on 01-02 A, B and C are each 1 day into Initial contact
    early = sm.time_in_stage(stages_pipeline(), include_open=True, as_of="2024-01-02")
    assert math.isnan(early["Proposal"]) and early.deals["Proposal"] == 0
    assert early["Initial contact"] == 1.0 and early.deals["Initial contact"] == 3


def test_time_in_stage_as_of_in_the_past_ignores_later_events():
    p = Pipeline.from_deals([sm.Deal(
        "B", 50, "Proposal", created="2024-01-10",
        history=[("Meeting", "2024-01-10"), ("Proposal", "2024-02-11")])])
    # on 02-01 B is in Meeting since 01-10: 21 (rest of Jan) + 1 = 22 days, still running;
    # Proposal (entered 02-11, after as_of) is not counted
    t = sm.time_in_stage(p, include_open=True, as_of="2024-02-01")
    assert t["Meeting"] == 22.0 and t.deals["Meeting"] == 1
    assert math.isnan(t["Proposal"]) and t.deals["Proposal"] == 0
    # without include_open the visit still running on as_of is unfinished: left out
    assert math.isnan(sm.time_in_stage(p, as_of="2024-02-01")["Meeting"])
    # the same as the pipeline as it stood on that day
    past = sm.time_in_stage(p.as_of("2024-02-01"), include_open=True, as_of="2024-02-01")
    assert same(t, dict(past))
    # a closed deal with no closing event, closing after as_of: open on as_of
    won = Pipeline.from_deals([sm.Deal("W", 50, "Closed won", created="2024-01-10",
                                       close_date="2024-03-01",
                                       history=[("Meeting", "2024-01-10")])])
    assert sm.time_in_stage(won, include_open=True, as_of="2024-02-01")["Meeting"] == 22.0
    assert sm.time_in_stage(won)["Meeting"] == 51.0  # 01-10 → 03-01


def test_time_in_stage_outcome_and_statistics():
    p = stages_pipeline()
    assert same(sm.time_in_stage(p, outcome="won"),
                {"Initial contact": 10.0, "Discovery": 20.0, "Meeting": NAN, "Proposal": 20.0,
                 "Negotiation": NAN})
    assert sm.time_in_stage(p, outcome="lost")["Discovery"] == 24.0
    assert sm.time_in_stage(p, outcome="closed")["Initial contact"] == 8.0  # (10 + 6) / 2
    # Initial contact days [2, 6, 10]: median 6; 75th percentile at rank 1.5: 6 + 0.5·4 = 8
    assert sm.time_in_stage(p, statistic="median")["Initial contact"] == 6.0
    assert sm.time_in_stage(p, statistic=75)["Initial contact"] == 8.0
    assert "p75" in repr(sm.time_in_stage(p, statistic=75))
    assert math.isnan(sm.time_in_stage(p, statistic="median")["Meeting"])


def test_time_in_stage_by_owner():
    r = sm.time_in_stage(stages_pipeline(), by="owner")
    # ana: A and C; bo: B (D, E have no visits but are bo's deals)
    assert list(r) == ["ana", "bo"]
    assert same(r["ana"], {"Initial contact": 6.0, "Discovery": 20.0, "Meeting": NAN,
                           "Proposal": 20.0, "Negotiation": NAN})
    assert r["bo"]["Discovery"] == 24.0
    frame = r.to_pandas()
    assert frame.loc["ana", "Initial contact"] == 6.0
    assert "time_in_stage by owner" in repr(r)


def test_time_in_stage_without_history_is_an_error():
    p = Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "amount": [1.0]})
    with pytest.raises(DataError, match=r"stage history.*history="):
        sm.time_in_stage(p)


def test_time_in_stage_warns_on_visits_that_end_before_they_start():
    # B closed on 01-05, but its history says it entered Discovery on 01-07 (no closing event)
    p = Pipeline.from_columns(
        {"id": ["B"], "stage": ["Closed lost"], "amount": [1.0], "created": ["2024-01-01"],
         "close_date": ["2024-01-05"]},
        history={"id": ["B", "B"], "stage": ["Initial contact", "Discovery"],
                 "date": ["2024-01-01", "2024-01-07"]})
    with pytest.warns(DataQualityWarning, match="1 visit that ends before it starts"):
        t = sm.time_in_stage(p)
    assert t["Initial contact"] == 6.0 and math.isnan(t["Discovery"])


def test_time_in_stage_does_not_change_its_input():
    p = stages_pipeline()
    before = p.history.dates.copy()
    sm.time_in_stage(p, include_open=True, reentry="latest", statistic=90)
    assert np.array_equal(p.history.dates, before)


# -- deal_age ---------------------------------------------------------------------------------
def test_deal_age_worked_example():
    a = sm.deal_age(stages_pipeline(), as_of="2024-03-01")
    # open deals C, D (E is created after as_of): C age 01-01→03-01 = 60, in Proposal since
    # 01-03: 58; D has no history: created 02-01 → 29 days, and in its stage as long.
    assert a.ids.tolist() == ["C", "D"]
    assert a.age.tolist() == [60.0, 29.0] and a.days_in_stage.tolist() == [58.0, 29.0]
    by_stage = a.mean_by_stage()
    assert by_stage["Proposal"] == (1, 60.0, 58.0) and by_stage["Discovery"] == (1, 29.0, 29.0)
    assert by_stage["Meeting"][0] == 0 and math.isnan(by_stage["Meeting"][1])
    assert a.to_pandas().columns.tolist() == ["id", "stage", "age", "days_in_stage"]
    assert "deal_age as of 2024-03-01: 2 open deals" in repr(a)
    assert "<table>" in a._repr_html_()


def test_deal_age_without_history_warns_and_counts_from_creation():
    p = Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "amount": [1.0],
                               "created": ["2024-01-01"]})
    with pytest.warns(DataQualityWarning, match="no stage history"):
        a = sm.deal_age(p, as_of="2024-01-11")
    assert a.days_in_stage.tolist() == [10.0] == a.age.tolist()


def test_deal_age_without_a_date_on_record_prints_words_not_nat():
    empty = sm.deal_age(Pipeline.from_deals([]))
    assert repr(empty).splitlines()[0] == ("deal_age with no date on record to count ages to "
                                           "(give as_of=): 0 open deals")
    with pytest.warns(DataQualityWarning, match="no stage history"):
        dateless = sm.deal_age(Pipeline.from_deals([sm.Deal("A", 1, "Proposal")]))
    assert "NaT" not in repr(dateless) and "1 open deal" in repr(dateless)


@pytest.mark.parametrize("flag", [1, 0, "yes", None])
def test_time_in_stage_include_open_accepts_only_bools(flag):
    # as pipeline_changes(weighted=1) is refused: 1 is not True
    with pytest.raises(OptionError, match=rf"include_open must be True or False, got "
                                            rf"{flag!r}"):
        sm.time_in_stage(stages_pipeline(), include_open=flag)
    numpy_true = sm.time_in_stage(stages_pipeline(), include_open=np.bool_(True))
    assert repr(numpy_true) == repr(sm.time_in_stage(stages_pipeline(), include_open=True))


# -- hygiene --------------------------------------------------------------------------------------
def hygiene_pipeline() -> Pipeline:
    return Pipeline.from_columns(
        {"id": ["H1", "H2", "H3", "H4"],
         "stage": ["Proposal", "Discovery", "Closed won", "Meeting"],
         "amount": [100.0, NAN, 200.0, 50.0],
         "owner": ["ana", None, "bo", "bo"],
         "probability": [NAN, 0.5, NAN, 0.4],
         "created": ["2024-01-01", "2024-01-01", "2024-01-01", "2024-02-01"],
         "close_date": ["2024-02-15", None, "2024-03-10", "2024-04-01"]},
        currency="USD",
        history={"id": ["H1", "H4"], "stage": ["Proposal", "Meeting"],
                 "date": ["2024-02-10", "2024-02-01"]})


def test_hygiene_worked_example():
    h = sm.hygiene(hygiene_pipeline(), as_of="2024-03-01")
    # H1: close 02-15 is 15 days before 03-01 (past_due); last change 02-10, 20 days: not stalled.
    # H2: no history, created 01-01: 60 days idle (stalled); no amount, no close date, no owner;
    #     probability 50 % against Discovery's 10 %: 40 points > 20 (mismatch).
    # H3: won, but closes 03-10, after as_of (future_close).
    # H4: in Meeting since 02-01: 29 days < 30; 40 % vs 30 % is 10 points: nothing.
    assert list(zip(h.ids.tolist(), h.codes.tolist(), strict=True)) == [
        ("H1", "past_due"), ("H2", "stalled"), ("H2", "missing_amount"),
        ("H2", "missing_close_date"), ("H2", "missing_owner"), ("H2", "probability_mismatch"),
        ("H3", "future_close")]
    assert h.counts == dict.fromkeys(HYGIENE_CODES, 1)
    assert dict(h.by_owner) == {"ana": 1, "bo": 1, None: 5}
    assert h.n_deals == 3 and len(h) == 7
    messages = h.to_pandas().set_index("code")["message"]
    assert messages["past_due"] == "open, expected to close on 2024-02-15, 15 days ago"
    assert messages["stalled"] == "open, no stage change for 60 days (since 2024-01-01)"
    assert messages["missing_close_date"] == "open, no expected close date"
    assert messages["probability_mismatch"] == (
        "probability 50 % but its stage's is 10 % in stage Discovery")
    assert messages["future_close"] == (
        "closed, but its close date 2024-03-10 is after 2024-03-01")
    text = repr(h)
    assert text.startswith("hygiene as of 2024-03-01: 7 findings on 3 deals")
    assert "<table>" in h._repr_html_()


def test_hygiene_options():
    p = hygiene_pipeline()
    # H4 idle 29 days: stalled once stalled_after is 29
    assert sm.hygiene(p, as_of="2024-03-01", stalled_after=29).counts["stalled"] == 2
    assert sm.hygiene(p, as_of="2024-03-01", stalled_after=61).counts["stalled"] == 0
    # 40 points is not more than 0.4; 10 points (H4) is more than 0.05
    assert sm.hygiene(p, as_of="2024-03-01",
                      probability_tolerance=0.4).counts["probability_mismatch"] == 0
    assert sm.hygiene(p, as_of="2024-03-01",
                      probability_tolerance=0.05).counts["probability_mismatch"] == 2
    # a later day: H3's close date is no longer in the future, H4 is past due
    later = sm.hygiene(p, as_of="2024-04-02")
    assert later.counts["future_close"] == 0 and later.counts["past_due"] == 2


def test_hygiene_probability_mismatch_at_exactly_the_tolerance():
    # four deals exactly 20 points from their stage (0.8 − 0.6 is 0.20000000000000007 in
    # floats, 0.5 − 0.3 is 0.2, 0.3 − 0.1 is 0.19999999999999998): none is more than 0.2 away;
    # P5 is 21 points away and is the only finding
    p = Pipeline.from_columns(
        {"id": ["P1", "P2", "P3", "P4", "P5"],
         "stage": ["Negotiation", "Proposal", "Meeting", "Discovery", "Meeting"],
         "probability": [0.6, 0.8, 0.5, 0.3, 0.51], "amount": [1.0] * 5,
         "created": ["2024-01-01"] * 5, "close_date": ["2024-12-01"] * 5},
        history={"id": ["P1", "P2", "P3", "P4", "P5"], "stage": ["Negotiation", "Proposal",
                 "Meeting", "Discovery", "Meeting"], "date": ["2024-01-01"] * 5})
    h = sm.hygiene(p, as_of="2024-01-02")
    assert h.ids.tolist() == ["P5"] and h.codes.tolist() == ["probability_mismatch"]
    # with tolerance 0.19 all five are findings
    assert sm.hygiene(p, as_of="2024-01-02",
                      probability_tolerance=0.19).counts["probability_mismatch"] == 5


def test_hygiene_warns_on_open_deals_that_cannot_be_stalled():
    # N1, N2 open with neither a created date nor history; N3 closed (not checked); N4 open
    # with an event on 01-01 (checked: 90 days idle, stalled)
    p = Pipeline.from_columns(
        {"id": ["N1", "N2", "N3", "N4"], "stage": ["Proposal", "Meeting", "Closed lost",
                                                   "Meeting"],
         "amount": [1.0] * 4, "close_date": ["2024-05-01", "2024-05-01", "2024-01-05",
                                               "2024-05-01"]},
        history={"id": ["N4"], "stage": ["Meeting"], "date": ["2024-01-01"]})
    with pytest.warns(DataQualityWarning, match="2 open deals have neither a created date nor "
                      "a stage-history event on or before 2024-03-31.*stalled.*Fix"):
        h = sm.hygiene(p, as_of="2024-03-31")
    assert h.ids[h.codes == "stalled"].tolist() == ["N4"]


def test_hygiene_history_after_as_of_is_ignored():
    # H1's only event (02-10) is after as_of 02-05: idle counted from created 01-01 = 35 days
    h = sm.hygiene(hygiene_pipeline(), as_of="2024-02-05")
    assert ("H1", "stalled") in set(zip(h.ids.tolist(), h.codes.tolist(), strict=True))


def test_hygiene_without_owner_field_and_empty():
    p = Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "amount": [NAN],
                               "created": ["2024-01-01"], "close_date": ["2024-12-01"]})
    h = sm.hygiene(p, as_of="2024-01-05")
    assert h.codes.tolist() == ["missing_amount"]  # no owner field: missing_owner not checked
    assert dict(h.by_owner) == {None: 1}
    empty = sm.hygiene(p.filter(np.zeros(1, dtype=bool)), as_of="2024-01-05")
    assert len(empty) == 0 and sum(empty.counts.values()) == 0 and len(empty.by_owner) == 0
    assert empty.to_pandas().columns.tolist() == ["id", "code", "message"]
    assert "0 findings" in repr(empty)


def test_hygiene_on_the_sample_prints_and_counts():
    p = sm.datasets.sample_pipeline()
    h = sm.hygiene(p, as_of=p.latest_date)
    assert sum(h.counts.values()) == len(h) == sum(h.by_owner.values())
    assert h.counts["missing_amount"] == int(p.amount_missing.sum())
    assert "… and" in repr(h)


# -- concentration --------------------------------------------------------------------------------
def concentration_pipeline() -> Pipeline:
    return Pipeline.from_columns(
        {"id": list("ABCDEFG"),
         "stage": ["Proposal"] * 5 + ["Closed won", "Proposal"],
         "amount": [600.0, 300.0, 50.0, 30.0, 20.0, 10_000.0, 5_000.0],
         "owner": ["ana", "bo", "ana", "bo", "bo", "ana", "ana"],
         "close_date": ["2024-03-01"] * 6 + ["2024-05-01"]},
        currency="USD")


def test_concentration_worked_example():
    c = sm.concentration(concentration_pipeline(), top=2, period="2024-Q1")
    # open in Q1: 600, 300, 50, 30, 20 (total 1,000; the won deal and G in Q2 are not counted)
    # top 2: 900 / 1,000 = 0.9; hhi = .36 + .09 + .0025 + .0009 + .0004 = 0.4538
    assert c.total == 1000.0 and c.deals == 5 and c.top_share == 0.9
    assert c.hhi == pytest.approx(0.4538, abs=1e-12)
    # rocks > 10 %: 600, 300; stones 1–10 %: 50, 30, 20; pebbles < 1 %: none
    assert c.bands == {"rocks": sm.metrics.health_checks.Band(900.0, 2),
                       "stones": sm.metrics.health_checks.Band(100.0, 3),
                       "pebbles": sm.metrics.health_checks.Band(0.0, 0)}
    # thresholds (50 %, 4 %): rock 600; stones 300, 50; pebbles 30, 20
    t = sm.concentration(concentration_pipeline(), period="2024-Q1", thresholds=(0.5, 0.04))
    assert [(b.value, b.count) for b in t.bands.values()] == [(600.0, 1), (350.0, 2), (50.0, 2)]
    assert t.top_share == 1.0  # top 5 of 5 deals
    assert "USD 1,000.00" in repr(c) and "90.0 %" in repr(c)
    assert c.to_pandas()["rocks_count"] == 2 and c.to_dict()["hhi"] == c.hhi


def test_concentration_by_owner():
    r = sm.concentration(concentration_pipeline(), top=1, by="owner")
    # ana open: 600, 50, 5,000 → top 5,000/5,650; bo: 300, 30, 20 → 300/350
    assert r["ana"].total == 5650.0 and r["ana"].top_share == pytest.approx(5000 / 5650)
    assert r["bo"].top_share == pytest.approx(300 / 350)
    assert r.to_pandas().loc["bo", "deals"] == 3
    assert "concentration by owner" in repr(r)


def test_concentration_nothing_open_is_nan():
    c = sm.concentration(concentration_pipeline(), period="2030-Q1")
    assert c.total == 0.0 and c.deals == 0 and math.isnan(c.top_share) and math.isnan(c.hhi)


def test_concentration_zero_total_has_empty_bands_and_warns():
    p = Pipeline.from_columns({"id": ["A", "B", "C"], "stage": ["Proposal"] * 3,
                               "amount": [0.0, 0.0, 10.0], "owner": ["ana", "ana", "bo"],
                               "close_date": ["2024-03-01"] * 3},
                              currency="USD")
    zero = p.filter(np.array([True, True, False]))
    # two open deals of amount 0: no shares, so no band holds a deal (not two "stones")
    with pytest.warns(DataQualityWarning, match="open value is 0 over 2 open deals.*Fix"):
        c = sm.concentration(zero)
    assert c.deals == 2 and math.isnan(c.hhi) and math.isnan(c.top_share)
    assert [(b.value, b.count) for b in c.bands.values()] == [(0.0, 0)] * 3
    # by owner: ana's value is 0 (warned, 1 group), bo's deal is a rock
    with pytest.warns(DataQualityWarning, match="0 in 1 group of owner over 2 open deals"):
        r = sm.concentration(p, by="owner")
    assert sum(b.count for b in r["ana"].bands.values()) == 0
    assert r["bo"].bands["rocks"].count == 1
    # nothing open: nothing to warn about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sm.concentration(p, period="2030-Q1").bands["stones"].count == 0


def test_concentration_plot_title_without_open_value():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = sm.plot.concentration(concentration_pipeline(), period="2030-Q1")
    assert ax.get_title().startswith("Concentration: no open value")
    assert "nan" not in ax.get_title()
    plt.close(ax.figure)


def test_concentration_warns_on_missing_amounts_and_close_dates():
    p = Pipeline.from_columns({"id": ["A", "B"], "stage": ["Proposal", "Proposal"],
                               "amount": [NAN, 10.0], "close_date": [None, "2024-02-01"]})
    with pytest.warns(DataQualityWarning, match="1 of the 2 open deals has no amount"):
        c = sm.concentration(p)
    assert c.deals == 1 and c.hhi == 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sm.concentration(p, period="2024-Q1")
    assert any("no expected close date" in str(w.message) for w in caught)


# -- Hypothesis -----------------------------------------------------------------------------------
quiet = pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quiet
@PROPS
@given(deal_rows(min_size=1), st.sampled_from(["cumulative", "latest"]), st.booleans())
def test_time_in_stage_groups_add_up_to_the_whole(rows, reentry, include_open):
    p = build(rows)
    whole = sm.time_in_stage(p, reentry=reentry, include_open=include_open)
    parts = sm.time_in_stage(p, by="owner", reentry=reentry, include_open=include_open)
    medians_by_group = sm.time_in_stage(p, by="owner", statistic="median", reentry=reentry,
                                        include_open=include_open)
    for stage, mean in whole.items():
        n = sum(g.deals[stage] for g in parts.values())
        assert n == whole.deals[stage]
        if n:
            total = sum(g[stage] * g.deals[stage] for g in parts.values() if g.deals[stage])
            assert total == pytest.approx(mean * n)
            medians = [g[stage] for g in medians_by_group.values() if g.deals[stage]]
            whole_median = sm.time_in_stage(p, statistic="median", reentry=reentry,
                                            include_open=include_open)[stage]
            assert min(medians) - 1e-9 <= whole_median <= max(medians) + 1e-9
        else:
            assert math.isnan(mean)


@quiet
@PROPS
@given(deal_rows(min_size=1))
def test_latest_visit_is_never_longer_than_all_visits(rows):
    p = build(rows)
    cumulative, latest = sm.time_in_stage(p), sm.time_in_stage(p, reentry="latest")
    for stage in cumulative:
        assert cumulative.deals[stage] == latest.deals[stage]
        if cumulative.deals[stage]:
            assert latest[stage] <= cumulative[stage] + 1e-9
            assert sm.time_in_stage(p, statistic=0)[stage] >= 0


@quiet
@PROPS
@given(deal_rows(), st.integers(1, 400), st.sampled_from([0.0, 0.2, 1.0]))
def test_hygiene_counts_add_up(rows, stalled_after, tolerance):
    p = build(rows, history=bool(len(rows["id"])))
    h = sm.hygiene(p, as_of="2024-06-30", stalled_after=stalled_after,
                   probability_tolerance=tolerance)
    assert sum(h.counts.values()) == len(h) == sum(h.by_owner.values())
    assert h.counts["missing_amount"] == int(p.amount_missing.sum())
    assert h.counts["missing_close_date"] == int(np.isnat(p.close_date).sum())
    assert h.counts["missing_owner"] == sum(o is None for o in rows["owner"])
    if tolerance == 1.0:
        assert h.counts["probability_mismatch"] == 0
    assert h.counts["past_due"] + h.counts["stalled"] <= 2 * int((p.outcome_codes == 0).sum())
    assert len(h.to_pandas()) == len(h)


@quiet
@PROPS
@given(deal_rows(), st.integers(1, 10))
def test_concentration_shares(rows, top):
    p = build(rows)
    c = sm.concentration(p, top=top)
    # every deal is in one band, unless the total is 0 (no shares: no band)
    assert sum(b.count for b in c.bands.values()) == (c.deals if c.total else 0)
    assert sum(b.value for b in c.bands.values()) == pytest.approx(c.total)
    positive = int(((p.outcome_codes == 0) & ~p.amount_missing & (p.amount_minor > 0)).sum())
    if positive:
        assert 1 / positive - 1e-12 <= c.hhi <= 1 + 1e-12
        assert min(top, positive) / positive - 1e-12 <= c.top_share <= 1 + 1e-12
    else:
        assert math.isnan(c.hhi) and math.isnan(c.top_share)
    groups = sm.concentration(p, by="team", top=top)
    assert sum(g.total for g in groups.values()) == pytest.approx(c.total)
    assert sum(g.deals for g in groups.values()) == c.deals


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda p: sm.time_in_stage(p, statistic="mode"), OptionError, "statistic.*'mode'"),
    (lambda p: sm.time_in_stage(p, statistic=101), OptionError, "statistic.*101"),
    (lambda p: sm.time_in_stage(p, outcome="pending"), OptionError, "outcome.*'pending'"),
    (lambda p: sm.time_in_stage(p, reentry="first"), OptionError, "reentry.*'first'"),
    (lambda p: sm.time_in_stage(p, include_open="yes"), OptionError, "include_open.*'yes'"),
    (lambda p: sm.time_in_stage(p, as_of="2024-13-01"), DataError, "as_of.*2024-13-01"),
    (lambda p: sm.time_in_stage(p, by="colour"), DataError, "colour"),
    (lambda p: sm.time_in_stage([1]), DataTypeError, "Pipeline"),
    (lambda p: sm.deal_age(p, as_of=20240101), DataTypeError, "as_of.*20240101"),
    (lambda p: sm.deal_age("p"), DataTypeError, "Pipeline"),
    (lambda p: sm.hygiene(p, as_of=None), OptionError, "as_of is required"),
    (lambda p: sm.hygiene(p, as_of="someday"), DataError, "as_of.*someday"),
    (lambda p: sm.hygiene(p, as_of="2024-01-01", stalled_after=0), OptionError,
     "stalled_after.*0"),
    (lambda p: sm.hygiene(p, as_of="2024-01-01", stalled_after=1.5), OptionError,
     "stalled_after.*1.5"),
    (lambda p: sm.hygiene(p, as_of="2024-01-01", stalled_after=True), OptionError,
     "stalled_after.*True"),
    (lambda p: sm.hygiene(p, as_of="2024-01-01", probability_tolerance=2), OptionError,
     "probability_tolerance.*2"),
    (lambda p: sm.hygiene(None, as_of="2024-01-01"), DataTypeError, "Pipeline"),
    (lambda p: sm.concentration(p, top=0), OptionError, "top.*0"),
    (lambda p: sm.concentration(p, thresholds=(0.01, 0.1)), OptionError, "thresholds"),
    (lambda p: sm.concentration(p, thresholds="big"), OptionError, "thresholds.*'big'"),
    (lambda p: sm.concentration(p, period="Q5"), sm.errors.SalesMetricsError, "Q5"),
    (lambda p: sm.concentration(p, by=3), DataTypeError, "by"),
])
def test_bad_options(call, error, match):
    with pytest.raises(error, match=match):
        call(stages_pipeline())


def test_hygiene_needs_as_of():
    with pytest.raises(TypeError, match="as_of"):
        sm.hygiene(stages_pipeline())  # type: ignore[call-arg]


def test_options_are_keyword_only():
    import inspect

    for fn in (sm.time_in_stage, sm.deal_age, sm.hygiene, sm.concentration):
        params = list(inspect.signature(fn).parameters.values())
        assert params[0].name == "p"
        assert all(q.kind is inspect.Parameter.KEYWORD_ONLY for q in params[1:]), fn


def test_empty_pipelines():
    p = stages_pipeline().filter(np.zeros(5, dtype=bool))  # a history of 0 events
    t = sm.time_in_stage(p, include_open=True, statistic="median")
    assert all(math.isnan(v) for v in t.values()) and sum(t.deals.values()) == 0
    assert len(sm.time_in_stage(p, by="owner")) == 0
    assert len(sm.deal_age(p, as_of="2024-01-01")) == 0
    assert len(sm.hygiene(p, as_of="2024-01-01")) == 0
    assert sm.concentration(p).deals == 0


# -- plots ----------------------------------------------------------------------------------------
def test_plots():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from salesmetrics import plot

    p = stages_pipeline()
    ax = plot.time_in_stage(p)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(p.open_stage_names)
    assert sorted(round(b.get_width()) for b in ax.patches) == [0, 0, 6, 20, 22]
    assert any("22.0 d (2 deals)" in t.get_text() for t in ax.texts)
    ax = plot.concentration(concentration_pipeline(), top=2, period="2024-Q1")
    assert ax.get_title() == "Concentration: top 2 = 90.0 %, HHI 0.454 — 2024-Q1"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"rocks (2)", "stones (3)"}
    empty = p.filter(np.zeros(5, dtype=bool))
    for draw in (plot.time_in_stage, plot.concentration):
        draw(empty).figure.canvas.draw()
    plt.close("all")


@quiet
@pytest.mark.parametrize("field", ["owner", "team", "source", "segment", "stage"])
def test_every_field_of_the_sample_groups_to_the_whole(field):
    p = sm.datasets.sample_pipeline()
    whole, parts = sm.time_in_stage(p), sm.time_in_stage(p, by=field)
    for stage in whole:
        assert sum(g.deals[stage] for g in parts.values()) == whole.deals[stage]
    c, groups = sm.concentration(p), sm.concentration(p, by=field)
    assert sum(g.deals for g in groups.values()) == c.deals
    assert sum(g.total for g in groups.values()) == pytest.approx(c.total)


@quiet
def test_inputs_unchanged():
    p = sm.datasets.sample_pipeline()
    copy = sm.datasets.sample_pipeline()
    sm.time_in_stage(p, by="team", statistic=90, include_open=True)
    sm.deal_age(p)
    sm.hygiene(p, as_of="2024-06-30")
    sm.concentration(p, by="owner", period="2025-Q1")
    assert p == copy
    assert not p.amount_minor.flags.writeable
