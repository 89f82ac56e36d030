"""Result tables of the activity metrics: `ActivityTable` (rows of key columns and values), and
the bucketing of activity dates into ISO weeks, months and quarters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_label, format_number, format_rate, html_table, text_table
from salesmetrics.domain.columns import readonly
from salesmetrics.domain.period import Period
from salesmetrics.errors import DataError, OptionError, choices

__all__ = ["FREQS", "ActivityTable", "buckets"]

#: The ``freq=`` choices of the activity metrics.
FREQS = ("week", "month", "quarter")
_RATES = ("attainment",)
_SHOWN = 30  # rows printed before "… N more rows"


class ActivityTable(Mapping[str, npt.NDArray[Any]]):
    """A table of activity results: a read-only mapping of column name → numpy array, one row
    per group (the key columns first, then the values). Prints as a text or HTML table and
    converts with `to_pandas`.

    Examples
    --------
    >>> t = ActivityTable("activity_counts", ("kind",), {"kind": ["call", "email"],
    ...                   "count": [3, 2]})
    >>> t["count"].tolist(), len(t), t.n_rows
    ([3, 2], 2, 2)
    >>> t
    activity_counts: 2 rows
      kind   count
      -----  -----
      call       3
      email      2
    """

    __slots__ = ("_columns", "key_columns", "n_rows", "name")

    def __init__(self, name: str, keys: Sequence[str], columns: Mapping[str, Any]) -> None:
        self.name = name
        self.key_columns = tuple(keys)
        self._columns: dict[str, npt.NDArray[Any]] = {}
        for column, values in columns.items():
            arr = values if isinstance(values, np.ndarray) else np.array(
                values, dtype=object if column in self.key_columns else None)
            if arr.dtype.kind == "U":
                arr = arr.astype(object)
            self._columns[column] = readonly(np.array(arr))  # our own copy
        lengths = {len(v) for v in self._columns.values()}
        if len(lengths) > 1:
            raise DataError(f"{name}: columns of different lengths {sorted(lengths)}")
        self.n_rows = lengths.pop() if lengths else 0

    def __getitem__(self, column: str) -> npt.NDArray[Any]:
        try:
            return self._columns[column]
        except KeyError:
            raise KeyError(f"{self.name} has no column {column!r}; columns are "
                           f"{choices(self._columns)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return self.n_rows

    def rows(self) -> list[dict[str, Any]]:
        """The rows as dicts of column → plain Python value."""
        lists = {k: v.tolist() for k, v in self._columns.items()}
        return [{k: lists[k][i] for k in lists} for i in range(self.n_rows)]

    def to_pandas(self) -> Any:
        """A pandas DataFrame with one column per column of the table (keys first)."""
        import pandas as pd

        return pd.DataFrame({k: v.copy() for k, v in self._columns.items()})

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        header = list(self._columns)
        formatted = []
        for name, values in self._columns.items():
            items = values[:_SHOWN].tolist()
            if name in self.key_columns:
                formatted.append([format_label(v) for v in items])
            elif name in _RATES:
                formatted.append([format_rate(v) for v in items])
            else:
                formatted.append([format_number(round(v, 2) if isinstance(v, float) else v)
                                  for v in items])
        rows = [list(r) for r in zip(*formatted, strict=True)] if formatted else []
        return header, rows

    def _align(self) -> list[Any]:
        return ["left" if c in self.key_columns else "right" for c in self._columns]

    def __repr__(self) -> str:
        header, rows = self._cells()
        more = self.n_rows - len(rows)
        lines = [f"{self.name}: {self.n_rows:,} row{'s' if self.n_rows != 1 else ''}",
                 *text_table(header, rows, align=self._align())]
        if more > 0:
            lines.append(f"  … {more:,} more rows (to_pandas() for all)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        header, rows = self._cells()
        return f"<b>{self.name}</b>" + html_table(header, rows, align=self._align())


def check_freq(function: str, freq: object, *, allow_none: bool) -> str | None:
    valid = (None, *FREQS) if allow_none else FREQS
    if freq not in valid:
        raise OptionError(f"{function}(): freq must be {choices(valid)}, got {freq!r}")
    return freq  # type: ignore[return-value]


def bucket_starts(dates: npt.NDArray[np.datetime64], freq: str) -> npt.NDArray[np.datetime64]:
    """The first day of the ISO week (Monday), month or quarter of each date [datetime64[D]]."""
    if freq == "week":
        days = dates.astype(np.int64)
        monday = days - (days + 3) % 7  # 1970-01-01 was a Thursday
        return monday.astype("datetime64[D]")
    months = dates.astype("datetime64[M]").astype(np.int64)
    if freq == "quarter":
        months = months - months % 3
    return months.astype("datetime64[M]").astype("datetime64[D]")


def bucket_period(start: np.datetime64, freq: str) -> Period:
    """The `Period` (ISO week, month or quarter) that starts on ``start``."""
    day = start.astype("datetime64[D]").item()
    if freq == "week":
        year, week, _ = day.isocalendar()
        return Period.week(year, week)
    if freq == "month":
        return Period.month(day.year, day.month)
    return Period.quarter(day.year, (day.month - 1) // 3 + 1)


def buckets(period: Period, freq: str) -> list[Period]:
    """The ISO weeks, months or quarters that overlap ``period``, in order (one loop step per
    bucket, not per activity)."""
    first = bucket_period(bucket_starts(np.array([period.start], "datetime64[D]"), freq)[0],
                          freq)
    out = [first]
    while out[-1].end < period.end:
        out.append(out[-1].next())
    return out
