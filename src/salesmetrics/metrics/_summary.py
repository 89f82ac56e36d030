"""Summaries: the small, mergeable per-group tallies that every metric is a finalize step over.

A metric runs in two steps:

1. *summarize*: one pass over the deals that fills a `Summary`, i.e. per-group integer counts
   and sums in minor units or days (plus, for weighted pipeline with per-deal probabilities, a
   float sum). Only groups with at least one selected deal are kept.
2. *finalize*: the ratios, computed from the summary alone.

Summaries of two parts of a pipeline add up (``a + b``) to the summary of the whole, key by key, so
the same finalize step serves one pipeline, a split one, or a distributed engine.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import (
    DayCounts,
    SumOverflowError,
    add_padded,
    check_row_totals,
    distinct,
    take,
)
from salesmetrics.domain.dates import to_date
from salesmetrics.domain.period import Period, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import (
    AmountError,
    DataError,
    DataTypeError,
    SalesMetricsError,
    check_option,
)
from salesmetrics.metrics._merging import (
    LabelOrder,
    SummaryMismatchError,
    carry,
    check_mergeable,
    key_order,
    merge_order,
    order_of_keys,
    same_array,
)

__all__ = ["MONEY_TOTALS", "OUTSIDE_COUNTS", "Grouping", "Summary", "SummaryMismatchError",
           "grouping", "window_mask"]

if TYPE_CHECKING:
    from salesmetrics.metrics._chunked import Rows

IntArray = npt.NDArray[np.intp]


#: Grouping by several fields keeps a dense table of every combination of their categories only
#: while it has at most ``DENSE_GROUPS_PER_DEAL * deals + DENSE_GROUPS_MIN`` cells; past that, it
#: numbers the combinations that occur (at most one per deal), so memory follows the data.
DENSE_GROUPS_PER_DEAL = 2
DENSE_GROUPS_MIN = 1024


class Grouping:
    """Dense group codes of a pipeline's deals for ``by=`` (no fields: one group, ``keys is
    None``).

    For several fields, a group is either a cell of the cross product of their categories
    (``combos is None``), or one of the combinations that occur: ``combos[i][code]`` is then the
    category code in field ``i`` of group ``code``.

    ``keys`` (intp, one per deal) is built on first use; tallies read `take_keys` instead, which
    folds a cross product's fields for the selected rows only, in intp (stored codes may be
    narrow integers).
    """

    __slots__ = ("_fields", "_keys", "by", "categories", "combos", "n")

    def __init__(self, by: tuple[str, ...], keys: npt.NDArray[Any] | None, n: int,
                 categories: tuple[npt.NDArray[Any], ...],
                 combos: tuple[IntArray, ...] | None = None, *,
                 fields: tuple[tuple[npt.NDArray[Any], int], ...] | None = None) -> None:
        self.by = by
        self._keys = keys
        # (codes, number of categories) per field of a cross product whose keys are not built.
        self._fields = fields
        self.n = n
        self.categories = categories
        self.combos = combos

    @property
    def keys(self) -> IntArray | None:
        """Group code of each deal (intp), or None for one group."""
        if not self.by:
            return None
        if self._keys is None or self._keys.dtype != np.intp:
            self._keys = self.take_keys(None)
            self._fields = None
        return self._keys

    def take_keys(self, rows: IntArray | None) -> IntArray:
        """Group codes (intp) of the deals ``rows`` (None: every deal); needs ``by``."""
        if self._fields is not None:
            codes, _ = self._fields[0]
            keys = take(codes, rows).astype(np.intp)
            for codes, width in self._fields[1:]:
                keys *= width
                keys += take(codes, rows)
            return keys
        assert self._keys is not None
        return take(self._keys, rows).astype(np.intp, copy=False)

    def row_range(self, start: int, stop: int) -> Grouping:
        """The grouping of rows ``[start, stop)`` (same groups, keys sliced)."""
        keys = None if self._keys is None else self._keys[start:stop]
        fields = None if self._fields is None else tuple(
            (codes[start:stop], width) for codes, width in self._fields)
        return Grouping(self.by, keys, self.n, self.categories, self.combos, fields=fields)

    def field_codes(self, codes: IntArray) -> tuple[IntArray, ...]:
        """Each field's category codes of the groups ``codes`` (combined codes)."""
        if len(self.by) == 1:
            return (codes,)
        if self.combos is None:
            return tuple(np.unravel_index(codes, tuple(len(c) for c in self.categories)))
        return tuple(combo[codes].astype(np.intp) for combo in self.combos)

    def decode(self, codes: IntArray) -> list[Hashable]:
        """Group labels for combined codes: a label for one field, a tuple for several."""
        if not self.by:
            return [None] * len(codes)
        if len(self.by) == 1:
            return self.categories[0][codes].tolist()  # type: ignore[no-any-return]
        columns = [c[p].tolist() for c, p in zip(self.categories, self.field_codes(codes),
                                                 strict=True)]
        return list(zip(*columns, strict=True))


def normalize_by(function: str, by: object) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    if isinstance(by, Sequence) and all(isinstance(b, str) for b in by):
        return tuple(by)
    raise DataTypeError(f"{function}(): by must be a field name or a list of them, got {by!r}")


def grouping(p: Pipeline, by: tuple[str, ...]) -> Grouping:
    """The group codes of ``p`` for the fields ``by`` (validated against ``p``'s fields).

    Several fields group on the cross product of their categories while it is small (see
    `DENSE_GROUPS_PER_DEAL`), else on the combinations that occur: memory is then O(deals),
    whatever the number of categories (50,000 owners × 50,000 accounts is 50,000 groups at
    most for 50,000 deals, not 2.5 billion).
    """
    if not by:
        return Grouping((), None, 1, ())
    labels = [p.labels(name) for name in by]
    categories = tuple(lab.categories for lab in labels)
    if len(labels) == 1:
        return Grouping(by, labels[0].codes, len(labels[0].categories), categories)
    product = 1
    for lab in labels:
        product *= max(len(lab.categories), 1)
    if product <= DENSE_GROUPS_PER_DEAL * len(p) + DENSE_GROUPS_MIN:
        # The combined keys are built only where read (`Grouping.take_keys`), in intp.
        fields = tuple((lab.codes, len(lab.categories)) for lab in labels)
        return Grouping(by, None, product, categories, fields=fields)
    # Number the combinations that occur, in the order of the cross product (lexicographic by
    # category codes), folding one field in at a time so the combined key never overflows.
    keys = labels[0].codes.astype(np.intp)
    n = len(labels[0].categories)
    for lab in labels[1:]:
        keys = keys * len(lab.categories) + lab.codes
        n *= len(lab.categories)
        if n > 2**31:
            uniques, inverse = np.unique(keys, return_inverse=True)
            keys, n = inverse.astype(np.intp).reshape(-1), len(uniques)
    uniques, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    combos = tuple(lab.codes[first] for lab in labels)
    return Grouping(by, inverse.astype(np.intp).reshape(-1), len(uniques), categories, combos)


def resolve_period(function: str, period: object) -> Period | None:
    if period is None:
        return None
    try:
        return as_period(period)
    except SalesMetricsError as error:
        raise type(error)(f"{function}(): {error}") from None


def check_view(function: str, view: object) -> None:
    """Raise `OptionError` unless ``view`` is ``"period"`` or ``"cohort"``."""
    check_option(function, "view", view, ("period", "cohort"))


def window_mask(
    p: Pipeline | Rows, period: Period | None, view: str
) -> npt.NDArray[np.bool_] | None:
    """Deals an outcome metric looks at: the period view selects by close date (closed deals
    closed in the period, open deals expected to close in it); the cohort view by created date.
    None means every deal."""
    if period is None:
        return None
    return in_period(p._days("close_date" if view == "period" else "created"), period)


def in_period(days: npt.NDArray[np.int32], period: Period) -> npt.NDArray[np.bool_]:
    """``start <= day < end`` for int32 day numbers (`Pipeline._days`), False where missing: one
    unsigned compare (earlier days and the missing day wrap around to huge values)."""
    first, length, _ = day_bounds(period)
    offset = days - first
    return offset.view(np.uint32) < length


@functools.lru_cache(maxsize=256)
def day_bounds(period: Period) -> tuple[np.int32, np.uint32, np.int32]:
    """A period's first day number, length [days] and end (its first day after it), for
    `in_period` and the tallies that compare int32 day numbers (periods are immutable;
    remembered, since a chunked tally asks once per block)."""
    start, end = period.bounds64
    first, stop = int(start.astype(np.int64)), int(end.astype(np.int64))
    return np.int32(first), np.uint32(stop - first), np.int32(stop)


def rows_of(mask: npt.NDArray[np.bool_] | None) -> IntArray | None:
    return None if mask is None else mask.nonzero()[0]  # flatnonzero: 5x the call cost


def as_of_date(as_of: object, p: Pipeline) -> np.datetime64:
    """Reference day for ages: ``as_of`` if given, else the latest date on record
    (`Pipeline.latest_date`: the latest created date, close date of a closed deal or stage-history
    date; NaT for a pipeline without dates, so that nothing ages). Never the clock.

    ``as_of`` is a date, a datetime (its calendar date) or an ISO date string; anything else,
    including an empty string or a missing value, is an error naming ``as_of`` and the value.
    """
    if as_of is None:
        latest: np.datetime64 = p.latest_date.astype("datetime64[D]")
        return latest
    if not isinstance(as_of, (dt.date, str, np.datetime64)):
        raise DataTypeError(f"as_of must be a date, got {as_of!r}")
    try:
        day = to_date(as_of, field="as_of")
    except SalesMetricsError:
        day = None
    except (ValueError, OverflowError, AssertionError):  # e.g. a datetime64 outside 1..9999
        day = None
    if day is None:
        raise DataError(
            f"as_of must be a date such as '2024-12-31' (or None for the latest date on record), "
            f"got {as_of!r}"
        )
    return np.datetime64(day, "D")


class Summary:
    """Per-group tallies of one metric family: the mergeable half of a metric.

    - ``metric``: which summarize step made it, e.g. ``"outcomes"``;
    - ``by``: the fields grouped by;
    - ``keys``: group labels, one per row of every array (``(None,)`` when not grouped), in the
      order of ``order``;
    - ``arrays``: tally name → array whose first axis runs over ``keys``: integer counts and sums
      [minor units, days], float only where noted; the cycle histogram ``cycle_hist`` is a sparse
      `DayCounts` [group, outcome] of whole days;
    - ``context``: what must agree for two summaries to add up (stages, currency unit, options);
    - ``outside``: counts over the whole pipeline, not per group, of deals that the window
      leaves out for want of a date (see `OUTSIDE_COUNTS`): they belong to no group of the
      result, so they are kept apart from ``arrays`` and added up when summaries merge;
    - ``order``: per field of ``by``, a `LabelOrder`: the order of its labels in the pipeline
      (sorted labels with the missing one last, or a categorical's categories, or the stages in
      process order), holding only what a merge needs (for a categorical, a fingerprint of its
      categories and the ranks of the labels present); keys are ordered by them, field by
      field, so that merged summaries list their keys as the whole pipeline's summary does;
    - ``function`` and ``options``: for a summary made by `salesmetrics.summarize`, the public
      metric it finalizes to and that metric's options (normalized: ``by`` as a tuple,
      ``period`` as a `Period`…), as ``(name, value)`` pairs; None and ``()`` for the internal
      summaries of the metric modules. Summaries merge only when both agree.

    A summary with ``context is None`` is the *empty* summary (`Summary.empty`): the identity
    of ``+``, which takes its process, currency and groups from whatever it is added to.
    """

    __slots__ = ("arrays", "by", "context", "function", "keys", "metric", "options", "order",
                 "outside")

    def __init__(self, metric: str, by: tuple[str, ...], keys: tuple[Hashable, ...],
                 arrays: Mapping[str, Any], context: tuple[Any, ...] | None = (),
                 order: tuple[Any, ...] | None = None,
                 outside: Mapping[str, int] | None = None, *, function: str | None = None,
                 options: tuple[tuple[str, Any], ...] = ()) -> None:
        self.metric = metric
        self.by = by
        self.keys = keys
        self.arrays = arrays
        # None only for the empty summary (`is_empty`), which no finalize step reads.
        self.context: tuple[Any, ...] = context  # type: ignore[assignment]
        self.order = order_of_keys(by, keys) if order is None else order
        self.outside: Mapping[str, int] = {} if outside is None else outside
        self.function = function
        self.options = options

    @classmethod
    def empty(cls, metric: Any, /, **options: Any) -> Summary:
        """The summary of no deals for ``metric`` (a metric function or its name) with its
        ``options``: the identity of ``+`` (``Summary.empty(m) + s == s``), taking its process,
        currency and groups from the summary it is added to. Finalizing it gives what the
        metric gives on an empty pipeline.

        Examples
        --------
        >>> import salesmetrics as sm
        >>> p = sm.datasets.sample_pipeline()
        >>> s = sm.summarize(p, "win_rate", by="owner")
        >>> sm.finalize(sm.Summary.empty("win_rate", by="owner") + s) == sm.win_rate(p, by="owner")
        True
        """
        from salesmetrics.metrics.summaries import empty_summary

        return empty_summary(metric, options)

    @property
    def is_empty(self) -> bool:
        """True for `Summary.empty`: no process, currency or groups of its own yet."""
        return self.context is None

    def tagged(self, function: str, options: tuple[tuple[str, Any], ...]) -> Summary:
        """This summary, marked as ``function``'s with its normalized ``options``."""
        return Summary(self.metric, self.by, self.keys, self.arrays, self.context, self.order,
                       self.outside, function=function, options=options)

    def __repr__(self) -> str:
        name = self.function or self.metric
        if self.is_empty:
            return f"Summary({name!r}, by={self.by!r}, empty)"
        return (f"Summary({name!r}, by={self.by!r}, {len(self.keys)} group(s), "
                f"arrays={sorted(self.arrays)})")

    def __eq__(self, other: object) -> bool:
        """Same metric, options, context, keys (in order), outside counts and tallies (exactly,
        array by array)."""
        if not isinstance(other, Summary):
            return NotImplemented
        same = ((self.metric, self.by, self.function, self.options, self.context, self.keys,
                 dict(self.outside), sorted(self.arrays))
                == (other.metric, other.by, other.function, other.options, other.context,
                    other.keys, dict(other.outside), sorted(other.arrays)))
        return same and all(same_array(a, other.arrays[name]) for name, a in self.arrays.items())

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> tuple[Any, ...]:
        # Plain containers only (a remembered tally's arrays are read-only views): small pickles.
        return (self.metric, self.by, self.keys, dict(self.arrays), self.context, self.order,
                dict(self.outside), self.function, self.options)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (self.metric, self.by, self.keys, self.arrays, self.context, self.order, self.outside,
         self.function, self.options) = state

    def to_arrow(self) -> Any:
        """The summary as a `pyarrow.Table`, one row per group (see `Summary.from_arrow`)."""
        from salesmetrics.metrics._summary_arrow import to_arrow

        return to_arrow(self)

    @staticmethod
    def from_arrow(table: Any) -> Summary:
        """The summary stored by `Summary.to_arrow` (a `pyarrow.Table`)."""
        from salesmetrics.metrics._summary_arrow import from_arrow

        return from_arrow(table)

    def to_bytes(self) -> bytes:
        """The summary as bytes: its `to_arrow` table in the Arrow IPC stream format."""
        from salesmetrics.metrics._summary_arrow import to_bytes

        return to_bytes(self)

    @staticmethod
    def from_bytes(data: bytes) -> Summary:
        """The summary stored by `Summary.to_bytes`."""
        from salesmetrics.metrics._summary_arrow import from_bytes

        return from_bytes(data)

    def __add__(self, other: Summary) -> Summary:
        """The summary of both parts: groups matched by key, tallies added exactly (integer
        sums past 2**63 - 1 raise `AmountError` instead of wrapping), keys in the order of the
        whole (see ``order``)."""
        if not isinstance(other, Summary):
            return NotImplemented
        check_mergeable(self, other)
        if other.is_empty:
            return self
        if self.is_empty:
            return other
        keys = list(self.keys)
        index = {k: i for i, k in enumerate(keys)}
        for k in other.keys:
            if k not in index:
                index[k] = len(keys)
                keys.append(k)
        where = np.array([index[k] for k in other.keys], dtype=np.intp)
        arrays: dict[str, Any] = {}
        for name, mine in self.arrays.items():
            theirs = other.arrays[name]
            if isinstance(mine, DayCounts):
                arrays[name] = (mine.place(np.arange(mine.rows), len(keys))
                                + theirs.place(where, len(keys)))
                continue
            # Rows aligned on the union of keys, then added as the chunked tallies are.
            mine_rows = np.zeros((len(keys), *mine.shape[1:]), dtype=mine.dtype)
            mine_rows[: len(mine)] = mine
            their_rows = np.zeros((len(keys), *theirs.shape[1:]), dtype=theirs.dtype)
            their_rows[where] = theirs
            try:
                arrays[name] = add_padded(mine_rows, their_rows, checked=True)
                if name in MONEY_TOTALS:
                    check_row_totals(arrays[name])
            except SumOverflowError as error:
                key = keys[error.cell // max(error.size // max(len(keys), 1), 1)]
                group = f" of {self.by} = {key!r}" if self.by else ""
                raise AmountError(
                    f"cannot add these {self.metric!r} summaries: {name!r}{group} adds up to "
                    f"{error.total} minor units, past the largest exact total, 2**63 - 1 = "
                    f"{2**63 - 1}"
                ) from None
        order = tuple(merge_order(mine, theirs)
                      for mine, theirs in zip(self.order, other.order, strict=True))
        rows = key_order(self.by, keys, order)
        outside = dict(self.outside)
        for name, count in other.outside.items():
            outside[name] = outside.get(name, 0) + count
        return Summary(
            self.metric,
            self.by,
            tuple(keys[i] for i in rows),
            carry({name: take_rows(a, rows) for name, a in arrays.items()}),
            self.context,
            order,
            outside,
            function=self.function,
            options=self.options,
        )


#: Tallies of minor units whose totals over the last axis a metric may add up (stages, outcomes,
#: or classes of deals that reached a stage): they are checked against 2**63 - 1, when chunks
#: of a tally add up and when summaries merge.
MONEY_TOTALS = ("amount", "value")

#: Counts of deals that a window leaves out for want of a date, over the whole pipeline: open
#: deals without an expected close date (``no_close``, in no period) and deals without a created
#: date (``no_created``, in no cohort). A tally returns each as a one-element array (so that
#: chunks add up); `make_summary` moves them to `Summary.outside` as ints.
OUTSIDE_COUNTS = ("no_close", "no_created")


def take_rows(array: Any, rows: IntArray) -> Any:
    """``array[rows]`` for a tally array or a `DayCounts` (``take(rows, axis=0)``: a fifth of
    the cost of fancy indexing on a small 2-d array)."""
    if isinstance(array, DayCounts):
        return array.take(rows)
    return array.take(rows, axis=0)


def make_summary(
    metric: str,
    grouping: Grouping,
    present: npt.NDArray[np.int64],
    arrays: Mapping[str, Any],
    context: tuple[Any, ...] = (),
) -> Summary:
    """Keep the groups with ``present > 0`` and label them; the tallies named in
    `OUTSIDE_COUNTS` become the summary's ``outside`` counts."""
    outside = None
    if "no_close" in arrays or "no_created" in arrays:  # `OUTSIDE_COUNTS`
        outside = {name: int(arrays[name][0]) for name in OUTSIDE_COUNTS if name in arrays}
        arrays = {k: a for k, a in arrays.items() if k not in outside}
    if not grouping.by:
        return Summary(metric, (), (None,), dict(arrays), context, (), outside)
    codes = present.nonzero()[0]
    keys = grouping.decode(codes)
    if len(codes) < grouping.n:
        arrays = {k: a.take(codes) if isinstance(a, DayCounts) else a.take(codes, axis=0)
                  for k, a in arrays.items()}  # `take_rows`, inline
    fields = grouping.field_codes(codes)  # one field: its codes, sorted and distinct already
    order = tuple(LabelOrder.of_categories(c, f if len(fields) == 1 else distinct(f, len(c)))
                  for c, f in zip(grouping.categories, fields, strict=True))
    return Summary(metric, grouping.by, tuple(keys), arrays, context, order, outside)
