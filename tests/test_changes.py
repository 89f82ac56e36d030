"""pipeline_changes, slip_rate, sample_snapshots and the waterfall: worked examples computed by
hand, every movement, by= groups that reconcile, errors, and Hypothesis properties (the waterfall
reconciles for random pairs of snapshots; a snapshot against itself has no movement; groups add
up to the whole)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics import Deal, Pipeline, pipeline_changes, slip_rate
from salesmetrics.errors import (
    CurrencyError,
    DataError,
    DataQualityWarning,
    DataTypeError,
    OptionError,
)

Q1 = "2024-Q1"


def pair() -> tuple[Pipeline, Pipeline]:
    """One deal per movement, Q1 2024 the period. Before (open in Q1): A 100, B 200, C 300,
    D 400, F 500 (Proposal), G 600 (Meeting); E 50 closes in Q2 (not counted); H was lost.
    After: A won, B lost, C gone (removed), D moved to Q2 (pushed_out), E moved into Q1 and grew
    to 80 (pulled_in 50 + increased 30), F shrank to 450 (decreased), G advanced to Proposal,
    H reopened at 70 in Q1, N is new at 10 in Q1."""
    before = Pipeline.from_deals([
        Deal("A", 100, "Proposal", close_date="2024-02-01", owner="ana"),
        Deal("B", 200, "Proposal", close_date="2024-02-01", owner="ana"),
        Deal("C", 300, "Proposal", close_date="2024-02-01", owner="bo"),
        Deal("D", 400, "Proposal", close_date="2024-03-01", owner="bo"),
        Deal("E", 50, "Meeting", close_date="2024-05-01", owner="bo"),
        Deal("F", 500, "Proposal", close_date="2024-03-01", owner="ana"),
        Deal("G", 600, "Meeting", close_date="2024-03-01", owner="ana"),
        Deal("H", 70, "Closed lost", close_date="2023-12-01", owner="bo"),
    ])
    after = Pipeline.from_deals([
        Deal("A", 100, "Closed won", close_date="2024-01-20", owner="ana"),
        Deal("B", 200, "Closed lost", close_date="2024-01-20", owner="ana"),
        Deal("D", 400, "Proposal", close_date="2024-04-15", owner="bo"),
        Deal("E", 80, "Meeting", close_date="2024-03-15", owner="bo"),
        Deal("F", 450, "Proposal", close_date="2024-03-01", owner="ana"),
        Deal("G", 600, "Proposal", close_date="2024-03-01", owner="bo"),  # reassigned
        Deal("H", 70, "Meeting", close_date="2024-03-20", owner="bo"),
        Deal("N", 10, "Initial contact", close_date="2024-03-30", owner="ana"),
    ])
    return before, after


def test_every_movement_by_hand():
    c = pipeline_changes(*pair(), period=Q1)
    # start: A+B+C+D+F+G = 100+200+300+400+500+600 = 2,100; end: E 80 + F 450 + G 600 + H 70
    # + N 10 = 1,210.
    assert (c.start, c.end) == (2100.0, 1210.0)
    assert c.totals == {
        "new": 10.0, "won": -100.0, "lost": -200.0, "removed": -300.0, "pulled_in": 50.0,
        "pushed_out": -400.0, "increased": 30.0, "decreased": -50.0, "reopened": 70.0,
    }
    assert list(c.totals) == [m for m in ("new", "won", "lost", "removed", "pulled_in",
                                          "pushed_out", "increased", "decreased", "reweighted",
                                          "reopened") if m != "reweighted"]
    assert c.start_minor + sum(c.totals_minor.values()) == c.end_minor == 121_000
    assert c.advanced["Meeting"] == 1 and sum(c.advanced.values()) == 1
    assert sum(c.regressed.values()) == 0
    table = c.deals.to_pandas().set_index("id")
    assert table.loc["E", "movements"] == "pulled_in, increased"
    assert (table.loc["E", "pulled_in"], table.loc["E", "increased"]) == (50.0, 30.0)
    assert (table.loc["E", "before"], table.loc["E", "after"]) == (0.0, 80.0)
    assert sorted(table.index) == ["A", "B", "C", "D", "E", "F", "H", "N"]  # G did not change


def test_start_and_end_are_the_pipeline_values():
    before, after = pair()
    for period in (None, Q1):
        c = pipeline_changes(before, after, period=period)
        assert c.start == sm.pipeline_value(before, period=period)
        assert c.end == sm.pipeline_value(after, period=period)
        w = pipeline_changes(before, after, period=period, weighted=True)
        assert w.start == sm.weighted_pipeline(before, period=period)
        assert w.end == sm.weighted_pipeline(after, period=period)


def test_weighted_start_and_end_equal_weighted_pipeline_to_the_bit():
    # sample_snapshots has deals with their own probabilities: summed per deal in floats,
    # start differed from weighted_pipeline by about 1e-9; summed as weighted_pipeline sums
    # them (exact parts per billion, one rounding per group) they are equal.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        before, after = sm.datasets.sample_snapshots()
        for period in (None, "2025-Q1", "2024-12"):
            w = pipeline_changes(before, after, period=period, weighted=True)
            assert w.start == sm.weighted_pipeline(before, period=period)
            assert w.end == sm.weighted_pipeline(after, period=period)
            g = pipeline_changes(before, after, period=period, weighted=True, by="owner")
            by_owner = sm.weighted_pipeline(before, period=period, by="owner")
            assert all(g[k].start == v for k, v in by_owner.items())


def test_without_period_nothing_is_pulled_in_or_pushed_out():
    c = pipeline_changes(*pair())
    # all open: start 100+200+300+400+50+500+600 = 2,150; end 400+80+450+600+70+10 = 1,610
    assert (c.start, c.end) == (2150.0, 1610.0)
    assert c.totals["pulled_in"] == c.totals["pushed_out"] == 0
    assert c.totals["increased"] == 30.0 and c.totals["decreased"] == -50.0


def test_weighted_reweights_a_stage_change():
    # G: Meeting (30 %) → Proposal (60 %) at 600: reweighted 600 × 0.3 = 180. E pulled in at
    # 50 × 30 % = 15, then increased (80 − 50) × 30 % = 9.
    c = pipeline_changes(*pair(), period=Q1, weighted=True)
    assert math.isclose(c.totals["reweighted"], 180.0)
    assert math.isclose(c.totals["pulled_in"], 15.0)
    assert math.isclose(c.totals["increased"], 9.0)
    assert math.isclose(c.start + sum(c.totals.values()), c.end, rel_tol=1e-9)


def test_by_owner_moves_a_reassigned_deal_and_each_group_reconciles():
    before, after = pair()
    whole = pipeline_changes(before, after, period=Q1)
    g = pipeline_changes(before, after, period=Q1, by="owner")
    assert list(g) == ["ana", "bo"]
    # G (600, counted before) moved from ana to bo.
    assert g["ana"].totals["moved_out"] == -600.0 and g["bo"].totals["moved_in"] == 600.0
    for part in g.values():
        assert part.start_minor + sum(part.totals_minor.values()) == part.end_minor
    for name, total in whole.totals_minor.items():
        assert sum(part.totals_minor[name] for part in g.values()) == total
    assert sum(p.start_minor for p in g.values()) == whole.start_minor
    assert sum(p.totals_minor["moved_in"] + p.totals_minor["moved_out"] for p in g.values()) == 0
    assert "G" in list(g["bo"].deals.ids) and "G" in list(g["ana"].deals.ids)
    assert "owner" in repr(g)


def test_int_and_text_ids_join():
    a = Pipeline.from_columns({"id": [1, 2], "stage": ["Meeting"] * 2, "amount": [1.0, 2.0]})
    b = Pipeline.from_columns({"id": ["2", "3"], "stage": ["Meeting"] * 2, "amount": [2.0, 5.0]})
    c = pipeline_changes(a, b)
    assert (c.totals["new"], c.totals["removed"]) == (5.0, -1.0)


def test_printing_and_exports():
    c = pipeline_changes(*pair(), period=Q1)
    text = repr(c)
    assert "pulled_in" in text and "expected to close in 2024-Q1" in text
    assert "advanced a stage, from: Meeting 1" in text
    assert "<table>" in c._repr_html_()
    assert c.to_pandas().index[0] == "start" and c.to_dict()["end"] == 1210.0
    assert "ChangedDeals(8 deals)" in repr(c.deals)
    assert c.deals.movements[0] == ("won",)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda p: pipeline_changes(p, "x"), DataTypeError, "second argument"),
    (lambda p: pipeline_changes("x", p), DataTypeError, "first argument"),
    (lambda p: pipeline_changes(p, p, weighted="yes"), DataTypeError, "weighted"),
    (lambda p: pipeline_changes(p, p, weighted=1), DataTypeError,
     "weighted must be True or False, got 1"),
    (lambda p: pipeline_changes(p, p, by="region"), DataError, "region"),
    (lambda p: pipeline_changes(p, p, period="2024-Q9"), DataError, "cannot read '2024-Q9'"),
    (lambda p: slip_rate(p, p, period=None), OptionError, "period is required"),
    (lambda p: slip_rate(p, p, period=Q1, basis="money"), OptionError, "basis"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call(pair()[0])


def test_snapshots_of_other_processes_or_currencies_are_refused():
    p = pair()[0]
    other = Pipeline.from_deals([Deal("A", 1, "Open")], stages=[sm.Stage("Open", 0.5),
                                                                 sm.Stage("Won", 1.0, "won")])
    with pytest.raises(DataError, match="same sales process"):
        pipeline_changes(p, other)
    eur = Pipeline.from_columns({"id": ["A"], "stage": ["Meeting"], "amount": [1.0]},
                                currency="EUR")
    with pytest.raises(CurrencyError, match="one currency"):
        pipeline_changes(p, eur)


def test_stages_differing_only_in_probability():
    # the same stages, Proposal at 60 % before and 70 % after: the open values compare, the
    # weighted ones do not, and the error names the stage and both probabilities.
    stages = [sm.Stage("Meeting", 0.3), sm.Stage("Proposal", 0.6),
              sm.Stage("Closed won", 1.0, "won"), sm.Stage("Closed lost", 0.0, "lost")]
    changed = [*stages[:1], sm.Stage("Proposal", 0.7), *stages[2:]]
    before = Pipeline.from_deals([Deal("A", 100, "Proposal")], stages=stages)
    after = Pipeline.from_deals([Deal("A", 100, "Proposal"), Deal("B", 50, "Meeting")],
                                stages=changed)
    c = pipeline_changes(before, after)
    assert (c.start, c.totals["new"], c.end) == (100.0, 50.0, 150.0)
    with pytest.raises(DataError, match=r"give stage 'Proposal' different probabilities "
                                        r"\(0.6 before, 0.7 after\).*weighted=False"):
        pipeline_changes(before, after, weighted=True)


def test_a_by_field_missing_from_one_snapshot_names_it():
    with_team = Pipeline.from_deals([Deal("A", 1, "Meeting", fields={"team": "East"})])
    without = Pipeline.from_deals([Deal("A", 1, "Meeting")])
    with pytest.raises(DataError, match=r"by='team' is missing from after: unknown field"):
        pipeline_changes(with_team, without, by="team")
    with pytest.raises(DataError, match=r"by='team' is missing from before"):
        pipeline_changes(without, with_team, by="team")


@pytest.mark.parametrize(("ids_b", "ids_a", "shown"), [
    ([1, 2, 3], ["001", "002", "003"], r"e.g. 1 only in before, '001' only in after"),
    (["a ", "b ", "c"], ["a", "b", "c"], r"e.g. 'a ' only in before, 'a' only in after"),
    (["0065g00000AbCdE", "0065g00000AbCdF"], ["0065g00000AbCdEAAX", "0065g00000AbCdFAAX"],
     r"e.g. '0065g00000AbCdE' only in before, '0065g00000AbCdEAAX' only in after"),
])
def test_few_matching_ids_warn(ids_b, ids_a, shown):
    # "c" matches in the second case: 1 of 3 is under half; every other deal shows as
    # removed and new.
    def snapshot(ids):
        return Pipeline.from_columns({"id": ids, "stage": ["Meeting"] * len(ids),
                                      "amount": [10.0] * len(ids)})

    matched = sum(i in ids_a for i in ids_b)
    with pytest.warns(DataQualityWarning, match=(
            rf"only {matched} of the {len(ids_b)} deals of the smaller snapshot have their "
            rf"ids in the other \({shown}\).*Fix: check that both snapshots spell the deal "
            "ids the same way")):
        c = pipeline_changes(snapshot(ids_b), snapshot(ids_a))
    assert c.totals["removed"] == -10.0 * (len(ids_b) - matched)


def test_half_the_ids_matching_or_an_empty_snapshot_does_not_warn():
    def snapshot(ids):
        return Pipeline.from_columns({"id": ids, "stage": ["Meeting"] * len(ids),
                                      "amount": [10.0] * len(ids)})

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipeline_changes(snapshot(["A", "B"]), snapshot(["B", "C", "D"]))  # 1 of 2
        pipeline_changes(snapshot(["A", "B"]), Pipeline.from_deals([]))
        pipeline_changes(Pipeline.from_deals([]), snapshot(["A"]))


def test_an_exchange_rate_move_is_fx_not_increased_or_decreased():
    # EUR at 0.5 EUR per USD in Q1, 1.0 from April: A (EUR 100, unchanged) moves from
    # USD 200 to USD 100 because its close date, and so its rate, moved: fx −100. B's own
    # amount went EUR 100 → 150 at the same rate: increased +100 (USD 200 → 300). C changed
    # currency (EUR 100 → USD 100): a change of its own amount, decreased −100.
    rates = sm.ExchangeRates.from_columns({"currency": ["EUR", "EUR"], "rate": ["0.5", "1"],
                                           "start_date": ["2024-01-01", "2024-04-01"]},
                                          corporate="USD")
    before = Pipeline.from_columns({
        "id": ["A", "B", "C"], "amount": [100, 100, 100], "currency": ["EUR"] * 3,
        "stage": ["Proposal"] * 3, "close_date": ["2024-03-01"] * 3}, rates=rates)
    after = Pipeline.from_columns({
        "id": ["A", "B", "C"], "amount": [100, 150, 100], "currency": ["EUR", "EUR", "USD"],
        "stage": ["Proposal"] * 3, "close_date": ["2024-04-02", "2024-03-01", "2024-03-01"]},
        rates=rates)
    c = pipeline_changes(before, after)
    assert (c.start, c.end) == (600.0, 500.0)
    assert (c.totals["fx"], c.totals["increased"], c.totals["decreased"]) == (-100.0, 100.0,
                                                                            -100.0)
    assert list(c.totals)[6:10] == ["increased", "decreased", "fx", "reopened"]
    assert c.start_minor + sum(c.totals_minor.values()) == c.end_minor
    assert c.deals.movements[0] == ("fx",)
    w = pipeline_changes(before, after, weighted=True)  # Proposal 60 %: fx −100 × 0.6
    assert math.isclose(w.totals["fx"], -60.0)
    assert "fx" not in pipeline_changes(*pair()).totals  # not converted: no fx movement


def test_missing_amounts_warn():
    a = Pipeline.from_columns({"id": ["A", "B"], "stage": ["Meeting"] * 2,
                               "amount": [1.0, np.nan]})
    with pytest.warns(DataQualityWarning, match="2 of the 4 open deals"):
        pipeline_changes(a, a)


def test_slip_rate_by_hand():
    before, after = pair()
    # Expected in Q1 before: A, B, C, D, F, G. Closed in Q1 after: A (won), B (lost). Slipped:
    # C (removed), D (pushed out), F and G (still open): 4 of 6; by value 300+400+500+600 = 1,800
    # of 2,100.
    assert slip_rate(before, after, period=Q1) == pytest.approx(4 / 6)
    assert slip_rate(before, after, period=Q1, basis="value") == pytest.approx(1800 / 2100)
    assert math.isnan(slip_rate(before, after, period="2030-Q1"))


def test_slip_rate_a_deal_closed_before_the_period_did_not_slip():
    # A expected in March, won on Feb 27 (early): not slipped. B still open: slipped. 1 of 2.
    before = Pipeline.from_deals([Deal("A", 100, "Proposal", close_date="2024-03-10"),
                                  Deal("B", 300, "Proposal", close_date="2024-03-20")])
    after = Pipeline.from_deals([Deal("A", 100, "Closed won", close_date="2024-02-27"),
                                 Deal("B", 300, "Proposal", close_date="2024-03-20")])
    assert slip_rate(before, after, period="2024-03") == 0.5
    assert slip_rate(before, after, period="2024-03", basis="value") == 0.75
    lost_early = Pipeline.from_deals([Deal("A", 100, "Closed lost", close_date="2024-01-05"),
                                      Deal("B", 300, "Closed won", close_date="2024-04-01")])
    assert slip_rate(before, lost_early, period="2024-03") == 0.5  # B closed after March


def test_slip_rate_warns_when_the_ids_barely_match():
    # "0".."3" before, "000".."003" after: no id matches, so every deal looks removed (slipped)
    before = Pipeline.from_columns({"id": ["0", "1", "2", "3"], "stage": ["Proposal"] * 4,
                                    "close_date": ["2024-03-10"] * 4})
    after = Pipeline.from_columns({"id": ["000", "001", "002", "003"],
                                   "stage": ["Closed won"] * 4, "close_date": ["2024-03-12"] * 4})
    with pytest.warns(DataQualityWarning, match=r"slip_rate\(\): only 0 of the 4 deals .*'0' "
                                                r"only in before, '000' only in after") as caught:
        assert slip_rate(before, after, period=Q1) == 1.0
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert slip_rate(before, before, period=Q1) == 1.0  # the same ids: no warning


def test_slip_rate_of_dateless_deals_and_a_zero_value():
    before = Pipeline.from_deals([Deal("A", 0, "Proposal", close_date="2024-03-01"),
                                  Deal("B", 0, "Proposal", close_date="2024-03-02")])
    after = Pipeline.from_deals([Deal("A", 0, "Proposal"),
                                 Deal("B", 0, "Closed won", close_date="2024-03-05")])
    # A is still open (a closed deal always has a close date): it slipped, nothing is unknown
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert slip_rate(before, after, period=Q1) == 0.5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert math.isnan(slip_rate(before, after, period=Q1, basis="value"))
    assert any("the 2 deals expected in 2024-Q1 add up to an amount of 0 in before, so the "
               "value slip rate is undefined (nan). Fix" in str(w.message) for w in caught)


# Hypothesis -----------------------------------------------------------------------------------

PERIODS = st.sampled_from([None, "2023-Q3", "2024-02", "2023"])


@settings(max_examples=60, deadline=None)
@given(deal_rows(), deal_rows(), PERIODS, st.booleans())
def test_waterfall_reconciles_for_random_pairs(rows_b, rows_a, period, weighted):
    # ids D-0, D-1… overlap between the two draws: kept, changed, new and removed deals.
    before, after = build(rows_b), build(rows_a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        c = pipeline_changes(before, after, period=period, weighted=weighted)
        g = pipeline_changes(before, after, period=period, weighted=weighted, by="owner")
        value = sm.weighted_pipeline if weighted else sm.pipeline_value
        start, end = value(before, period=period), value(after, period=period)
    if weighted:
        scale = max(abs(c.start_minor), abs(c.end_minor), 1.0)
        assert abs(c.start_minor + sum(c.totals_minor.values()) - c.end_minor) <= 1e-9 * scale
        assert math.isclose(c.start, start, rel_tol=1e-9, abs_tol=1e-9)
    else:
        assert c.start_minor + sum(c.totals_minor.values()) == c.end_minor
        assert (c.start, c.end) == (start, end)
    for name, total in c.totals_minor.items():
        assert math.isclose(sum(part.totals_minor[name] for part in g.values()), total,
                            rel_tol=1e-9, abs_tol=1e-6)
    assert sum(part.totals_minor["moved_in"] + part.totals_minor["moved_out"]
               for part in g.values()) == pytest.approx(0, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(deal_rows(), PERIODS, st.booleans())
def test_a_snapshot_against_itself_has_no_movement(rows, period, weighted):
    p = build(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        c = pipeline_changes(p, p, period=period, weighted=weighted)
        g = pipeline_changes(p, p, period=period, weighted=weighted, by=["owner", "team"])
    assert all(v == 0 for v in c.totals.values()) and len(c.deals) == 0
    assert c.start == c.end
    assert all(v == 0 for part in g.values() for v in part.totals.values())


@pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")
def test_sample_snapshots_are_deterministic_and_move_deals_every_way():
    before, after = sm.datasets.sample_snapshots()
    assert before.currency == after.currency == "USD"
    c = pipeline_changes(before, after, period="2025-Q1")
    moved = {k for k, v in c.totals.items() if v}
    assert {"new", "removed", "pulled_in", "pushed_out"} <= moved
    whole = pipeline_changes(before, after)
    assert {"new", "won", "lost", "removed", "increased", "decreased"} <= {
        k for k, v in whole.totals.items() if v}
    assert sum(whole.advanced.values()) > 0
    assert whole.start_minor + sum(whole.totals_minor.values()) == whole.end_minor
    sm.datasets.sample_snapshots.cache_clear()
    again = sm.datasets.sample_snapshots()
    assert again[0] == before and again[1] == after


@pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")
def test_changes_on_one_export_with_as_of():
    p = sm.datasets.sample_pipeline()
    c = pipeline_changes(p.as_of("2024-11-01"), p.as_of("2024-12-01"))
    assert c.start_minor + sum(c.totals_minor.values()) == c.end_minor
    assert c.totals["won"] < 0 and c.totals["new"] > 0


def test_waterfall_draws_start_movements_end():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = pipeline_changes(*pair(), period=Q1)
    ax = sm.plot.waterfall(c)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["start", *c.totals, "end"]  # every movement of the example is non-zero
    assert len(ax.patches) == len(labels)
    plt.close(ax.figure)
    with pytest.raises(DataTypeError, match="one group's"):
        sm.plot.waterfall(pipeline_changes(*pair(), by="owner"))


def test_join_is_right_when_text_ids_share_a_hash(monkeypatch):
    from salesmetrics.metrics import _changes_kernel as kernel

    def same(before, after):
        return np.zeros(len(before), np.uint64), np.zeros(len(after), np.uint64)

    monkeypatch.setattr(kernel, "_hashed", same)
    rows, only_after = kernel.match_ids(np.array(["A", "B", "C"]), np.array(["C", "D", "A"]))
    assert rows.tolist() == [2, -1, 0] and only_after.tolist() == [1]
    rows, only_after = kernel.match_ids(np.array(["A"]), np.array(["B"]))  # one hash, no match
    assert rows.tolist() == [-1] and only_after.tolist() == [0]


def test_join_of_text_ids_of_other_lengths():
    from salesmetrics.metrics._changes_kernel import match_ids

    rows, only_after = match_ids(np.array(["OPP-1", "OPP-22", "X"]),
                                 np.array(["OPP-22", "OPP-1000", "OPP-1"]))
    assert rows.tolist() == [2, 0, -1] and only_after.tolist() == [1]


def test_empty_snapshots():
    empty = Pipeline.from_deals([])
    c = pipeline_changes(empty, empty, period=Q1, weighted=True)
    assert (c.start, c.end, len(c.deals)) == (0.0, 0.0, 0)
    assert all(v == 0 for v in c.totals.values())
    assert len(pipeline_changes(empty, empty, by="stage")) == 0
    before, _ = pair()
    gone = pipeline_changes(before, empty, period=Q1)
    assert gone.totals["removed"] == -gone.start == -2100.0
    assert math.isnan(slip_rate(empty, empty, period=Q1))
    assert math.isnan(slip_rate(empty, empty, period=Q1, basis="value"))
