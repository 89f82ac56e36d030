"""CSV files as columns of strings: `read_columns` and `read_columns_and_lines`.

The reader lives in the bottom layer (``salesmetrics._csv``) so that `Pipeline.read_csv` uses it
without the domain depending on ``salesmetrics.io``; this module is its public home.
"""

from __future__ import annotations

from salesmetrics._csv import DEFAULT_ENCODING, Columns, read_columns, read_columns_and_lines

__all__ = ["DEFAULT_ENCODING", "Columns", "read_columns", "read_columns_and_lines"]
