"""Running a tally over a large pipeline: one contiguous part of the rows per thread, each part
in L2-sized blocks of plain array slices (`Rows`), the blocks' tallies added up in place.

Tallies of parts add up to the tally of the whole (the property that lets summaries of split
pipelines merge), so the blocks' results are exact whatever the split; sums of minor units are
checked against 2**63 - 1 unless the pipeline's whole total is below 2**62 (`amounts_fit`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from salesmetrics import _kernels
from salesmetrics._kernels import (
    INT64_MAX,
    DayCounts,
    SumOverflowError,
    add_padded,
    check_row_totals,
    n_threads,
    parallel_map,
)
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Stage
from salesmetrics.errors import AmountError
from salesmetrics.metrics._merging import carry
from salesmetrics.metrics._summary import MONEY_TOTALS, Grouping

__all__ = ["Arrays", "Rows", "amount_error", "amounts_fit", "run_chunked"]

#: Tally name → array whose first axis runs over groups (a `DayCounts` for ``cycle_hist``).
Arrays = dict[str, Any]
#: Past ``4 × CHUNK_ROWS / _ROWS_PER_GROUP`` groups, a block holds ``_ROWS_PER_GROUP / 4`` rows
#: per group (up to 16 × `CHUNK_ROWS`), so that its per-group tables stay small next to its rows.
_ROWS_PER_GROUP = 64
_BLOCKS_PER_THREAD = 5
#: Up to this many deals, `run_chunked` runs the tally directly (`_run_small`): no blocks, no
#: threads, no remembered tally (a CRM backend's request is often a pipeline of 100 deals).
SMALL_ROWS = 4096


class Rows:
    """Rows ``[start, stop)`` of a pipeline, as what a tally reads: slices (views) of its
    per-row columns and facts, and the whole pipeline's own facts (stages, whether amounts are
    bounded, missing, overridden). No stage history and no new `Pipeline`: a block costs a few
    slices, and per-row facts (outcomes, reached stages, day numbers) are the whole pipeline's,
    computed once."""

    __slots__ = ("_p", "_s", "n", "start")

    def __init__(self, p: Pipeline, start: int, stop: int) -> None:
        self._p = p
        self._s = slice(start, stop)
        self.start = start
        self.n = stop - start

    @property
    def pipeline(self) -> Pipeline:
        """The whole pipeline these rows are part of."""
        return self._p

    def __len__(self) -> int:
        return self.n

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self._p.stages

    @property
    def n_open_stages(self) -> int:
        return self._p.n_open_stages

    @property
    def amounts_below_2_53(self) -> bool:
        return self._p.amounts_below_2_53

    @property
    def has_missing_amounts(self) -> bool:
        return self._p.has_missing_amounts

    @property
    def has_probability_overrides(self) -> bool:
        return self._p.has_probability_overrides

    @property
    def outcome_codes(self) -> npt.NDArray[Any]:
        return self._p.outcome_codes[self._s]

    @property
    def stage_codes(self) -> npt.NDArray[Any]:
        return self._p.stage_codes[self._s]

    @property
    def amount_minor(self) -> npt.NDArray[np.int64]:
        return self._p.amount_minor[self._s]

    @property
    def amount_missing(self) -> npt.NDArray[np.bool_]:
        return self._p.amount_missing[self._s]

    @property
    def probability(self) -> npt.NDArray[np.float64]:
        return self._p.probability[self._s]

    @property
    def created(self) -> npt.NDArray[np.datetime64]:
        return self._p.created[self._s]

    @property
    def close_date(self) -> npt.NDArray[np.datetime64]:
        return self._p.close_date[self._s]

    def _days(self, field: Literal["created", "close_date"]) -> npt.NDArray[np.int32]:
        return self._p._days(field)[self._s]

    def reached_mask(self) -> npt.NDArray[np.uint32]:
        return self._p.reached_mask()[self._s]


def run_chunked(
    p: Pipeline, g: Grouping, tally: Callable[..., Arrays], *args: Any, **kwargs: Any
) -> Arrays:
    """``tally(p, g, *args, **kwargs)``, over blocks of rows on worker threads when ``p`` is
    large.

    The rows are split into one contiguous part per thread; each thread tallies its part block
    by block (`Rows`, about `_kernels.CHUNK_ROWS` rows: temporaries stay in L2) and adds the
    blocks' tallies into its own arrays; the threads' arrays are added once. The result is
    remembered by the pipeline (whose columns never change), so that metrics that share a tally
    (unit and value win rates, outcome shares…) pass over the deals once; its arrays are
    read-only.

    Sums of minor units are exact; one past 2**63 - 1 raises `AmountError` naming the group. The
    checks cost nothing while the pipeline's total amount is below 2**62 (`amounts_fit`).
    """
    if len(p) <= min(SMALL_ROWS, 2 * _kernels.CHUNK_ROWS):  # one block (tests shrink blocks)
        return _run_small(p, g, tally, args, kwargs)
    key = (tally.__name__, g.by, args, tuple(sorted(kwargs.items())))
    try:
        arrays: Arrays = p._memo(
            key, lambda: _freeze(_run_chunked(p, g, tally, args, kwargs)), keep=_small
        )
    except SumOverflowError as error:
        raise amount_error(p, g, error) from None
    return dict(arrays)


def _run_small(
    p: Pipeline, g: Grouping, tally: Callable[..., Arrays], args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Arrays:
    """`run_chunked` for a pipeline of at most `SMALL_ROWS` deals: the tally on the whole
    pipeline, not remembered (recomputing it costs less than the memo's key and bookkeeping;
    the public results are remembered anyway), with the same overflow checks."""
    try:
        total = tally(p, g, *args, **kwargs)
        if not p.amounts_below_2_53 and not amounts_fit(p):
            for name in MONEY_TOTALS:
                if name in total:
                    check_row_totals(total[name])
    except SumOverflowError as error:
        raise amount_error(p, g, error) from None
    # Zeros when no deal has its own probability: nothing to carry.
    return carry(total) if p.has_probability_overrides else total


def amounts_fit(p: Pipeline) -> bool:
    """True if the total of all of ``p``'s amounts is below 2**62 minor units: then no sum of
    them (a group, a stage, the chunks of a tally added up) can pass 2**63 - 1. Computed once."""
    if p.amounts_below_2_53:
        return True
    fits: bool = p._memo(
        ("amounts_fit",), lambda: float(p.amount_minor.sum(dtype=np.float64)) < 2.0**62
    )
    return fits


def amount_error(p: Pipeline, g: Grouping, error: SumOverflowError) -> AmountError:
    """The `AmountError` for a tally whose sum of minor units passed 2**63 - 1."""
    group = ""
    if g.by and g.n:
        code = error.cell // max(error.size // g.n, 1)
        label = g.decode(np.array([code], dtype=np.intp))[0]
        fields = g.by[0] if len(g.by) == 1 else tuple(g.by)
        group = f"the deals of {fields} = {label!r}: "
    unit = p.minor_unit
    exponent = len(str(unit)) - 1
    major = f"{error.total // unit}" + (f".{error.total % unit:0{exponent}d}" if exponent else "")
    currency = f" {p.currency}" if p.currency else ""
    return AmountError(
        f"{group}amounts add up to {error.total} minor units ({major}{currency}), past the "
        f"largest exact total, 2**63 - 1 = {INT64_MAX} minor units; group the deals (by=) or "
        f"filter them so that each total fits, or load the amounts in a larger unit "
        f"(thousands)"
    )


def _freeze(arrays: Arrays) -> Arrays:
    for array in arrays.values():
        if isinstance(array, DayCounts):
            array.freeze()
        else:
            array.flags.writeable = False
    return arrays


def _small(arrays: Arrays) -> bool:
    """Only tallies under 4 MB are remembered (a cycle histogram by owner can be larger)."""
    return sum(int(a.nbytes) for a in arrays.values()) < 4 << 20


class _Sum:
    """Running total of block tallies: arrays added in place (checked against 2**63 - 1 unless
    the amounts fit), day histograms collected and added once at the end."""

    def __init__(self, checked: bool) -> None:
        self.checked = checked
        self.arrays: Arrays = {}
        self.days: dict[str, list[DayCounts]] = {}

    def add(self, part: Arrays) -> None:
        for name, array in part.items():
            if isinstance(array, DayCounts):
                self.days.setdefault(name, []).append(array)
                continue
            mine = self.arrays.get(name)
            if mine is None:
                self.arrays[name] = np.array(array, copy=True)  # a tally's arrays may alias
            elif mine.shape != array.shape or self.checked:
                self.arrays[name] = add_padded(mine, array, checked=self.checked)
            else:
                mine += array

    def result(self) -> Arrays:
        out = dict(self.arrays)
        for name, parts in self.days.items():
            out[name] = parts[0] if len(parts) == 1 else DayCounts.total(parts)
        return out


def _run_chunked(
    p: Pipeline, g: Grouping, tally: Callable[..., Arrays], args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Arrays:
    fits = amounts_fit(p)
    size = _kernels.CHUNK_ROWS
    if _ROWS_PER_GROUP * g.n > 4 * size:  # many groups: larger blocks, fewer group tables
        size = min(_ROWS_PER_GROUP * g.n // 4, 16 * size)
    bounds = _kernels.chunk_bounds(len(p), size)
    if len(bounds) == 1:
        total = tally(p, g, *args, **kwargs)
    else:
        # Per-row facts computed once on the whole pipeline, so that every block shares them.
        p.outcome_codes  # noqa: B018
        p.amounts_below_2_53  # noqa: B018
        # A thread takes at least _BLOCKS_PER_THREAD blocks: below that, handing work to the
        # pool costs more than it saves (1M deals: 1.2 ms on one thread, 1.9 ms on two).
        threads = max(min(n_threads(), len(bounds) // _BLOCKS_PER_THREAD), 1)
        edges = np.linspace(0, len(bounds), threads + 1).astype(int).tolist()
        parts_of_blocks = [bounds[a:b] for a, b in itertools.pairwise(edges)]

        def one(blocks: list[tuple[int, int]]) -> Arrays:
            acc = _Sum(checked=not fits)
            for start, stop in blocks:
                acc.add(tally(Rows(p, start, stop), g.row_range(start, stop), *args, **kwargs))
            return acc.result()

        results = parallel_map(one, parts_of_blocks)
        acc = _Sum(checked=not fits)
        for part in results:
            acc.add(part)
        total = acc.result()
    if not fits:
        for name in MONEY_TOTALS:
            if name in total:
                check_row_totals(total[name])
    return carry(total)

