"""Benchmarks: salesmetrics against pandas and polars doing the same work, in the same run.

Prints times [ms] and the ratio salesmetrics ÷ the faster of pandas and polars (≤ 1.0 is the
goal for every grouped metric at 10M deals). Never gates CI on time: the machine is noisy, so
compare ratios from one run, not absolute times across runs.

    python benchmarks/bench_metrics.py                  # 1M and 10M deals
    python benchmarks/bench_metrics.py --sizes 200000   # quicker
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import salesmetrics as sm
from salesmetrics import DEFAULT_STAGES, Pipeline

N_OWNERS = 500
QUARTER = sm.Period.parse("2024-Q2")
STAGE_NAMES = np.array([s.name for s in DEFAULT_STAGES])
PROBS = np.array([s.probability for s in DEFAULT_STAGES])


def best(fn: Callable[[], Any], repeat: int, fresh: Pipeline | None = None) -> float:
    """Best wall time of ``repeat`` calls [ms]. With ``fresh``, that pipeline's remembered tallies
    are dropped before each call, so that every call does the whole work."""
    times = []
    for _ in range(repeat):
        if fresh is not None:
            fresh._cache.pop("memo", None)
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def synthetic(
    n: int, seed: int = 7, owners: int = N_OWNERS
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """n deals over the default stages (about 4 history events per deal) as numpy columns."""
    rng = np.random.default_rng(seed)
    stage = rng.choice(len(DEFAULT_STAGES), n, p=[0.05, 0.08, 0.08, 0.07, 0.05, 0.27, 0.40])
    created = np.datetime64("2023-01-01") + rng.integers(0, 540, n).astype("timedelta64[D]")
    close = created + rng.integers(1, 180, n).astype("timedelta64[D]")
    deals = {
        "id": np.arange(n, dtype=np.int64),
        "stage": STAGE_NAMES[stage],
        "amount": rng.integers(100_00, 200_000_00, n) / 100,
        "created": created,
        "close_date": close,
        "owner": rng.integers(0, owners, n),
    }
    # history: each deal entered stages 0..k (k its furthest open stage), grouped by deal
    furthest = np.where(stage >= 5, rng.integers(0, 5, n), stage)
    won = stage == 5
    furthest[won] = 4
    counts = furthest + 1 + (stage >= 5)
    deal_of = np.repeat(np.arange(n), counts)
    starts = np.cumsum(counts) - counts
    step = np.arange(len(deal_of)) - np.repeat(starts, counts)
    last = step == np.repeat(counts - 1, counts)
    closed = np.repeat(stage >= 5, counts)
    ev_stage = np.where(last & closed, np.repeat(stage, counts), step)
    ev_date = np.repeat(created, counts) + step.astype("timedelta64[D]")
    history = {"id": deal_of.astype(np.int64), "stage": STAGE_NAMES[ev_stage], "date": ev_date}
    return deals, history


# -- the same work in pandas and polars -----------------------------------------------------------
Jobs = dict[str, Callable[[], Any]]


def pandas_jobs(deals: dict[str, np.ndarray], history: dict[str, np.ndarray]) -> Jobs:
    import pandas as pd

    df = pd.DataFrame(deals)
    df["stage"] = df["stage"].astype("category")
    df["prob"] = df["stage"].map(dict(zip(STAGE_NAMES, PROBS, strict=True))).astype(float)
    df["won"] = df["stage"] == "Closed won"
    df["closed"] = df["stage"].isin(["Closed won", "Closed lost"])
    df["open"] = ~df["closed"]
    df["cycle"] = (df["close_date"] - df["created"]).dt.days
    start, end = np.datetime64(QUARTER.start), np.datetime64(QUARTER.end)
    hist = pd.DataFrame(history)
    rank = {n: i for i, n in enumerate(STAGE_NAMES)}
    hist["code"] = hist["stage"].map(rank)

    def weighted_total() -> Any:
        o = df[df["open"]]
        return (o["amount"] * o["prob"]).sum()

    def weighted_by_owner() -> Any:
        o = df[df["open"]]
        return (o["amount"] * o["prob"]).groupby(o["owner"]).sum()

    def win_rates_by_owner() -> Any:
        q = df[df["closed"] & (df["close_date"] >= start) & (df["close_date"] < end)]
        g = q.assign(won_amount=q["amount"] * q["won"]).groupby("owner")
        s = g.agg(won=("won", "sum"), n=("won", "size"), wv=("won_amount", "sum"),
                  v=("amount", "sum"))
        return s["won"] / s["n"], s["wv"] / s["v"]

    def velocity_by_owner() -> Any:
        q = df[df["closed"] & (df["close_date"] >= start) & (df["close_date"] < end)]
        w = q[q["won"]]
        n = df[(df["created"] < end) & (df["open"] | (df["close_date"] >= start))].groupby(
            "owner").size()
        won = w.groupby("owner").agg(v=("amount", "mean"), l=("cycle", "mean"), k=("won", "size"))
        rate = won["k"] / q.groupby("owner").size()
        return n * won["v"] * rate / won["l"]

    def conversion() -> Any:
        last = hist.groupby("id")["code"].max()
        reached = hist[hist["code"] < 5].drop_duplicates(["id", "code"])
        outcome = df.set_index("id")["stage"]
        reached = reached.join(outcome.rename("final"), on="id")
        reached = reached[reached["final"].isin(["Closed won", "Closed lost"])]
        t = reached.groupby("code").agg(n=("id", "size"),
                                        w=("final", lambda s: (s == "Closed won").sum()))
        return t["w"] / t["n"], last

    return {"weighted pipeline, total": weighted_total,
            "weighted pipeline by owner": weighted_by_owner,
            "unit + value win rate by owner, one quarter": win_rates_by_owner,
            "velocity by owner, one quarter": velocity_by_owner,
            "conversion from each stage (history)": conversion}


def polars_jobs(deals: dict[str, np.ndarray], history: dict[str, np.ndarray]) -> Jobs:
    import polars as pl

    df = pl.DataFrame(deals).with_columns(
        pl.col("stage").cast(pl.Categorical),
        pl.col("stage").replace_strict(list(STAGE_NAMES), list(PROBS)).alias("prob"),
        (pl.col("stage") == "Closed won").alias("won"),
        pl.col("stage").is_in(["Closed won", "Closed lost"]).alias("closed"),
        (pl.col("close_date") - pl.col("created")).dt.total_days().alias("cycle"),
    )
    hist = pl.DataFrame(history).with_columns(
        pl.col("stage").replace_strict(list(STAGE_NAMES), list(range(7))).alias("code"))
    start, end = QUARTER.start, QUARTER.end
    in_q = pl.col("close_date").is_between(start, end, closed="left")

    def weighted_total() -> Any:
        return df.filter(~pl.col("closed")).select((pl.col("amount") * pl.col("prob")).sum())

    def weighted_by_owner() -> Any:
        return (df.filter(~pl.col("closed")).group_by("owner")
                .agg((pl.col("amount") * pl.col("prob")).sum()))

    def win_rates_by_owner() -> Any:
        return (df.filter(pl.col("closed") & in_q).group_by("owner").agg(
            pl.col("won").mean().alias("unit"),
            ((pl.col("amount") * pl.col("won")).sum() / pl.col("amount").sum()).alias("value")))

    def velocity_by_owner() -> Any:
        q = df.filter(pl.col("closed") & in_q).group_by("owner").agg(
            pl.col("amount").filter(pl.col("won")).mean().alias("v"),
            pl.col("cycle").filter(pl.col("won")).mean().alias("l"),
            pl.col("won").mean().alias("w"))
        n = df.filter((pl.col("created") < end)
                      & (~pl.col("closed") | (pl.col("close_date") >= start))
                      ).group_by("owner").len()
        return q.join(n, on="owner").select(
            pl.col("owner"), pl.col("len") * pl.col("v") * pl.col("w") / pl.col("l"))

    def conversion() -> Any:
        reached = hist.filter(pl.col("code") < 5).unique(["id", "code"])
        final = df.select(pl.col("id"), pl.col("won"), pl.col("closed"))
        return (reached.join(final, on="id").filter(pl.col("closed")).group_by("code")
                .agg(pl.col("won").mean()))

    return {"weighted pipeline, total": weighted_total,
            "weighted pipeline by owner": weighted_by_owner,
            "unit + value win rate by owner, one quarter": win_rates_by_owner,
            "velocity by owner, one quarter": velocity_by_owner,
            "conversion from each stage (history)": conversion}


def ours(p: Pipeline) -> dict[str, Callable]:
    return {
        "weighted pipeline, total": lambda: sm.weighted_pipeline(p),
        "weighted pipeline by owner": lambda: sm.weighted_pipeline(p, by="owner"),
        "unit + value win rate by owner, one quarter": lambda: (
            sm.win_rate(p, by="owner", period=QUARTER),
            sm.win_rate(p, by="owner", period=QUARTER, basis="value")),
        "velocity by owner, one quarter": lambda: sm.sales_velocity(p, by="owner", period=QUARTER),
        "conversion from each stage (history)": lambda: sm.conversion_from_stage(p),
    }


EXTRA = {
    "pipeline value by owner": lambda p: sm.pipeline_value(p, by="owner"),
    "won revenue by owner": lambda p: sm.won_revenue(p, by="owner"),
    "win rate, total": lambda p: sm.win_rate(p),
    "conversion by owner (history)": lambda p: sm.conversion_from_stage(p, by="owner"),
    "cycle length (median) by owner": lambda p: sm.sales_cycle_length(p, by="owner",
                                                                      statistic="median"),
    "average deal size by owner": lambda p: sm.average_deal_size(p, by="owner"),
}


def run_size(n: int, repeat: int) -> None:
    print(f"\n## {n:,} deals")
    deals, history = synthetic(n)
    build = best(lambda: Pipeline.from_columns(deals), 1)
    build_h = best(lambda: Pipeline.from_columns(deals, history=history), 1)
    print(f"construction from numpy columns: {build:,.0f} ms; with "
          f"{len(history['id']):,} history events: {build_h:,.0f} ms")
    p = Pipeline.from_columns(deals, history=history)
    start = time.perf_counter()
    p.reached_mask()  # built once per pipeline, like a loaded history index
    mask_ms = (time.perf_counter() - start) * 1000
    print(f"per-deal bitmask of stages reached (once per pipeline): {mask_ms:,.0f} ms, "
          f"{mask_ms * 1e6 / n:,.0f} ns per deal")
    jobs = {"salesmetrics": ours(p)}
    for name, make in (("pandas", pandas_jobs), ("polars", polars_jobs)):
        try:
            jobs[name] = make(deals, history)
        except ImportError:
            print(f"({name} not installed: skipped)")
    print(f"\n| workload [ms] | salesmetrics | {' | '.join(k for k in jobs if k != 'salesmetrics')}"
          " | ratio to the faster |")
    print("|---|---:|" + "---:|" * (len(jobs) - 1) + "---:|")
    for workload, fn in jobs["salesmetrics"].items():
        mine = best(fn, repeat, fresh=p)
        others = [best(jobs[k][workload], repeat) for k in jobs if k != "salesmetrics"]
        ratio = mine / min(others) if others else float("nan")
        cells = " | ".join(f"{t:,.0f}" for t in others)
        print(f"| {workload} | {mine:,.0f} | {cells} | {ratio:.2f} |")
    print("\nother metrics [ms]: " + "; ".join(
        f"{name} {best(lambda f=f: f(p), repeat, fresh=p):,.0f}" for name, f in EXTRA.items()))


def run_small(repeat: int = 1000) -> None:
    print("\n## a 100-deal pipeline of 10 owners, per call [µs] (goal: < 50)")
    print("first call on a pipeline just built (as in a web request); in brackets, a repeat call")
    print("on the same pipeline, which reuses its remembered tallies")
    deals, history = synthetic(100, seed=3, owners=10)
    calls: dict[str, Callable[[Pipeline], Any]] = {
        "weighted_pipeline(p)": lambda q: sm.weighted_pipeline(q),
        "weighted_pipeline(p, by='owner')": lambda q: sm.weighted_pipeline(q, by="owner"),
        "win_rate(p)": lambda q: sm.win_rate(q),
        "win_rate(p, by='owner')": lambda q: sm.win_rate(q, by="owner"),
        "win_rate(p, period=Q)": lambda q: sm.win_rate(q, period=QUARTER),
        "conversion_from_stage(p)": lambda q: sm.conversion_from_stage(q),
        "sales_velocity(p, period=Q)": lambda q: sm.sales_velocity(q, period=QUARTER),
        "sales_cycle_length(p)": lambda q: sm.sales_cycle_length(q),
        "average_deal_size(p, by='owner')": lambda q: sm.average_deal_size(q, by="owner"),
    }
    for name, fn in calls.items():
        times = []
        for _ in range(5):
            total = 0.0
            for _ in range(repeat // 5):
                q = Pipeline.from_columns(deals, history=history)  # as a request would
                start = time.perf_counter()
                fn(q)
                total += time.perf_counter() - start
            times.append(total / (repeat // 5))
        again = best(lambda q=q, fn=fn: fn(q), 200) * 1000
        print(f"- {name}: {min(times) * 1e6:,.1f} ({again:,.1f})")


def run_import(repeat: int = 15) -> None:
    # As after a pip install: byte-compiled modules (this machine sets PYTHONDONTWRITEBYTECODE).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import salesmetrics"], check=True, env=env)

    def wall(module: str) -> float:
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=env)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs) * 1000

    base = wall("sys")  # the interpreter's own start-up
    numpy_ms, ours_ms = wall("numpy") - base, wall("salesmetrics") - base
    print(f"\n## import (beyond interpreter start-up) [ms]: numpy {numpy_ms:.0f}, "
          f"salesmetrics {ours_ms:.0f}, ratio {ours_ms / numpy_ms:.2f} (goal: < 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run_import()
    run_small()
    for n in args.sizes:
        run_size(n, args.repeat)


if __name__ == "__main__":
    main()
