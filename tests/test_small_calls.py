"""What keeps small calls fast must not change a result: remembered periods and results."""

import pytest

from salesmetrics import Period
from salesmetrics.domain.period import as_period
from salesmetrics.errors import DataError, DataTypeError


def test_a_period_label_is_read_once_and_shared():
    first = as_period("2024-Q2")
    assert first == Period.quarter(2024, 2)
    assert as_period("2024-Q2") is first
    assert as_period(" 2024-q2 ") == first  # the same period, spelled otherwise


def test_a_bad_label_raises_every_time():
    for _ in range(2):
        with pytest.raises(DataError, match="2024-Q5"):
            as_period("2024-Q5")
    with pytest.raises(DataTypeError, match="period must be a Period"):
        as_period(2024)


def test_a_str_subclass_is_parsed_not_remembered():
    class Label(str):
        pass

    assert as_period(Label("2024-Q2")) == Period.quarter(2024, 2)


# -- remembered results ------------------------------------------------------------------------
import math  # noqa: E402
import threading  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

import salesmetrics as sm  # noqa: E402
from salesmetrics import Deal, Pipeline  # noqa: E402
from salesmetrics.errors import DataQualityWarning  # noqa: E402

#: Every remembered metric, with options that make it warn on `warning_pipeline`.
CALLS = {
    "weighted_pipeline": lambda p: sm.weighted_pipeline(p, by="owner", period="2024-Q2"),
    "pipeline_value": lambda p: sm.pipeline_value(p, by="owner"),
    "won_revenue": lambda p: sm.won_revenue(p, by="owner", period="2024-Q2"),
    "win_rate": lambda p: sm.win_rate(p, basis="value", by="owner", period="2024-Q2",
                                      view="cohort"),
    "outcome_shares": lambda p: sm.outcome_shares(p, basis="value", period="2024-Q2",
                                                  view="cohort"),
    "conversion_from_stage": lambda p: sm.conversion_from_stage(p, basis="value"),
    "funnel_counts": lambda p: sm.funnel_counts(p, by="owner"),
    "stage_conversion": lambda p: sm.stage_conversion(p, skipped="visited"),
    "sales_velocity": lambda p: sm.sales_velocity(p, by="owner", period="2024-Q2"),
    "sales_cycle_length": lambda p: sm.sales_cycle_length(p, statistic="median", by="owner"),
    "average_deal_size": lambda p: sm.average_deal_size(p, outcome="open", period="2024-Q2"),
}


def warning_pipeline() -> Pipeline:
    """Deals without amounts, created or close dates, a lost deal zeroed, no stage history."""
    return Pipeline.from_deals([
        Deal(1, 100, "Closed won", created="2024-04-01", close_date="2024-05-01", owner="ana"),
        Deal(2, 0, "Closed lost", created="2024-04-02", close_date="2024-05-02", owner="ana"),
        Deal(3, None, "Closed won", close_date="2024-05-03", owner="bo"),
        Deal(4, 50, "Proposal", owner="bo"),
        Deal(5, None, "Meeting", created="2024-04-05", close_date="2024-06-01", owner=None),
        Deal(6, 70, "Closed won", created="2024-06-09", close_date="2024-06-08", owner="bo"),
    ], allow_close_before_created=True)


def caught(call):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = call()
    return out, [(str(w.message), w.category, w.filename, w.lineno) for w in seen]


def test_a_repeat_call_returns_the_result_and_raises_the_same_warnings_at_the_caller():
    p = warning_pipeline()
    for name, call in CALLS.items():
        first, warned = caught(lambda call=call: call(p))
        again, rewarned = caught(lambda call=call: call(p))
        assert again is first, name  # remembered
        assert rewarned == warned, name
        assert all(w[1] is DataQualityWarning and w[2] == __file__ for w in warned), name
        assert warned or name in ("funnel_counts",), name  # the pipeline makes them warn
        fresh, _ = caught(lambda call=call: call(warning_pipeline()))
        assert repr(fresh) == repr(first), name


def test_warnings_as_errors_raise_on_every_call():
    p = warning_pipeline()
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(DataQualityWarning, match="sales_velocity"):
                sm.sales_velocity(p, by="owner", period="2024-Q2")


def test_arguments_that_compare_equal_are_not_confused():
    p = warning_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # -0.0 == 0.0 and 1 == True, but zero_division=-0.0 gives -0.0 where a rate is undefined
        plus = sm.win_rate(p, period="2023-Q1", zero_division=0.0)  # no deal closed then
        minus = sm.win_rate(p, period="2023-Q1", zero_division=-0.0)
        assert (math.copysign(1, plus), math.copysign(1, minus)) == (1.0, -1.0)
        assert sm.average_deal_size(p, period="2023-Q1", zero_division=1) == 1.0
        with pytest.raises(sm.errors.OptionError, match="got True"):  # 1 == True, not here
            sm.average_deal_size(p, period="2023-Q1", zero_division=True)
        # by="owner" and by=["owner"] are remembered apart, and agree
        assert sm.win_rate(p, by="owner") == sm.win_rate(p, by=["owner"])
        # the same period spelled twice: a Period of another kind prints otherwise
        by_label = sm.sales_velocity(p, period="2024-Q2")
        assert sm.sales_velocity(p, period=sm.Period.quarter(2024, 2)) == by_label


def test_unhashable_or_numpy_arguments_are_computed_every_time():
    p = warning_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probabilities = {"Proposal": 0.5}
        first = sm.weighted_pipeline(p, probabilities=probabilities)
        probabilities["Proposal"] = 1.0  # the caller's dict changes: so does the result
        assert sm.weighted_pipeline(p, probabilities=probabilities) == 2 * first
        assert sm.win_rate(p, zero_division=np.float64(0.0)) is not (
            sm.win_rate(p, zero_division=np.float64(0.0)))


def test_errors_are_raised_on_every_call():
    p = warning_pipeline()
    for _ in range(2):
        with pytest.raises(sm.errors.OptionError, match="view"):
            sm.win_rate(p, view="nope")  # type: ignore[call-overload]


def test_a_view_of_rows_does_not_share_the_results_of_its_pipeline():
    p = warning_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = sm.pipeline_value(p)
        part = sm.pipeline_value(p.filter(np.arange(len(p)) < 3))
    assert (whole, part) == (50.0, 0.0)  # open deals 4 (50) and 5 (no amount); none in rows 0-2


def test_threads_get_the_same_results_and_each_its_warnings():
    p = warning_pipeline()
    seen: dict[int, list[object]] = {}

    def work(i: int) -> None:
        rows = []
        for _ in range(20):
            out, warned = caught(lambda: sm.sales_velocity(p, by="owner", period="2024-Q2"))
            rows.append((out, [w[0] for w in warned]))
        seen[i] = rows

    # catch_warnings is not thread-safe: record in one thread at a time, compute in all.
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [row for rows in seen.values() for row in rows]
    assert all(r[0] == results[0][0] for r in results)


# -- the direct path of small pipelines (issue 14) -------------------------------------------------
from salesmetrics import _kernels  # noqa: E402
from salesmetrics.metrics import _chunked  # noqa: E402

#: (metric, options) whose summaries go through every tally, grouped and not, with a period.
SUMMARIES = [
    ("weighted_pipeline", {}), ("weighted_pipeline", {"by": ("owner", "stage")}),
    ("pipeline_value", {"by": "owner", "period": "2024-Q2"}),
    ("win_rate", {"by": "owner", "period": "2024-Q2", "stale_after": 30}),
    ("outcome_shares", {"by": "owner"}), ("won_revenue", {"by": "owner", "period": "2024-Q2"}),
    ("conversion_from_stage", {"by": "owner"}), ("stage_conversion", {"skipped": "visited"}),
    ("sales_velocity", {"by": "owner", "period": "2024-Q2"}),
    ("sales_cycle_length", {"by": "owner", "statistic": "median"}),
]


def small_pipeline(n: int = 300) -> Pipeline:
    rng = np.random.default_rng(7)
    stages = [s.name for s in sm.DEFAULT_STAGES]
    created = np.datetime64("2024-01-01") + rng.integers(0, 150, n)
    close = created + rng.integers(0, 120, n)
    codes = rng.integers(0, len(stages), n)
    open_stages = sum(not s.is_closed for s in sm.DEFAULT_STAGES)
    close[(codes < open_stages) & (np.arange(n) % 5 == 0)] = np.datetime64("NaT")  # no_close
    return Pipeline.from_columns({
        "id": np.arange(n), "amount": rng.integers(1, 10**6, n) / 100,
        "stage": [stages[i] for i in codes],
        "created": created, "close_date": close,
        "owner": [f"rep-{i}" for i in rng.integers(0, 7, n)],
        "probability": np.where(rng.random(n) < 0.3, rng.random(n), np.nan),
    }, sm.DEFAULT_STAGES)


@pytest.mark.parametrize(("metric", "options"), SUMMARIES)
def test_the_direct_path_gives_the_summaries_of_the_block_path(monkeypatch, metric, options):
    p = small_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = sm.summarize(p, metric, **options)
        monkeypatch.setattr(_chunked, "SMALL_ROWS", 0)  # the remembered tally, one block
        one_block = sm.summarize(small_pipeline(), metric, **options)
        monkeypatch.setattr(_kernels, "CHUNK_ROWS", 37)  # many blocks
        blocks = sm.summarize(small_pipeline(), metric, **options)
    assert direct == one_block == blocks


def test_the_direct_path_carries_the_limbs():
    # Overflow past 2**63 - 1 on small pipelines: tests/test_trust_numeric.py. The exact
    # Σ amount × own probability in two limbs, normalized (override_lo < 2**32) as the chunked
    # sums are: 3 × 0.333333333 × 10.00 = 9.99999999 [USD].
    p = Pipeline.from_deals([Deal(i, 10, "Proposal", probability=0.333333333)
                             for i in range(3)])
    lo = sm.summarize(p, "weighted_pipeline").arrays["override_lo"]
    assert int(lo[0]) < 2**32
    assert sm.weighted_pipeline(p) == 9.99999999


@pytest.mark.parametrize("by", [None, "owner"])
@pytest.mark.parametrize("basis", ["unit", "value"])
@pytest.mark.parametrize("make", [small_pipeline, warning_pipeline])
def test_coverage_without_the_filtered_pipeline_is_the_same(monkeypatch, make, basis, by):
    # A pipeline of at most SMALL_ROWS deals tallies the deals closed before the period on
    # itself (`summarize_closed_before`); with SMALL_ROWS = 0 it filters them into a pipeline.
    def call():
        p = make()
        target = 5e4 if by is None else {k: 5e4 for k in p.categories(by).tolist()}
        return caught(lambda: sm.pipeline_coverage(p, target=target, period="2024-Q2",
                                                   basis=basis, by=by))
    direct, direct_warned = call()
    monkeypatch.setattr(_chunked, "SMALL_ROWS", 0)
    from salesmetrics.metrics import _summarize
    monkeypatch.setattr(_summarize, "SMALL_ROWS", 0)
    filtered, filtered_warned = call()
    def bits(out):  # every number of every Coverage, bit for bit (nan included)
        items = out.items() if by else [(None, out)]
        return [(k, [float(v).hex() for v in c.to_dict().values()]) for k, c in items]

    assert bits(direct) == bits(filtered)
    assert direct_warned == filtered_warned


@pytest.mark.parametrize("span", [5, 4000])  # the dense table and the sort
def test_one_column_of_a_day_histogram_is_its_entries(span):
    rng = np.random.default_rng(span)
    cells, days = rng.integers(0, 7 * 4, 500), rng.integers(-span, span, 500)
    hist = _kernels.DayCounts.tally(7, 4, cells, days)
    for column in range(4):
        row, col = np.divmod(hist.cell, 4)
        keep = col == column
        expected = _kernels.DayCounts(7, 1, *_kernels._count_pairs(
            7, row[keep], hist.day[keep], hist.count[keep]))
        got = hist.combine([column])
        assert got == expected
        assert [a.dtype for a in (got.cell, got.day, got.count)] == [np.int64] * 3
        np.testing.assert_array_equal(got.percentile(50.0), expected.percentile(50.0))


def test_the_reach_table_is_the_reach_rule():
    from salesmetrics.metrics import _tallies

    # By hand: "implied" fills every stage below the furthest one reached (0b0100 -> 0b0111),
    # "visited" keeps the bits; no stage on record counts as the first stage (0 -> 0b0001).
    implied = _tallies._reach_table(4, "implied")
    visited = _tallies._reach_table(4, "visited")
    assert implied[[0, 1, 0b0100, 0b0101, 0b1010]].tolist() == [1, 1, 0b0111, 0b0111, 0b1111]
    assert visited[[0, 1, 0b0100, 0b0101, 0b1010]].tolist() == [1, 1, 0b0100, 0b0101, 0b1010]
    masks = np.arange(1 << 10, dtype=np.intp)
    for skipped in ("implied", "visited"):
        np.testing.assert_array_equal(_tallies._reach_table(10, skipped),
                                      _tallies._reach_rule(masks, skipped))


@pytest.mark.parametrize("skipped", ["implied", "visited"])
@pytest.mark.parametrize("basis", ["unit", "value"])
def test_conversion_with_and_without_the_reach_table_is_the_same(monkeypatch, skipped, basis):
    # The table serves processes of up to _TABLE_STAGES open stages; past that the rule runs on
    # the masks themselves. Same pipeline, both sides: the same summaries and results.
    from salesmetrics.metrics import _tallies

    def run():
        return [run_on(warning_pipeline()), run_on(sm.datasets.sample_pipeline())]

    def run_on(p):
        return caught(lambda: (
            sm.summarize(p, "conversion_from_stage", skipped=skipped, basis=basis, by="owner"),
            sm.funnel_counts(p, skipped=skipped, basis=basis),
            sm.stage_conversion(p, skipped=skipped, basis=basis, by="owner")))
    table = run()
    monkeypatch.setattr(_tallies, "_TABLE_STAGES", 0)
    rule = run()
    assert table == rule  # results, summaries and warnings (text, line) alike
    assert table[0][1]  # the warning pipeline warns (no stage history)


def test_stage_probabilities_set_while_built_stay_read_only():
    # StageTable._set bypasses the read-only check while constructing; afterwards every
    # attribute refuses reassignment. A stage no closed deal reached keeps its configured
    # probability exactly (Proposal: configured 0.6, no evidence on this pipeline).
    p = Pipeline.from_deals([
        Deal(1, 100, "Closed lost", close_date="2024-05-01", history=[("Meeting", "2024-04-01")]),
        Deal(2, 300, "Closed lost", close_date="2024-05-02",
             history=[("Discovery", "2024-04-01")]),
    ])
    with pytest.warns(DataQualityWarning, match="2 stages .* configured probability"):
        measured = sm.historical_probabilities(p)
    assert measured["Discovery"] == 0.0 and measured.n["Discovery"] == 2  # 0 won of 2 closed
    assert measured["Meeting"] == 0.0 and measured.n["Meeting"] == 1
    assert measured["Proposal"] == 0.6 and measured.n["Proposal"] == 0
    for name in ("won", "closed", "n", "configured", "basis", "prior_strength", "currency",
                 "_values"):
        with pytest.raises(AttributeError, match="read-only"):
            setattr(measured, name, None)
