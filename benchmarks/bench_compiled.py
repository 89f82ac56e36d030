"""What the compiled kernel proposed in docs/performance.md would give: measured, not added.

numpy alone does not reach issue 14's goals at 10M deals (window → `flatnonzero` → gathers →
`bincount`, each a separate pass, the last holding the GIL). The page proposes one fused,
compiled pass per block on both cores. This script measures that proposal with **numba**, if it
is installed (it is not a dependency of salesmetrics, nor of any extra), on the pipeline's own
narrow columns (int8 stage and outcome codes, int16 owner codes, int32 days, int64 cents), against
salesmetrics' numpy path and the fastest peer (polars or DuckDB), in one run. Each kernel scatters
into small per-thread tables (the 5 open stages, 500 owners × 7 stages, 500 owners × 4 outcomes):
no index array, no mask, each column read once. Every kernel's answer is checked against
salesmetrics' before it is timed.

    pip install --target /tmp/nb numba     # a scratch place, not the project's environment
    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=/tmp/nb python benchmarks/bench_compiled.py  # 10M deals
    ... benchmarks/bench_compiled.py --quick                                          # 1M deals

salesmetrics' numpy path is timed first, before any other thread pool exists: numba's OpenMP
threads and the peers' pools spin after their work and slow whatever runs next (passive OpenMP
waiting limits that).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import _synthetic as S  # noqa: N812
import numpy as np
from _peers import PEERS, Normal
from bench_peers import build, ours, same

import salesmetrics as sm

#: Threads of the fused kernels: each owns a contiguous part of the rows and its own tables.
PARTS = 2


def kernels() -> dict[str, Callable[..., Any]]:
    """The fused kernels, compiled on first call."""
    import numba as nb  # optional: only this script uses it

    njit = nb.njit(parallel=True, cache=False)

    @njit
    def stage_sums(stage: Any, amount: Any, cells: int) -> Any:
        out = np.zeros((PARTS, cells), np.int64)
        m = len(stage)
        for part in nb.prange(PARTS):
            table = np.zeros(cells, np.int64)
            for i in range(part * m // PARTS, (part + 1) * m // PARTS):
                table[stage[i]] += amount[i]  # every stage: no branch; the open ones are read
            out[part] = table
        return out.sum(axis=0)

    @njit
    def owner_stage_sums(owner: Any, stage: Any, amount: Any, n_owners: int, n_stages: int
                         ) -> Any:
        cells = n_owners * n_stages
        out = np.zeros((PARTS, 2, cells), np.int64)
        m = len(stage)
        for part in nb.prange(PARTS):
            count = np.zeros(cells, np.int64)
            table = np.zeros(cells, np.int64)
            for i in range(part * m // PARTS, (part + 1) * m // PARTS):
                k = np.intp(owner[i]) * n_stages + stage[i]
                count[k] += 1
                table[k] += amount[i]
            out[part, 0] = count
            out[part, 1] = table
        return out.sum(axis=0)

    @njit
    def window_outcomes(close: Any, created: Any, outcome: Any, owner: Any, amount: Any,
                        first: int, last: int, n_owners: int) -> Any:
        """Per owner × outcome, deals closing in [first, last): count, amount, cycle days;
        the cycle days are those of the deals with both dates (all of them in this workload)."""
        cells = n_owners * 4
        out = np.zeros((PARTS, 3, cells), np.int64)
        m = len(close)
        length = np.uint32(last - first)
        for part in nb.prange(PARTS):
            count = np.zeros(cells, np.int64)
            value = np.zeros(cells, np.int64)
            days = np.zeros(cells, np.int64)
            for i in range(part * m // PARTS, (part + 1) * m // PARTS):
                day = close[i]
                if np.uint32(day - first) < length:  # ~8 % of rows: a predictable branch
                    k = np.intp(owner[i]) * 4 + outcome[i]
                    count[k] += 1
                    value[k] += amount[i]
                    days[k] += day - created[i]
            out[part, 0] = count
            out[part, 1] = value
            out[part, 2] = days
        return out.sum(axis=0)

    @njit
    def velocity_tables(close: Any, created: Any, outcome: Any, owner: Any, amount: Any,
                        first: int, last: int, n_owners: int) -> Any:
        """`window_outcomes` and, in the same pass, the deals in play per owner (created before
        ``last``, and open or closed from ``first``)."""
        cells = n_owners * 4
        out = np.zeros((PARTS, 4, cells), np.int64)
        m = len(close)
        length = np.uint32(last - first)
        for part in nb.prange(PARTS):
            count = np.zeros(cells, np.int64)
            value = np.zeros(cells, np.int64)
            days = np.zeros(cells, np.int64)
            play = np.zeros(cells, np.int64)  # at owner * 4: the in-play count
            for i in range(part * m // PARTS, (part + 1) * m // PARTS):
                day, o, g = close[i], outcome[i], np.intp(owner[i]) * 4
                play[g] += (created[i] < last) & ((o == 0) | (day >= first))
                if np.uint32(day - first) < length:
                    k = g + o
                    count[k] += 1
                    value[k] += amount[i]
                    days[k] += day - created[i]
            out[part, 0] = count
            out[part, 1] = value
            out[part, 2] = days
            out[part, 3] = play
        return out.sum(axis=0)

    return {"stage_sums": stage_sums, "owner_stage_sums": owner_stage_sums,
            "window_outcomes": window_outcomes, "velocity_tables": velocity_tables}


def compiled(p: sm.Pipeline) -> dict[str, Callable[[], Normal]]:
    """The issue-14 workloads through the fused kernels, as `Normal` answers."""
    k = kernels()
    stage, amount = p.stage_codes, p.amount_minor
    close, created = p._days("close_date"), p._days("created")
    owner, outcome = p.codes("owner"), p.outcome_codes.astype(np.int8)
    labels = p.categories("owner").astype(np.intp)  # owner code → the synthetic owner number
    n_owners, n_stages, n_open = len(labels), len(p.stages), p.n_open_stages
    prob = np.asarray(p.stage_probabilities[:n_open])
    epoch = np.datetime64("1970-01-01", "D")
    first, last = (int((day - epoch).astype(np.int64)) for day in (S.Q_START, S.Q_END))

    def dense(values: np.ndarray) -> np.ndarray:
        out = np.full(S.N_OWNERS, np.nan)
        out[labels] = values
        return out

    def total() -> Normal:
        sums = k["stage_sums"](stage, amount, n_stages)
        return {"total": np.array([float(sums[:n_open] @ prob) / 100])}

    def owner_stage() -> Normal:
        count, sums = k["owner_stage_sums"](owner, stage, amount, n_owners, n_stages)
        count = count.reshape(n_owners, n_stages)[:, :n_open]
        w = sums.reshape(n_owners, n_stages)[:, :n_open] * prob / 100
        out = np.full((S.N_OWNERS, S.N_OPEN), np.nan)
        out[labels] = np.where(count > 0, w, np.nan)  # the (owner, stage) groups present
        return {"w": out.reshape(-1)}

    def win_rates() -> Normal:
        t = k["window_outcomes"](close, created, outcome, owner, amount, first, last, n_owners)
        count, value = t[0].reshape(n_owners, 4), t[1].reshape(n_owners, 4)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = count[:, S.WON] / (count[:, S.WON] + count[:, S.LOST])
            val = value[:, S.WON] / (value[:, S.WON] + value[:, S.LOST])
        return {"unit": dense(unit), "value": dense(val)}

    def velocity() -> Normal:
        t = k["velocity_tables"](close, created, outcome, owner, amount, first, last, n_owners)
        count, value, days, play = (t[j].reshape(n_owners, 4) for j in range(4))
        n = play[:, 0]
        won, closed = count[:, S.WON], count[:, S.WON] + count[:, S.LOST]
        with np.errstate(invalid="ignore", divide="ignore"):
            v = n * (value[:, S.WON] / 100 / won) * (won / closed) / (days[:, S.WON] / won)
        return {"velocity": dense(v)}

    return {"weighted total": total, "weighted by owner × stage": owner_stage,
            "win rates by owner": win_rates, "velocity by owner": velocity}


def best(fn: Callable[[], Any], repeat: int, p: sm.Pipeline) -> float:
    times = []
    for _ in range(repeat):
        p._cache.pop("memo", None)  # salesmetrics' remembered results: every call does the work
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M deals")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    n = 1_000_000 if args.quick else args.n
    try:
        import numba
    except ImportError:
        print("numba is not installed: this script measures a proposal, see its docstring")
        return
    numba.set_num_threads(PARTS)
    print(f"# fused compiled kernels (numba {numba.__version__}, {PARTS} threads) against "
          f"salesmetrics and the fastest peer, {n:,} deals ({time.strftime('%Y-%m-%d %H:%M')})")
    p, deals, history, _ = build(n)
    mine = ours(p, sm.Period.parse(S.QUARTER))
    wanted = ("weighted total", "weighted by owner × stage", "win rates by owner",
              "velocity by owner")
    # numpy first, before any other thread pool exists (numba's, the peers')
    numpy_ms = {wl: best(mine[wl], args.repeat, p) for wl in wanted}
    fused = compiled(p)
    ours_ms: dict[str, tuple[float, float]] = {}
    for wl, fn in fused.items():
        why = same(mine[wl](), fn())  # also compiles the kernel
        if why:
            print(f"{wl}: the fused kernel's answers differ: {why}")
            continue
        ours_ms[wl] = best(fn, args.repeat, p), numpy_ms[wl]
    peers = {name: PEERS[name](deals, history) for name in ("polars", "duckdb")}
    print("\n| workload [ms] | fused kernel | salesmetrics (numpy) | fastest peer | "
          "kernel ÷ peer | numpy ÷ peer |\n|---|---:|---:|---|---:|---:|")
    for wl, (k_ms, np_ms) in ours_ms.items():
        peer_ms = {name: min(best(f, args.repeat, p) for f in forms[wl])
                   for name, forms in peers.items()}
        fastest = min(peer_ms, key=peer_ms.__getitem__)
        print(f"| {wl} | {k_ms:,.1f} | {np_ms:,.1f} | {fastest} {peer_ms[fastest]:,.1f} | "
              f"{k_ms / peer_ms[fastest]:.2f} | {np_ms / peer_ms[fastest]:.2f} |")


if __name__ == "__main__":
    main()
