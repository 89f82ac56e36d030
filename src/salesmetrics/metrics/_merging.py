"""Merging summaries: when two summaries may add up (`check_mergeable`), the order of the
merged keys (the whole pipeline's), and the carry of the weighted pipeline's exact limbs."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import OVERRIDE_LIMB, DayCounts
from salesmetrics.errors import SummaryMismatchError

if TYPE_CHECKING:
    from salesmetrics.metrics._summary import Summary

__all__ = ["SummaryMismatchError", "carry", "check_mergeable", "key_order", "merge_order"]

IntArray = npt.NDArray[np.intp]



def same_array(a: Any, b: Any) -> bool:
    if isinstance(a, DayCounts) or isinstance(b, DayCounts):
        return bool(a == b)
    return bool(a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def check_mergeable(a: Summary, b: Summary) -> None:
    """Raise `SummaryMismatchError` unless ``a`` and ``b`` are summaries of the same metric, with
    the same options and grouping (and, unless one is empty, the same process and currency)."""
    theirs = (b.function or b.metric, b.by, b.options)
    mine = (a.function or a.metric, a.by, a.options)
    if mine != theirs:
        what = ("metrics" if mine[0] != theirs[0] else "groupings" if mine[1] != theirs[1]
                else "options")
        detail = {"metrics": (mine[0], theirs[0]), "groupings": (mine[1], theirs[1]),
                  "options": (_differ(a.options, b.options), _differ(b.options, a.options))}[what]
        raise SummaryMismatchError(
            f"cannot add summaries of different {what}: {detail[0]!r} and {detail[1]!r}; "
            "summarize every part with the same metric, by= and options"
        )
    if a.is_empty or b.is_empty or a.context == b.context:
        return
    if a.metric != b.metric:
        raise SummaryMismatchError(
            f"cannot add summaries of different kinds: {a.metric!r} and {b.metric!r}")
    hint = ""
    if any(isinstance(x, str) and x[:1].isdigit() for x in (*a.context, *b.context)):
        hint = ("; a stale_after without as_of ages deals from each part's own latest date: "
                "pass as_of= so that every part uses the same day")
    raise SummaryMismatchError(
        f"cannot add summaries of {a.function or a.metric!r} over different processes, currencies "
        f"or days: {a.context!r} and {b.context!r}{hint}"
    )


def _differ(mine: tuple[tuple[str, Any], ...], theirs: tuple[tuple[str, Any], ...]
            ) -> dict[str, Any]:
    other = dict(theirs)
    return {k: v for k, v in mine if k not in other or other[k] != v}


def carry(arrays: dict[str, Any]) -> dict[str, Any]:
    """Normalize the two limbs of the exact weighted sum (``override_lo < 2**32``), so that a
    total has one representation however its parts were added up; other tallies unchanged."""
    if "override_lo" in arrays:
        lo, hi = arrays["override_lo"], arrays["override_hi"]
        arrays["override_hi"] = hi + (lo >> OVERRIDE_LIMB)
        arrays["override_lo"] = lo & ((1 << OVERRIDE_LIMB) - 1)
    return arrays



def _sort_key(label: Hashable) -> tuple[Any, ...]:
    """The order of labels that are not categorical: by value (numbers together, as a column
    of them sorts), the missing label (None) last."""
    if label is None:
        return (True, "", 0)
    number = isinstance(label, (int, float)) and not isinstance(label, bool)
    return (False, "" if number else type(label).__name__, label)


def merge_order(mine: Any, theirs: Any) -> tuple[Hashable, ...]:
    """One field's labels of both parts, in the order of the whole pipeline.

    The same labels in the same order (one categorical's categories, the stages in process
    order) stay as they are, whether or not a part has the missing label (always last).
    Otherwise the parts' labels are not one categorical (labels that are not categorical, whose
    order is sorted, or categoricals with different categories): the whole data, concatenated,
    has plain labels, so the result is their sorted union (`_sort_key`), whichever part comes
    first, and however the parts are grouped.
    """
    left: tuple[Hashable, ...] = tuple(_labels_of(mine))
    right: tuple[Hashable, ...] = tuple(_labels_of(theirs))
    if left == right:
        return left
    if _present(left) == _present(right):
        return left if len(left) > len(right) else right
    return tuple(sorted(set(left) | set(right), key=_sort_key))


def _present(labels: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """The labels without the missing one (None, always last in a pipeline's categories)."""
    return labels[:-1] if labels and labels[-1] is None else labels


def _labels_of(labels: Any) -> list[Hashable]:
    """A field's labels as a list (``order`` holds the pipeline's category arrays as they are)."""
    return labels.tolist() if isinstance(labels, np.ndarray) else list(labels)


def key_order(by: tuple[str, ...], keys: list[Hashable], order: tuple[Any, ...]) -> IntArray:
    """Rows of ``keys`` sorted field by field by their labels' positions in ``order``."""
    if not by:
        return np.arange(len(keys), dtype=np.intp)
    ranks = [{label: i for i, label in enumerate(labels)} for labels in order]
    if len(by) == 1:
        rank = [ranks[0][k] for k in keys]
        return np.argsort(np.array(rank, dtype=np.intp), kind="stable").astype(np.intp)
    columns = [np.array([r[k[i]] for k in keys], dtype=np.intp)  # type: ignore[index]
               for i, r in enumerate(ranks)]
    return np.lexsort(columns[::-1]).astype(np.intp)
