"""Every metric through the same checks: empty input, only open deals, grouping by every field,
nothing undefined ever raising or returning inf (in the spirit of scikit-learn's test_common)."""

import math
import warnings

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import GroupedResult, OutcomeShares, Pipeline, Velocity
from salesmetrics.datasets import sample_pipeline
from salesmetrics.errors import DataQualityWarning

METRICS = {
    "weighted_pipeline": sm.weighted_pipeline,
    "pipeline_value": sm.pipeline_value,
    "won_revenue": sm.won_revenue,
    "win_rate": sm.win_rate,
    "outcome_shares": sm.outcome_shares,
    "conversion_from_stage": sm.conversion_from_stage,
    "stage_conversion": sm.stage_conversion,
    "funnel_counts": sm.funnel_counts,
    "sales_velocity": sm.sales_velocity,
    "sales_cycle_length": sm.sales_cycle_length,
    "average_deal_size": sm.average_deal_size,
    "lead_conversion": sm.lead_conversion,
    "new_leads": sm.new_leads,
}


# The open-pipeline totals warn about open deals without an amount: the sample has 14, and
# only_open() one. With a period, they and the metrics that count the open deals in it warn
# about open deals without an expected close date (in no period): the sample has 11, and
# only_open() 2. No other metric warns on these pipelines (the sample has a stage history).
OPEN_TOTALS = {"weighted_pipeline", "pipeline_value", "funnel_counts", "stage_conversion"}
# The lead metrics take leads by created date: with a period, only_open()'s two leads without
# one are in no period, and they say so.
BY_CREATED = {"lead_conversion", "new_leads"}


def run(name, p, **kwargs):
    """``METRICS[name](p, **kwargs)``, checking that its only warning is the expected one."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = METRICS[name](p, **kwargs)
    for w in caught:
        assert issubclass(w.category, DataQualityWarning), w
        assert ((name in OPEN_TOTALS and "open deal" in str(w.message))
                or (name in BY_CREATED and "no created date" in str(w.message))), w
    return result


def floats(value):
    if isinstance(value, float):
        return [value]
    if type(value) is int:  # funnel_counts: whole deals
        return [float(value)]
    if isinstance(value, Velocity):
        return [value.average_deal_value, value.win_rate, value.cycle_days, value.revenue_per_day]
    if isinstance(value, OutcomeShares):
        return [value.won, value.lost, value.no_decision]
    if isinstance(value, GroupedResult):
        return [x for v in value.values() for x in floats(v)]
    raise AssertionError(f"unexpected result type {type(value)}")


def empty() -> Pipeline:
    return Pipeline.from_columns({"id": [], "stage": []})


def only_open() -> Pipeline:
    return Pipeline.from_columns({"id": ["a", "b"], "stage": ["Meeting", "Proposal"],
                                  "amount": [None, 10.0], "owner": ["x", None]})


@pytest.mark.parametrize("name", list(METRICS))
@pytest.mark.parametrize("make", [empty, only_open], ids=["empty", "only-open"])
def test_degenerate_pipelines_give_nan_or_zero_never_inf(name, make):
    p = make()
    for kwargs in ({}, {"period": "2024-Q1"}, {"by": "stage"}):
        result = run(name, p, **kwargs)
        for x in floats(result):
            assert not math.isinf(x)
            assert math.isnan(x) or x >= 0


@pytest.mark.parametrize("name", list(METRICS))
def test_grouped_by_every_field_covers_the_groups(name):
    p = sample_pipeline()
    for field in ("stage", *p.fields):
        result = run(name, p, by=field)
        assert isinstance(result, GroupedResult)
        assert result.by == (field,)
        labels = set(p.categories(field).tolist())
        assert set(result) <= labels
        assert list(result) == [k for k in p.categories(field).tolist() if k in result]


BY_STAGE = {"conversion_from_stage", "stage_conversion", "funnel_counts"}
SCALAR_TYPES = {"sales_velocity": Velocity, "outcome_shares": OutcomeShares, "new_leads": int}


@pytest.mark.parametrize("name", list(METRICS))
def test_ungrouped_result_type(name):
    result = run(name, sample_pipeline())
    if name in BY_STAGE:  # keyed by stage, not by a group of deals
        assert isinstance(result, GroupedResult)
        assert result.by == ("stage",)
    else:
        assert type(result) is SCALAR_TYPES.get(name, float)


@pytest.mark.parametrize("name", list(METRICS))
def test_metrics_leave_the_pipeline_unchanged(name):
    p = sample_pipeline().filter(np.ones(2000, bool))
    before = {k: v.copy() for k, v in p.to_columns().items()}
    run(name, p, by="owner", period="2024-Q2")
    after = p.to_columns()
    for key, values in before.items():
        assert np.array_equal(values, after[key], equal_nan=values.dtype.kind in "fM")
