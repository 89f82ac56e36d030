"""Remembered results of pipeline_coverage, required_pipeline and historical_probabilities:
a repeat call returns the first call's result and raises its warnings again, at the caller."""

import math
import warnings

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Deal, Pipeline
from salesmetrics.errors import DataQualityWarning, DataTypeError, OptionError


def history_pipeline() -> Pipeline:
    """Before 2024-Q2: ana won 400 of 1,000 closed (B lost at 600, with history), bo never
    won (E lost 200); in the quarter ana won 300 and holds 1,500 open, bo holds 100 open,
    and cy (no target) won F (no amount) and holds 50 open."""
    return Pipeline.from_deals([
        Deal("A", 400, "Closed won", close_date="2024-02-01", owner="ana"),
        Deal("B", 600, "Closed lost", close_date="2024-03-01", owner="ana", history=[
            ("Negotiation", "2024-02-15"), ("Closed lost", "2024-03-01")]),
        Deal("C", 300, "Closed won", close_date="2024-04-15", owner="ana"),
        Deal("D", 1_500, "Proposal", close_date="2024-05-31", owner="ana"),
        Deal("E", 200, "Closed lost", close_date="2024-03-05", owner="bo"),
        Deal("G", 100, "Meeting", close_date="2024-06-01", owner="bo"),
        Deal("F", None, "Closed won", close_date="2024-04-20", owner="cy"),
        Deal("H", 50, "Meeting", close_date="2024-06-02", owner="cy"),
    ])


TARGETS = {"ana": 800, "bo": 250.0}

#: Each remembered call, with options that make it warn on `history_pipeline`.
CALLS = {
    "pipeline_coverage": lambda p: sm.pipeline_coverage(p, target=800, period="2024-Q2"),
    "pipeline_coverage by owner": lambda p: sm.pipeline_coverage(
        p, target=dict(TARGETS), period="2024-Q2", by="owner"),
    "pipeline_coverage unit": lambda p: sm.pipeline_coverage(
        p, target=800.0, period=sm.Period.quarter(2024, 2), basis="unit", zero_division=0.0),
    "pipeline_coverage no history": lambda p: sm.pipeline_coverage(  # nothing closed before
        p, target=800, period="2024-Q1"),
    "required_pipeline": lambda p: sm.required_pipeline(p, target=800, period="2024-Q2"),
    "required_pipeline no history": lambda p: sm.required_pipeline(
        p, target=800, period="2024-Q1", basis="unit"),
    "historical_probabilities": lambda p: sm.historical_probabilities(p, basis="value"),
    "historical_probabilities prior": lambda p: sm.historical_probabilities(
        p, period="2024-Q1", prior_strength=3),
}


def caught(call):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = call()
    return out, [(str(w.message), w.category, w.filename, w.lineno) for w in seen]


@pytest.mark.parametrize("name", list(CALLS))
def test_a_repeat_call_returns_the_result_and_raises_the_same_warnings(name):
    call = CALLS[name]
    p = history_pipeline()
    first, warned = caught(lambda: call(p))
    again, rewarned = caught(lambda: call(p))
    assert again is first  # remembered
    assert warned  # the pipeline makes each of them warn
    assert all(w[1] is DataQualityWarning for w in warned)
    # the same warnings in the same order; a repeat call raises them all at its caller
    assert [w[:2] for w in rewarned] == [w[:2] for w in warned]
    assert all(w[2] == __file__ for w in rewarned)
    # the metric's own warnings point at the caller on the first call too (those of the
    # metrics it calls, at their caller in coverage.py)
    own = [w for w in warned if w[0].startswith(name.split()[0] + "()")]
    assert all(w[2] == __file__ for w in own)
    assert own or name in ("pipeline_coverage", "pipeline_coverage unit", "required_pipeline")
    fresh, _ = caught(lambda: call(history_pipeline()))
    assert repr(fresh) == repr(first)


def test_the_remembered_numbers_are_the_worked_example():
    p = history_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            c = sm.pipeline_coverage(p, target=800, period="2024-Q2")
            # won 300 (F has no amount), remaining 500, open 1,500 + 100 + 50 = 1,650:
            # ratio 3.3; before the quarter 400 won of 1,200 closed: required 3.0
            assert (c.won, c.remaining, c.open_value) == (300.0, 500.0, 1650.0)
            assert c.ratio == pytest.approx(3.3)
            assert c.required_ratio == pytest.approx(3.0)
            g = sm.pipeline_coverage(p, target=dict(TARGETS), period="2024-Q2", by="owner")
            assert list(g) == ["ana", "bo"]  # the target's order; cy (no target) left out
            assert (g["ana"].ratio, g["ana"].required_ratio) == (3.0, 2.5)
            assert (g["bo"].ratio, math.isnan(g["bo"].required_ratio)) == (0.4, True)
            r = sm.required_pipeline(p, target=800, period="2024-Q2")
            # E has no history, so it reached only the first stage: 400 won of the 1,000
            # closed that reached Proposal (A, B)
            assert r["Proposal"].factor == pytest.approx(2.5)
            assert r["Initial contact"].factor == pytest.approx(3.0)  # 1,200 ÷ 400
            # every closed deal: A, C, F won and B lost reached Negotiation
            assert sm.historical_probabilities(p)["Negotiation"] == 0.75


def test_warnings_as_errors_raise_on_every_call():
    p = history_pipeline()
    calls = [CALLS["pipeline_coverage by owner"], CALLS["historical_probabilities"],
             CALLS["required_pipeline no history"]]
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(p)  # remembered
    for _ in range(2):
        for call, first in zip(calls, ["pipeline_coverage", "historical_probabilities",
                                       "required_pipeline"], strict=True):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                with pytest.raises(DataQualityWarning, match=first):
                    call(p)


def test_a_target_mapping_is_read_on_every_call():
    p = history_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        targets = {"ana": 800, "bo": 250}
        first = sm.pipeline_coverage(p, target=targets, period="2024-Q2", by="owner")
        assert sm.pipeline_coverage(p, target=targets, period="2024-Q2", by="owner") is first
        targets["ana"] = 1_300  # the caller's dict changes: so does the result
        changed = sm.pipeline_coverage(p, target=targets, period="2024-Q2", by="owner")
        assert changed["ana"].remaining == 1_000.0 and first["ana"].remaining == 500.0
        # the same items in another order: the result follows the target's order
        swapped = sm.pipeline_coverage(p, target={"bo": 250, "ana": 800}, period="2024-Q2",
                                       by="owner")
        assert list(swapped) == ["bo", "ana"] and list(first) == ["ana", "bo"]
        # 800 and 800.0 are spelled apart, and agree
        floats = sm.pipeline_coverage(p, target={"ana": 800.0, "bo": 250.0}, period="2024-Q2",
                                      by="owner")
        assert floats is not first and floats == first


def test_keys_or_amounts_of_other_types_are_computed_every_time():
    p = history_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for target in ({"ana": np.float64(800.0)}, {np.str_("ana"): 800}):
            first = sm.pipeline_coverage(p, target=target, period="2024-Q2", by="owner")
            again = sm.pipeline_coverage(p, target=target, period="2024-Q2", by="owner")
            assert again is not first and again == first
        number = sm.pipeline_coverage(p, target=np.int64(800), period="2024-Q2")
        assert sm.pipeline_coverage(p, target=np.int64(800), period="2024-Q2") is not number
        assert sm.pipeline_coverage(p, target=800, period="2024-Q2") == number
        # by two fields: tuple keys
        both = sm.pipeline_coverage(p, target={("ana", "Proposal"): 1_000}, period="2024-Q2",
                                    by=("owner", "stage"))
        assert sm.pipeline_coverage(p, target={("ana", "Proposal"): 1_000}, period="2024-Q2",
                                    by=("owner", "stage")) is both
        assert both[("ana", "Proposal")].open_value == 1_500.0


def test_a_string_target_is_never_confused_with_a_mapping():
    p = history_pipeline()
    targets = {"ana": 800, "bo": 250}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm.pipeline_coverage(p, target=targets, period="2024-Q2", by="owner")
    spelled = repr([("ana", 800), ("bo", 250)])  # how the mapping is remembered
    for _ in range(2):
        with pytest.raises(DataTypeError, match="mapping"):
            sm.pipeline_coverage(p, target=spelled, period="2024-Q2", by="owner")


def test_errors_are_raised_on_every_call():
    p = history_pipeline()
    for _ in range(2):
        with pytest.raises(OptionError, match="target"):
            sm.pipeline_coverage(p, target=-1, period="2024-Q2")
        with pytest.raises(OptionError, match="needs by="):
            sm.pipeline_coverage(p, target={"ana": 1}, period="2024-Q2")
        with pytest.raises(OptionError, match="period is required"):
            sm.required_pipeline(p, target=800, period=None)  # type: ignore[arg-type]
        with pytest.raises(OptionError, match="prior_strength"):
            sm.historical_probabilities(p, basis="value", prior_strength=1)
        with pytest.raises(OptionError, match="basis"):
            sm.historical_probabilities(p, basis="nope")  # type: ignore[arg-type]


def test_equal_arguments_of_other_types_are_not_confused():
    p = history_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # prior_strength 0 and 0.0 both give the raw rates; True is refused every time
        assert sm.historical_probabilities(p, prior_strength=0) == (
            sm.historical_probabilities(p, prior_strength=0.0))
        for _ in range(2):
            with pytest.raises(OptionError, match="prior_strength"):
                sm.historical_probabilities(p, prior_strength=True)
        # zero_division 0.0 and -0.0: a covered target (nothing remains) gives either
        plus = sm.pipeline_coverage(p, target=100, period="2024-Q2", zero_division=0.0)
        minus = sm.pipeline_coverage(p, target=100, period="2024-Q2", zero_division=-0.0)
        assert (math.copysign(1, plus.ratio), math.copysign(1, minus.ratio)) == (1.0, -1.0)


def test_a_view_of_rows_does_not_share_the_results_of_its_pipeline():
    p = history_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = sm.pipeline_coverage(p, target=800, period="2024-Q2")
        ana = p.filter(np.arange(len(p)) < 4)  # A, B, C, D
        part = sm.pipeline_coverage(ana, target=800, period="2024-Q2")
    assert (whole.open_value, part.open_value) == (1_650.0, 1_500.0)


def test_remembered_stage_tables_are_read_only() -> None:
    # A remembered result is shared by every repeat call: reassigning an attribute must fail,
    # not change what the next caller gets.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        p = sm.datasets.sample_pipeline()
        required = sm.required_pipeline(p, target=1_000_000, period="2024-Q4")
        measured = sm.historical_probabilities(p)
    with pytest.raises(AttributeError, match="read-only"):
        required.target = 5.0  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        del measured.basis
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        assert sm.required_pipeline(p, target=1_000_000, period="2024-Q4").target == 1_000_000


def test_a_metric_called_by_another_warns_under_the_callers_name_at_the_users_line():
    # pipeline_coverage calls won_revenue and pipeline_value: their warnings (a won deal and
    # an open deal without an amount) name pipeline_coverage and point at this file, and the
    # inner results are not remembered, so a direct call still warns under its own name.
    p = Pipeline.from_columns({"id": ["a", "b", "c"], "stage": ["Proposal", "Closed won",
                                                                 "Closed won"],
                               "amount": [None, None, 10.0],
                               "close_date": ["2024-05-01", "2024-04-01", "2024-04-02"]})
    calls = [lambda: sm.pipeline_coverage(p, target=100, period="2024-Q2"),
             lambda: sm.plan(p, target=100, period="2024-Q3")]
    for call, name in zip(calls, ["pipeline_coverage", "plan"], strict=True):
        for _ in range(2):  # the first call, then the remembered one
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                call()
            assert caught, name
            for w in caught:
                assert w.filename == __file__, (w.filename, str(w.message))
                assert str(w.message).startswith(f"{name}(): "), str(w.message)
    with pytest.warns(DataQualityWarning, match=r"^won_revenue\(\): 1 of the 2 won deals"):
        sm.won_revenue(p, period="2024-Q2")
