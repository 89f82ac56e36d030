"""Construction, memory, small-pipeline latency and import time of salesmetrics (issue 14).

The workloads against pandas, polars and DuckDB are in `bench_peers.py`. This script prints:

- **construction**: a pipeline of n deals from datetime64 dates with stage and owner as pandas
  ``Categorical``, polars ``Enum``/``Categorical``, Arrow dictionary arrays, and numpy ``<U``
  strings; its ~4.4 n history events with a categorical stage column and from strings
  (goals at 10M: < 1 s categorical, < 3 s strings; history < 3 s categorical, < 10 s strings);
- **memory**: bytes per deal of the deal columns (goal ≤ 40) and the peak memory of each metric
  call (tracemalloc, which numpy reports its buffers to) as a multiple of the pipeline's own size
  (deal columns and history; goal < 2);
- **small pipelines**: building 100 `Deal`s (goal < 300 µs), then the first call of every metric
  on the pipeline just built (goal < 50 µs) and a repeat call (goal < 20 µs), grouped calls
  included, the period given as a string as a web backend would;
- **import**: ``import salesmetrics`` against ``import numpy``, whole processes, median of 15
  (goal ≤ 1.2).

Never gates CI: the machine is noisy, so compare within one run.

    python benchmarks/bench_metrics.py            # 10M deals
    python benchmarks/bench_metrics.py --quick    # 1M deals
    python benchmarks/bench_metrics.py --only small,import
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import _synthetic as S  # noqa: N812
import numpy as np

import salesmetrics as sm
from salesmetrics import Deal, Pipeline

QUARTER = S.QUARTER


def seconds(fn: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


# -- construction ------------------------------------------------------------------------------
def run_construction(n: int) -> Pipeline:
    print(f"\n## construction, {n:,} deals (goal at 10M: < 1 s from categoricals, < 3 s from "
          "strings; history < 3 s categorical, < 10 s strings)")
    deals, history = S.make(n)
    events = len(history["deal_id"])
    kept: Pipeline | None = None
    for form, convert in (("pandas Categorical", S.as_pandas), ("polars Enum/Categorical",
                          S.as_polars), ("Arrow dictionary", S.as_arrow),
                          ("numpy <U strings", S.as_strings)):
        try:
            data, hist = convert(deals, history)
        except ImportError:
            print(f"- {form}: not installed")
            continue
        _, alone = seconds(lambda d=data: Pipeline.from_columns(d))
        line = f"- {form}: {alone:.2f} s for the deals"
        if form in ("pandas Categorical", "numpy <U strings"):
            p, both = seconds(lambda d=data, h=hist: Pipeline.from_columns(d, history=h))
            line += (f"; with the {events:,}-event history: {both:.2f} s "
                     f"(history {both - alone:.2f} s)")
            if kept is None:
                kept = p
            del p
        print(line, flush=True)
        del data, hist
    assert kept is not None
    return kept


# -- memory --------------------------------------------------------------------------------------
def _nbytes(obj: Any, seen: set[int]) -> int:
    """Bytes of the numpy buffers reachable from obj (dicts, tuples, attrs/slots objects)."""
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if base is not obj and id(base) in seen:
            return 0
        seen.add(id(base))
        size = base.nbytes
        if obj.dtype == object:
            size += sum(sys.getsizeof(x) for x in obj.ravel()[:10_000])
        return size
    if isinstance(obj, dict):
        return sum(_nbytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v, seen) for v in obj)
    names = list(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        names += [s for s in getattr(cls, "__slots__", ()) if isinstance(s, str)]
    return sum(_nbytes(getattr(obj, a, None), seen) for a in names
               if not a.startswith("__"))


def deal_bytes(p: Pipeline) -> tuple[int, int, int]:
    """Bytes of (deal columns, stage history, remembered per-row facts)."""
    history = _nbytes(p.history, set())
    cache = _nbytes(dict(p._cache), set())
    seen: set[int] = set()
    _nbytes(p.history, seen)
    _nbytes(dict(p._cache), seen)
    columns = _nbytes(p, seen)  # what is left: the deal columns and labels
    return columns, history, cache


def metric_calls(q: Any) -> dict[str, Callable[[Pipeline], Any]]:
    return {
        "weighted_pipeline(p)": lambda p: sm.weighted_pipeline(p),
        "weighted_pipeline(p, by=('owner', 'stage'))":
            lambda p: sm.weighted_pipeline(p, by=("owner", "stage")),
        "pipeline_value(p, by='owner')": lambda p: sm.pipeline_value(p, by="owner"),
        "won_revenue(p, by='owner', period=Q)": lambda p: sm.won_revenue(p, by="owner", period=q),
        "win_rate(p)": lambda p: sm.win_rate(p),
        "win_rate(p, by='owner', period=Q)": lambda p: sm.win_rate(p, by="owner", period=q),
        "win_rate(p, by='owner', period=Q, basis='value')":
            lambda p: sm.win_rate(p, by="owner", period=q, basis="value"),
        "outcome_shares(p, by='owner')": lambda p: sm.outcome_shares(p, by="owner"),
        "conversion_from_stage(p)": lambda p: sm.conversion_from_stage(p),
        "conversion_from_stage(p, by='owner')": lambda p: sm.conversion_from_stage(p, by="owner"),
        "stage_conversion(p)": lambda p: sm.stage_conversion(p),
        "funnel_counts(p)": lambda p: sm.funnel_counts(p),
        "sales_velocity(p, period=Q)": lambda p: sm.sales_velocity(p, period=q),
        "sales_velocity(p, by='owner', period=Q)":
            lambda p: sm.sales_velocity(p, by="owner", period=q),
        "sales_cycle_length(p)": lambda p: sm.sales_cycle_length(p),
        "sales_cycle_length(p, by='owner')": lambda p: sm.sales_cycle_length(p, by="owner"),
        "sales_cycle_length(p, by='owner', statistic='median')":
            lambda p: sm.sales_cycle_length(p, by="owner", statistic="median"),
        "average_deal_size(p, by='owner')": lambda p: sm.average_deal_size(p, by="owner"),
        "historical_probabilities(p)": lambda p: sm.historical_probabilities(p),
        "pipeline_coverage(p, target=1e6, period=Q)":
            lambda p: sm.pipeline_coverage(p, target=1e6, period=q),
    }


def run_memory(p: Pipeline) -> None:
    n = len(p)
    q = sm.Period.parse(QUARTER)
    calls = metric_calls(q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in calls.values():
            fn(p)  # per-row facts built once, as in use
    p._cache.pop("memo", None)
    columns, history, facts = deal_bytes(p)
    print(f"\n## memory, {n:,} deals")
    print(f"- deal columns: {columns / n:.1f} bytes per deal (goal ≤ 40); stage history "
          f"{history / n:.1f} bytes per deal; remembered per-row facts {facts / n:.1f}")
    own = columns + history
    print(f"- peak memory of each call, as a multiple of the pipeline's own size "
          f"({own / 1e6:,.0f} MB; goal < 2):")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = []
        for name, fn in calls.items():
            p._cache.pop("memo", None)
            gc.collect()
            tracemalloc.start()
            tracemalloc.reset_peak()
            fn(p)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rows.append(f"{name} {peak / own:.2f}× ({peak / 1e6:,.0f} MB)")
    print("  " + "; ".join(rows))


# -- small pipelines ----------------------------------------------------------------------------
def small_deals(n: int = 100, owners: int = 10, seed: int = 3) -> list[Deal]:
    deals, history = S.make(n, seed=seed, owners=owners)
    names = S.STAGE_NAMES
    by_deal: dict[int, list[tuple[str, dt.date]]] = {}
    for i, s, d in zip(history["deal_id"].tolist(), history["stage"].tolist(),
                       history["entered_at"].tolist(), strict=True):
        by_deal.setdefault(i, []).append((names[s], d))
    return [Deal(i, a / 100, names[s], created=c, close_date=e, owner=f"rep-{o}",
                 history=by_deal.get(i, ()))
            for i, a, s, c, e, o in zip(deals["deal_id"].tolist(), deals["amount"].tolist(),
                                        deals["stage"].tolist(), deals["created"].tolist(),
                                        deals["close"].tolist(), deals["owner"].tolist(),
                                        strict=True)]


def run_small(rounds: int = 200) -> None:
    deals = small_deals()
    print(f"\n## a {len(deals)}-deal pipeline of 10 owners from Deal objects [µs] "
          "(goals: build < 300, first call < 50, repeat < 20; period given as a string)")
    builds = []
    for _ in range(rounds):
        start = time.perf_counter()
        Pipeline.from_deals(deals)
        builds.append(time.perf_counter() - start)
    print(f"- Pipeline.from_deals(100 deals): median {statistics.median(builds) * 1e6:,.0f}, "
          f"best {min(builds) * 1e6:,.0f}")
    print("\n| call | first call | repeat call |\n|---|---:|---:|")
    over = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in metric_calls(QUARTER).items():
            first, again = [], []
            for _ in range(rounds // 4):
                p = Pipeline.from_deals(deals)  # as a request would
                start = time.perf_counter()
                fn(p)
                first.append(time.perf_counter() - start)
                start = time.perf_counter()
                fn(p)
                again.append(time.perf_counter() - start)
            f, a = statistics.median(first) * 1e6, statistics.median(again) * 1e6
            if f >= 50 or a >= 20:
                over.append(name)
            print(f"| `{name}` | {f:,.0f} | {a:,.1f} |")
    print(f"\nsmall: {len(over)} calls over a goal: {', '.join(over) or 'none'}")


def profile_small(rounds: int = 2000) -> None:
    """cProfile of building 100 deals, and of first and repeat calls of the slowest calls."""
    import cProfile
    import pstats

    deals = small_deals()
    calls = metric_calls(QUARTER)
    jobs: dict[str, Callable[[], Any]] = {"Pipeline.from_deals": lambda: Pipeline.from_deals(deals)}
    ps = [Pipeline.from_deals(deals) for _ in range(rounds)]
    for name in ("win_rate(p, by='owner', period=Q)", "sales_velocity(p, by='owner', period=Q)"):
        fn = calls[name]
        jobs[f"{name}, first calls"] = lambda fn=fn: [fn(p) for p in ps]
        jobs[f"{name}, repeat calls"] = lambda fn=fn: [fn(ps[0]) for _ in range(rounds)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, job in jobs.items():
            prof = cProfile.Profile()
            if name == "Pipeline.from_deals":
                prof.runcall(lambda job=job: [job() for _ in range(rounds // 4)])
            else:
                prof.runcall(job)
            print(f"\n## cProfile: {name}")
            pstats.Stats(prof).sort_stats("tottime").print_stats(14)


# -- import --------------------------------------------------------------------------------------
#: What a program that uses the library imports: the lazy top-level names load their modules on
#: first use, so ``import salesmetrics`` alone understates the cost.
IMPORT_AND_USE = ("import salesmetrics as sm; sm.Pipeline; sm.win_rate; sm.weighted_pipeline; "
                  "sm.sales_velocity")


def run_import(repeat: int = 15) -> None:
    # As after a pip install: byte-compiled modules (this machine sets PYTHONDONTWRITEBYTECODE).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", IMPORT_AND_USE], check=True, env=env)
    codes = {"bare": "import sys", "numpy": "import numpy", "attrs": "import numpy, attrs",
             "import": "import salesmetrics", "use": IMPORT_AND_USE}
    runs: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(repeat):  # interleaved, so that a busy moment weighs on each the same
        for name, code in codes.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env)
            runs[name].append(time.perf_counter() - start)
    ms = {name: statistics.median(times) * 1000 for name, times in runs.items()}
    bare, numpy_ms = ms["bare"], ms["numpy"]
    print(f"\n## import, whole processes, median of {repeat} [ms] (goal ≤ 1.2× numpy; "
          f"in brackets: beyond the interpreter's start-up, {bare:.0f} ms)")
    print(f"  import numpy                     {numpy_ms:6.0f}")
    for name, label in (("attrs", "import numpy, attrs (the floor)"),
                        ("import", "import salesmetrics"),
                        ("use", "... and use 4 top-level names")):
        print(f"  {label:32s} {ms[name]:6.0f}  ratio {ms[name] / numpy_ms:.2f} "
              f"({(ms[name] - bare) / (numpy_ms - bare):.2f})")
    print(f"  (the names: {IMPORT_AND_USE!r})")
    print("  Breakdown: python -X importtime -c '<the same>'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M deals")
    parser.add_argument("--only", default="import,small,construction,memory")
    args = parser.parse_args()
    n = 1_000_000 if args.quick else args.n
    only = set(args.only.split(","))
    print(f"# salesmetrics {sm.__version__}: construction, memory, latency, import "
          f"({time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f})")
    if "profile-small" in only:
        profile_small()
    if "import" in only:
        run_import()
    if "small" in only:
        run_small()
    if only & {"construction", "memory"}:
        p = run_construction(n)
        if "memory" in only:
            run_memory(p)


if __name__ == "__main__":
    main()
