"""salesmetrics.dask against one process: 10M deals in 16 partitions (issue 15).

Each partition is generated on the worker that holds it (deterministic per partition), persisted,
and then every metric below is timed three ways on the same deals:

- **single**: one process, `Pipeline.from_columns` of the whole frame plus the metric (the
  dask path builds a pipeline per partition too, so construction is in both);
- **cluster**: `salesmetrics.dask` on a `distributed.LocalCluster` with 2 worker processes;
- with a stage history (about 2.8 events per deal), conversion with the events shuffled to
  their deals' partitions, and with ``co_partitioned=True`` (each partition's events generated
  with its deals, the layout of a lake bucketed by deal id);
- **tiny**: the same call on 16 partitions of 10 deals, which is the fixed cost of the dask
  path per partition (tasks, scheduling, summaries pickled, the tree reduction, finalize).

Printed: seconds, the ratio cluster / single, the overhead per partition [ms] as
``(cluster × workers − single) / partitions`` (worker time spent beyond the single process's
work) and as the tiny run's time per partition, the cost per deal [ns], and the pickled size
of a partition's summary [bytes]. On 2 cores no speed-up is expected: the point is the overhead.

    python benchmarks/bench_dask.py            # 10M deals, 16 partitions
    python benchmarks/bench_dask.py --quick    # 1M deals, 16 partitions
"""

from __future__ import annotations

import argparse
import gc
import pickle
import time
import warnings
from collections.abc import Callable
from typing import Any

import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd

import salesmetrics as sm
import salesmetrics.dask as smd
from salesmetrics import DEFAULT_STAGES
from salesmetrics.dask._adapter import summarize

STAGES = [s.name for s in DEFAULT_STAGES]  # five open stages, Closed won, Closed lost
OWNERS = [f"owner-{k:03d}" for k in range(200)]
START = np.datetime64("2022-01-01", "D")

#: (label, single-process call on a Pipeline, the same on a dask DataFrame)
CALLS: list[tuple[str, Callable[[Any], Any], Callable[..., Any]]] = [
    ("pipeline_value by owner", lambda p: sm.pipeline_value(p, by="owner"),
     lambda d, **k: smd.pipeline_value(d, by="owner", **k)),
    ("win_rate by owner", lambda p: sm.win_rate(p, by="owner"),
     lambda d, **k: smd.win_rate(d, by="owner", **k)),
    ("win_rate stale_after (first pass)", lambda p: sm.win_rate(p, stale_after=90),
     lambda d, **k: smd.win_rate(d, stale_after=90, **k)),
    ("median cycle by owner", lambda p: sm.sales_cycle_length(p, by="owner", statistic="median"),
     lambda d, **k: smd.sales_cycle_length(d, by="owner", statistic="median", **k)),
    ("conversion_from_stage", lambda p: sm.conversion_from_stage(p),
     lambda d, **k: smd.conversion_from_stage(d, **k)),
]


SUMMARIES = [("pipeline_value", {"by": "owner"}),
             ("sales_cycle_length", {"by": "owner", "statistic": "median"}),
             ("win_rate", {})]


def partition(index: int, n: int) -> pd.DataFrame:
    """``n`` deals of partition ``index``: ids unique over partitions, categorical stage and
    owner, amounts in whole cents, dates over three years."""
    rng = np.random.default_rng(1000 + index)
    stage = rng.choice(len(STAGES), size=n, p=[0.1, 0.1, 0.1, 0.05, 0.05, 0.3, 0.3])
    created = START + rng.integers(0, 1000, n).astype("timedelta64[D]")
    close = created + rng.integers(0, 200, n).astype("timedelta64[D]")
    return pd.DataFrame({
        "id": np.arange(index * n, (index + 1) * n, dtype=np.int64),
        "amount": rng.integers(100, 10_000_000, n) / 100,
        "stage": pd.Categorical.from_codes(stage, categories=STAGES),
        "created": created,
        "close_date": close,
        "owner": pd.Categorical.from_codes(rng.integers(0, len(OWNERS), n), categories=OWNERS),
    })


def events(index: int, n: int) -> pd.DataFrame:
    """The stage events of `partition` ``index``: each deal entered the open stages up to its
    own (up to 4 for a closed deal), a day apart from its created date."""
    deals = partition(index, n)
    code = deals["stage"].cat.codes.to_numpy()
    reached = np.where(code < 5, code, (deals["id"].to_numpy() % 5)) + 1
    row = np.repeat(np.arange(n), reached)
    step = np.arange(len(row)) - np.repeat(np.cumsum(reached) - reached, reached)
    return pd.DataFrame({
        "id": deals["id"].to_numpy()[row],
        "stage": pd.Categorical.from_codes(step, categories=STAGES),
        "date": deals["created"].to_numpy()[row] + step.astype("timedelta64[D]"),
    })


def history_frame(parts: int, n: int) -> Any:
    return dd.from_map(events, range(parts), n=n, meta=events(0, 0), enforce_metadata=False)


def frame(parts: int, n: int) -> Any:
    return dd.from_map(partition, range(parts), n=n, meta=partition(0, 0),
                       enforce_metadata=False)


def best(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return result, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M deals instead of 10M")
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    deals = 1_000_000 if args.quick else 10_000_000
    parts, workers = args.partitions, 2
    per = deals // parts
    whole = pd.concat([partition(i, per) for i in range(parts)], ignore_index=True)
    one = sm.Pipeline.from_columns(partition(0, per))
    sizes = {name: len(pickle.dumps(summarize(one, name, options)))
             for name, options in SUMMARIES}
    print(f"{deals:,} deals in {parts} partitions of {per:,}; LocalCluster with {workers} "
          f"worker processes\n")
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        big = frame(parts, per).persist()
        tiny = frame(parts, 10).persist()
        distributed.wait([big, tiny])
        client.run(gc.collect)
        header = (f"{'metric':36} {'single s':>9} {'cluster s':>9} {'ratio':>6} "
                  f"{'ovh ms/part':>11} {'tiny ms/part':>12} {'ns/deal':>8}")
        print(header)
        print("-" * len(header))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sm.errors.DataQualityWarning)
            for label, single_call, dask_call in CALLS:
                expected, single = best(
                    lambda c=single_call: c(sm.Pipeline.from_columns(whole)), args.repeat)
                result, spread = best(lambda c=dask_call: c(big), args.repeat)
                _, fixed = best(lambda c=dask_call: c(tiny), args.repeat)
                assert result == expected, (label, result, expected)
                overhead = (spread * workers - single) / parts * 1000
                print(f"{label:36} {single:9.3f} {spread:9.3f} {spread / single:6.2f} "
                      f"{overhead:11.1f} {fixed / parts * 1000:12.1f} "
                      f"{single / deals * 1e9:8.0f}")
            # With a stage history: the events are shuffled to their deals' partitions.
            whole_events = pd.concat([events(i, per) for i in range(parts)], ignore_index=True)
            hist = history_frame(parts, per).persist()
            distributed.wait(hist)
            expected, single = best(lambda: sm.conversion_from_stage(sm.Pipeline.from_columns(
                whole, history=whole_events), skipped="visited"), 1)
            result, spread = best(lambda: smd.conversion_from_stage(
                big, history=hist, skipped="visited"), 1)
            assert result == expected
            laid_out, aligned = best(lambda: smd.conversion_from_stage(
                big, history=hist, skipped="visited", co_partitioned=True), 1)
            assert laid_out == expected
            for label, took in (("conversion, history (shuffle)", spread),
                                ("conversion, history co_partitioned", aligned)):
                print(f"{label:36} {single:9.3f} {took:9.3f} {took / single:6.2f} "
                      f"{(took * workers - single) / parts * 1000:11.1f} {'':12} "
                      f"{single / deals * 1e9:8.0f}")
            print(f"({len(whole_events):,} events)")
    print(f"\npickled summary of one partition of {per:,} deals [bytes]: " + ", ".join(
        f"{name} {options} {size:,}" for (name, options), size in zip(SUMMARIES, sizes.values(),
                                                                      strict=True)))


if __name__ == "__main__":
    main()
