"""Merging summaries: when two summaries may add up (`check_mergeable`), the order of the
merged keys (the whole pipeline's), and the carry of the weighted pipeline's exact limbs."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import OVERRIDE_LIMB, DayCounts
from salesmetrics.errors import SummaryMismatchError

if TYPE_CHECKING:
    from salesmetrics.metrics._summary import Summary

__all__ = ["LabelOrder", "SummaryMismatchError", "carry", "check_mergeable",
           "describe_context_difference", "key_order", "merge_order", "order_of_keys"]

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
        f"or days: {describe_context_difference(a.metric, a.context, b.context)}{hint}"
    )


#: What each element of a summary's ``context`` is, by summary kind (see `_summarize`).
_CONTEXT_PARTS: dict[str, tuple[str, ...]] = {
    "open": ("stages", "minor unit", "currency", "probabilities"),  # the last: weighted only
    "outcomes": ("minor unit", "currency", "stale day", "process"),
    "reached": ("open stages", "won stage", "minor unit", "skipped", "currency"),
    "reached_next": ("open stages", "won stage", "minor unit", "skipped", "currency"),
    "velocity": ("minor unit", "currency", "opportunities", "stale day", "process"),
}
_OUTCOMES = ("open", "won", "lost", "no decision")


def describe_context_difference(metric: str, a: tuple[Any, ...], b: tuple[Any, ...]) -> str:
    """Which parts of two summaries' contexts differ, in words: ``the currency differs: None
    and 'EUR'``, ``stage 'Closed' is won in one and lost in the other``, ``the stale day
    differs: '2024-01-10' and '2024-06-10'``."""
    names = _CONTEXT_PARTS.get(metric)
    if names is None or max(len(a), len(b)) > len(names):
        return f"{a!r} and {b!r}"
    if len(a) != len(b):
        missing = ", ".join(names[min(len(a), len(b)):max(len(a), len(b))])
        return (f"one of them was made by an older salesmetrics, which did not record the "
                f"{missing}: summarize that part again")
    parts = [_process_difference(x, y) if name == "process" else
             f"the {name} {'differ' if name.endswith('s') else 'differs'}: {_spell(name, x)} "
             f"and {_spell(name, y)}"
             for name, x, y in zip(names[:len(a)], a, b, strict=True) if x != y]
    return "; ".join(parts)


def _spell(name: str, value: Any) -> str:
    if name == "minor unit" and isinstance(value, int):
        return f"{value} (amounts in 1/{value} of a unit)" if value != 1 else "1 (whole units)"
    if isinstance(value, tuple):
        return ", ".join(map(repr, value)) if value else "none"
    if name == "stale day" and value is None:
        return "None (no stale_after)"
    if name == "currency" and value is None:
        return "None (no currency given)"
    return repr(value)


def _process_difference(a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...]) -> str:
    """The sales processes (stage name, outcome code) that differ, in words."""
    names_a, names_b = [n for n, _ in a], [n for n, _ in b]
    if names_a != names_b:
        return (f"the process's stages differ: {', '.join(map(repr, names_a))} and "
                f"{', '.join(map(repr, names_b))}")
    outcome = dict(b)
    return "; ".join(
        f"stage {n!r} is {_OUTCOMES[code]} in one process and {_OUTCOMES[outcome[n]]} in the other"
        for n, code in a if outcome[n] != code)


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


class LabelOrder:
    """One field's label order in a summary, the part of it that merges need, small.

    Either *plain* labels (``fingerprint is None``: not one categorical, their order sorted by
    `_sort_key`, the missing label last), or one categorical's categories or the stages in
    process order: a ``fingerprint`` of the categories (without the missing label, which comes
    last) and the ``ranks`` in them of the labels present. Its size follows the groups present,
    not the categories (200,000 owners in a categorical, 50 of them in a part: 50 ranks).

    Made from a pipeline's categories and the codes present (`of_categories`), it is compact
    only when it has to be (pickled, serialized, or merged with another pipeline's): a metric
    that summarizes and finalizes one pipeline never hashes its categories.
    """

    __slots__ = ("_categories", "_codes", "_compact")

    def __init__(self, fingerprint: str | None = None,
                 ranks: Mapping[Hashable, int] | None = None) -> None:
        self._categories: npt.NDArray[Any] | None = None
        self._codes: IntArray | None = None
        self._compact: tuple[str | None, dict[Hashable, int]] | None = (
            fingerprint, {} if fingerprint is None or ranks is None else dict(ranks))

    @classmethod
    def of_categories(cls, categories: npt.NDArray[Any], codes: IntArray) -> LabelOrder:
        """The order of ``categories`` (a pipeline's, as they are), labels ``codes`` present."""
        order = cls()
        order._categories, order._codes, order._compact = categories, codes, None
        return order

    @classmethod
    def of_labels(cls, labels: Sequence[Hashable]) -> LabelOrder:
        """The order of ``labels`` as listed (every one of them present)."""
        categories = np.empty(len(labels), dtype=object)
        categories[:] = list(labels)
        return cls.of_categories(categories, np.arange(len(labels), dtype=np.intp))

    @property
    def fingerprint(self) -> str | None:
        """The categories' fingerprint (a hash of their labels in order), None for plain."""
        return self.compact()[0]

    @property
    def ranks(self) -> dict[Hashable, int]:
        """Label present → its rank in the categories (empty for plain labels)."""
        return self.compact()[1]

    def compact(self) -> tuple[str | None, dict[Hashable, int]]:
        if self._compact is None:
            assert self._categories is not None and self._codes is not None
            labels = self._categories.tolist()
            core = labels[:-1] if labels and labels[-1] is None else labels
            if _is_sorted(core):  # as plain labels are: concatenated, they sort the same
                self._compact = (None, {})
            else:
                import hashlib  # here, not at the top: 3 ms at import, only for categoricals

                digest = hashlib.blake2b(repr(core).encode(), digest_size=16).hexdigest()
                present = self._categories[self._codes].tolist()
                self._compact = (digest, dict(zip(present, self._codes.tolist(), strict=True)))
        return self._compact

    def merge(self, other: LabelOrder) -> LabelOrder:
        """The order of both parts' labels in the whole: one categorical's stays (the union of
        the labels present); anything else is plain labels, which sort."""
        if self._categories is not None and self._categories is other._categories:
            assert self._codes is not None and other._codes is not None
            return LabelOrder.of_categories(self._categories,
                                            np.union1d(self._codes, other._codes))
        mine, theirs = self.compact(), other.compact()
        if mine[0] is None or mine[0] != theirs[0]:
            return LabelOrder()
        return LabelOrder(mine[0], {**mine[1], **theirs[1]})

    def rank_of(self, labels: Sequence[Hashable]) -> IntArray:
        """The rank of each of ``labels`` (labels present) in this order."""
        if self._compact is None:
            assert self._categories is not None and self._codes is not None
            ranks = dict(zip(self._categories[self._codes].tolist(), self._codes.tolist(),
                             strict=True))
        elif self._compact[0] is None:
            ranks = {x: i for i, x in enumerate(sorted(set(labels), key=_sort_key))}
        else:
            ranks = self._compact[1]
        return np.array([ranks[x] for x in labels], dtype=np.intp)

    def __reduce__(self) -> tuple[Any, ...]:
        return (LabelOrder, self.compact())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelOrder):
            return NotImplemented
        return self.compact() == other.compact()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fingerprint, ranks = self.compact()
        if fingerprint is None:
            return "LabelOrder(sorted)"
        return f"LabelOrder({fingerprint[:8]}…, {len(ranks)} label(s))"


def merge_order(mine: LabelOrder, theirs: LabelOrder) -> LabelOrder:
    """One field's labels of both parts, in the order of the whole pipeline (`LabelOrder.merge`).

    The same categorical (the same categories in the same order, such as the stages in process
    order) keeps its order, whether or not a part has the missing label (always last).
    Otherwise the parts' labels are not one categorical (labels that are not categorical, whose
    order is sorted, or categoricals with different categories): the whole data, concatenated,
    has plain labels, so the result is their sorted union (`_sort_key`), whichever part comes
    first, and however the parts are grouped.
    """
    return mine.merge(theirs)


def _is_sorted(labels: list[Hashable]) -> bool:
    """True when ``labels`` are strictly increasing by `_sort_key` (vectorized for text)."""
    if len(labels) < 2:
        return True
    if {type(x) for x in labels} == {str}:
        text = np.array(labels, dtype=str)
        return bool(np.all(text[:-1] < text[1:]))
    try:
        keys = [_sort_key(label) for label in labels]
        return all(a < b for a, b in itertools.pairwise(keys))
    except TypeError:
        return False


def order_of_keys(by: tuple[str, ...], keys: tuple[Hashable, ...]) -> tuple[LabelOrder, ...]:
    """``order`` of a summary made without one: each field's labels as its keys list them."""
    if not by:
        return ()
    parts = [keys] if len(by) == 1 else list(zip(*keys, strict=True)) if keys else [()] * len(by)
    return tuple(LabelOrder.of_labels(tuple(dict.fromkeys(part))) for part in parts)


def key_order(by: tuple[str, ...], keys: list[Hashable], order: tuple[LabelOrder, ...]
              ) -> IntArray:
    """Rows of ``keys`` sorted field by field by their labels' ranks in ``order``."""
    if not by:
        return np.arange(len(keys), dtype=np.intp)
    if len(by) == 1:
        return np.argsort(order[0].rank_of(keys), kind="stable").astype(np.intp)
    columns = [o.rank_of([k[i] for k in keys])  # type: ignore[index]
               for i, o in enumerate(order)]
    return np.lexsort(columns[::-1]).astype(np.intp)
