"""CSV files as columns of strings, with the standard library only.

A bottom-layer module (like ``_kernels``): `Pipeline.read_csv` (domain) and the adapters (io)
both read through it, and ``salesmetrics.io.csv`` is its public home.
"""

from __future__ import annotations

import csv
import os
import sys
import threading
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from salesmetrics.errors import DataError, OptionError

__all__ = ["DEFAULT_ENCODING", "read_columns", "read_columns_and_lines"]

Columns = dict[str, npt.NDArray[np.str_]]
#: The encoding every reader assumes: UTF-8, with or without a byte-order mark (Excel writes one).
DEFAULT_ENCODING = "utf-8-sig"

#: Serializes the rare reads that lift the stdlib's field size limit (a process-wide setting).
_LIMIT_LOCK = threading.Lock()


def read_columns(
    path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = DEFAULT_ENCODING
) -> Columns:
    """Read a CSV file with a header row into a dict of string columns ('' where a cell is empty).

    Rows whose every cell is empty (blank lines, and the ``,,`` rows spreadsheets write below the
    data) are skipped; other rows shorter than the header are padded with empty cells, and
    longer rows are an error. Fields of any size load (past the stdlib's 131,072-character limit
    too). A file that is not text in ``encoding`` is a `DataError` naming the file and the line.
    """
    return read_columns_and_lines(path, delimiter=delimiter, encoding=encoding)[0]


def read_columns_and_lines(
    path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = DEFAULT_ENCODING
) -> tuple[Columns, list[int]]:
    """`read_columns`, plus the line of the file on which each row's record starts.

    The header is line 1; a record whose quoted field spans several lines starts on the first of
    them. ``lines[row]`` turns a row of the data into a line of the file for error messages.
    """
    name = os.fspath(path)
    try:
        try:
            return _read(name, delimiter, encoding)
        except csv.Error as error:
            if "field larger than field limit" not in str(error):
                raise
        # A field over the stdlib's limit: read again with the limit lifted, then put it back.
        with _LIMIT_LOCK:
            old = csv.field_size_limit(_max_field_size())
            try:
                return _read(name, delimiter, encoding)
            finally:
                csv.field_size_limit(old)
    except UnicodeDecodeError as error:
        line = _undecodable_line(name, encoding)
        raise DataError(
            f"{name!r} line {line}: not valid {encoding} text ({error.reason}: byte "
            f"{error.object[error.start:error.start + 1]!r}); pass the file's encoding, e.g. "
            "encoding='latin-1' or encoding='cp1252'"
        ) from None
    except csv.Error as error:
        raise DataError(f"{name!r}: not a readable CSV file ({error})") from None
    except LookupError:
        raise OptionError(f"encoding {encoding!r} is not a known text encoding") from None


def _max_field_size() -> int:
    """The largest field size limit the platform's C long takes."""
    return min(sys.maxsize, 2**31 - 1)


def _read(name: str, delimiter: str, encoding: str) -> tuple[Columns, list[int]]:
    with open(name, newline="", encoding=encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{name!r} is empty; expected a header row") from None
        width = len(header)
        rows = []
        lines = []
        start = reader.line_num + 1
        for row in _records(reader, name):
            first, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue  # a blank line, or a spreadsheet's row of empty cells (",,")
            if len(row) > width:
                raise DataError(
                    f"{name!r} line {first}: {len(row)} cells but the header has {width}"
                )
            if len(row) < width:
                row = row + [""] * (width - len(row))
            rows.append(row)
            lines.append(first)
    names = [column.strip() for column in header]
    if len(set(names)) != len(names):
        raise DataError(f"{name!r}: the header repeats a column name: {names}")
    if not rows:
        return {column: np.array([], dtype=str) for column in names}, lines
    # One array per column, each as wide as its own longest cell (a long free-text column does
    # not widen the others).
    columns = zip(*rows, strict=True)
    table = {column: np.array(values, dtype=str)
             for column, values in zip(names, columns, strict=True)}
    return table, lines


def _records(reader: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    """The reader's records; a malformed one is a `DataError` naming the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise
            line = getattr(reader, "line_num", "?")
            raise DataError(f"{name!r} line {line}: not a readable CSV record ({error})") from None
        yield row


def _undecodable_line(name: str, encoding: str) -> int:
    """The first line of the file that does not decode in ``encoding`` (1 for the header)."""
    with open(name, "rb") as handle:
        data = handle.read()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as error:
        return data.count(b"\n", 0, error.start) + 1
    return 1
