"""Deals that a window or a rule leaves out for want of a date or a stage history warn (issue 6).

Each case gave a plausible number with no warning: open deals without a close date in no period,
deals without a created date in no cohort and never stale, won deals without stage history
reaching only the first stage under ``skipped="visited"``. The warnings follow from counts that
the tallies make (no extra pass), so chunked runs and merged summaries give the same ones.
"""

import warnings

import numpy as np
import pytest

import salesmetrics as sm
import salesmetrics._kernels as kernels
from salesmetrics import Deal, Pipeline
from salesmetrics.datasets import sample_pipeline
from salesmetrics.errors import DataQualityWarning
from salesmetrics.metrics._summarize import (
    summarize_open,
    summarize_outcomes,
    summarize_reached,
    summarize_velocity,
)

CLOSE = "2024-03-15"


def quality_messages(call):
    """``call()`` under recorded warnings: its result and its DataQualityWarning messages (any
    other warning fails the test)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call()
    assert all(issubclass(w.category, DataQualityWarning) for w in caught), caught
    return value, [str(w.message) for w in caught]


def one_warning(call):
    value, messages = quality_messages(call)
    assert len(messages) == 1, messages
    return value, messages[0]


def no_warning(call):
    value, messages = quality_messages(call)
    assert messages == []
    return value


# -- 1. open deals without an expected close date are in no period -------------------------------
def open_without_close():
    return Pipeline.from_deals([
        Deal("A", 1_000, "Proposal", created="2024-01-01", close_date="2024-02-01", owner="ann"),
        Deal("B", 2_000, "Proposal", created="2024-01-01", owner="ann"),
        Deal("C", 4_000, "Negotiation", created="2024-01-01", owner="bob"),  # bob: in no period
        Deal("D", 500, "Closed won", created="2024-01-01", close_date=CLOSE, owner="ann"),
    ])


@pytest.mark.parametrize("metric", [sm.pipeline_value, sm.weighted_pipeline])
def test_open_deals_without_a_close_date_warn_with_a_period(metric):
    value, message = one_warning(lambda: metric(open_without_close(), period="2024-Q1"))
    assert value == (1_000.0 if metric is sm.pipeline_value else 600.0)
    assert message.startswith(f"{metric.__name__}(): 2 open deals have no expected close date "
                              "and are not in any period")
    assert "fill in their close dates" in message


@pytest.mark.parametrize("metric", [sm.pipeline_value, sm.weighted_pipeline])
def test_open_deals_without_a_close_date_count_in_every_group(metric):
    # bob's only open deal has no close date: bob is in no group of the result, yet counted.
    value, message = one_warning(lambda: metric(open_without_close(), period="2024-Q1",
                                                by="owner"))
    assert list(value) == ["ann"]
    assert "2 open deals have no expected close date" in message


@pytest.mark.parametrize("metric", [sm.pipeline_value, sm.weighted_pipeline])
def test_without_a_period_every_open_deal_counts_and_nothing_warns(metric):
    assert no_warning(lambda: metric(open_without_close())) > 1_000


def test_the_sample_has_eleven_open_deals_without_a_close_date():
    p = sample_pipeline()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sm.pipeline_value(p, period="2024-Q2")
    assert any("11 open deals have no expected close date" in str(w.message) for w in caught)


def test_one_open_deal_without_a_close_date_is_singular():
    p = Pipeline.from_deals([Deal("A", 1_000, "Proposal")])
    value, message = one_warning(lambda: sm.pipeline_value(p, period="2024"))
    assert value == 0.0
    assert "1 open deal has no expected close date and is not in any period" in message


# -- 2. deals without a created date are in no cohort --------------------------------------------
def without_created():
    return Pipeline.from_deals([
        Deal("A", 1_000, "Closed won", created="2024-01-10", close_date=CLOSE),
        Deal("B", 2_000, "Closed lost", created="2024-01-10", close_date=CLOSE,
             history=[("Proposal", "2024-02-01")]),
        Deal("C", 4_000, "Closed lost", close_date=CLOSE, history=[("Meeting", "2024-02-01")]),
        Deal("D", 8_000, "Closed lost", close_date=CLOSE, history=[("Meeting", "2024-02-01")]),
    ])


COHORT_CALLS = {
    "win_rate": lambda p, **kw: sm.win_rate(p, **kw),
    "outcome_shares": lambda p, **kw: sm.outcome_shares(p, **kw),
    "won_revenue": lambda p, **kw: sm.won_revenue(p, **kw),
    "average_deal_size": lambda p, **kw: sm.average_deal_size(p, **kw),
    "sales_cycle_length": lambda p, **kw: sm.sales_cycle_length(p, **kw),
    "sales_velocity": lambda p, **kw: sm.sales_velocity(p, **kw),
    "conversion_from_stage": lambda p, **kw: sm.conversion_from_stage(p, **kw),
    "funnel_counts": lambda p, **kw: sm.funnel_counts(p, **kw),
    "stage_conversion": lambda p, **kw: sm.stage_conversion(p, **kw),
}


@pytest.mark.parametrize("name", list(COHORT_CALLS))
def test_deals_without_a_created_date_warn_in_a_cohort(name):
    _, message = one_warning(lambda: COHORT_CALLS[name](without_created(), period="2024-Q1",
                                                        view="cohort"))
    assert message.startswith(f"{name}(): 2 deals have no created date and are in no cohort")
    assert "created" in message and "columns=" in message  # the fix


@pytest.mark.parametrize("name", list(COHORT_CALLS))
def test_deals_without_a_created_date_do_not_warn_by_close_date(name):
    # the period view selects closed deals by close date: all four are in 2024-Q1
    no_warning(lambda: COHORT_CALLS[name](without_created(), period="2024-Q1"))


def test_the_cohort_win_rate_leaves_out_the_undated_losses_and_says_so():
    rate, message = one_warning(lambda: sm.win_rate(without_created(), period="2024-Q1",
                                                    view="cohort", by="stage"))
    assert rate["Closed won"] == 1.0
    assert "2 deals have no created date" in message


def test_velocity_warns_when_n_counts_deals_created_in_the_period():
    p = Pipeline.from_deals([
        Deal("A", 1_000, "Closed won", created="2024-01-10", close_date=CLOSE),
        Deal("B", 2_000, "Proposal"),
    ])
    v, message = one_warning(lambda: sm.sales_velocity(p, period="2024-Q1",
                                                       opportunities="created"))
    assert v.opportunities == 1
    assert "1 deal has no created date" in message
    no_warning(lambda: sm.sales_velocity(p, period="2024-Q1"))  # N: counted as created before


# -- 3. open deals without a created date never go stale ------------------------------------------
def stale_without_created():
    return Pipeline.from_deals([
        Deal("A", 1_000, "Closed won", created="2024-01-01", close_date="2024-06-30"),
        Deal("B", 1_000, "Proposal", created="2024-01-01"),  # stale at 90 days
        Deal("C", 1_000, "Proposal"),  # no created date: never stale
        Deal("D", 1_000, "Meeting"),
    ])


def test_open_deals_without_a_created_date_never_go_stale_and_warn():
    rate, message = one_warning(lambda: sm.win_rate(stale_without_created(), stale_after=90))
    assert rate == 0.5
    assert message.startswith("win_rate(): 2 open deals have no created date and never go stale")
    assert "created" in message and "columns=" in message


def test_velocity_win_rate_with_stale_after_warns_too():
    v, message = one_warning(lambda: sm.sales_velocity(stale_without_created(), stale_after=90))
    assert v.win_rate == 0.5
    assert "2 open deals have no created date and never go stale" in message


def test_stale_warning_only_where_stale_after_decides():
    p = stale_without_created()
    no_warning(lambda: sm.win_rate(p))
    no_warning(lambda: sm.win_rate(p, stale_after=90, open_deals="lost"))  # all open count lost
    no_warning(lambda: sm.sales_velocity(p, stale_after=90, open_deals="lost"))


def test_stale_warning_counts_open_deals_in_the_window():
    p = stale_without_created()
    _, message = one_warning(lambda: sm.win_rate(p, stale_after=90, by="stage"))
    assert "2 open deals have no created date" in message


# -- 4. won deals without stage history under skipped="visited" ----------------------------------
def won_without_history():
    return Pipeline.from_deals([
        Deal("A", 100, "Closed won", close_date=CLOSE),  # no history
        Deal("B", 100, "Closed won", close_date=CLOSE,
             history=[("Initial contact", "2024-01-01"), ("Discovery", "2024-01-02")]),
        Deal("C", 100, "Closed lost", close_date=CLOSE,
             history=[("Initial contact", "2024-01-01"), ("Discovery", "2024-01-02")]),
    ])


@pytest.mark.parametrize("metric", [sm.conversion_from_stage, sm.stage_conversion,
                                    sm.funnel_counts])
def test_won_deals_without_history_warn_under_visited(metric):
    _, message = one_warning(lambda: metric(won_without_history(), skipped="visited"))
    assert message.startswith(f"{metric.__name__}(): 1 won deal has no record of the stages it "
                              "reached")
    assert "'Initial contact'" in message
    assert "history=" in message and "skipped='implied'" in message


@pytest.mark.parametrize("metric", [sm.conversion_from_stage, sm.stage_conversion,
                                    sm.funnel_counts])
def test_won_deals_without_history_do_not_warn_under_implied(metric):
    # under "implied" a won deal reached every open stage: history or not, the same result
    no_warning(lambda: metric(won_without_history(), skipped="implied"))


def test_won_deals_without_history_understate_visited_conversion():
    rates, message = one_warning(lambda: sm.conversion_from_stage(won_without_history(),
                                                                  skipped="visited"))
    assert rates["Discovery"] == 0.5  # A would make it 2/3 had its stages been recorded
    assert "understated" in message


def test_won_and_lost_deals_without_history_warn_once_with_both_counts():
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", close_date=CLOSE),
        Deal("B", 100, "Closed lost", close_date=CLOSE),
        Deal("C", 100, "Closed lost", close_date=CLOSE),
    ])
    _, message = one_warning(lambda: sm.conversion_from_stage(p, skipped="visited", by="stage"))
    assert message.startswith("conversion_from_stage(): 2 closed deals that were not won and "
                              "1 won deal have no record of the stages they reached")
    _, message = one_warning(lambda: sm.conversion_from_stage(p, skipped="implied"))
    assert message.startswith("conversion_from_stage(): 2 closed deals that were not won have")


# -- the counts come from the tallies: chunks and merged summaries agree --------------------------
def everything_missing():
    """The sample (with its 11 open deals without a close date) plus deals without a created
    date and won deals without stage history, spread over the rows."""
    p = sample_pipeline()
    rows = np.arange(len(p))
    data = p.to_columns()
    data["created"] = np.where(rows % 37 == 0, np.datetime64("NaT"), p.created)
    h = p.history
    kept = h.rows % 29 != 0
    names = np.array(p.stage_names, dtype=object)
    fields = {name: name for name in p.fields}
    return Pipeline.from_columns(data, p.stages, columns=fields, history={
        "id": p.ids[h.rows[kept]], "stage": names[h.stages[kept]], "date": h.dates[kept]})


CHUNK_CALLS = {
    "open": lambda p: sm.pipeline_value(p, period="2024-Q2", by="owner"),
    "weighted": lambda p: sm.weighted_pipeline(p, period="2024-Q3"),
    "cohort": lambda p: sm.win_rate(p, period="2024-Q1", view="cohort", by="team"),
    "stale": lambda p: sm.win_rate(p, stale_after=60, by="owner"),
    "velocity": lambda p: sm.sales_velocity(p, period="2024-Q2", stale_after=60,
                                            opportunities="created"),
    "visited": lambda p: sm.stage_conversion(p, skipped="visited", by="team"),
    "funnel": lambda p: sm.funnel_counts(p, skipped="visited", period="2024", view="cohort"),
}


@pytest.mark.parametrize("name", list(CHUNK_CALLS))
def test_chunked_runs_give_the_same_warnings(name, monkeypatch):
    p = everything_missing()
    expected, expected_messages = quality_messages(lambda: CHUNK_CALLS[name](p))
    assert expected_messages  # each call has something to warn about
    monkeypatch.setattr(kernels, "CHUNK_ROWS", 97)
    monkeypatch.setenv("SALESMETRICS_THREADS", "2")
    fresh = p.filter(np.ones(len(p), bool))  # no caches from the first call
    result, messages = quality_messages(lambda: CHUNK_CALLS[name](fresh))
    assert result == expected
    assert messages == expected_messages


SUMMARIES = {
    "open": lambda p: summarize_open(p, by="owner", period="2024-Q2"),
    "outcomes": lambda p: summarize_outcomes(p, by="team", period="2024-Q1", view="cohort",
                                             function="t", stale_before=np.datetime64(CLOSE)),
    "reached": lambda p: summarize_reached(p, by="team", period="2024", view="cohort",
                                           skipped="visited"),
    "velocity": lambda p: summarize_velocity(p, by="team", period="2024-Q2",
                                             opportunities="created"),
}


@pytest.mark.parametrize("name", list(SUMMARIES))
def test_merged_summaries_keep_the_counts_outside_the_window(name):
    p = everything_missing()
    half = np.arange(len(p)) < len(p) // 3
    whole = SUMMARIES[name](p)
    merged = SUMMARIES[name](p.filter(half)) + SUMMARIES[name](p.filter(~half))
    assert whole.outside == merged.outside
    assert any(whole.outside.values())
    for key, array in whole.arrays.items():
        if key != "cycle_hist":
            assert np.array_equal(array, merged.arrays[key]), key


# -- open deals without a close date where a result counts open deals by close date --------------
@pytest.mark.parametrize("call", [
    lambda p: sm.win_rate(p, period="2024-Q1", open_deals="lost"),
    lambda p: sm.win_rate(p, period="2024-Q1", stale_after=30),
    lambda p: sm.sales_velocity(p, period="2024-Q1", open_deals="lost"),
    lambda p: sm.average_deal_size(p, period="2024-Q1", outcome="open"),
    lambda p: sm.funnel_counts(p, period="2024-Q1"),
    lambda p: sm.stage_conversion(p, period="2024-Q1"),
])
def test_results_that_count_open_deals_warn_about_those_in_no_period(call):
    _, message = one_warning(lambda: call(open_without_close()))
    assert "2 open deals have no expected close date and are not in any period" in message


@pytest.mark.parametrize("call", [
    lambda p: sm.win_rate(p, period="2024-Q1"),
    lambda p: sm.outcome_shares(p, period="2024-Q1"),
    lambda p: sm.sales_velocity(p, period="2024-Q1"),
    lambda p: sm.average_deal_size(p, period="2024-Q1"),
    lambda p: sm.conversion_from_stage(p, period="2024-Q1"),
    lambda p: sm.funnel_counts(p),
])
def test_results_of_closed_deals_only_do_not_warn_about_open_deals_in_no_period(call):
    no_warning(lambda: call(open_without_close()))
