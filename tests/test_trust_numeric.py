"""Numeric guarantees (issue 6): exact money to 2**63 - 1 minor units and an error past it, memory
bounded by the data (cycle percentiles, multi-field grouping), and strict ``as_of``."""

from __future__ import annotations

import datetime as dt
import math
import tracemalloc
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
import salesmetrics._kernels as kernels
import salesmetrics.metrics._summary as summary_module
from salesmetrics import Pipeline
from salesmetrics.errors import AmountError, DataError, DataQualityWarning
from salesmetrics.metrics._summarize import summarize_open, summarize_outcomes, summarize_reached
from salesmetrics.metrics.cycle import finalize_cycle_length
from salesmetrics.metrics.pipeline_totals import finalize_weighted
from salesmetrics.metrics.win_rates import finalize_win_rate

LIMIT = 2**63 - 1


def huge(n=1100, stage="Proposal", **extra):
    """``n`` deals of 9e13 USD (9e15 cents each): every amount loads, their total does not fit."""
    columns = {"id": range(n), "amount": [9e13] * n, "stage": [stage] * n, **extra}
    return Pipeline.from_columns(columns, columns={name: name for name in extra})


# -- money overflow -------------------------------------------------------------------------------
def test_the_issue_example_raises_instead_of_wrapping():
    with pytest.raises(AmountError, match="2\\*\\*63 - 1"):
        sm.pipeline_value(huge())


@pytest.mark.parametrize("call", [
    lambda p: sm.pipeline_value(p),
    lambda p: sm.weighted_pipeline(p),
    lambda p: sm.pipeline_value(p, by="team"),
    lambda p: sm.weighted_pipeline(p, by=["team", "stage"]),
])
def test_open_totals_past_the_limit_raise(call):
    with pytest.raises(AmountError):
        call(huge(team=["a"] * 1100))


@pytest.mark.parametrize("call", [
    lambda p: sm.won_revenue(p),
    lambda p: sm.won_revenue(p, by="team"),
    lambda p: sm.average_deal_size(p),
    lambda p: sm.win_rate(p, basis="value"),
    lambda p: sm.funnel_counts(p, basis="value"),
    lambda p: sm.sales_velocity(p),
])
def test_won_totals_past_the_limit_raise(call):
    p = huge(stage="Closed won", close_date=["2024-01-01"] * 1100, team=["a"] * 1100)
    with pytest.raises(AmountError):
        call(p)


def yen(amounts, stages, **extra):
    n = len(amounts)
    return Pipeline.from_columns({"id": range(n), "amount": amounts, "stage": stages, **extra},
                                 currency="JPY")


def test_a_total_over_two_stages_past_the_limit_raises():
    # Each stage's total fits (5.4e18 yen); the pipeline value adds the stages up: a group's
    # selected deals must add up (the summary holds every total a metric may form from it).
    p = yen([9e15] * 1200, ["Meeting", "Proposal"] * 600)
    by_stage = sm.pipeline_value(p, by="stage")
    assert (by_stage["Meeting"], by_stage["Proposal"]) == (5.4e18, 5.4e18)
    with pytest.raises(AmountError, match="pipeline_value\\(\\): amounts add up to "
                                          "10800000000000000000 minor units"):
        sm.pipeline_value(p)


def test_a_total_over_outcomes_past_the_limit_raises():
    p = yen([9e15] * 1200, ["Closed won", "Closed lost"] * 600,
            close_date=["2024-01-01", "2024-02-01"] * 600)
    assert sm.won_revenue(p, period="2024-01") == 5.4e18
    with pytest.raises(AmountError):
        sm.average_deal_size(p, outcome="closed")


def test_groups_that_fit_are_exact_while_the_whole_does_not():
    owners = ["a"] * 550 + ["b"] * 550
    p = huge(owner=owners)
    result = sm.pipeline_value(p, by="owner")
    assert result["a"] == result["b"] == 550 * 9e13
    summary = summarize_open(p, by="owner")
    assert summary.arrays["amount"].sum(axis=1).tolist() == [550 * 9 * 10**15] * 2
    with pytest.raises(AmountError, match="owner"):
        summarize_open(p, by="owner") + summarize_open(p, by="owner")


def test_totals_up_to_the_limit_are_exact():
    # 1023 deals of 2**53 yen (the largest amount) and one of 2**53 - 1: exactly 2**63 - 1.
    amounts = [2.0**53] * 1023 + [2.0**53 - 1]
    p = yen(amounts, ["Meeting"] * 1024)
    assert int(summarize_open(p).arrays["amount"].sum()) == LIMIT
    assert sm.pipeline_value(p) == float(LIMIT)
    with pytest.raises(AmountError, match="9223372036854775808 minor units"):
        sm.pipeline_value(yen([*amounts, 1.0], ["Meeting"] * 1025))


def test_summaries_that_add_past_the_limit_raise():
    half = summarize_open(yen([9e15] * 600, ["Meeting"] * 600))
    empty = summarize_open(yen([], []))
    assert int((half + empty).arrays["amount"].sum()) == 600 * 9 * 10**15
    with pytest.raises(AmountError, match="9223372036854775807"):
        half + half


@pytest.mark.parametrize("threads", ["1", "2"])
def test_chunked_tallies_past_the_limit_raise(threads, monkeypatch):
    monkeypatch.setattr(kernels, "CHUNK_ROWS", 97)
    monkeypatch.setenv("SALESMETRICS_THREADS", threads)
    p = huge(team=["a"] * 1100)
    assert len(kernels.chunk_bounds(len(p))) > 1
    with pytest.raises(AmountError):
        sm.pipeline_value(p)
    with pytest.raises(AmountError):
        sm.pipeline_value(p, by="team")
    fits = huge(n=1000)
    assert sm.pipeline_value(fits) == 1000 * 9e13


def test_group_sum_is_exact_or_raises():
    rng = np.random.default_rng(1)
    weights = rng.integers(0, 2**50, 3000, dtype=np.int64)
    keys = rng.integers(0, 5, 3000).astype(np.intp)
    exact = [sum(int(w) for w, k in zip(weights, keys, strict=True) if k == g) for g in range(5)]
    assert all(2**53 < e < LIMIT for e in exact)
    assert kernels.group_sum(keys, 5, weights).tolist() == exact
    assert kernels.group_sum(None, 1, weights[:20]).tolist() == [sum(map(int, weights[:20]))]
    over = np.full(40, 2**58, dtype=np.int64)
    with pytest.raises(kernels.SumOverflowError) as info:
        kernels.group_sum(np.zeros(40, np.intp), 2, over)
    assert info.value.total == 40 * 2**58
    with pytest.raises(kernels.SumOverflowError):
        kernels.group_sum(None, 1, over)


def test_per_amount_limit_is_stated_per_currency():
    # The message said 900719925474 for every currency (the limit of 4-decimal currencies).
    with pytest.raises(AmountError, match=r"90071992547409\.92") as info:
        Pipeline.from_columns({"id": ["X"], "amount": [1e14], "stage": ["Meeting"]})
    assert "'X'" in str(info.value)
    assert "100000000000000.0" in str(info.value)
    with pytest.raises(AmountError, match="9007199254740992"):
        yen([1e16], ["Meeting"])
    with pytest.raises(AmountError, match=r"9007199254740\.992"):
        Pipeline.from_columns({"id": [1], "amount": [1e13], "stage": ["Meeting"]}, currency="KWD")


def test_the_largest_amount_loads_exactly():
    p = Pipeline.from_columns({"id": [1], "amount": [90071992547409.92], "stage": ["Meeting"]})
    assert p.amount_minor.tolist() == [2**53]
    assert yen([2.0**53], ["Meeting"]).amount_minor.tolist() == [2**53]


# -- memory bounded by the data --------------------------------------------------------------------
def many_owners(n=20_000, owners=5_000, old_row=0):
    rng = np.random.default_rng(7)
    created = np.datetime64("2024-01-01") + rng.integers(0, 300, n).astype("timedelta64[D]")
    close = created + rng.integers(0, 200, n).astype("timedelta64[D]")
    created[old_row] = np.datetime64("1900-01-01")
    return Pipeline.from_columns({
        "id": np.arange(n), "amount": rng.integers(1, 1000, n).astype(float),
        "stage": np.where(rng.random(n) < 0.5, "Closed won", "Closed lost"),
        "created": created, "close_date": close,
        "owner": [f"o{i}" for i in rng.integers(0, owners, n)],
    })


def peak_bytes(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_cycle_percentiles_by_many_owners_with_a_1900_date_use_little_memory():
    p = many_owners()
    result, peak = peak_bytes(lambda: sm.sales_cycle_length(p, statistic="median", by="owner",
                                                            outcome="closed"))
    assert peak < 16 << 20  # the dense histogram asked for 6.6 GiB
    days = (p.close_date - p.created).astype(np.int64)
    owners = np.array(p.labels("owner").categories)[p.labels("owner").codes]
    for owner in ["o0", "o17", owners[0]]:
        assert result[owner] == np.median(days[owners == owner])


def test_two_deals_with_far_apart_dates():
    with pytest.warns(DataQualityWarning, match="on 9999-12-31"):  # a date that cannot be right
        p = Pipeline.from_columns({"id": [1, 2], "amount": [1.0, 2.0],
                                   "stage": ["Closed won"] * 2,
                                   "created": ["0001-01-01", "2024-01-01"],
                                   "close_date": ["9999-12-31", "2024-01-11"]})
    result, peak = peak_bytes(lambda: sm.sales_cycle_length(p, statistic=90))
    assert peak < 8 << 20
    assert result == pytest.approx(np.percentile([3652058, 10], 90))


def test_grouping_by_two_wide_fields_uses_the_combinations_that_occur():
    n = 50_000
    rng = np.random.default_rng(3)
    owner = [f"o{i}" for i in rng.permutation(n)]
    account = [f"a{i}" for i in rng.permutation(n)]
    p = Pipeline.from_columns({"id": np.arange(n), "amount": np.ones(n), "stage": ["Meeting"] * n,
                               "owner": owner, "account": account}, columns={"account": "account"})
    result, peak = peak_bytes(lambda: sm.pipeline_value(p, by=["owner", "account"]))
    assert peak < 256 << 20  # the cross product asked for 130 GiB
    assert len(result) == n
    assert result[(owner[5], account[5])] == 1.0


def test_sparse_grouping_equals_dense_grouping(monkeypatch):
    p = sm.datasets.sample_pipeline()
    by = ["owner", "team", "source"]
    calls = [
        lambda p: sm.pipeline_value(p, by=by),
        lambda p: sm.win_rate(p, by=by, basis="value"),
        lambda p: sm.sales_cycle_length(p, by=by, statistic=90, outcome="closed"),
        lambda p: sm.conversion_from_stage(p, by=by),
        lambda p: sm.sales_velocity(p, by=by, period="2024-Q2"),
    ]

    def run(p):
        """Each result's repr and the messages of the warnings it gave (the sample's open deals
        without an amount rightly make the open-pipeline total warn)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = [repr(call(p)) for call in calls]
        return results, [str(w.message) for w in caught]

    dense = run(p)
    monkeypatch.setattr(summary_module, "DENSE_GROUPS_PER_DEAL", 0)
    monkeypatch.setattr(summary_module, "DENSE_GROUPS_MIN", 0)
    assert run(p.filter(np.ones(len(p), bool))) == dense  # a fresh pipeline: no remembered tallies


@given(rows=deal_rows(), data=st.data(), q=st.sampled_from(["median", 10, 90]))
def test_split_and_merge_gives_the_whole_with_sparse_days_and_groups(rows, data, q):
    p = build(rows)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(p), max_size=len(p))), bool)
    a, b = p.filter(mask), p.filter(~mask)
    dense_min = data.draw(st.sampled_from([0, 1024]))
    with mock.patch.object(summary_module, "DENSE_GROUPS_MIN", dense_min), \
            mock.patch.object(summary_module, "DENSE_GROUPS_PER_DEAL", 0):
        for by in (["owner", "team"], "owner", None):
            kw = {"by": by, "cycles": True, "histogram": True, "function": "t"}
            merged = summarize_outcomes(a, **kw) + summarize_outcomes(b, **kw)
            whole = summarize_outcomes(p, **kw)
            assert merged.keys == whole.keys
            for name in ("count", "value", "valued", "cycle_sum", "cycle_count"):
                assert np.array_equal(merged.arrays[name], whole.arrays[name])
            assert merged.arrays["cycle_hist"] == whole.arrays["cycle_hist"]
            for outcome in ("won", "lost", "closed"):
                got = finalize_cycle_length(merged, statistic=q, outcome=outcome)
                want = finalize_cycle_length(whole, statistic=q, outcome=outcome)
                assert repr(got) == repr(want)
            assert repr(finalize_win_rate(merged, basis="value")) == repr(
                finalize_win_rate(whole, basis="value"))
            opened = summarize_open(a, by=by) + summarize_open(b, by=by)
            probs = np.array([s.probability for s in p.stages])
            assert repr(finalize_weighted(opened, probs)) == repr(
                finalize_weighted(summarize_open(p, by=by), probs))
            reached = summarize_reached(a, by=by) + summarize_reached(b, by=by)
            whole_reached = summarize_reached(p, by=by)
            assert np.array_equal(reached.arrays["value"], whole_reached.arrays["value"])


@given(rows=deal_rows(min_size=1), q=st.sampled_from(["median", 0, 25, 90, 100]))
def test_cycle_percentiles_equal_numpy(rows, q):
    p = build(rows)
    days = (p.close_date - p.created).astype(np.int64)[p.outcome_codes == 1]
    got = sm.sales_cycle_length(p, statistic=q)
    if len(days) == 0:
        assert np.isnan(got)
    else:
        assert got == pytest.approx(np.percentile(days, 50 if q == "median" else q))


# -- as_of -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["", "  ", "2024-13-01", "NaT", "soon", np.datetime64("NaT")])
def test_as_of_must_be_a_date(value):
    p = sm.datasets.sample_pipeline()
    with pytest.raises(DataError, match="as_of") as info:
        sm.win_rate(p, stale_after=30, as_of=value)
    assert repr(value) in str(info.value)


def test_as_of_accepts_dates():
    p = sm.datasets.sample_pipeline()
    expected = sm.win_rate(p, stale_after=30, as_of="2024-06-30")
    assert sm.win_rate(p, stale_after=30, as_of=dt.date(2024, 6, 30)) == expected
    assert sm.win_rate(p, stale_after=30, as_of=np.datetime64("2024-06-30")) == expected
    assert sm.win_rate(p, stale_after=30, as_of=dt.datetime(2024, 6, 30, 12)) == expected


# -- cycle metrics count the deals they leave out -------------------------------------------------
def test_deals_without_created_date_are_counted_in_the_warning():
    p = Pipeline.from_columns({"id": [1, 2, 3], "amount": [1.0] * 3,
                               "stage": ["Closed won"] * 3,
                               "created": ["2024-01-01", None, None],
                               "close_date": ["2024-01-11"] * 3})
    with pytest.warns(DataQualityWarning, match="2 deals without a created date"):
        assert sm.sales_cycle_length(p) == 10.0
    with pytest.warns(DataQualityWarning, match="2 deals without a created date"):
        assert sm.sales_cycle_length(p, statistic="median") == 10.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(sm.sales_cycle_length(p, outcome="lost"))  # no lost deal, none left out


def test_a_huge_finite_amount_is_past_the_limit_not_infinite():
    with pytest.raises(AmountError, match=r"at most 90071992547409\.92.*got 1e\+308"):
        Pipeline.from_columns({"id": [1], "stage": ["Proposal"], "amount": [1e308]})
