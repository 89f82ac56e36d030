"""Private array kernels: group-by sums over dense integer keys, exact in integer minor units.

Group-bys use one dense combined key per deal and `bincount`, never a hash or sort.
Integer sums go through float64 weights, which are exact while every cell is below 2**53; past
that they are recomputed exactly from 21-bit limbs, and a sum past 2**63 - 1 raises
`SumOverflowError` (the metrics turn it into an `AmountError`) instead of wrapping.

`DayCounts` is the sparse, mergeable histogram of whole days (cycle lengths) per group: its memory
grows with the number of distinct (group, day) pairs, never with the span of the dates.
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
    "INT64_MAX",
    "OVERRIDE_LIMB",
    "PPB",
    "DayCounts",
    "SumOverflowError",
    "add_padded",
    "bit_length",
    "check_row_totals",
    "checked_add",
    "chunk_bounds",
    "distinct",
    "exact_products",
    "group_count",
    "group_sum",
    "group_sum_float",
    "n_threads",
    "parallel_map",
    "take",
    "weighted_minor",
]

IntArray = npt.NDArray[np.intp]
Int64Array = npt.NDArray[np.int64]
T = TypeVar("T")
R = TypeVar("R")
_EXACT = 2.0**53
#: The largest int64, 2**63 - 1: the largest exact total of minor units.
INT64_MAX = int(np.iinfo(np.int64).max)
_LIMB = 21  # three 21-bit limbs hold any non-negative int64; a float64 sums 2**32 of them exactly
_LIMB_MASK = (1 << _LIMB) - 1


class SumOverflowError(ArithmeticError):
    """A sum of non-negative integers passed 2**63 - 1.

    ``cell`` is the flat index of the first such sum in an array of ``size`` cells laid out as
    ``group * (size // groups) + column``, and ``total`` its exact value.
    """

    def __init__(self, cell: int, size: int, total: int) -> None:
        super().__init__(f"sum {total} in cell {cell} of {size} is past 2**63 - 1")
        self.cell = cell
        self.size = size
        self.total = total


def take(values: npt.NDArray[Any], rows: IntArray | None) -> npt.NDArray[Any]:
    """``values[rows]``, or ``values`` itself when ``rows`` is None (all rows)."""
    return values if rows is None else values.take(rows)


def distinct(codes: IntArray, n: int) -> IntArray:
    """The distinct values of ``codes`` (each in ``range(n)``), sorted: ``np.unique`` without
    its sort (a tenth of its cost on a few codes)."""
    seen = np.zeros(n, dtype=bool)
    seen[codes] = True
    return seen.nonzero()[0]


def group_count(keys: IntArray | None, n: int, count: int | None = None) -> npt.NDArray[np.int64]:
    """Deals per group. ``keys is None`` means one group of ``count`` deals."""
    if keys is None:
        return np.array([count if count is not None else 0], dtype=np.int64)
    return np.bincount(keys, minlength=n).astype(np.int64, copy=False)


def group_sum(
    keys: IntArray | None, n: int, weights: npt.NDArray[np.integer[Any]], *,
    bounded: bool = False,
) -> Int64Array:
    """Exact per-group sums of non-negative integer ``weights`` (e.g. minor units, days).

    ``bounded=True`` says the caller knows every sum is below 2**53 (e.g. the whole pipeline's
    total is), which skips the check. Otherwise a sum past 2**53 is recomputed exactly, and one
    past 2**63 - 1 raises `SumOverflowError`: never a wrapped total.
    """
    if keys is None:
        if bounded:
            return np.array([int(weights.sum(dtype=np.int64))], dtype=np.int64)
        return _limb_sums(None, 1, weights)
    sums = np.bincount(keys, weights=weights, minlength=n)
    if not bounded and len(sums) and sums.max() >= _EXACT:
        return _limb_sums(keys, n, weights)
    return sums.astype(np.int64)


def _limb_sums(
    keys: IntArray | None, n: int, weights: npt.NDArray[np.integer[Any]]
) -> Int64Array:
    """Per-group sums from three 21-bit limbs of each weight (each limb sum is exact in float64
    for up to 2**32 deals), recombined with carries; `SumOverflowError` past 2**63 - 1."""
    w = weights.astype(np.int64, copy=False)
    limbs = []
    for shift in (0, _LIMB, 2 * _LIMB):
        part = (w >> shift) & _LIMB_MASK
        if keys is None:
            limbs.append(np.array([part.sum()], dtype=np.int64))
        else:
            limbs.append(np.bincount(keys, weights=part, minlength=n).astype(np.int64))
    low, mid, high = limbs
    mid = mid + (low >> _LIMB)
    high = high + (mid >> _LIMB)
    low &= _LIMB_MASK
    mid &= _LIMB_MASK
    over = high > _LIMB_MASK
    if over.any():
        cell = int(np.flatnonzero(over)[0])
        total = (int(high[cell]) << 2 * _LIMB) + (int(mid[cell]) << _LIMB) + int(low[cell])
        raise SumOverflowError(cell, len(high), total)
    total_sums: Int64Array = (high << 2 * _LIMB) | (mid << _LIMB) | low
    return total_sums


#: Deals' own probabilities are counted in parts per billion (rounded to 9 decimals).
PPB = 10**9
#: The weighted pipeline's exact sum of amount × probability [minor units × 10**-9] is two int64
#: limbs ``(hi, lo)`` worth ``hi * 2**OVERRIDE_LIMB + lo``.
OVERRIDE_LIMB = 32
_LOW_32 = (1 << OVERRIDE_LIMB) - 1


def weighted_minor(
    amount_default: npt.NDArray[np.int64], override_hi: npt.NDArray[np.int64],
    override_lo: npt.NDArray[np.int64], probabilities: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Per group, the weighted amount [minor units]: the exact per-stage sums of the deals
    without their own probability (``amount_default``, groups × stages) times the stages'
    probabilities, plus the exact Σ amount × own probability of the others (`exact_products`'
    two limbs [minor units × 10**-9]) as one correctly rounded float per group (Python's
    int ÷ int). Row by row, not ``@``: BLAS picks its path by the number of rows, so a group's
    value would depend (in the last digit) on which other groups there are."""
    override = [((hi << OVERRIDE_LIMB) + lo) / PPB if hi or lo else 0.0
                for hi, lo in zip(override_hi.tolist(), override_lo.tolist(), strict=True)]
    rows = np.ascontiguousarray(amount_default)  # the sum's order depends on the layout too
    out: npt.NDArray[np.float64] = ((rows * probabilities).sum(axis=1)
                                    + np.array(override, dtype=np.float64))
    return out


def exact_products(
    keys: IntArray | None, n: int, amount: Int64Array,
    probability: npt.NDArray[np.float64],
) -> tuple[Int64Array, Int64Array]:
    """Per group, Σ amount × round(probability × 10**9) [minor units × 10**-9], exactly, as two
    int64 limbs ``(hi, lo)`` worth ``hi * 2**32 + lo``.

    Each product is split without a float: ``amount = a_hi * 2**32 + a_lo`` with ``a_hi <
    2**31``, ``a_lo < 2**32`` and the probability below 2**30 parts, so ``a_lo × ppb < 2**62`` and
    ``a_hi × ppb < 2**61`` are exact int64 products; the limbs are then exact integer group sums
    (`group_sum`), whose value does not depend on the order of the deals or on how they are
    split into parts."""
    ppb = np.rint(probability * PPB).astype(np.int64)
    a = amount.astype(np.int64, copy=False)
    low = (a & _LOW_32) * ppb
    hi = (a >> OVERRIDE_LIMB) * ppb + (low >> OVERRIDE_LIMB)
    lo = low & _LOW_32
    hi_sum = group_sum(keys, n, hi)
    lo_sum = group_sum(keys, n, lo)
    return hi_sum + (lo_sum >> OVERRIDE_LIMB), lo_sum & _LOW_32



def checked_add(a: Int64Array, b: Int64Array) -> Int64Array:
    """``a + b`` for non-negative integer arrays of one shape; `SumOverflowError` past 2**63 - 1."""
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        over = a > INT64_MAX - b
        if over.any():
            cell = int(np.flatnonzero(over)[0])
            raise SumOverflowError(cell, a.size, int(a.flat[cell]) + int(b.flat[cell]))
    added: Int64Array = a + b
    return added


def check_row_totals(array: Int64Array) -> None:
    """Raise `SumOverflowError` if a total over the last axis of a non-negative integer array (e.g.
    a group's amounts over every stage) passes 2**63 - 1; ``cell`` is the row's first cell."""
    if array.ndim < 2 or array.shape[-1] < 2:
        return
    rows = array.reshape(-1, array.shape[-1])
    total = rows[:, 0].copy()
    for column in range(1, rows.shape[1]):
        try:
            total = checked_add(total, rows[:, column])
        except SumOverflowError as error:
            row = error.cell
            raise SumOverflowError(row * rows.shape[1], array.size,
                              sum(int(x) for x in rows[row])) from None


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


def add_padded(a: npt.NDArray[Any], b: npt.NDArray[Any], *, checked: bool = False
               ) -> npt.NDArray[Any]:
    """``a + b`` after padding both with zeros to the larger size along every axis but the first
    (histograms of different widths add up this way). ``checked=True`` raises
    `SumOverflowError` where a sum of non-negative integers would pass 2**63 - 1, never wraps."""
    if a.shape[1:] != b.shape[1:]:
        shape = (a.shape[0], *(max(x, y) for x, y in zip(a.shape[1:], b.shape[1:], strict=True)))
        dtype = np.result_type(a, b)
        padded_a = np.zeros(shape, dtype=dtype)
        padded_a[tuple(slice(0, s) for s in a.shape)] = a
        padded_b = np.zeros(shape, dtype=dtype)
        padded_b[tuple(slice(0, s) for s in b.shape)] = b
        a, b = padded_a, padded_b
    if checked:
        return checked_add(a, b)
    added: npt.NDArray[Any] = a + b
    return added


class DayCounts:
    """Sparse histogram of whole days per cell of a ``rows × columns`` table (groups × outcomes).

    Entries are three int64 arrays sorted by cell then day, one entry per distinct (cell, day):
    ``cell`` (``row * columns + column``), ``day`` and ``count``. Memory is 24 bytes per distinct
    (cell, day), so at most 24 bytes per deal counted, whatever the span of the dates (a deal
    created in 1900 costs one entry, not a column of 45,000 days per group). Two histograms of
    the same shape add up (``a + b``), as the summaries of two parts of a pipeline do.
    """

    __slots__ = ("cell", "columns", "count", "day", "rows")

    def __init__(self, rows: int, columns: int, cell: Int64Array, day: Int64Array,
                 count: Int64Array) -> None:
        self.rows = rows
        self.columns = columns
        self.cell = cell
        self.day = day
        self.count = count

    @classmethod
    def tally(cls, rows: int, columns: int, cells: npt.NDArray[np.integer[Any]],
              days: npt.NDArray[np.integer[Any]]) -> DayCounts:
        """Count the deals of each (cell, day); ``cells`` and ``days`` have one value per deal."""
        return cls(rows, columns, *_count_pairs(rows * columns, cells, days, None))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.columns)

    @property
    def nbytes(self) -> int:
        return int(self.cell.nbytes + self.day.nbytes + self.count.nbytes)

    def __repr__(self) -> str:
        return f"DayCounts({self.rows} × {self.columns}, {len(self.cell)} entries)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DayCounts):
            return NotImplemented
        return self.shape == other.shape and all(
            np.array_equal(x, y) for x, y in ((self.cell, other.cell), (self.day, other.day),
                                              (self.count, other.count)))

    __hash__ = None  # type: ignore[assignment]

    def freeze(self) -> DayCounts:
        """Make the entries read-only (remembered tallies are shared); returns self."""
        for array in (self.cell, self.day, self.count):
            array.flags.writeable = False
        return self

    def __add__(self, other: DayCounts) -> DayCounts:
        if not isinstance(other, DayCounts):
            return NotImplemented
        return DayCounts.total([self, other])

    @staticmethod
    def total(parts: Sequence[DayCounts]) -> DayCounts:
        """The sum of histograms of one shape (one pass, however many parts)."""
        shape = parts[0].shape
        if any(part.shape != shape for part in parts):
            raise ValueError(f"cannot add day counts of shapes {[p.shape for p in parts]}")
        return DayCounts(*shape, *_count_pairs(
            shape[0] * shape[1], np.concatenate([p.cell for p in parts]),
            np.concatenate([p.day for p in parts]), np.concatenate([p.count for p in parts])))

    def take(self, rows: IntArray) -> DayCounts:
        """The rows ``rows`` (distinct), in that order: ``array[rows]`` for a dense table."""
        new_of_old = np.full(self.rows, -1, dtype=np.int64)
        new_of_old[rows] = np.arange(len(rows))
        return self.place(new_of_old, len(rows))

    def place(self, new_of_old: npt.NDArray[np.integer[Any]], rows: int) -> DayCounts:
        """Move row ``i`` to row ``new_of_old[i]`` (distinct; -1 drops it) of ``rows`` rows."""
        row, column = np.divmod(self.cell, self.columns)
        new_row = np.asarray(new_of_old, dtype=np.int64)[row]
        keep = new_row >= 0
        cell = new_row[keep] * self.columns + column[keep]
        order = np.argsort(cell, kind="stable")  # each cell's entries stay sorted by day
        return DayCounts(rows, self.columns, cell[order], self.day[keep][order],
                         self.count[keep][order])

    def combine(self, columns: Sequence[int]) -> DayCounts:
        """One column per row: the counts of ``columns`` added up."""
        row, column = np.divmod(self.cell, self.columns)
        if len(columns) == 1:  # that column's entries: already distinct and sorted by row, day
            keep = (column == columns[0]).nonzero()[0]
            return DayCounts(self.rows, 1, row.take(keep), self.day.take(keep),
                             self.count.take(keep))
        wanted = np.zeros(self.columns, dtype=bool)
        wanted[list(columns)] = True
        keep = wanted[column]
        return DayCounts(self.rows, 1, *_count_pairs(self.rows, row[keep], self.day[keep],
                                                     self.count[keep]))

    def percentile(self, q: float) -> npt.NDArray[np.float64]:
        """Per row of a one-column histogram, the ``q``-th percentile of its days (numpy's
        linear method: interpolating between ranks); nan for an empty row. Exact ranks in
        integers, one float step at the end."""
        if self.columns != 1:
            raise ValueError("percentile() needs one column; combine() the columns first")
        # Row r's entries are [bounds[r], bounds[r + 1]): cells are integers, so the left
        # insertion point of r + 1 is the right one of r.
        bounds = np.searchsorted(self.cell, np.arange(self.rows + 1), side="left")
        before = np.zeros(len(self.count) + 1, dtype=np.int64)  # counts before each entry
        cumulative = np.cumsum(self.count, out=before[1:])
        base = before.take(bounds[:-1])
        n = before.take(bounds[1:]) - base
        out = np.empty(self.rows)
        out.fill(np.nan)
        has = (n > 0).nonzero()[0]
        if not len(has):
            return out
        rank = q / 100.0 * (n[has] - 1)
        low, high = np.floor(rank).astype(np.int64), np.ceil(rank).astype(np.int64)
        v_low = self.day[np.searchsorted(cumulative, base[has] + low, side="right")]
        v_high = self.day[np.searchsorted(cumulative, base[has] + high, side="right")]
        out[has] = v_low + (v_high - v_low) * (rank - low)
        return out


#: A dense bincount over cells × days is used while it has at most this many cells, or
#: `_DENSE_PER_VALUE` per value counted (so its memory is bounded by the data); else a sort.
_DENSE_PAIRS = 1 << 10
_DENSE_PER_VALUE = 16


def _count_pairs(
    n_cells: int, cells: npt.NDArray[np.integer[Any]], days: npt.NDArray[np.integer[Any]],
    weights: Int64Array | None,
) -> tuple[Int64Array, Int64Array, Int64Array]:
    """Distinct (cell, day) pairs, sorted, with their count (or summed ``weights``).

    Memory: O(len(cells)) whatever the span of the days (a dense table only while it is at most
    ``max(_DENSE_PAIRS, _DENSE_PER_VALUE * len(cells))`` cells, else a sort)."""
    empty = np.zeros(0, dtype=np.int64)
    if not len(cells):
        return empty, empty.copy(), empty.copy()
    c: Int64Array = cells.astype(np.int64, copy=False)
    d: Int64Array = days.astype(np.int64, copy=False)
    first = int(d.min())
    span = int(d.max()) - first + 1
    # One combined key: it fits in int64, since days lie within 0001-01-01..9999-12-31 (a span
    # under 2**22) and cells (groups × columns) are far fewer than 2**40.
    key = c * span + (d - first)
    if n_cells * span <= max(_DENSE_PAIRS, _DENSE_PER_VALUE * len(c)):
        hist = np.bincount(key, weights=weights, minlength=n_cells * span).astype(np.int64)
        found = hist.nonzero()[0]
        cell, offset = np.divmod(found, span)
        return cell, offset + first, hist[found]
    if weights is None:
        key = np.sort(key)
    else:
        order = np.argsort(key)
        key, weights = key[order], weights[order]
    first_of_key = np.empty(len(key), dtype=bool)
    first_of_key[0] = True
    np.not_equal(key[1:], key[:-1], out=first_of_key[1:])
    new = first_of_key.nonzero()[0]
    cell, offset = np.divmod(key.take(new), span)
    if weights is None:  # entries per key: the distance to the next key's first entry
        counts = np.empty(len(new), dtype=np.int64)
        np.subtract(new[1:], new[:-1], out=counts[:-1])
        counts[-1] = len(key) - new[-1]
    else:
        counts = np.add.reduceat(weights, new).astype(np.int64)
    return cell, offset + first, counts


# -- chunks and threads -----------------------------------------------------------------------
#: Rows per block of a chunked tally: keeps its temporaries (a few arrays of 1–8-byte values)
#: within L2.
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
