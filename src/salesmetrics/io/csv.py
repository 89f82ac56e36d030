"""CSV files as columns of strings, with the standard library only."""

from __future__ import annotations

import csv
import os

import numpy as np
import numpy.typing as npt

from salesmetrics.errors import DataError

__all__ = ["read_columns"]


def read_columns(
    path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = "utf-8-sig"
) -> dict[str, npt.NDArray[np.str_]]:
    """Read a CSV file with a header row into a dict of string columns ('' where a cell is empty).

    Rows shorter than the header are padded with empty cells; longer rows are an error.
    """
    with open(path, newline="", encoding=encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{os.fspath(path)!r} is empty; expected a header row") from None
        width = len(header)
        rows = []
        for line, row in enumerate(reader, start=2):
            if len(row) > width:
                raise DataError(
                    f"{os.fspath(path)!r} line {line}: {len(row)} cells but the header has {width}"
                )
            if len(row) < width:
                if not any(cell.strip() for cell in row):
                    continue
                row = row + [""] * (width - len(row))
            rows.append(row)
    names = [name.strip() for name in header]
    if len(set(names)) != len(names):
        raise DataError(f"{os.fspath(path)!r}: the header repeats a column name: {names}")
    if not rows:
        return {name: np.array([], dtype=str) for name in names}
    # One array per column, each as wide as its own longest cell (a long free-text column does
    # not widen the others).
    columns = zip(*rows, strict=True)
    return {name: np.array(values, dtype=str) for name, values in zip(names, columns, strict=True)}
