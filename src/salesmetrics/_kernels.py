"""Private array kernels: group-by sums over dense integer keys, exact in integer minor units.

Group-bys use one dense combined key per deal and `bincount`, never a hash or sort.
Integer sums go through float64 weights, which are exact while every cell is below 2**53; the result
is checked and recomputed exactly in int64 in the (rare) case it is not.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "add_padded", "bit_length", "chunk_bounds", "group_count", "group_sum", "group_sum_float",
    "n_threads", "parallel_map", "take",
]

IntArray = npt.NDArray[np.intp]
T = TypeVar("T")
R = TypeVar("R")
_EXACT = 2.0**53


def take(values: npt.NDArray[Any], rows: IntArray | None) -> npt.NDArray[Any]:
    """``values[rows]``, or ``values`` itself when ``rows`` is None (all rows)."""
    return values if rows is None else values.take(rows)


def group_count(keys: IntArray | None, n: int, count: int | None = None) -> npt.NDArray[np.int64]:
    """Deals per group. ``keys is None`` means one group of ``count`` deals."""
    if keys is None:
        return np.array([count if count is not None else 0], dtype=np.int64)
    return np.bincount(keys, minlength=n).astype(np.int64, copy=False)


def group_sum(
    keys: IntArray | None, n: int, weights: npt.NDArray[np.integer[Any]], *,
    bounded: bool = False,
) -> npt.NDArray[np.int64]:
    """Exact per-group sums of non-negative integer ``weights`` (e.g. minor units, days).

    ``bounded=True`` says the caller knows every sum is below 2**53 (e.g. the whole pipeline's
    total is), which skips the check.
    """
    if keys is None:
        return np.array([int(weights.sum(dtype=np.int64))], dtype=np.int64)
    sums = np.bincount(keys, weights=weights, minlength=n)
    if not bounded and len(sums) and sums.max() >= _EXACT:
        exact = np.zeros(n, dtype=np.int64)
        np.add.at(exact, keys, weights.astype(np.int64))
        return exact
    return sums.astype(np.int64)


def group_sum_float(
    keys: IntArray | None, n: int, weights: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Per-group sums of float ``weights``."""
    if keys is None:
        return np.array([float(weights.sum())])
    return np.bincount(keys, weights=weights, minlength=n).astype(np.float64, copy=False)


def bit_length(masks: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.intp]:
    """Number of bits needed for each mask (0 for 0): the index of the highest set bit plus one.

    Exact for masks below 2**53, which stage masks (at most 64 stages, 16 open) always are.
    """
    _, exponent = np.frexp(masks.astype(np.float64))
    return exponent.astype(np.intp)


def add_padded(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``a + b`` after padding both with zeros to the larger size along every axis but the first
    (histograms of different widths add up this way)."""
    if a.shape[1:] == b.shape[1:]:
        added: npt.NDArray[Any] = a + b
        return added
    shape = (a.shape[0], *(max(x, y) for x, y in zip(a.shape[1:], b.shape[1:], strict=True)))
    total = np.zeros(shape, dtype=np.result_type(a, b))
    total[tuple(slice(0, s) for s in a.shape)] += a
    total[tuple(slice(0, s) for s in b.shape)] += b
    return total


# -- chunks and threads -----------------------------------------------------------------------
#: Rows per chunk: keeps each chunk's temporaries (a few arrays of 8-byte values) near L2 size.
CHUNK_ROWS = 1 << 17
_pool: Any = None
_pool_lock = threading.Lock()


def n_threads() -> int:
    """Worker threads for large inputs: ``SALESMETRICS_THREADS`` if set, else the CPU count."""
    env = os.environ.get("SALESMETRICS_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return os.cpu_count() or 1


def chunk_bounds(n: int, size: int | None = None) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` row ranges of about ``size`` (default `CHUNK_ROWS`)
    rows covering ``range(n)``; one range when ``n`` is under two chunks."""
    size = CHUNK_ROWS if size is None else size
    if n <= 2 * size:
        return [(0, n)]
    edges = np.linspace(0, n, -(-n // size) + 1).astype(int).tolist()
    return list(itertools.pairwise(edges))


def parallel_map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]`` on a shared pool of worker threads (numpy releases the GIL in
    its loops), in order. One item, or one thread, runs inline."""
    threads = n_threads()
    if len(items) <= 1 or threads <= 1:
        return [fn(x) for x in items]
    global _pool
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(threads, thread_name_prefix="salesmetrics")
    return list(_pool.map(fn, items))
