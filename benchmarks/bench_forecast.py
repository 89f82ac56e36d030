"""Benchmark of `forecast`: 10,000 open deals closing in one quarter, with each method.

Prints the best of a few wall times [ms] per method; the goals of issue 8 are "exact" and
"normal" under 1 s, and "simulate" with 10,000 draws under 2 s. Never asserts a time: the
machine is noisy.

    python benchmarks/bench_forecast.py
    python benchmarks/bench_forecast.py --deals 50000 --draws 20000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import salesmetrics as sm
from salesmetrics import DEFAULT_STAGES, Pipeline

OPEN_STAGES = [s.name for s in DEFAULT_STAGES if not s.is_closed]


def open_deals(n: int, seed: int = 7) -> Pipeline:
    """``n`` open deals expected to close in 2024-Q2, amounts from 100 to 200,000 (lognormal,
    whole cents), a fifth with their own probability, plus 1,000 deals won in the quarter."""
    rng = np.random.default_rng(seed)
    amount = np.clip(np.round(rng.lognormal(9.5, 1.2, n + 1000), 2), 100, 200_000)
    stage = np.array(OPEN_STAGES)[rng.integers(0, len(OPEN_STAGES), n)]
    own = np.where(rng.random(n) < 0.2, rng.uniform(0.05, 0.95, n), np.nan)
    close = np.datetime64("2024-04-01") + rng.integers(0, 91, n + 1000).astype("timedelta64[D]")
    return Pipeline.from_columns({
        "id": np.arange(n + 1000),
        "amount": amount,
        "stage": np.concatenate([stage, np.full(1000, "Closed won")]),
        "created": np.full(n + 1000, np.datetime64("2024-01-02")),
        "close_date": close,
        "probability": np.concatenate([own, np.full(1000, np.nan)]),
    }, currency="USD")


def best(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls [ms]."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=10_000)
    args = parser.parse_args()
    p = open_deals(args.deals)
    print(f"forecast of {args.deals:,} open deals (2024-Q2)")
    for method, kwargs, goal in (("exact", {}, 1000), ("normal", {}, 1000),
                                 ("simulate", {"draws": args.draws, "seed": 1}, 2000)):
        f = sm.forecast(p, period="2024-Q2", method=method, **kwargs)  # type: ignore[arg-type]
        ms = best(lambda m=method, k=kwargs: sm.forecast(p, period="2024-Q2", method=m, **k))
        extra = f", {args.draws:,} draws" if method == "simulate" else ""
        grid = f", grid {f.resolution:,.2f}" if f.resolution is not None else ""
        print(f"  {method:<9}{extra:<15} {ms:8.1f} ms  (goal < {goal:,} ms)  "
              f"P(>= mean) {f.probability_at_least(f.mean):.4f}  "
              f"P10-P90 {f.quantile(0.1):,.0f}-{f.quantile(0.9):,.0f}{grid}")


if __name__ == "__main__":
    main()
