"""A result keyed by stage, in funnel order, that prints as a titled table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

from salesmetrics._render import html_table, text_table

__all__ = ["StageTable"]

V = TypeVar("V")


class StageTable(Mapping[str, V], Generic[V]):
    """A read-only mapping stage name → value (`historical_probabilities`, `plan`,
    `required_pipeline`), whose attributes cannot be reassigned once set; a subclass says what
    it prints with ``_title()`` and ``_table()`` (a header and rows of formatted cells)."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, V]) -> None:
        self._values: Mapping[str, V]
        self._set(_values=MappingProxyType(dict(values)))

    def _set(self, **attributes: object) -> None:
        """Set attributes while constructing (the checks of ``__setattr__`` cost an exception
        per attribute)."""
        for name, value in attributes.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        # Read-only once set: results may be remembered per pipeline and shared between calls.
        try:
            object.__getattribute__(self, name)
        except AttributeError:
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"{type(self).__name__} is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: cannot delete {name!r}")

    def __getitem__(self, stage: str) -> V:
        return self._values[stage]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def _title(self) -> str:
        raise NotImplementedError

    def _table(self) -> tuple[list[str], list[list[str]]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        header, rows = self._table()
        return "\n".join([self._title(), *text_table(header, rows)])

    def _repr_html_(self) -> str:
        import html

        header, rows = self._table()
        return f"<p><b>{html.escape(self._title())}</b></p>{html_table(header, rows)}"
