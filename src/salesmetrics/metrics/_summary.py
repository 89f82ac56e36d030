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
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import add_padded
from salesmetrics.domain.period import Period, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import DataTypeError, SalesMetricsError, check_option

__all__ = ["Grouping", "Summary", "grouping", "window_mask"]

IntArray = npt.NDArray[np.intp]


class Grouping:
    """Dense group codes of a pipeline's deals for ``by=`` (``keys is None``: one group)."""

    __slots__ = ("by", "categories", "keys", "n")

    def __init__(self, by: tuple[str, ...], keys: IntArray | None, n: int,
                 categories: tuple[npt.NDArray[Any], ...]) -> None:
        self.by = by
        self.keys = keys
        self.n = n
        self.categories = categories

    def row_range(self, start: int, stop: int) -> Grouping:
        """The grouping of rows ``[start, stop)`` (same groups, keys sliced)."""
        keys = None if self.keys is None else self.keys[start:stop]
        return Grouping(self.by, keys, self.n, self.categories)

    def decode(self, codes: IntArray) -> list[Hashable]:
        """Group labels for combined codes: a label for one field, a tuple for several."""
        if not self.by:
            return [None] * len(codes)
        if len(self.by) == 1:
            return self.categories[0][codes].tolist()  # type: ignore[no-any-return]
        shape = tuple(len(c) for c in self.categories)
        parts = np.unravel_index(codes, shape)
        columns = [c[p].tolist() for c, p in zip(self.categories, parts, strict=True)]
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
    """The group codes of ``p`` for the fields ``by`` (validated against ``p``'s fields)."""
    if not by:
        return Grouping((), None, 1, ())
    labels = [p.labels(name) for name in by]
    if len(labels) == 1:
        return Grouping(by, labels[0].codes, len(labels[0].categories), (labels[0].categories,))
    n = 1
    keys = np.zeros(len(p), dtype=np.intp)
    for lab in labels:
        keys *= len(lab.categories)
        keys += lab.codes
        n *= len(lab.categories)
    return Grouping(by, keys, n, tuple(lab.categories for lab in labels))


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
    p: Pipeline, period: Period | None, view: str
) -> npt.NDArray[np.bool_] | None:
    """Deals an outcome metric looks at: the period view selects by close date (closed deals
    closed in the period, open deals expected to close in it); the cohort view by created date.
    None means every deal."""
    if period is None:
        return None
    return period.contains(p.close_date if view == "period" else p.created)


def rows_of(mask: npt.NDArray[np.bool_] | None) -> IntArray | None:
    return None if mask is None else np.flatnonzero(mask)


def as_of_date(as_of: object, period: Period | None) -> np.datetime64:
    """Reference day for ages: ``as_of`` if given, else the period's last day, else today (UTC)."""
    if as_of is None:
        if period is not None:
            return np.datetime64(period.end - dt.timedelta(days=1), "D")
        return np.datetime64(dt.datetime.now(dt.UTC).date(), "D")
    if isinstance(as_of, (dt.date, str, np.datetime64)):
        day: np.datetime64 = np.datetime64(np.asarray(as_of, dtype="datetime64[D]").item(), "D")
        return day
    raise DataTypeError(f"as_of must be a date, got {as_of!r}")


class Summary:
    """Per-group tallies of one metric family: the mergeable half of a metric.

    - ``metric``: which summarize step made it, e.g. ``"outcomes"``;
    - ``by``: the fields grouped by;
    - ``keys``: group labels, one per row of every array (``(None,)`` when not grouped);
    - ``arrays``: tally name → array whose first axis runs over ``keys``: integer counts and sums
      [minor units, days], float only where noted;
    - ``context``: what must agree for two summaries to add up (stages, currency unit, options).
    """

    __slots__ = ("arrays", "by", "context", "keys", "metric")

    def __init__(self, metric: str, by: tuple[str, ...], keys: tuple[Hashable, ...],
                 arrays: Mapping[str, npt.NDArray[Any]], context: tuple[Any, ...] = ()) -> None:
        self.metric = metric
        self.by = by
        self.keys = keys
        self.arrays = arrays
        self.context = context

    def __repr__(self) -> str:
        return (f"Summary({self.metric!r}, by={self.by!r}, {len(self.keys)} group(s), "
                f"arrays={sorted(self.arrays)})")

    def __add__(self, other: Summary) -> Summary:
        if not isinstance(other, Summary):
            return NotImplemented
        if (self.metric, self.by, self.context) != (other.metric, other.by, other.context):
            raise SalesMetricsError(
                f"cannot add summaries of {self.metric!r} by {self.by} and {other.metric!r} by "
                f"{other.by}, or with different stages, currency or options"
            )
        keys = list(self.keys)
        index = {k: i for i, k in enumerate(keys)}
        for k in other.keys:
            if k not in index:
                index[k] = len(keys)
                keys.append(k)
        where = np.array([index[k] for k in other.keys], dtype=np.intp)
        arrays: dict[str, npt.NDArray[Any]] = {}
        for name, mine in self.arrays.items():
            theirs = other.arrays[name]
            # Rows aligned on the union of keys, then added as the chunked tallies are.
            mine_rows = np.zeros((len(keys), *mine.shape[1:]), dtype=mine.dtype)
            mine_rows[: len(mine)] = mine
            their_rows = np.zeros((len(keys), *theirs.shape[1:]), dtype=theirs.dtype)
            their_rows[where] = theirs
            arrays[name] = add_padded(mine_rows, their_rows)
        order = sorted(range(len(keys)), key=lambda i: _sort_key(keys[i]))
        return Summary(
            self.metric,
            self.by,
            tuple(keys[i] for i in order),
            {name: a[order] for name, a in arrays.items()},
            self.context,
        )


def _sort_key(key: Hashable) -> tuple[Any, ...]:
    parts = key if isinstance(key, tuple) else (key,)
    return tuple((p is None, type(p).__name__, p if p is not None else 0) for p in parts)


def make_summary(
    metric: str,
    grouping: Grouping,
    present: npt.NDArray[np.int64],
    arrays: Mapping[str, npt.NDArray[Any]],
    context: tuple[Any, ...] = (),
) -> Summary:
    """Keep the groups with ``present > 0`` and label them."""
    if not grouping.by:
        return Summary(metric, (), (None,), dict(arrays), context)
    codes = np.flatnonzero(present)
    keys = grouping.decode(codes)
    if len(codes) < grouping.n:
        arrays = {k: a[codes] for k, a in arrays.items()}
    return Summary(metric, grouping.by, tuple(keys), arrays, context)
