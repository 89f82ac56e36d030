"""Chunked, threaded kernels give exactly the single-pass results."""

import itertools
import warnings

import numpy as np
import pytest

import salesmetrics as sm
import salesmetrics._kernels as kernels
from salesmetrics.datasets import sample_pipeline

CALLS = {
    "weighted": lambda p: sm.weighted_pipeline(p, by="owner"),
    "open": lambda p: sm.pipeline_value(p, by="stage"),
    "won": lambda p: sm.won_revenue(p, by="team", period="2024-Q2"),
    "win": lambda p: sm.win_rate(p, by=["team", "source"], basis="value"),
    "stale": lambda p: sm.win_rate(p, stale_after=90, as_of="2024-12-31", by="owner"),
    "shares": lambda p: sm.outcome_shares(p, period="2024-Q3"),
    "conversion": lambda p: sm.conversion_from_stage(p, by="team", skipped="visited"),
    "funnel": lambda p: sm.funnel_counts(p, basis="value"),
    "velocity": lambda p: sm.sales_velocity(p, by="team", period="2024-Q2"),
    "velocity_open": lambda p: sm.sales_velocity(p, period="2024-Q2", opportunities="open"),
    "cycle": lambda p: sm.sales_cycle_length(p, by="owner", statistic=75, outcome="closed"),
    "size": lambda p: sm.average_deal_size(p, by="segment", outcome="lost"),
}


def call(name, p):
    """``CALLS[name](p)`` and the messages of the warnings it gave (the sample's 14 open deals
    without an amount make the open-pipeline totals and value funnel warn, rightly)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CALLS[name](p)
    return result, [str(w.message) for w in caught]


@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("name", list(CALLS))
def test_chunked_equals_single_pass(name, threads, monkeypatch):
    p = sample_pipeline()
    expected, expected_warnings = call(name, p)
    monkeypatch.setattr(kernels, "CHUNK_ROWS", 97)
    monkeypatch.setenv("SALESMETRICS_THREADS", threads)
    assert len(kernels.chunk_bounds(len(p))) > 10
    fresh = p.filter(np.ones(len(p), bool))  # no caches from the first call
    result, result_warnings = call(name, fresh)
    assert result == expected
    assert repr(result) == repr(expected)
    assert result_warnings == expected_warnings


def test_chunk_bounds_cover_the_rows():
    bounds = kernels.chunk_bounds(1_000_003, 1000)
    assert bounds[0][0] == 0
    assert bounds[-1][1] == 1_000_003
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert kernels.chunk_bounds(10, 1000) == [(0, 10)]
