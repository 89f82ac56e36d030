"""The exactness claim behind salesmetrics.dask, simulated on one machine: a pipeline cut into
many partitions (empty ones included), each summarized, the summaries merged in random binary
trees (random pairing, random left/right order), and the total finalized, gives the whole's
result bit for bit, for every core metric. No dask: only summaries, ``+`` and finalize."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.exact import canon

import salesmetrics as sm
from salesmetrics.datasets import sample_pipeline

CALLS = [
    ("weighted_pipeline", {"by": "owner"}),
    ("weighted_pipeline", {"probabilities": {"Proposal": 0.35}}),
    ("pipeline_value", {"by": "stage"}),
    ("won_revenue", {"by": ["team", "owner"]}),
    ("win_rate", {"by": "owner", "basis": "value", "no_decision": "exclude"}),
    ("win_rate", {"stale_after": 90, "as_of": "2024-12-31", "open_deals": "lost"}),
    ("outcome_shares", {"by": "team"}),
    ("conversion_from_stage", {"skipped": "visited", "by": "owner"}),
    ("stage_conversion", {"by": "team"}),
    ("funnel_counts", {"basis": "value"}),
    ("sales_velocity", {"by": "owner", "period": "2024-Q2"}),
    ("sales_cycle_length", {"statistic": "median", "by": "owner"}),
    ("sales_cycle_length", {"statistic": 90, "outcome": "closed"}),
    ("average_deal_size", {"outcome": "lost", "by": "segment"}),
]


def random_tree_sum(parts: list[sm.Summary], rng: random.Random) -> sm.Summary:
    """Merge ``parts`` by repeatedly adding two randomly chosen summaries, in random order."""
    pool = list(parts)
    while len(pool) > 1:
        a = pool.pop(rng.randrange(len(pool)))
        b = pool.pop(rng.randrange(len(pool)))
        pool.append(a + b if rng.random() < 0.5 else b + a)
    return pool[0]


@pytest.fixture(scope="module")
def sample():
    return sample_pipeline()


@pytest.mark.parametrize(("metric", "options"), CALLS)
@settings(max_examples=5, deadline=None)
@given(partitions=st.integers(2, 120), seed=st.integers(0, 2**32 - 1))
def test_random_partitions_merged_in_random_trees_give_the_whole(sample, metric, options,
                                                                 partitions, seed):
    p = sample
    rng = random.Random(seed)
    part_of = np.random.default_rng(seed).integers(0, partitions, len(p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.errors.DataQualityWarning)
        expected = getattr(sm, metric)(p, **options)
        parts = [sm.summarize(p.filter(part_of == k), metric, **options)
                 for k in range(partitions)]
        result = sm.finalize(random_tree_sum(parts, rng))
    assert canon(result) == canon(expected)
    assert repr(result) == repr(expected)
