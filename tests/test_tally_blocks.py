"""The block kernels of the chunked tallies give the single-pass results, exactly.

Blocks of rows (`Rows`) instead of pipeline views, int32 day windows, combined group keys built
for the selected rows only (in intp, whatever the stored code width), and the weighted pipeline
by a grouping with the stage tallied by the other fields × stage.
"""

import itertools
import warnings

import numpy as np
import pytest

import salesmetrics as sm
import salesmetrics._kernels as kernels
from salesmetrics.datasets import sample_pipeline
from salesmetrics.domain.dates import MISSING_DAY, day_numbers
from salesmetrics.domain.period import as_period
from salesmetrics.metrics import _summarize, _tallies
from salesmetrics.metrics._chunked import Rows
from salesmetrics.metrics._summary import Grouping, grouping, in_period


def _without_probabilities(p):
    cols = {k: v for k, v in p.to_columns().items() if k != "probability"}
    return sm.Pipeline.from_columns(cols, p.stages, columns={k: k for k in cols})


@pytest.fixture(scope="module")
def plain():
    """The sample pipeline without per-deal probabilities (the stage-width path needs none)."""
    return _without_probabilities(sample_pipeline())


@pytest.mark.parametrize("by", [("owner", "stage"), ("stage", "owner"), ("stage",),
                                ("team", "stage", "source")])
@pytest.mark.parametrize("period", [None, "2024-Q3"])
def test_stage_width_path_equals_the_general_one(plain, by, period, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        general = _summarize.summarize_open(plain, by=by, period=period)  # one block
        weighted = sm.weighted_pipeline(plain, by=by, period=period)
        monkeypatch.setattr(kernels, "CHUNK_ROWS", 97)  # many blocks: the stage-width path
        spread = _summarize._by_stage
        used = []
        monkeypatch.setattr(_summarize, "_by_stage", lambda *a: used.append(1) or spread(*a))
        fresh = plain.filter(np.ones(len(plain), bool))
        assert _summarize.summarize_open(fresh, by=by, period=period) == general
        assert sm.weighted_pipeline(fresh, by=by, period=period) == weighted
        assert used


def test_stage_width_worked_example():
    # Two owners, stages A (p = .5) and B (p = .25): a has 100 in A and 40 in B, b has 8 in B.
    # By owner × stage: (a, A) 100 × .5 = 50, (a, B) 40 × .25 = 10, (b, B) 8 × .25 = 2.
    stages = [sm.Stage("A", 0.5), sm.Stage("B", 0.25), sm.Stage("Won", 1.0, "won")]
    p = sm.Pipeline.from_columns(
        {"id": [1, 2, 3], "amount": [100, 40, 8], "stage": ["A", "B", "B"],
         "owner": ["a", "a", "b"]}, stages)
    result = sm.weighted_pipeline(p, by=("owner", "stage"))
    assert dict(result.items()) == {("a", "A"): 50.0, ("a", "B"): 10.0, ("b", "B"): 2.0}


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.intp])
def test_combined_keys_are_intp_whatever_the_code_width(dtype):
    # 120 × 7 × 3 = 2,520 groups: int8 arithmetic would wrap at 127.
    rng = np.random.default_rng(1)
    owner = rng.integers(0, 120, 5000)
    stage = rng.integers(0, 7, 5000)
    source = rng.integers(0, 3, 5000)
    fields = tuple((c.astype(dtype), w) for c, w in ((owner, 120), (stage, 7), (source, 3)))
    g = Grouping(("owner", "stage", "source"), None, 120 * 7 * 3, (), fields=fields)
    expected = (owner * 7 + stage) * 3 + source
    rows = np.flatnonzero(rng.random(5000) < 0.3)
    assert g.take_keys(rows).dtype == np.intp
    np.testing.assert_array_equal(g.take_keys(rows), expected[rows])
    np.testing.assert_array_equal(g.keys, expected)
    part = g.row_range(1000, 2000)
    np.testing.assert_array_equal(part.take_keys(None), expected[1000:2000])
    single = Grouping(("owner",), owner.astype(dtype), 120, ())
    assert single.take_keys(rows).dtype == np.intp
    np.testing.assert_array_equal(single.keys, owner)


def test_in_period_matches_period_contains():
    days = np.array(["2024-03-31", "2024-04-01", "2024-06-30", "2024-07-01", "NaT", "0001-01-01",
                     "9999-12-31", "1969-12-31"], dtype="datetime64[D]")
    for label in ("2024-Q2", "2024", "2024-04"):
        period = as_period(label)
        np.testing.assert_array_equal(in_period(day_numbers(days), period),
                                      period.contains(days))
    assert day_numbers(days)[4] == MISSING_DAY


@pytest.mark.parametrize("name", ["open", "outcomes", "velocity", "reached"])
def test_blocks_of_rows_add_up_to_the_whole(name):
    p = sample_pipeline()
    period = as_period("2024-Q2")
    g = grouping(p, ("owner",))
    tally, args, kwargs = {
        "open": (_tallies.tally_open, (period,), {}),
        "outcomes": (_tallies.tally_outcomes, (period, "period"), {"cycles": True}),
        "velocity": (_tallies.tally_velocity, (period, "all"), {}),
        "reached": (_tallies.tally_reached, (None, "period", "visited"), {}),
    }[name]
    whole = tally(p, g, *args, **kwargs)
    cuts = [0, 1, 333, 334, 1200, len(p)]
    parts = [tally(Rows(p, a, b), g.row_range(a, b), *args, **kwargs)
             for a, b in itertools.pairwise(cuts)]
    for key, array in whole.items():
        np.testing.assert_array_equal(sum(part[key] for part in parts), array, err_msg=key)


def test_outside_counts_with_missing_dates_are_counted_once(monkeypatch):
    # 3 open deals without a close date and 2 deals without a created date, over many blocks.
    n = 1000
    created = np.full(n, np.datetime64("2024-01-10"), dtype="datetime64[D]")
    close = np.full(n, np.datetime64("2024-05-10"), dtype="datetime64[D]")
    created[[5, 700]] = np.datetime64("NaT")
    close[[10, 500, 999]] = np.datetime64("NaT")
    p = sm.Pipeline.from_columns(
        {"id": np.arange(n), "amount": np.full(n, 10.0), "stage": ["Discovery"] * n,
         "created": created, "close_date": close}, sm.DEFAULT_STAGES)
    expected = _summarize.summarize_outcomes(p, period="2024-Q2", function="win_rate")
    monkeypatch.setattr(kernels, "CHUNK_ROWS", 64)
    monkeypatch.setenv("SALESMETRICS_THREADS", "2")
    fresh = p.filter(np.ones(n, bool))
    chunked = _summarize.summarize_outcomes(fresh, period="2024-Q2", function="win_rate")
    assert chunked == expected
    assert dict(chunked.outside) == {"no_close": 3}
    cohort = _summarize.summarize_outcomes(fresh, period="2024-Q1", view="cohort",
                                           function="win_rate")
    assert dict(cohort.outside) == {"no_created": 2}


def test_remembered_outcome_keys():
    p = sample_pipeline()
    g = grouping(p, ("owner",))
    keys = _tallies.outcome_keys(p, g)
    assert keys.dtype == np.int16
    np.testing.assert_array_equal(keys, p.codes("owner") * 4 + p.outcome_codes)
    assert _tallies.outcome_keys(p, g) is keys  # remembered
    np.testing.assert_array_equal(_tallies.outcome_keys(Rows(p, 100, 250), g.row_range(100, 250)),
                                  keys[100:250])
    assert _tallies.outcome_keys(p, grouping(p, ())) is None
    # 12 owners x 5 forecast categories x 4 sources x 3 teams x 3 segments = 2,160 groups x 4
    # outcomes = 8,640 cells: still int16; a dense cross product past 2**15 cells: int32.
    many = grouping(p, ("owner", "forecast_category", "source", "team", "segment"))
    if many.combos is None:
        assert _tallies.outcome_keys(p, many).dtype == (np.int16 if many.n * 4 <= 2**15
                                                        else np.int32)
