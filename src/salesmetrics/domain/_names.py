"""The caller's column names: listing them, and which of them holds which deal attribute (with
the checks for misspelled attributes)."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from salesmetrics.errors import DataError, DataQualityWarning, DataTypeError, choices

__all__ = ["DEAL_ATTRIBUTES", "column_names", "resolve_columns"]

#: Attributes of `Deal` that ``Pipeline.from_columns`` reads; other keys become fields.
DEAL_ATTRIBUTES = (
    "id", "amount", "stage", "created", "close_date", "owner", "probability", "currency",
)  # fmt: skip
#: Attributes whose one-edit misspellings (``"ammount"``) in ``columns`` warn; ``id`` is too short
#: (``"ip"``, ``"ad"`` and ``"bid"`` are real fields).
_TYPO_TARGETS = tuple(a for a in DEAL_ATTRIBUTES if len(a) >= 4)
#: Common field names one edit from an attribute that are words of their own, not typos.
_REAL_WORDS = frozenset({"state", "states", "stake", "staged", "owned"})


def column_names(data: Any, what: str = "data") -> list[str]:
    """The column names of a mapping or data frame; `DataTypeError` for anything that is not
    one (a Series, a polars LazyFrame, a list…), non-str names, and `DataError` for a name that
    occurs twice (pandas allows it)."""
    kind, module = type(data).__name__, type(data).__module__.split(".")[0]
    if kind == "LazyFrame":
        raise DataTypeError(
            f"{what} is a polars LazyFrame; call .collect() and pass the DataFrame"
        )
    if kind in ("Series", "Array", "ChunkedArray") or isinstance(data, np.ndarray):
        raise DataTypeError(
            f"{what} is a {module} {kind} (one column); pass a DataFrame (e.g. series.to_frame()) "
            "or a dict of column name to values"
        )
    names = getattr(data, "column_names", None)  # pyarrow
    if names is None:
        names = getattr(data, "columns", None)  # pandas, polars
    if names is None and isinstance(data, Mapping):
        names = list(data.keys())
    if names is None or not hasattr(data, "__getitem__"):
        raise DataTypeError(
            f"{what} must be a mapping of column name to values or a data frame, got "
            f"{type(data)!r}"
        )
    names = list(names)
    for name in names:
        if not isinstance(name, str):
            raise DataTypeError(
                f"{what}: column names must be str, got {name!r} ({type(name).__name__}); rename "
                "the columns, e.g. frame.columns = frame.columns.astype(str)"
            )
    if len(set(names)) != len(names):
        twice = sorted(n for n, count in Counter(names).items() if count > 1)
        raise DataError(
            f"{what}: column {', '.join(map(repr, twice))} occurs more than once; column names "
            "must be unique (rename or drop the duplicates)"
        )
    return [str(n) for n in names]


def resolve_columns(data: Any, columns: Mapping[str, str] | None) -> dict[str, str]:
    """Deal attribute or field → column of ``data``; checks the keys of ``columns`` for typos."""
    available = column_names(data)
    if columns is not None and not isinstance(columns, Mapping):
        raise DataTypeError(
            f"columns must be a mapping of attribute to column name, got {columns!r}"
        )
    given = dict(columns or {})
    for key, source in given.items():
        if not isinstance(key, str) or not isinstance(source, str):
            raise DataTypeError(
                f"columns: keys and column names must be str, got {key!r}: {source!r}"
            )
    mapping: dict[str, str] = {}
    for attribute in DEAL_ATTRIBUTES:
        source = given.pop(attribute, attribute)
        if source in available:
            mapping[attribute] = source
        elif attribute in (columns or {}) or attribute in ("id", "stage"):
            raise DataError(
                f"column {source!r} (for {attribute!r}) is not in the data; columns are "
                f"{choices(sorted(available))}"
            )
    doubts: list[str] = []
    for field, source in given.items():
        if field.lower() in DEAL_ATTRIBUTES:
            raise DataError(
                f"columns: key {field!r} is not a Deal attribute; did you mean "
                f"{field.lower()!r}? Deal attributes are lower case: {choices(DEAL_ATTRIBUTES)}"
            )
        if source not in available:
            raise DataError(
                f"column {source!r} (for field {field!r}) is not in the data; columns are "
                f"{choices(sorted(available))}"
            )
        mapping[field] = source
        near = [a for a in _TYPO_TARGETS if _one_edit(field.lower(), a)]
        if near and field.lower() not in _REAL_WORDS:
            doubts.append(
                f"key {field!r} is not a Deal attribute, so it loads as a label field named "
                f"{field!r}; did you mean {near[0]!r}? (If {field!r} is a field of its own, "
                "this warning can be ignored.)"
            )
    used = set(mapping.values())
    for name in available:
        attribute = name.lower()
        if attribute != name and attribute in DEAL_ATTRIBUTES and attribute not in mapping \
                and name not in used:
            doubts.append(
                f"column {name!r} is ignored: it looks like the Deal attribute {attribute!r}, "
                f"which is not mapped; pass columns={{{attribute!r}: {name!r}}} to use it"
            )
    if doubts:
        warnings.warn("columns: " + "; ".join(doubts), DataQualityWarning, stacklevel=4)
    return mapping


def _one_edit(a: str, b: str) -> bool:
    """True if ``a`` becomes ``b`` by one insertion, deletion, substitution or swap of two
    adjacent letters (and ``a != b``)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]
