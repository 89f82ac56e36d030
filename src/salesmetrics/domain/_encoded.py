"""Label columns of data-frame libraries encoded by the library itself: pandas ``factorize``,
Arrow ``dictionary_encode``, polars physical codes (no Python string per value).

Each gives ``(codes with -1 for missing, sorted non-blank categories)``, the form
`columns.encode_labels` turns into `Labels`. No data-frame library is imported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["_blank", "_factorized"]


def _blank(text: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Empty or whitespace-only entries of a str array."""
    return np.asarray(np.char.str_len(np.char.strip(text)) == 0, dtype=bool)


def _factorized(col: Any) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]] | None:
    """(codes with -1 for missing, sorted categories) of a pandas, polars or pyarrow string
    column, by the library's own hash-based encoding (no Python loop over the values)."""
    if isinstance(col, (np.ndarray, list, tuple)):
        return None
    dtype = str(getattr(col, "dtype", getattr(col, "type", "")))
    if dtype.startswith(("Categorical", "Enum")) and hasattr(col, "to_physical"):  # polars
        found = _polars_categorical(col)
    else:
        found = _hashed(col, dtype)
    if found is None:
        return None
    codes, uniques = found
    text = uniques.astype(str)
    blank = _blank(text)
    keep = np.flatnonzero(~blank)
    order = keep[np.argsort(text[keep], kind="stable")]
    new_code = np.full(len(uniques) + 1, -1, dtype=np.intp)  # the extra slot maps code -1
    new_code[order] = np.arange(len(order))
    return new_code[codes], uniques[order]


def _hashed(col: Any, dtype: str) -> tuple[npt.NDArray[Any], npt.NDArray[Any]] | None:
    """(codes with -1 for missing, distinct values) of a pandas, polars or pyarrow string
    column, by the library's own hash-based encoding; None for other columns."""
    if dtype in ("String", "Utf8") and hasattr(col, "to_arrow"):  # polars
        col, dtype = col.to_arrow(), "string"
    if dtype in ("string", "large_string", "string_view") and hasattr(col, "dictionary_encode"):
        encoded = col.dictionary_encode()  # pyarrow
        encoded = encoded.combine_chunks() if hasattr(encoded, "combine_chunks") else encoded
        codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False))
        return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    if dtype in ("object", "string", "str") and callable(getattr(col, "factorize", None)):
        try:
            raw, index = col.factorize()  # pandas
        except TypeError:  # unhashable values (lists): the general path names them
            return None
        uniques = np.asarray(index, dtype=object)
        if not all(isinstance(u, str) for u in uniques.tolist()):
            return None
        return np.asarray(raw), uniques
    return None


def _polars_categorical(col: Any) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]] | None:
    """(codes with -1 for missing, distinct values) of a polars ``Categorical`` or ``Enum``
    column, from its physical codes (no string per value): the few distinct values come from
    ``unique()``, and a table indexed by physical code maps every value to its position."""
    distinct = col.unique()
    values = distinct.to_list()
    physical = distinct.to_physical().to_list()
    present = [k for k, v in enumerate(values) if v is not None]
    if not all(isinstance(values[k], str) for k in present):
        return None
    top = max((physical[k] for k in present), default=0)
    if top >= 2**32 - 1:
        return None
    table = np.full(top + 2, -1, dtype=np.intp)  # slot top + 1: the missing values
    table[[physical[k] for k in present]] = np.arange(len(present))
    raw = np.asarray(col.to_physical().fill_null(top + 1).to_numpy())
    uniques = np.empty(len(present), dtype=object)
    uniques[:] = [values[k] for k in present]
    return table[raw], uniques
