"""pipeline_changes between two snapshots of 1M deals (issue 10; goal: well under a second).

The later snapshot keeps 98 % of the deals (in another order), adds 2 % new ones, closes 5 %,
resizes 5 % and moves 5 % of the close dates; ids are text (``OPP-0000001``), as CRMs export
them. Never gates CI: the machine is noisy.

    python benchmarks/bench_changes.py            # 1M deals
    python benchmarks/bench_changes.py --n 100000
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import salesmetrics as sm
from salesmetrics.errors import DataQualityWarning


def snapshots(n: int, seed: int = 1) -> tuple[sm.Pipeline, sm.Pipeline]:
    rng = np.random.default_rng(seed)
    stages = np.array([s.name for s in sm.DEFAULT_STAGES], dtype=object)
    ids = np.char.add("OPP-", np.char.zfill(np.arange(n).astype(str), 7))
    amount = np.round(rng.lognormal(9, 1, n), 2)
    stage = rng.integers(0, 5, n)
    close = np.datetime64("2025-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
    owner = rng.integers(0, 50, n).astype(str)
    before = sm.Pipeline.from_columns(
        {"id": ids, "amount": amount, "stage": stages[stage], "close_date": close,
         "owner": owner})
    keep = rng.random(n) < 0.98
    n_new = n // 50
    ids_a = np.concatenate([ids[keep], np.char.add("NEW-", np.arange(n_new).astype(str))])
    m = len(ids_a)
    amount_a = np.concatenate([amount[keep], np.round(rng.lognormal(9, 1, n_new), 2)])
    stage_a = np.concatenate([stage[keep], np.zeros(n_new, np.int64)])
    close_a = np.concatenate([close[keep], close[:n_new]])
    resized = rng.random(m) < 0.05
    amount_a[resized] *= 1.1
    stage_a[rng.random(m) < 0.05] = 5
    moved = rng.random(m) < 0.05
    close_a[moved] += np.timedelta64(90, "D")
    order = rng.permutation(m)
    after = sm.Pipeline.from_columns(
        {"id": ids_a[order], "amount": np.round(amount_a[order], 2),
         "stage": stages[stage_a[order]], "close_date": close_a[order],
         "owner": np.concatenate([owner[keep], owner[:n_new]])[order]})
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    n = parser.parse_args().n
    before, after = snapshots(n)
    warnings.simplefilter("ignore", DataQualityWarning)
    for label, kwargs in [("open", {}), ("period 2025-Q2", {"period": "2025-Q2"}),
                          ("weighted", {"weighted": True}), ("by owner", {"by": "owner"})]:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            c = sm.pipeline_changes(before, after, **kwargs)  # type: ignore[call-overload]
            best = min(best, time.perf_counter() - start)
        print(f"pipeline_changes {label:<15} {n:>10,} deals: {best:.3f} s")
    start = time.perf_counter()
    sm.slip_rate(before, after, period="2025-Q2")
    print(f"slip_rate                        {n:>10,} deals: {time.perf_counter() - start:.3f} s")
    assert isinstance(c, sm.GroupedResult)


if __name__ == "__main__":
    main()
