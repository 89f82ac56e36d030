"""Private array kernels: group-by sums over dense integer keys, exact in integer minor units.

Group-bys use one dense combined key per deal and :func:`numpy.bincount`, never a hash or sort.
Integer sums go through float64 weights, which are exact while every cell is below 2**53; the result
is checked and recomputed exactly in int64 in the (rare) case it is not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["bit_length", "group_count", "group_sum", "group_sum_float", "take"]

IntArray = npt.NDArray[np.intp]
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


def bit_length(masks: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
    """Number of bits needed for each mask (0 for 0): the index of the highest set bit plus one.

    Exact for masks below 2**53, which stage masks (at most 64 stages, 16 open) always are.
    """
    _, exponent = np.frexp(masks.astype(np.float64))
    return exponent.astype(np.intp)
