"""GroupedResult: an immutable mapping from group key to a metric's value."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

__all__ = ["GroupedResult"]

V = TypeVar("V")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


class GroupedResult(Mapping[Hashable, V], Generic[V]):
    """A metric's values per group, in a deterministic key order (that of the labels).

    Keys are labels of the ``by`` field (tuples of labels for several fields); ``None`` is the
    group of deals without a label. It is a read-only `Mapping`, and
    converts with `to_dict`, `to_pandas`, `to_polars` and `to_arrow`.

    Examples
    --------
    >>> r = GroupedResult(("owner",), ["ana", "bo"], [0.5, 0.25], name="win_rate")
    >>> r["ana"], list(r)
    (0.5, ['ana', 'bo'])
    >>> r
    win_rate by owner
      ana  0.5
      bo   0.25
    """

    __slots__ = ("_by", "_data", "_name")

    def __init__(
        self, by: Sequence[str], keys: Sequence[Hashable], values: Sequence[V], *, name: str
    ) -> None:
        self._by = tuple(by)
        self._data: dict[Hashable, V] = dict(zip(keys, values, strict=True))
        self._name = name

    @property
    def by(self) -> tuple[str, ...]:
        """The fields grouped by."""
        return self._by

    @property
    def name(self) -> str:
        """The metric's name."""
        return self._name

    def __getitem__(self, key: Hashable) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, GroupedResult):
            return self._by == other._by and self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[Hashable, Any]:
        """A plain dict; nested results and result objects become dicts too."""
        return {k: _plain(v) for k, v in self._data.items()}

    def _records(self) -> tuple[list[str], list[list[Any]]]:
        """Column names and rows: the group fields, then the value or its parts."""
        columns = list(self._by) or ["group"]
        rows: list[list[Any]] = []
        value_columns: list[str] = []
        for key, value in self._data.items():
            parts = list(key) if isinstance(key, tuple) and len(self._by) > 1 else [key]
            plain = _plain(value)
            if isinstance(plain, dict):
                if not value_columns:
                    value_columns = [str(c) for c in plain]
                parts.extend(plain.values())
            else:
                value_columns = [self._name]
                parts.append(plain)
            rows.append(parts)
        return columns + value_columns, rows

    def to_pandas(self) -> Any:
        """A pandas Series (scalar values) or DataFrame (structured values), indexed by group."""
        import pandas as pd

        columns, rows = self._records()
        frame = pd.DataFrame(rows, columns=columns).set_index(columns[: max(len(self._by), 1)])
        if frame.shape[1] == 1 and frame.columns[0] == self._name:
            return frame[self._name]
        return frame

    def to_polars(self) -> Any:
        """A polars DataFrame with the group fields as columns."""
        import polars as pl

        columns, rows = self._records()
        return pl.DataFrame(rows, schema=columns, orient="row")

    def to_arrow(self) -> Any:
        """A pyarrow Table with the group fields as columns."""
        import pyarrow as pa

        columns, rows = self._records()
        return pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})

    def __repr__(self) -> str:
        head = f"{self._name} by {', '.join(self._by)}" if self._by else self._name
        keys = [_fmt(k) for k in self._data]
        width = max((len(k) for k in keys), default=0)
        lines = [head]
        for key, value in zip(keys, self._data.values(), strict=True):
            text = _fmt(value).replace("\n", "\n  " + " " * (width + 2))
            lines.append(f"  {key.ljust(width)}  {text}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        columns, rows = self._records()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
            for row in rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _plain(value: object) -> Any:
    if isinstance(value, GroupedResult):
        return value.to_dict()
    if attrs.has(type(value)):
        return attrs.asdict(value)  # type: ignore[arg-type]
    return value
