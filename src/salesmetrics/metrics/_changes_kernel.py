"""The vectorized core of `pipeline_changes`: two snapshots joined on deal id, and each deal's
movements (which kind, how much) as a few flat arrays. No Python runs per deal.

The deals of both snapshots are laid out once: the rows of ``before`` first (each with its row
in ``after``, or -1 if it is gone), then the rows found only in ``after``. Every deal carries at
most four movements, so four arrays hold them all: its *primary* movement (new, won, lost,
removed, pulled_in, pushed_out or reopened) with its value, its amount change (``increased`` or
``decreased`` by sign), its reweighting, and whether its group changed (``moved_out`` of the old
group, ``moved_in`` to the new one, at its value before).
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import (
    exact_products,
    group_sum,
    group_sum_float,
    weighted_minor,
)
from salesmetrics.domain.columns import dense_span
from salesmetrics.domain.period import Period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import LOST, NO_DECISION, OPEN, WON

__all__ = ["GROUP_MOVES", "MOVEMENTS", "DealMoves", "converted", "group_keys", "match_ids",
           "moves", "signed_sums", "weighted_sums"]

IntArray = npt.NDArray[np.intp]

#: The movements, in their fixed attribution order.
MOVEMENTS = ("new", "won", "lost", "removed", "pulled_in", "pushed_out", "increased",
             "decreased", "fx", "reweighted", "reopened")
#: The two movements of a deal whose group changed (``by=`` only).
GROUP_MOVES = ("moved_in", "moved_out")
(NEW, WON_, LOST_, REMOVED, PULLED_IN, PUSHED_OUT, INCREASED, DECREASED, FX, REWEIGHTED,
 REOPENED) = range(11)
MOVED_IN, MOVED_OUT = 11, 12


def match_ids(before: npt.NDArray[Any], after: npt.NDArray[Any]) -> tuple[IntArray, IntArray]:
    """(row in ``after`` of each row of ``before``, -1 where absent; rows of ``after`` found in
    no row of ``before``). Equal id columns take one comparison, dense integer ids a lookup
    table, others one sort and a binary search."""
    if before.dtype.kind != after.dtype.kind and "U" in (before.dtype.kind, after.dtype.kind):
        before, after = before.astype(str), after.astype(str)  # int ids in one, text in the other
    n_b, n_a = len(before), len(after)
    if n_b == n_a and np.array_equal(before, after):
        return np.arange(n_b, dtype=np.intp), np.zeros(0, np.intp)
    span = dense_span(after) if after.dtype.kind in "iu" and before.dtype.kind in "iu" else None
    if span is not None:
        low, size = span
        table = np.full(size, -1, dtype=np.intp)
        table[after - low] = np.arange(n_a)
        offset = before.astype(np.int64) - low
        inside = (offset >= 0) & (offset < size)
        rows = np.where(inside, table[np.where(inside, offset, 0)], -1)
    elif n_a:
        keys = _hashed(before, after)
        key_b, key_a = keys if keys is not None else (before, after)
        order = np.argsort(key_a)  # ids are unique: no tie for a stable sort to keep
        ordered = key_a[order]
        if keys is not None and len(ordered) > 1 and (ordered[1:] == ordered[:-1]).any():
            order = np.argsort(after, kind="stable")  # two ids share a hash: sort the text
            key_b, ordered = before, after[order]
        # Queries in sorted order: the binary searches walk the table in order (cache-friendly).
        query = np.argsort(key_b)
        pos = np.empty(n_b, dtype=np.intp)
        pos[query] = np.searchsorted(ordered, key_b[query])
        pos = np.minimum(pos, n_a - 1)
        rows = np.where((ordered[pos] == key_b) & (after[order[pos]] == before), order[pos], -1)
    else:
        rows = np.full(n_b, -1, dtype=np.intp)
    matched = np.zeros(n_a, dtype=bool)
    matched[rows[rows >= 0]] = True
    return rows.astype(np.intp, copy=False), np.flatnonzero(~matched)


def _hashed(before: npt.NDArray[Any], after: npt.NDArray[Any]
            ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]] | None:
    """A 64-bit hash of each text id (its characters two by two as 64-bit words, weighted by
    powers of an odd prime, modulo 2**64), so that the join sorts integers instead of text; None
    for other ids. A match is confirmed by comparing the ids themselves, and a shared hash
    among ``after``'s ids falls back to sorting the text, so a collision is never wrong."""
    if before.dtype.kind != "U" or after.dtype.kind != "U":
        return None
    width = max(before.dtype.itemsize, after.dtype.itemsize, 4) // 4
    width += width % 2  # two characters per 64-bit word
    powers = np.uint64(1099511628211) ** np.arange(width // 2, dtype=np.uint64)  # odd: a
    out = []  # change in one word always changes the hash
    for ids in (before, after):
        words = ids.astype(f"<U{width}").view(np.uint64).reshape(len(ids), width // 2)
        out.append((words * powers).sum(axis=1, dtype=np.uint64))
    return out[0], out[1]


def _union(first: npt.NDArray[Any], second: npt.NDArray[Any]) -> tuple[list[Any], IntArray,
                                                                          IntArray]:
    """The categories of both snapshots (sorted, None last, when they sort) and each side's
    category codes into them. Loops run over categories, not deals."""
    seen: dict[Any, None] = dict.fromkeys([*first.tolist(), *second.tolist()])
    labels = [k for k in seen if k is not None and k == k]
    with contextlib.suppress(TypeError):  # labels of mixed types keep their order
        labels.sort()
    labels += [k for k in seen if k is None or k != k]
    index = {k: i for i, k in enumerate(labels)}
    return (labels, np.array([index[k] for k in first.tolist()], dtype=np.intp),
            np.array([index[k] for k in second.tolist()], dtype=np.intp))


def _gather(mapping: IntArray, codes: IntArray, rows: IntArray) -> IntArray:
    """``mapping[codes[rows]]``, 0 where ``rows`` is -1 (or the snapshot has no deals)."""
    if not len(codes) or not len(mapping):
        return np.zeros(len(rows), dtype=np.intp)
    return mapping[codes[np.maximum(rows, 0)]]


def group_keys(
    before: Pipeline, after: Pipeline, by: Sequence[str], rows_b: IntArray, rows_a: IntArray
) -> tuple[IntArray, IntArray, list[Hashable]]:
    """Dense group keys of the laid-out deals in each snapshot (-1 where a deal is absent from
    it) and the group labels (a label for one field, a tuple for several), in label order."""
    kb = np.zeros(len(rows_b), dtype=np.int64)
    ka = np.zeros(len(rows_a), dtype=np.int64)
    parts = []
    for name in by:
        lb, la = before.labels(name), after.labels(name)
        labels, map_b, map_a = _union(lb.categories, la.categories)
        size = max(len(labels), 1)
        kb = kb * size + _gather(map_b, lb.codes, rows_b)
        ka = ka * size + _gather(map_a, la.codes, rows_a)
        parts.append((labels, size))
    keys = np.concatenate([kb[rows_b >= 0], ka[rows_a >= 0]])
    present, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    n_b = int((rows_b >= 0).sum())
    gb = np.full(len(rows_b), -1, dtype=np.intp)
    ga = np.full(len(rows_a), -1, dtype=np.intp)
    gb[rows_b >= 0] = inverse[:n_b]
    ga[rows_a >= 0] = inverse[n_b:]
    columns = []
    rest = present.copy()
    for labels, size in reversed(parts):
        columns.append(np.array(labels + [None], dtype=object)[rest % size])
        rest //= size
    columns.reverse()
    names: list[Hashable] = (columns[0].tolist() if len(by) == 1
                             else list(zip(*(c.tolist() for c in columns), strict=True)))
    return gb, ga, names


class DealMoves(NamedTuple):
    """The laid-out deals of two snapshots and their movements (values in minor units: int64,
    or float64 when weighted)."""

    #: Row in ``before`` and in ``after`` of each deal (-1 where absent).
    rows_b: IntArray
    rows_a: IntArray
    #: Counted at the start (open, in the period) and at the end.
    counted_b: npt.NDArray[np.bool_]
    counted_a: npt.NDArray[np.bool_]
    #: Value counted at the start and at the end; 0 where not counted.
    start: npt.NDArray[Any]
    end: npt.NDArray[Any]
    #: The primary movement (index into `MOVEMENTS`, -1 for none) and its signed value.
    primary: npt.NDArray[np.int8]
    primary_value: npt.NDArray[Any]
    #: Signed value of the amount change (``increased`` if > 0, ``decreased`` if < 0, ``fx``
    #: where ``exchanged``), where ``resized`` is True.
    resized: npt.NDArray[np.bool_]
    delta: npt.NDArray[Any]
    #: Resized deals whose own amount and currency did not change: only the exchange rate
    #: moved their converted amount (``fx``).
    exchanged: npt.NDArray[np.bool_]
    #: Signed value of the change of probability, where ``reweighed`` (weighted only).
    reweighed: npt.NDArray[np.bool_]
    reweight: npt.NDArray[Any]
    #: Open in both snapshots and counted in one of them: their stage in each (else -1).
    stage_b: IntArray
    stage_a: IntArray


def _values(p: Pipeline, weighted: bool, probs: npt.NDArray[np.float64] | None
            ) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """Each deal's amount [minor units] and probability (its own, else its stage's)."""
    amount = p.amount_minor
    if not weighted or probs is None:
        return amount, np.ones(len(p))
    own = p.probability
    return amount, np.where(np.isnan(own), probs[p.stage_codes], own)


def moves(
    before: Pipeline, after: Pipeline, period: Period | None, weighted: bool,
    probs: npt.NDArray[np.float64] | None,
) -> DealMoves:
    """Join the snapshots on deal id and attribute each deal's change (see `MOVEMENTS`)."""
    in_after, only_after = match_ids(before.ids, after.ids)
    n_b = len(before)
    rows_b = np.concatenate([np.arange(n_b, dtype=np.intp), np.full(len(only_after), -1,
                                                                    dtype=np.intp)])
    rows_a = np.concatenate([in_after, only_after]).astype(np.intp, copy=False)
    has_b, has_a = rows_b >= 0, rows_a >= 0
    ib, ia = np.maximum(rows_b, 0), np.maximum(rows_a, 0)

    def side(p: Pipeline, rows: IntArray, present: npt.NDArray[np.bool_]
             ) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64], npt.NDArray[np.intp],
                        npt.NDArray[np.bool_]]:
        amount, prob = _values(p, weighted, probs)
        if not len(p):
            m = len(rows)
            return (np.zeros(m, np.int64), np.ones(m), np.full(m, -1, np.intp),
                    np.zeros(m, bool))
        outcome = np.where(present, p.outcome_codes[rows], -1)
        counted = outcome == OPEN
        if period is not None:
            counted &= period.contains(p.close_date[rows])
        return amount[rows], prob[rows], outcome, counted

    amt_b, prob_b, out_b, in_b = side(before, ib, has_b)
    amt_a, prob_a, out_a, in_a = side(after, ia, has_a)
    if weighted:
        val_b: npt.NDArray[Any] = np.where(has_b, amt_b * prob_b, 0.0)
        val_a: npt.NDArray[Any] = np.where(has_a, amt_a * prob_a, 0.0)
    else:
        val_b, val_a = np.where(has_b, amt_b, 0), np.where(has_a, amt_a, 0)
    zero = val_b.dtype.type(0)
    start = np.where(in_b, val_b, zero)
    end = np.where(in_a, val_a, zero)

    both = has_b & has_a
    open_b, open_a = out_b == OPEN, out_a == OPEN
    primary = np.full(len(rows_b), -1, dtype=np.int8)
    value = np.zeros_like(start)
    closed_a = both & in_b & ((out_a == WON) | (out_a == LOST) | (out_a == NO_DECISION))
    rules = [
        (~has_b & in_a, NEW, end),
        (closed_a & (out_a == WON), WON_, -start),
        (closed_a & (out_a != WON), LOST_, -start),
        (~has_a & in_b, REMOVED, -start),
        (both & open_b & ~in_b & in_a, PULLED_IN, val_b),
        (both & open_a & in_b & ~in_a, PUSHED_OUT, -start),
        (both & ~open_b & in_a, REOPENED, end),
    ]
    for mask, code, amount in rules:
        primary[mask] = code
        value[mask] = amount[mask]
    kept = both & open_b & in_a  # counted after, open before: amount and probability changes
    if weighted:
        delta = np.where(kept, (amt_a - amt_b) * prob_b, 0.0)
        reweight = np.where(kept, amt_a * (prob_a - prob_b), 0.0)
        reweighed = kept & (prob_a != prob_b)
    else:
        delta = np.where(kept, amt_a - amt_b, 0)
        reweight, reweighed = np.zeros_like(delta), np.zeros(len(delta), dtype=bool)
    resized = kept & (amt_a != amt_b)
    exchanged = resized & _same_original(before, after, ib, ia)
    moving = both & open_b & open_a & (in_b | in_a)
    stage_b = np.where(moving, before.stage_codes[ib] if n_b else -1, -1).astype(np.intp)
    stage_a = np.where(moving, after.stage_codes[ia] if len(after) else -1, -1).astype(np.intp)
    return DealMoves(rows_b, rows_a, in_b, in_a, start, end, primary, value, resized, delta,
                     exchanged, reweighed, reweight, stage_b, stage_a)


def converted(p: Pipeline) -> bool:
    """Whether ``p`` was converted from its deals' own currencies (``rates=``)."""
    return p._original is not None


def _same_original(before: Pipeline, after: Pipeline, ib: IntArray, ia: IntArray
                   ) -> npt.NDArray[np.bool_]:
    """Per laid-out deal: True where both snapshots were converted and the deal's own amount
    and currency are the same in both (only the exchange rate can then move its converted
    amount). Missing amounts are never the same (NaN)."""
    if not (converted(before) and converted(after)) or not len(before) or not len(after):
        return np.zeros(len(ib), dtype=bool)
    amount = before.original_amount[ib] == after.original_amount[ia]
    same: npt.NDArray[np.bool_] = amount & (
        before.original_currency[ib] == after.original_currency[ia])
    return same


def weighted_sums(p: Pipeline, rows: IntArray, keys: IntArray, n: int,
                  probs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per group, Σ amount × probability of ``p``'s ``rows`` [minor units], computed as
    `weighted_pipeline` computes it (so that the two agree to the bit): the amounts of the
    deals without their own probability summed exactly per group × stage, times the stage
    probabilities; the others' products summed exactly in parts per billion, one correctly
    rounded float per group."""
    ns = len(probs)
    amount = p.amount_minor[rows] if len(p) else np.zeros(0, np.int64)
    own = p.probability[rows] if len(p) else np.zeros(0)
    has = ~np.isnan(own)
    stage = p.stage_codes[rows[~has]].astype(np.intp) if len(p) else np.zeros(0, np.intp)
    default = group_sum(keys[~has] * ns + stage, n * ns, amount[~has]).reshape(n, ns)
    hi, lo = exact_products(keys[has], n, amount[has], own[has])
    return weighted_minor(default, hi, lo, probs)


def signed_sums(keys: IntArray, n: int, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Per-group sums of signed ``values``: exact for integers (the positive and negative parts
    summed apart by `group_sum`, overflow-checked), float otherwise."""
    if values.dtype.kind == "f":
        return group_sum_float(keys, n, values)
    positive = group_sum(keys, n, np.maximum(values, 0))
    negative = group_sum(keys, n, np.maximum(-values, 0))
    return positive - negative
