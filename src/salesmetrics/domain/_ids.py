"""Deal ids: an id column read and checked, and ids resolved to row positions."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import dense_span
from salesmetrics.errors import DataError, DataTypeError, DuplicateDealError, where

__all__ = ["check_unique", "rows_of_ids", "to_ids"]

IntArray = npt.NDArray[np.intp]
#: Ids per block when resolving ids to rows.
_BLOCK = 1 << 16


def to_ids(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """An id column as int64 (integer ids that fit, floats with no fraction included) or str ids;
    `DataError` naming the row of a missing id, `DataTypeError` for one of another type."""
    if arr.dtype.kind == "f":  # integer ids read as floats (a frame column with a gap)
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            what = ("is missing" if np.isnan(arr[row])
                    else f"must be a str or int, got {float(arr[row])!r}")
            error = DataError if np.isnan(arr[row]) else DataTypeError
            raise error(f"{where(None, row)}id {what}")
        # a float holds every integer exactly only below 2**(mantissa bits + 1): 2**53 for
        # float64, 2**24 for float32 (a polars or Arrow column)
        limit = 2.0 ** (np.finfo(arr.dtype).nmant + 1)
        big = np.abs(arr) >= limit
        if big.any():
            row = int(np.flatnonzero(big)[0])
            raise DataTypeError(
                f"{where(None, row)}id {float(arr[row])!r} was read as {arr.dtype}, "
                f"which cannot hold an integer past {limit:,.0f} exactly (two ids may have "
                "become one); load the id column as text or as integers")
        return arr.astype(np.int64)
    if arr.dtype.kind in "iuU":
        if arr.dtype.kind == "U" and (np.char.str_len(arr) == 0).any():
            row = int(np.flatnonzero(np.char.str_len(arr) == 0)[0])
            raise DataError(f"{where(None, row)}id is missing")
        return arr
    values = arr.tolist()
    kinds = {type(v) for v in values}
    if kinds == {str} and "" not in values:  # the common cases in one pass, checks included
        return np.asarray(values, dtype=str)
    if kinds == {int}:
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:  # an id past int64: every id as text, so that none is changed
            return np.asarray([str(v) for v in values], dtype=str)
    if kinds == {float}:  # integer ids as floats, as from a numpy float column
        return to_ids(np.asarray(values, dtype=np.float64))
    for row, value in enumerate(values):
        if value is None or value == "" or (isinstance(value, float) and value != value):
            raise DataError(f"{where(None, row)}id is missing")
        if isinstance(value, float) and value.is_integer() and kinds <= {int, float, type(None)}:
            values[row] = int(value)  # 2.0 among ints: the integer id 2, as in a float column
        elif isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DataTypeError(f"{where(None, row)}id must be a str or int, got {value!r}")
    if all(isinstance(v, int) for v in values):
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:  # an id past int64: every id as text, so that none is changed
            pass
    return np.asarray([str(v) for v in values], dtype=str)


def check_unique(ids: npt.NDArray[Any]) -> None:
    """`DuplicateDealError` naming both rows of the first id that occurs twice."""
    if len(ids) < 2:
        return
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    dup = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(dup):
        first, second = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
        raise DuplicateDealError(
            f"deal {ids[first].item()!r} occurs twice, in row {first} of the data and in row "
            f"{second} of the data; deal ids must be unique"
        )


def rows_of_ids(ids: npt.NDArray[Any], wanted: npt.NDArray[Any]) -> IntArray:
    """Row position of each of ``wanted`` in ``ids`` (unique) [int32 when they fit, else intp];
    `DataError` if absent.

    Dense integer ids use a lookup table (one pass); others a sort and a binary search.
    """
    span = dense_span(ids) if wanted.dtype.kind in "iu" else None
    if span is not None:
        low, size = span
        row_type = np.dtype(np.int32 if len(ids) < 2**31 else np.intp)
        table: IntArray = np.full(size, -1, dtype=row_type)
        table[ids - low] = np.arange(len(ids))
        rows: IntArray = np.empty(len(wanted), dtype=row_type)
        for lo in range(0, len(wanted), _BLOCK):  # small temporaries: fresh memory is slow
            offset = wanted[lo:lo + _BLOCK].astype(np.int64) - low
            inside = offset.view(np.uint64) < size  # a negative offset is a huge unsigned one
            np.copyto(offset, 0, where=~inside)
            found = table[offset]
            np.copyto(found, -1, where=~inside)
            rows[lo:lo + _BLOCK] = found
        if len(rows) and rows.min() < 0:
            _check_found(rows >= 0, wanted)
        return rows
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], wanted)
    pos = np.minimum(pos, max(len(ids) - 1, 0))
    found = (ids[order][pos] == wanted) if len(ids) else np.zeros(len(wanted), bool)
    _check_found(np.asarray(found), wanted)
    rows = order[pos]
    return rows.astype(np.int32) if len(ids) < 2**31 else rows


def _check_found(found: npt.NDArray[np.bool_], wanted: npt.NDArray[Any]) -> None:
    if not found.all():
        row = int(np.flatnonzero(~found)[0])
        raise DataError(f"history row {row}: deal {wanted[row].item()!r} is not in the pipeline")
