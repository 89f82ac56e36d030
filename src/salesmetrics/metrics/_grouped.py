"""GroupedResult: a read-only mapping from group key to a metric's value, and how it prints."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

import attrs

from salesmetrics._render import (
    NO_LABEL,
    format_days,
    format_label,
    format_money,
    format_number,
    format_rate,
    html_table,
    is_missing,
    text_table,
)

__all__ = ["GroupedResult", "Unit", "format_value"]

V = TypeVar("V")

#: What a result's values measure, which says how they print: ``"rate"`` (a fraction, printed
#: as a percentage), ``"money"`` (major currency units), ``"count"``, ``"days"`` or ``"number"``.
Unit = Literal["rate", "money", "count", "days", "number"]


def format_value(value: object, unit: Unit = "number", currency: str | None = None) -> str:
    """One value as printed in a result: see `salesmetrics._render`."""
    if unit == "rate":
        return format_rate(value)  # type: ignore[arg-type]
    if unit == "money":
        return format_money(value, currency)  # type: ignore[arg-type]
    if unit == "days":
        return format_days(value)  # type: ignore[arg-type]
    return format_number(value)


class GroupedResult(Mapping[Hashable, V], Generic[V]):
    """A metric's values per group, in a deterministic key order (that of the labels).

    Keys are labels of the ``by`` field (tuples of labels for several fields); ``None`` is the
    group of deals without a label. It is a read-only `Mapping`, and converts with `to_dict`,
    `to_pandas`, `to_polars` and `to_arrow`.

    Printed (``repr``, and as an HTML table in a notebook), rates are percentages with one
    decimal, money has thousands separators and the currency code, and the group without a label
    is ``(none)``, as in `to_pandas`; the values themselves keep full precision.

    Examples
    --------
    >>> r = GroupedResult(("owner",), ["ana", "bo", None], [0.5, 0.25, 0.125], name="win_rate",
    ...                   unit="rate")
    >>> r["ana"], list(r)
    (0.5, ['ana', 'bo', None])
    >>> r
    win_rate by owner
      ana     50.0 %
      bo      25.0 %
      (none)  12.5 %
    """

    __slots__ = ("_by", "_currency", "_data", "_name", "_unit")

    def __init__(
        self, by: Sequence[str], keys: Sequence[Hashable], values: Sequence[V], *, name: str,
        unit: Unit = "number", currency: str | None = None,
    ) -> None:
        self._by = tuple(by)
        self._data: dict[Hashable, V] = dict(zip(keys, values, strict=True))
        self._name = name
        self._unit: Unit = unit
        self._currency = currency

    @classmethod
    def _of(cls, by: tuple[str, ...], data: dict[Hashable, V], name: str, unit: Unit = "number",
            currency: str | None = None) -> GroupedResult[V]:
        """A result over ``data`` (keys in order → values; not copied), without the checks of
        ``__init__``: for results built per group of another result (a few tenths of a µs
        each)."""
        out: GroupedResult[V] = object.__new__(cls)
        out._by = by
        out._data = data
        out._name = name
        out._unit = unit
        out._currency = currency
        return out

    @property
    def by(self) -> tuple[str, ...]:
        """The fields grouped by."""
        return self._by

    @property
    def name(self) -> str:
        """The metric's name."""
        return self._name

    @property
    def unit(self) -> Unit:
        """What the values measure (how they print): ``"rate"``, ``"money"``, ``"count"``,
        ``"days"`` or ``"number"``."""
        return self._unit

    @property
    def currency(self) -> str | None:
        """The currency code of money values (None if unknown or not money)."""
        return self._currency

    def __getitem__(self, key: Hashable) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        """Same groups with the same values; nan equals nan here (a metric's "no deal
        qualifies"), so two results of the same data compare equal."""
        if isinstance(other, GroupedResult):
            return self._by == other._by and _same(self._data, other._data)
        if isinstance(other, Mapping):
            return _same(self._data, dict(other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[Hashable, Any]:
        """A plain dict; nested results and result objects become dicts too."""
        return {k: _plain(v) for k, v in self._data.items()}

    def _key_parts(self, key: Hashable) -> list[Any]:
        return list(key) if isinstance(key, tuple) and len(self._by) > 1 else [key]

    def _records(self) -> tuple[list[str], list[list[Any]]]:
        """Column names and rows: the group fields, then the value or its parts."""
        columns = list(self._by) or ["group"]
        rows: list[list[Any]] = []
        value_columns: list[str] = []
        for key, value in self._data.items():
            parts = self._key_parts(key)
            record = getattr(value, "_record", None)  # a value's own flat row, if it has one
            plain = record() if callable(record) else _plain(value)
            if isinstance(plain, dict):
                if not value_columns:
                    value_columns = [str(c) for c in plain]
                parts.extend(plain.values())
            else:
                value_columns = [self._name]
                parts.append(plain)
            rows.append(parts)
        return columns + value_columns, rows

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        """Value column names and, per group, its formatted key parts then value cells."""
        value_columns: list[str] = [self._name]
        rows: list[list[str]] = []
        for key, value in self._data.items():
            cells = [format_label(k) for k in self._key_parts(key)]
            named = _named_cells(value)
            if named is None:
                cells.append(format_value(value, self._unit, self._currency))
            else:
                value_columns = [name for name, _ in named]
                cells.extend(text for _, text in named)
            rows.append(cells)
        return value_columns, rows

    def to_pandas(self) -> Any:
        """A pandas Series (scalar values) or DataFrame (structured values), indexed by group.

        The group of deals without a label is labelled ``(none)``, as when printed.
        """
        import pandas as pd

        columns, rows = self._records()
        keys = max(len(self._by), 1)
        for row in rows:
            row[:keys] = [NO_LABEL if is_missing(k) else k for k in row[:keys]]
        frame = pd.DataFrame(rows, columns=columns).set_index(columns[:keys])
        if frame.shape[1] == 1 and frame.columns[0] == self._name:
            return frame[self._name]
        return frame

    def to_polars(self) -> Any:
        """A polars DataFrame with the group fields as columns (a missing label is null)."""
        import polars as pl

        columns, rows = self._records()
        return pl.DataFrame(rows, schema=columns, orient="row")

    def to_arrow(self) -> Any:
        """A pyarrow Table with the group fields as columns (a missing label is null)."""
        import pyarrow as pa

        columns, rows = self._records()
        return pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})

    def __repr__(self) -> str:
        head = f"{self._name} by {', '.join(self._by)}" if self._by else self._name
        value_columns, rows = self._cells()
        header = None
        if value_columns != [self._name]:
            header = [*(self._by or ("group",)), *value_columns]
        keys = max(len(self._by), 1)
        align = ["left"] * keys + ["right"] * len(value_columns)
        return "\n".join([head, *text_table(header, rows, align=align)])  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        value_columns, rows = self._cells()
        keys = max(len(self._by), 1)
        header = [*(self._by or ("group",)), *value_columns]
        align = ["left"] * keys + ["right"] * len(value_columns)
        return html_table(header, rows, align=align)  # type: ignore[arg-type]


def _named_cells(value: object) -> list[tuple[str, str]] | None:
    """The printed parts of a structured value (a nested result, or a result object with a
    ``_cells`` method), or None for a plain value."""
    if isinstance(value, GroupedResult):
        return [(format_label(k), format_value(v, value.unit, value.currency))
                for k, v in value.items()]
    cells = getattr(value, "_cells", None)
    if callable(cells):
        named: list[tuple[str, str]] = cells()
        return named
    return None


def _same(a: object, b: object) -> bool:
    """``a == b``, where nan equals nan, through mappings, sequences and attrs results
    (`Velocity`, `OutcomeShares`)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    if attrs.has(type(a)) and type(a) is type(b):
        return all(_same(getattr(a, f.name), getattr(b, f.name))
                   for f in attrs.fields(type(a)))  # type: ignore[arg-type]
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return bool(a == b)


def _plain(value: object) -> Any:
    if isinstance(value, GroupedResult):
        return value.to_dict()
    if attrs.has(type(value)):
        return attrs.asdict(value)  # type: ignore[arg-type]
    return value
