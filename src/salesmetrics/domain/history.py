"""The stage history of a pipeline's deals: `StageHistory`, how it loads (a long table of stage
changes, or one date column per stage), and the open stages each deal reached.

Deal ids are resolved to row positions when the history loads, so that queries never look ids up.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._ids import rows_of_ids, to_ids
from salesmetrics.domain._names import column_names
from salesmetrics.domain.columns import column_length, narrow_codes, owned, readonly, to_numpy
from salesmetrics.domain.dates import Formats, to_date_array
from salesmetrics.domain.stage import Stage, stage_codes
from salesmetrics.errors import (
    DataError,
    DataTypeError,
    SalesMetricsError,
    UnknownStageError,
    choices,
    where,
)

__all__ = [
    "StageHistory", "load_history", "reached_masks", "resolve_stage_entered", "sort_events",
]

IntArray = npt.NDArray[np.intp]
DateArray = npt.NDArray[np.datetime64]
Events = tuple[IntArray, IntArray, DateArray]
P = ParamSpec("P")
_HISTORY_COLUMNS = ("id", "stage", "date")


class StageHistory:
    """The stage history of a pipeline's deals, one row per stage entered, grouped by deal.

    Events are sorted by deal row, then date. Deal ids were resolved to row positions when the
    history was loaded, so queries never look ids up. Columns (read-only):

    - ``rows``: row of the deal in its pipeline [int32 as loaded], ascending;
    - ``stages``: code of the stage entered (index into ``Pipeline.stages``) [int8 as loaded];
    - ``dates``: date the stage was entered [datetime64[D]].
    """

    __slots__ = ("dates", "rows", "stages")

    def __init__(self, rows: IntArray, stages: IntArray, dates: DateArray) -> None:
        self.rows = rows
        self.stages = stages
        self.dates = dates

    def __getstate__(self) -> tuple[IntArray, IntArray, DateArray]:
        return self.rows, self.stages, self.dates

    def __setstate__(self, state: tuple[IntArray, IntArray, DateArray]) -> None:
        self.rows, self.stages, self.dates = state

    def __repr__(self) -> str:
        return f"StageHistory({len(self):,} events)"

    def __len__(self) -> int:
        return len(self.stages)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StageHistory):
            return NotImplemented
        return (
            np.array_equal(self.rows, other.rows)
            and np.array_equal(self.stages, other.stages)
            and np.array_equal(self.dates, other.dates, equal_nan=True)
        )

    def take(self, keep: npt.NDArray[np.bool_]) -> StageHistory:
        """The events of the deals where ``keep`` (a mask over deals) is True, rows renumbered."""
        events = keep[self.rows]
        new_rows = np.cumsum(keep, dtype=np.intp) - 1
        return StageHistory(
            readonly(new_rows[self.rows[events]]),
            readonly(self.stages[events]),
            readonly(self.dates[events]),
        )


def reached_masks(
    codes: IntArray, n_open: int, n_stages: int, history: StageHistory | None
) -> npt.NDArray[np.uint32]:
    """Bit ``k`` set where the deal's history or current stage (``codes``) shows it entered open
    stage ``k``, one vectorized pass (``bitwise_or.reduceat`` over the history, which is grouped
    by deal; split across threads for long histories)."""
    bit_of_stage = _bit_of_stage(n_open, n_stages)
    masks = bit_of_stage.take(codes)
    if history is not None and len(history):
        _or_history_bits(masks, history, bit_of_stage)
    return masks


@functools.lru_cache(maxsize=64)
def _bit_of_stage(n_open: int, n_stages: int) -> npt.NDArray[np.uint32]:
    """Bit ``k`` for open stage ``k``, 0 for the closed stages (read-only; per process)."""
    bits = np.zeros(n_stages, dtype=np.uint32)
    bits[:n_open] = np.left_shift(1, np.arange(n_open)).astype(np.uint32)
    return readonly(bits)


def _or_history_bits(
    masks: npt.NDArray[np.uint32], events: StageHistory, bit_of_stage: npt.NDArray[np.uint32]
) -> None:
    """``masks[deal] |= OR of the bits of the stages in the deal's events``, in place."""
    from salesmetrics import _kernels

    rows = events.rows
    new_deal = np.empty(len(rows), dtype=bool)
    new_deal[0] = True
    np.not_equal(rows[1:], rows[:-1], out=new_deal[1:])
    starts = new_deal.nonzero()[0]
    if len(starts) <= 16 * _kernels.CHUNK_ROWS:  # one block (as `chunk_bounds` would say)
        masks[rows.take(starts)] |= np.bitwise_or.reduceat(bit_of_stage.take(events.stages),
                                                           starts)
        return
    bounds = _kernels.chunk_bounds(len(starts), 8 * _kernels.CHUNK_ROWS)

    def one(bound: tuple[int, int]) -> None:  # deals bound[0]..bound[1]: disjoint rows of masks
        lo, hi = bound
        first = int(starts[lo])
        last = int(starts[hi]) if hi < len(starts) else len(rows)
        bits = bit_of_stage.take(events.stages[first:last])
        masks[rows[starts[lo:hi]]] |= np.bitwise_or.reduceat(bits, starts[lo:hi] - first)

    _kernels.parallel_map(one, bounds)


def load_history(
    data: Any,
    history: Any,
    history_columns: Mapping[str, str] | None,
    wide: Mapping[str, str],
    stages: tuple[Stage, ...],
    ids: npt.NDArray[Any],
    zone: dt.tzinfo | None,
    formats: Formats,
) -> StageHistory | None:
    """The `StageHistory` of the deals ``ids`` from a long ``history`` table and the wide
    ``stage_entered`` columns of ``data`` (already checked by `resolve_stage_entered`), merged;
    None if neither is given. Its columns share no memory with the caller's."""
    parts = []
    if history is not None:
        parts.append(_long_history(history, history_columns, stages, ids, zone, formats))
    if wide:
        parts.append(_wide_history(data, wide, stages, ids, zone, formats))
    if not parts:
        return None
    rows, codes, days = parts[0] if len(parts) == 1 else _merge_events(*parts)
    if rows.dtype != np.int32 and len(ids) < 2**31:
        rows = rows.astype(np.int32)
    return StageHistory(owned(rows), owned(narrow_codes(codes, len(stages))),
                        owned(days, _arrays(history)))


def resolve_stage_entered(
    data: Any, stage_entered: Mapping[str, str] | None, stages: tuple[Stage, ...]
) -> dict[str, str]:
    """The ``stage_entered`` mapping, checked: every key a stage, every value a column."""
    if stage_entered is None:
        return {}
    if not isinstance(stage_entered, Mapping):
        raise DataTypeError(
            f"stage_entered must be a mapping of stage name to date column, got {stage_entered!r}"
        )
    names = [s.name for s in stages]
    unknown = [k for k in stage_entered if k not in names]
    if unknown:
        raise UnknownStageError(
            f"stage_entered: {', '.join(map(repr, unknown))} "
            f"{'is not a stage' if len(unknown) == 1 else 'are not stages'} of the process; "
            f"valid stages are {choices(names)}"
        )
    available = column_names(data)
    missing = [(stage, col) for stage, col in stage_entered.items() if col not in available]
    if missing:
        listed = ", ".join(f"column {col!r} (for stage {stage!r})" for stage, col in missing)
        raise DataError(
            f"stage_entered: {listed} {'is' if len(missing) == 1 else 'are'} not in the data; "
            f"columns are {choices(sorted(available))}"
        )
    return dict(stage_entered)


def _wide_history(
    data: Any, wide: Mapping[str, str], stages: tuple[Stage, ...], ids: npt.NDArray[Any],
    zone: dt.tzinfo | None, formats: Formats,
) -> Events:
    """Events from one date column per stage: deal ``row`` entered the stage on that date
    (no event where the date is missing). Sorted by row, date, then stage."""
    index = {s.name: i for i, s in enumerate(stages)}
    rows, codes, days = [], [], []
    for stage, column in wide.items():
        entered = to_date_array(
            data[column], field=column, ids=ids, timezone=zone, formats=formats
        )
        have = np.flatnonzero(~np.isnat(entered))
        rows.append(have.astype(np.intp, copy=False))
        codes.append(np.full(len(have), index[stage], dtype=np.intp))
        days.append(entered[have])
    all_rows, all_codes = np.concatenate(rows), np.concatenate(codes)
    all_days = np.concatenate(days).astype("datetime64[D]", copy=False)
    order = np.lexsort((all_codes, all_days, all_rows))
    return all_rows[order], all_codes[order], all_days[order]


def _merge_events(first: Events, second: Events) -> Events:
    """Two event lists as one, sorted by row, date and stage, without repeated events."""
    rows, codes, days = (np.concatenate([a, b]) for a, b in zip(first, second, strict=True))
    order = np.lexsort((codes, days, rows))
    rows, codes, days = rows[order], codes[order], days[order]
    if len(rows) > 1:
        keep = np.ones(len(rows), dtype=bool)
        keep[1:] = (rows[1:] != rows[:-1]) | (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])
        rows, codes, days = rows[keep], codes[keep], days[keep]
    return rows, codes, days


def _arrays(table: Any) -> list[npt.NDArray[Any]]:
    """The numpy arrays among the columns of a mapping (the caller's memory)."""
    if not isinstance(table, Mapping):
        return []
    return [v for v in table.values() if isinstance(v, np.ndarray)]


def _rows_of_the_history(read: Callable[P, Events]) -> Callable[P, Events]:
    """``read``, whose error messages count rows over the history (``row 3 of the history``)
    instead of the data."""
    @functools.wraps(read)
    def relabelled(*args: P.args, **kwargs: P.kwargs) -> Events:
        try:
            return read(*args, **kwargs)
        except SalesMetricsError as error:
            message = str(error)
            if " of the data" not in message:
                raise
            try:
                again = type(error)(message.replace(" of the data", " of the history"))
            except Exception:
                raise error from None
            raise again from None

    return relabelled


@_rows_of_the_history
def _long_history(
    history: Any,
    history_columns: Mapping[str, str] | None,
    stages: tuple[Stage, ...],
    ids: npt.NDArray[Any],
    zone: dt.tzinfo | None,
    formats: Formats,
) -> Events:
    """The events of a long stage history (one row per stage entered), sorted by row and date.

    Rows in its error messages count over the history (``row 3 of the history``)."""
    names = {k: k for k in _HISTORY_COLUMNS} | dict(history_columns or {})
    available = column_names(history, "history")
    for key in _HISTORY_COLUMNS:
        if names[key] not in available:
            raise DataError(
                f"history: column {names[key]!r} (for {key!r}) is missing; columns are "
                f"{choices(sorted(available))}"
            )
    column_length(history, [names[k] for k in _HISTORY_COLUMNS])
    event_ids = to_ids(to_numpy(history[names["id"]]))
    if event_ids.dtype.kind != ids.dtype.kind:
        event_ids = event_ids.astype(ids.dtype) if ids.dtype.kind == "U" else event_ids
    rows = rows_of_ids(ids, event_ids)
    codes = stage_codes(history[names["stage"]], stages, event_ids)
    dates = to_date_array(
        history[names["date"]], field="history date", ids=event_ids, timezone=zone,
        formats=formats,
    )
    if np.isnat(dates).any():
        row = int(np.flatnonzero(np.isnat(dates))[0])
        raise DataError(f"{where(event_ids[row].item(), row)}history date is missing")
    # exports are often already grouped by deal and dated in order; rows and codes are ours
    if not _in_order(rows, dates.view(np.int64)):
        rows, codes, dates = sort_events(rows, codes, dates, in_place=True)
    return rows, codes, dates


def _in_order(rows: IntArray, days: npt.NDArray[np.int64]) -> bool:
    """True if the events are sorted by row, then day (checked block by block: an event log in
    date order fails in its first block)."""
    n = len(rows)
    for lo in range(0, n - 1, _BLOCK):
        hi = min(lo + _BLOCK, n - 1)
        before, after = rows[lo:hi], rows[lo + 1:hi + 1]
        later = (after > before) | ((after == before) & (days[lo + 1:hi + 1] >= days[lo:hi]))
        if not later.all():
            return False
    return True


def sort_events(
    rows: IntArray, codes: IntArray, dates: DateArray, *, in_place: bool = False
) -> Events:
    """The events sorted by row, then date, ties in their given order: ``np.lexsort((dates,
    rows))``, as one value sort of packed uint64 keys ``row | day | position | code`` when they
    fit in 64 bits (numpy sorts integer values with SIMD, an order of magnitude faster than a
    stable argsort, and the columns come back out of the keys without a random gather).

    Keys are packed and unpacked in blocks of `_BLOCK` events, so that the only arrays as long
    as the history are the keys and the sorted columns; with ``in_place`` the sorted rows and
    codes are written over ``rows`` and ``codes`` (fresh memory is slow to touch)."""
    days = dates.view(np.int64)
    first = int(days.min())
    widths = [int(rows.max()).bit_length(), (int(days.max()) - first).bit_length(),
              (len(rows) - 1).bit_length(), int(codes.max()).bit_length()]
    if min(int(rows.min()), int(codes.min())) < 0 or sum(widths[:3]) > 64:
        order = np.lexsort((dates, rows))
        return rows[order], codes[order], dates[order]
    with_codes = sum(widths) <= 64
    if not with_codes:
        widths[3] = 0
    n = len(rows)
    keys = np.empty(n, dtype=np.uint64)
    shifts = [np.uint64(w) for w in widths]
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        block = keys[lo:hi]
        np.copyto(block, rows[lo:hi], casting="unsafe")
        block <<= shifts[1]
        block |= (days[lo:hi] - first).view(np.uint64)
        block <<= shifts[2]
        block |= np.arange(lo, hi, dtype=np.uint64)
        if with_codes:
            block <<= shifts[3]
            block |= codes[lo:hi].astype(np.uint64)
    keys.sort()
    out_rows = rows if in_place else np.empty(n, dtype=rows.dtype)
    out_days = np.empty(n, dtype=np.int64)
    out_codes = codes if in_place else np.empty(n, dtype=codes.dtype)
    masks = [np.uint64((1 << w) - 1) for w in widths]
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        block = keys[lo:hi]
        if with_codes:
            np.copyto(out_codes[lo:hi], block & masks[3], casting="unsafe")
            block >>= shifts[3]
        else:
            out_codes[lo:hi] = codes[(block & masks[2]).astype(np.intp)]
        block >>= shifts[2]
        np.copyto(out_days[lo:hi], block & masks[1], casting="unsafe")
        out_days[lo:hi] += first
        block >>= shifts[1]
        np.copyto(out_rows[lo:hi], block, casting="unsafe")
    return out_rows, out_codes, out_days.view(dates.dtype)


#: Events per block when packing and unpacking sort keys (a few hundred kB per temporary).
_BLOCK = 1 << 16
