"""salesmetrics against pandas, polars and DuckDB on the workloads of issue 14, in one run.

Each engine starts from data already in its own form (salesmetrics: a `Pipeline` built from
pandas categoricals; pandas and polars: frames; DuckDB: a native table) and runs its fastest
idiomatic formulation (`_peers`). Every peer's answer is checked against salesmetrics' answer
before it is timed. Prints, per workload, each engine's best time [ms], salesmetrics ÷ the fastest
peer (goal: ≤ 0.7; win rates ≤ 1.0; conversion ≤ 0.1), and a one-line summary. Never gates CI:
the machine is noisy, so compare the ratios of one run, not times across runs.

    python benchmarks/bench_peers.py             # 10M deals, 500 owners, ~44M history events
    python benchmarks/bench_peers.py --quick     # 1M deals
    SALESMETRICS_THREADS=1 python benchmarks/bench_peers.py --profile "win rates by owner"
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import math
import pstats
import time
from collections.abc import Callable
from typing import Any

import _synthetic as S  # noqa: N812
import numpy as np
from _peers import PEERS, Normal

import salesmetrics as sm
from salesmetrics import Pipeline

GOAL = {"win rates by owner": 1.0, "conversion": 0.1}
#: our workloads with no peer formulation (timed for the record)
OWN = {
    "pipeline value by owner": lambda p, q: sm.pipeline_value(p, by="owner"),
    "won revenue by owner": lambda p, q: sm.won_revenue(p, by="owner"),
    "win rate, total": lambda p, q: sm.win_rate(p),
    "win rate by owner, all time": lambda p, q: sm.win_rate(p, by="owner"),
    "conversion by owner": lambda p, q: sm.conversion_from_stage(p, by="owner",
                                                                 skipped="visited"),
    "cycle length (median) by owner": lambda p, q: sm.sales_cycle_length(
        p, by="owner", statistic="median"),
    "average deal size by owner": lambda p, q: sm.average_deal_size(p, by="owner"),
    "velocity, total, one quarter": lambda p, q: sm.sales_velocity(p, period=q),
}


def best(fn: Callable[[], Any], repeat: int, fresh: Pipeline | None = None) -> float:
    """Best wall time of ``repeat`` calls [ms]; with ``fresh``, that pipeline's remembered
    results are dropped before each call, so that every call does the whole work."""
    times = []
    for _ in range(repeat):
        if fresh is not None:
            fresh._cache.pop("memo", None)
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def _dense(items: Any, index: Callable[[Any], int], size: int, value: Callable[[Any], float]
           ) -> np.ndarray:
    out = np.full(size, np.nan)
    for key, v in items:
        out[index(key)] = value(v)
    return out


def ours(p: Pipeline, q: sm.Period) -> dict[str, Callable[[], Normal]]:
    """Our calls, each returning the `Normal` answer that the peers' are checked against."""
    stage = {name: i for i, name in enumerate(S.STAGE_NAMES)}

    def total() -> Normal:
        return {"total": np.array([float(sm.weighted_pipeline(p))])}

    def owner_stage() -> Normal:
        r = sm.weighted_pipeline(p, by=("owner", "stage"))
        return {"w": _dense(r.items(), lambda k: int(k[0]) * S.N_OPEN + stage[k[1]],
                            S.N_OWNERS * S.N_OPEN, float)}

    def owner() -> Normal:
        r = sm.weighted_pipeline(p, by="owner")
        return {"w": _dense(r.items(), int, S.N_OWNERS, float)}

    def win_rates() -> Normal:
        unit = sm.win_rate(p, by="owner", period=q)
        value = sm.win_rate(p, by="owner", period=q, basis="value")
        return {"unit": _dense(unit.items(), int, S.N_OWNERS, float),
                "value": _dense(value.items(), int, S.N_OWNERS, float)}

    def conversion() -> Normal:
        r = sm.conversion_from_stage(p, skipped="visited")
        return {"rate": _dense(r.items(), stage.__getitem__, S.N_OPEN, float)}

    def velocity() -> Normal:
        r = sm.sales_velocity(p, by="owner", period=q)
        return {"velocity": _dense(r.items(), int, S.N_OWNERS, lambda v: v.revenue_per_day)}

    return {"weighted total": total, "weighted by owner × stage": owner_stage,
            "weighted by owner": owner, "win rates by owner": win_rates,
            "conversion": conversion, "velocity by owner": velocity}


def same(a: Normal, b: Normal) -> str:
    """'' if the answers agree (to 1e-9 relative, NaN where the other has NaN), else why not."""
    for key, want in a.items():
        got = b.get(key)
        if got is None or got.shape != want.shape:
            return f"{key}: shape {None if got is None else got.shape} ≠ {want.shape}"
        if not np.allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True):
            bad = int(np.sum(~np.isclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)))
            return f"{key}: {bad} of {want.size} values differ"
    return ""


def build(n: int) -> tuple[Pipeline, dict[str, Any], dict[str, Any], float]:
    deals, history = S.make(n)
    data, hist = S.as_pandas(deals, history)
    start = time.perf_counter()
    p = Pipeline.from_columns(data, history=hist)
    return p, deals, history, (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M deals")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peers", default="pandas,polars,duckdb")
    parser.add_argument("--no-own", action="store_true", help="skip the workloads without peers")
    parser.add_argument("--profile", metavar="WORKLOADS", help="cProfile our calls (comma-"
                        "separated) and stop")
    args = parser.parse_args()
    n = 1_000_000 if args.quick else args.n
    print(f"# salesmetrics {sm.__version__} against peers, {n:,} deals, {S.N_OWNERS} owners "
          f"({time.strftime('%Y-%m-%d %H:%M')})")
    p, deals, history, build_ms = build(n)
    q = sm.Period.parse(S.QUARTER)
    mine = ours(p, q)
    print(f"pipeline built from pandas categoricals with {len(history['deal_id']):,} history "
          f"events: {build_ms:,.0f} ms")
    start = time.perf_counter()
    answers = {wl: fn() for wl, fn in mine.items()}  # first calls: fill the per-row facts
    print(f"first call of each workload, in order (per-row facts such as the reached-stage bits "
          f"built once): {(time.perf_counter() - start) * 1000:,.0f} ms")
    if args.profile:  # cProfile sees the calling thread only: run with SALESMETRICS_THREADS=1
        for wl in args.profile.split(","):
            print(f"\n## cProfile: {wl}, {best(mine[wl], args.repeat, fresh=p):,.1f} ms")
            p._cache.pop("memo", None)
            prof = cProfile.Profile()
            prof.runcall(mine[wl])
            pstats.Stats(prof).sort_stats("tottime").print_stats(14)
        return
    times: dict[str, dict[str, float]] = {wl: {"salesmetrics": best(fn, args.repeat, fresh=p)}
                                          for wl, fn in mine.items()}
    peers = [x for x in args.peers.split(",") if x]
    failed = []
    for peer in peers:
        gc.collect()
        try:
            forms = PEERS[peer](deals, history)
        except ImportError:
            print(f"({peer} is not installed: `pip install -e '.[bench]'`)")
            continue
        for wl, variants in forms.items():
            slow = wl == "conversion"
            timed = []
            for fn in variants:
                why = same(answers[wl], fn())
                if why:
                    failed.append(f"{peer} / {wl}: {why}")
                timed.append(best(fn, 1 if slow else args.repeat))
            times[wl][peer] = min(timed)
        del forms
    print(f"\n| workload at {n / 1e6:g}M deals [ms] | salesmetrics | " + " | ".join(peers)
          + " | fastest peer | ratio | goal |")
    print("|---|---:|" + "---:|" * len(peers) + "---|---:|---:|")
    ratios = {}
    for wl, row in times.items():
        others = {k: v for k, v in row.items() if k != "salesmetrics"}
        fastest = min(others, key=others.__getitem__) if others else ""
        ratio = row["salesmetrics"] / others[fastest] if others else math.nan
        ratios[wl] = ratio
        cells = " | ".join(f"{row[x]:,.1f}" if x in row else "–" for x in peers)
        print(f"| {wl} | {row['salesmetrics']:,.1f} | {cells} | {fastest} | {ratio:.2f} | "
              f"{GOAL.get(wl, 0.7):.1f} |")
    if not args.no_own:
        print("\nour workloads with no peer formulation [ms]: " + "; ".join(
            f"{name} {best(lambda f=f: f(p, q), args.repeat, fresh=p):,.1f}"
            for name, f in OWN.items()))
    met = [wl for wl, r in ratios.items() if r <= GOAL.get(wl, 0.7)]
    lose = [f"{wl} {r:.2f}" for wl, r in ratios.items() if r > 1]
    print(f"\nsummary: {len(met)} of {len(ratios)} workloads meet their goal; "
          f"losing to the fastest peer: {', '.join(lose) or 'none'}; "
          f"answers {'all agree' if not failed else 'DIFFER: ' + '; '.join(failed)}")


if __name__ == "__main__":
    main()
