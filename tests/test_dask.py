"""salesmetrics.dask on the threaded scheduler: every metric equals the single-process result bit
for bit, for random data, random partitionings (empty partitions included) and any split_every;
errors and options as the single-process call gives them."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pd = pytest.importorskip("pandas")
dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

from tests.exact import canon, recorded  # noqa: E402
from tests.strategies import STAGES, deal_rows  # noqa: E402

import salesmetrics as sm  # noqa: E402
import salesmetrics.dask as smd  # noqa: E402
import salesmetrics.dask._partitions as smd_partitions  # noqa: E402
from salesmetrics.errors import (  # noqa: E402
    CurrencyError,
    DataError,
    DataTypeError,
    DuplicateDealError,
    OptionError,
    UnknownStageError,
)

DEAL_COLUMNS = ("id", "amount", "stage", "created", "close_date", "owner", "team", "probability")
DATA = {"stages": STAGES, "currency": "USD", "columns": {"team": "team"}}

#: (metric, options): every metric, its options that change the summary, by= a field, a
#: period and a first-pass as_of.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("weighted_pipeline", {}),
    ("weighted_pipeline", {"by": "owner", "probabilities": {"Proposal": 0.3}}),
    ("pipeline_value", {"by": "stage"}),
    ("pipeline_value", {"by": ["team", "owner"], "period": "2023-Q3"}),
    ("won_revenue", {"by": "owner"}),
    ("won_revenue", {"period": "2024", "view": "cohort"}),
    ("win_rate", {}),
    ("win_rate", {"by": "team", "basis": "value", "no_decision": "exclude"}),
    ("win_rate", {"stale_after": 60, "by": "owner"}),  # as_of from the whole data
    ("win_rate", {"open_deals": "lost", "period": "2023-Q4", "zero_division": 0.0}),
    ("outcome_shares", {"by": "owner"}),
    ("conversion_from_stage", {}),
    ("conversion_from_stage", {"by": "team", "skipped": "visited", "basis": "value"}),
    ("stage_conversion", {"by": "owner"}),
    ("stage_conversion", {"skipped": "visited"}),
    ("funnel_counts", {"basis": "value", "by": "team"}),
    ("sales_velocity", {}),
    ("sales_velocity", {"by": "owner", "stale_after": 30, "opportunities": "open"}),
    ("sales_cycle_length", {"by": "owner"}),
    ("sales_cycle_length", {"statistic": "median", "outcome": "closed"}),
    ("sales_cycle_length", {"statistic": 90, "by": "team"}),
    ("average_deal_size", {"outcome": "lost", "by": "owner"}),
]


def frames(rows: dict[str, list[Any]]) -> tuple[Any, Any]:
    """The deals and the stage events of `deal_rows` output as pandas DataFrames."""
    deals = pd.DataFrame({k: rows[k] for k in DEAL_COLUMNS})
    for name in ("amount", "probability"):
        deals[name] = np.array([np.nan if v is None else v for v in rows[name]], dtype=float)
    events = pd.DataFrame({"id": rows["h_id"], "stage": rows["h_stage"], "date": rows["h_date"]})
    return deals.astype({"id": object, "stage": object}), events


def split(frame: Any, cuts: list[int]) -> Any:
    """``frame`` as a dask DataFrame cut at ``cuts`` (empty partitions allowed)."""
    bounds = [0, *sorted(min(c, len(frame)) for c in cuts), len(frame)]
    pieces = [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    return dd.from_map(_same, pieces, meta=frame.iloc[:0], enforce_metadata=False)


def _same(piece: Any) -> Any:
    return piece


def whole(metric: str, deals: Any, events: Any, options: dict[str, Any]) -> Any:
    history = events if len(deals) else None
    p = sm.Pipeline.from_columns(deals, DATA["stages"], currency="USD",
                                 columns={"team": "team"}, history=history)
    return getattr(sm, metric)(p, **options)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=deal_rows(max_size=30), call=st.sampled_from(CALLS),
       deal_cuts=st.lists(st.integers(0, 30), max_size=5),
       event_cuts=st.lists(st.integers(0, 90), max_size=5),
       split_every=st.sampled_from([None, 2, 3, 7]), with_history=st.booleans(),
       order=st.randoms(use_true_random=False))
def test_every_metric_equals_the_single_process_result(rows, call, deal_cuts, event_cuts,
                                                       split_every, with_history, order):
    metric, options = call
    deals, events = frames(rows)
    if not with_history:
        events = events.iloc[:0]
    expected, expected_warnings = recorded(lambda: whole(metric, deals, events, options))
    shuffled = deals.iloc[order.sample(range(len(deals)), len(deals))]
    history = split(events, event_cuts) if with_history and len(deals) else None
    with dask.config.set(scheduler="threads"):
        result, result_warnings = recorded(lambda: getattr(smd, metric)(
            split(shuffled, deal_cuts), history=history, split_every=split_every, **DATA,
            **options))
    assert canon(result) == canon(expected)
    assert repr(result) == repr(expected)
    assert result_warnings == expected_warnings


def test_worked_example_three_partitions():
    # won: A 100, C 80; lost: B 250; open: D. Win rate 2 / 3; won revenue 180; by owner: ana
    # won A, lost B (1 / 2), bo won C (1 / 1).
    deals = pd.DataFrame({
        "id": ["A", "B", "C", "D"], "amount": [100.0, 250.0, 80.0, 40.0],
        "stage": ["Closed won", "Closed lost", "Closed won", "Proposal"],
        "close_date": ["2024-01-10", "2024-01-20", "2024-02-01", "2024-03-01"],
        "owner": ["ana", "ana", "bo", "bo"],
    })
    ddf = dd.from_pandas(deals, npartitions=3)
    with dask.config.set(scheduler="threads"):
        assert smd.win_rate(ddf) == 2 / 3
        assert smd.won_revenue(ddf) == 180.0
        assert dict(smd.win_rate(ddf, by="owner", split_every=2)) == {"ana": 0.5, "bo": 1.0}


def test_as_of_default_is_the_whole_datas_latest_date():
    # Partition 1 ends on 2024-01-31, partition 2 on 2024-06-30: stale_after=100 from the
    # whole's latest date (2024-06-30) makes A (created 2024-01-01) stale, B (2024-05-01) not.
    deals = pd.DataFrame({
        "id": ["A", "W", "B", "L"], "amount": [1.0, 1.0, 1.0, 1.0],
        "stage": ["Proposal", "Closed won", "Proposal", "Closed lost"],
        "created": ["2024-01-01", "2024-01-01", "2024-05-01", "2024-05-01"],
        "close_date": ["2024-02-01", "2024-01-31", "2024-07-01", "2024-06-30"],
    })
    ddf = split(deals, [2])
    p = sm.Pipeline.from_columns(deals)
    with dask.config.set(scheduler="threads"):
        # won 1 of (won 1 + lost 1 + stale 1)
        assert smd.win_rate(ddf, stale_after=100) == sm.win_rate(p, stale_after=100) == 1 / 3


def test_as_of_first_pass_builds_no_pipeline(monkeypatch):
    # The latest date on record is in the history (2024-09-01, later than every deal date) and
    # in a stage_entered column (2024-08-01), in day.month.year: the first pass reads the date
    # columns as the pipeline does, and each partition's pipeline is built once, in the main
    # pass (none kept in memory between the passes).
    deals = pd.DataFrame({
        "id": ["A", "W", "B", "L"], "amount": [1.0, 1.0, 1.0, 1.0],
        "stage": ["Proposal", "Closed won", "Proposal", "Closed lost"],
        "created": ["01.01.2024", "01.01.2024", "01.06.2024", "01.05.2024"],
        "close_date": ["01.12.2024", "31.01.2024", "01.07.2024", "30.06.2024"],
        "proposal": [None, None, "01.08.2024", None],
    })
    events = pd.DataFrame({"id": ["A", "B"], "stage": ["Discovery", "Discovery"],
                           "date": ["02.01.2024", "01.09.2024"]})
    options = {"date_formats": ("%d.%m.%Y",), "stage_entered": {"Proposal": "proposal"}}
    p = sm.Pipeline.from_columns(deals, history=events, **options)
    assert p.latest_date == np.datetime64("2024-09-01")
    # From 2024-09-01, stale_after=100: A (created 2024-01-01) is stale, B (2024-06-01) not:
    # won 1 of (won 1 + lost 1 + stale 1).
    assert sm.win_rate(p, stale_after=100) == 1 / 3
    built: list[int] = []
    before_as_of: list[int] = []
    build, latest = smd_partitions.build, smd_partitions.overall_latest
    monkeypatch.setattr(smd_partitions, "build", lambda *a: built.append(1) or build(*a))
    monkeypatch.setattr(smd_partitions, "overall_latest",
                        lambda days: before_as_of.append(len(built)) or latest(days))
    with dask.config.set(scheduler="threads"):
        for history in (None, dd.from_pandas(events, npartitions=2)):
            built.clear()
            ddf = split(deals, [2])
            expected = sm.win_rate(sm.Pipeline.from_columns(
                deals, history=None if history is None else events, **options), stale_after=100)
            assert smd.win_rate(ddf, history=history, stale_after=100,
                                pipeline_options=options) == expected
            assert before_as_of[-1] == 0  # no pipeline built (or kept) before the main pass
            assert len(built) == ddf.npartitions  # each built once
    assert expected == 1 / 3


def test_a_bad_date_with_the_as_of_first_pass_is_the_pipelines_error():
    frame = _deals(created=(4, "not a date"))
    with dask.config.set(scheduler="threads"), pytest.raises(DataError, match="D-4") as info:
        smd.win_rate(dd.from_pandas(frame, npartitions=3), stale_after=30)
    # The pipeline's own error (row 0 of its partition), not one of the first pass.
    assert "(row 0 of the data): created must be an ISO date" in str(info.value)
    with pytest.raises(type(info.value), match="created must be an ISO date"):
        sm.win_rate(sm.Pipeline.from_columns(frame), stale_after=30)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=deal_rows(min_size=1, max_size=30), cuts=st.lists(st.integers(0, 30), max_size=4),
       split_every=st.sampled_from([None, 2]), rng=st.randoms(use_true_random=False))
def test_partitions_with_their_own_categoricals_give_the_wholes_order(rows, cuts, split_every,
                                                                     rng):
    # Files of a data lake read one by one: each partition's owner a categorical of its own
    # (its labels in an arbitrary order). Concatenated, they are plain labels: sorted keys.
    deals, events = frames(rows)
    bounds = [0, *sorted(min(c, len(deals)) for c in cuts), len(deals)]
    pieces = []
    for a, b in itertools.pairwise(bounds):
        piece = deals.iloc[a:b].copy()
        seen = [x for x in dict.fromkeys(piece["owner"]) if pd.notna(x)]
        rng.shuffle(seen)
        piece["owner"] = pd.Categorical(piece["owner"], categories=seen)
        pieces.append(piece)
    # An empty partition is the identity: its dtype does not count.
    plain = pd.concat([piece.astype({"owner": object}) for piece in pieces])
    if len({tuple(piece["owner"].cat.categories) for piece in pieces if len(piece)}) == 1:
        plain = pd.concat([piece for piece in pieces if len(piece)])  # one categorical
    expected = whole("won_revenue", plain, events.iloc[:0], {"by": ["owner", "team"]})
    with dask.config.set(scheduler="threads"):
        for parts in (pieces, pieces[::-1]):
            ddf = dd.from_map(_same, parts, meta=parts[0].iloc[:0], enforce_metadata=False)
            result = smd.won_revenue(ddf, by=["owner", "team"], split_every=split_every, **DATA)
            assert canon(result) == canon(expected)


@settings(max_examples=5, deadline=None)
@given(rows=deal_rows(min_size=20, max_size=20))
def test_history_is_co_partitioned_by_deal_id(rows):
    deals, events = frames(rows)
    expected = whole("conversion_from_stage", deals, events, {"skipped": "visited"})
    with dask.config.set(scheduler="threads"), warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.errors.DataQualityWarning)
        result = smd.conversion_from_stage(
            dd.from_pandas(deals, npartitions=4), history=dd.from_pandas(events, npartitions=3),
            skipped="visited", **DATA)
    assert canon(result) == canon(expected)


def test_integer_ids_co_partition_with_their_events():
    # 0..39, each deal entered Initial contact then Discovery; deals 0..19 are won.
    n = 40
    deals = pd.DataFrame({"id": np.arange(n), "amount": [5.0] * n,
                          "stage": ["Closed won"] * 20 + ["Discovery"] * 20,
                          "close_date": ["2024-02-01"] * n})
    events = pd.DataFrame({"id": np.repeat(np.arange(n), 2),
                           "stage": ["Initial contact", "Discovery"] * n,
                           "date": ["2024-01-01", "2024-01-02"] * n})
    expected = sm.funnel_counts(sm.Pipeline.from_columns(deals, history=events))
    with dask.config.set(scheduler="threads"):
        result = smd.funnel_counts(dd.from_pandas(deals, npartitions=3),
                                   history=dd.from_pandas(events, npartitions=5))
        assert canon(result) == canon(expected)
        assert result["Initial contact"] == n
        # Integer deal ids against text event ids do not match in one process either.
        events["id"] = events["id"].astype(str)
        with pytest.raises(DataError, match="not in the pipeline"):
            sm.Pipeline.from_columns(deals, history=events)
        with pytest.raises(DataError, match="not in the pipeline"):
            smd.funnel_counts(dd.from_pandas(deals, npartitions=3),
                              history=dd.from_pandas(events, npartitions=5))


@pytest.mark.parametrize(("deal_ids", "event_ids"), [
    ("float64", "int64"), ("int64", "float64"), ("Float64", "int64"), ("float64", "Int64"),
    ("float64", "float32")])
def test_float_ids_co_partition_as_the_pipeline_reads_them(deal_ids, event_ids):
    # Integer ids read as floats (1.0, a column with a gap elsewhere): Pipeline.from_columns
    # reads them as int64, so they meet their int64 events; the shuffle hashes them alike.
    n = 40
    deals = pd.DataFrame({"id": pd.Series(np.arange(n)).astype(deal_ids), "amount": [5.0] * n,
                          "stage": ["Closed won"] * 20 + ["Discovery"] * 20,
                          "close_date": ["2024-02-01"] * n})
    events = pd.DataFrame({"id": pd.Series(np.repeat(np.arange(n), 2)).astype(event_ids),
                           "stage": ["Initial contact", "Discovery"] * n,
                           "date": ["2024-01-01", "2024-01-02"] * n})
    expected = sm.funnel_counts(sm.Pipeline.from_columns(deals, history=events))
    with dask.config.set(scheduler="threads"):
        result = smd.funnel_counts(dd.from_pandas(deals, npartitions=3),
                                   history=dd.from_pandas(events, npartitions=5))
    assert canon(result) == canon(expected)
    assert result["Initial contact"] == n  # every deal met its events


def test_a_fractional_float_id_is_the_error_one_process_gives():
    deals = pd.DataFrame({"id": [1.0, 2.5, 3.0], "amount": [5.0] * 3,
                          "stage": ["Discovery"] * 3})
    events = pd.DataFrame({"id": [1, 3], "stage": ["Discovery"] * 2,
                           "date": ["2024-01-01"] * 2})
    with pytest.raises(DataTypeError, match=r"2\.5"):
        sm.Pipeline.from_columns(deals, history=events)
    with dask.config.set(scheduler="threads"), pytest.raises(DataTypeError, match=r"2\.5"):
        smd.funnel_counts(dd.from_pandas(deals, npartitions=2),
                          history=dd.from_pandas(events, npartitions=2))


def test_co_partitioned_history_skips_the_shuffle():
    # Buckets by id % 3, the layout of a lake bucketed by deal id.
    n = 30
    deals = pd.DataFrame({"id": np.arange(n), "amount": [5.0] * n,
                          "stage": ["Closed won", "Closed lost", "Discovery"] * 10,
                          "close_date": ["2024-02-01"] * n})
    events = pd.DataFrame({"id": np.repeat(np.arange(n), 2),
                           "stage": ["Initial contact", "Discovery"] * n,
                           "date": ["2024-01-01", "2024-01-02"] * n})
    expected = sm.conversion_from_stage(sm.Pipeline.from_columns(deals, history=events))

    def buckets(frame):
        pieces = [frame[frame["id"] % 3 == k] for k in range(3)]
        return dd.from_map(_same, pieces, meta=frame.iloc[:0], enforce_metadata=False)

    with dask.config.set(scheduler="threads"):
        result = smd.conversion_from_stage(buckets(deals), history=buckets(events),
                                           co_partitioned=True)
        assert canon(result) == canon(expected)
        with pytest.raises(DataError, match="co_partitioned"):
            smd.conversion_from_stage(buckets(deals), history=dd.from_pandas(events, 2),
                                      co_partitioned=True)
        reversed_events = dd.from_pandas(events[::-1], npartitions=3, sort=False)
        with pytest.raises(DataError, match="not in the pipeline"):  # a broken promise
            smd.conversion_from_stage(dd.from_pandas(deals, npartitions=3),
                                      history=reversed_events, co_partitioned=True)


# -- errors -------------------------------------------------------------------------------------
def _deals(n: int = 6, **changes: Any) -> Any:
    frame = pd.DataFrame({"id": [f"D-{i}" for i in range(n)], "amount": [10.0] * n,
                          "stage": ["Proposal"] * n})
    for column, (row, value) in changes.items():
        frame.loc[row, column] = value
    return frame


def test_a_bad_value_in_one_partition_names_the_deal():
    frame = _deals(amount=(4, -5.0))
    with dask.config.set(scheduler="threads"), pytest.raises(DataError, match="D-4") as info:
        smd.pipeline_value(dd.from_pandas(frame, npartitions=3))
    with pytest.raises(type(info.value)):
        sm.pipeline_value(sm.Pipeline.from_columns(frame))


def test_an_unknown_stage_in_one_partition_is_an_unknown_stage_error():
    frame = _deals(stage=(5, "Nope"))
    with dask.config.set(scheduler="threads"), pytest.raises(UnknownStageError, match="D-5"):
        smd.win_rate(dd.from_pandas(frame, npartitions=2))


def test_duplicate_ids_are_caught_within_a_partition_not_across():
    frame = _deals(id=(1, "D-0"))
    with dask.config.set(scheduler="threads"):
        with pytest.raises(DuplicateDealError, match="D-0"):
            smd.pipeline_value(dd.from_pandas(frame, npartitions=1))
        # Across partitions: the caller's to ensure (documented); both copies count.
        assert smd.pipeline_value(split(frame, [1])) == 60.0
        # The documented check: a shuffle by id puts both copies in one partition (the id
        # column stays, unlike set_index("id")).
        with pytest.raises(DuplicateDealError, match="D-0"):
            smd.pipeline_value(split(frame, [1]).shuffle("id"))


def test_currencies_differing_across_partitions_are_a_currency_error():
    frame = _deals(4).assign(currency=["USD", "USD", "EUR", "EUR"])
    with pytest.raises(CurrencyError, match="EUR, USD"):
        sm.Pipeline.from_columns(frame)
    with dask.config.set(scheduler="threads"), pytest.raises(CurrencyError, match="EUR, USD"):
        smd.pipeline_value(dd.from_pandas(frame, npartitions=2))


def test_bad_options_raise_before_any_task_runs():
    ddf = dd.from_pandas(_deals(), npartitions=2)
    with pytest.raises(OptionError, match="basis"):
        smd.win_rate(ddf, basis="euros")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="owner"):
        smd.win_rate(ddf, by="owner")
    with pytest.raises(DataTypeError, match="split_every"):
        smd.win_rate(ddf, split_every=1)
    with pytest.raises(DataTypeError, match="dask DataFrame"):
        smd.win_rate(_deals())


def test_orphan_events_are_an_error_as_in_a_single_process():
    events = pd.DataFrame({"id": ["D-0", "X-9"], "stage": ["Proposal"] * 2,
                           "date": ["2024-01-01"] * 2})
    with dask.config.set(scheduler="threads"), pytest.raises(DataError, match="X-9"):
        smd.funnel_counts(dd.from_pandas(_deals(), npartitions=2),
                          history=dd.from_pandas(events, npartitions=1))


def test_an_empty_frame_gives_what_an_empty_pipeline_gives():
    empty = _deals(0)
    with dask.config.set(scheduler="threads"):
        assert canon(smd.win_rate(dd.from_pandas(empty, npartitions=1))) == canon(
            sm.win_rate(sm.Pipeline.from_columns(empty)))
        assert smd.pipeline_value(dd.from_pandas(empty, npartitions=1)) == 0.0


def test_inputs_are_not_changed():
    frame = _deals()
    before = frame.copy()
    with dask.config.set(scheduler="threads"):
        smd.pipeline_value(dd.from_pandas(frame, npartitions=2), by="stage")
    pd.testing.assert_frame_equal(frame, before)


def test_pipeline_options_reach_every_partition():
    frame = _deals().assign(created=["01/02/2024"] * 6)
    with dask.config.set(scheduler="threads"):
        assert smd.won_revenue(dd.from_pandas(frame, npartitions=2),
                               pipeline_options={"date_formats": ["%d/%m/%Y"]}) == 0.0
        with pytest.raises(DataTypeError, match="history"):
            smd.won_revenue(dd.from_pandas(frame, npartitions=2),
                            pipeline_options={"history": None})


def test_several_date_formats_are_refused_each_partition_would_choose_its_own():
    # One process reads a column with the first format that reads all of it: "25/02/2024"
    # makes the whole column day first. A partition holding only "01/02/2024" would read it
    # month first (2 January): a different answer, so several formats are refused.
    frame = _deals().assign(created=["01/02/2024", "25/02/2024"] * 3)
    with pytest.raises(OptionError, match=r"date_formats=\['%m/%d/%Y', '%d/%m/%Y'\] gives "
                                          r"several formats.*each partition"):
        smd.won_revenue(dd.from_pandas(frame, npartitions=2),
                        pipeline_options={"date_formats": ["%m/%d/%Y", "%d/%m/%Y"]})


def test_created_dates_as_dates_survive_the_frame():
    frame = _deals().assign(created=[dt.date(2024, 1, k + 1) for k in range(6)])
    with dask.config.set(scheduler="threads"):
        assert smd.pipeline_value(dd.from_pandas(frame, npartitions=3)) == 60.0


def test_importing_salesmetrics_dask_does_not_import_dask():
    code = ("import sys, salesmetrics, salesmetrics.dask; "
            "print([m for m in ('dask', 'distributed') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(smd.__all__))
def test_every_option_of_the_metric_is_an_option_of_its_dask_function(name: str) -> None:
    """The dask signatures repeat the metrics' options by design: they must not drift."""
    import inspect

    own = inspect.signature(getattr(sm, name)).parameters
    distributed = inspect.signature(getattr(smd, name)).parameters
    for option, parameter in own.items():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        assert option in distributed, f"{name}: {option} missing"
        assert distributed[option].default == parameter.default or (
            parameter.default != parameter.default
            and distributed[option].default != distributed[option].default), (name, option)
        assert distributed[option].kind is inspect.Parameter.KEYWORD_ONLY
