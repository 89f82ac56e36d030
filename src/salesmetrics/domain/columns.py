"""Turning one input column (list, numpy, pandas, polars or pyarrow) into numpy, by duck typing.

No data-frame library is imported here: a column is asked for ``to_numpy()`` (pandas, polars,
pyarrow) or passed to `asarray`. pandas categorical and pyarrow dictionary columns keep
their codes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._decimals import warn_extra_decimals
from salesmetrics.domain._encoded import _blank, _factorized
from salesmetrics.domain._text import unique_inverse_text
from salesmetrics.errors import DataError, DataTypeError, RaggedColumnsError, where

__all__ = [
    "Labels", "check_column", "code_type", "column_length", "dense_span", "encode_labels",
    "is_missing_value", "narrow_codes", "owned", "readonly", "to_float_array", "to_numpy",
]

IntArray = npt.NDArray[np.intp]


def readonly(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A read-only view of ``arr`` (the caller's array keeps its own flags)."""
    view = arr.view()
    view.flags.writeable = False
    return view


def owned(arr: npt.NDArray[Any], sources: Sequence[npt.NDArray[Any]] = ()) -> npt.NDArray[Any]:
    """A read-only array that shares no memory with the caller's data.

    ``arr`` is kept (as a read-only view) when it is an array made during the conversion: it owns
    its memory (no ``base``) and overlaps none of ``sources``, the caller's numpy columns. Anything
    else (a view of a data frame's buffer, or the caller's own array) is copied.
    """
    if arr.base is not None or any(np.may_share_memory(arr, s) for s in sources):
        arr = arr.copy()
    return readonly(arr)


def code_type(n_categories: int) -> np.dtype[Any]:
    """The smallest signed integer type that holds the codes ``0..n_categories - 1`` (signed, so
    that ``codes - 1`` or a -1 marker cannot wrap around)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def narrow_codes(codes: npt.NDArray[Any], n_categories: int) -> npt.NDArray[Any]:
    """``codes`` as a read-only array of `code_type` (as is if it already has that type)."""
    narrow = code_type(n_categories)
    if codes.dtype == narrow:
        return codes
    return readonly(codes.astype(narrow))


def dense_span(values: npt.NDArray[Any]) -> tuple[int, int] | None:
    """``(low, size)`` of a lookup table indexed by ``value - low`` that covers all the integer
    ``values``, when such a table is small: at most 4 entries per value, plus 1,024. None for
    sparse, empty or non-integer values (look those up by sorting instead).

    The one rule for dense-integer lookup tables (integer labels, deal id → row).
    """
    if values.dtype.kind not in "iu" or not len(values):
        return None
    low, high = int(values.min()), int(values.max())
    if high - low > 4 * len(values) + 1024:
        return None
    return low, high - low + 1


def _describe(col: object) -> str:
    """What a bad column is, for an error message: "a generator", "a set", "a scalar int 5"."""
    if isinstance(col, Iterator):
        return f"a {type(col).__name__} (an iterator can be read only once; pass a list)"
    if isinstance(col, (set, frozenset)):
        return "a set (a set has no order, so its values cannot line up with the rows; pass a list)"
    if isinstance(col, (str, bytes)):
        text = repr(col) if len(col) <= 40 else repr(col[:40]) + "…"
        return f"a {type(col).__name__} {text} (pass a list of values, one per deal)"
    if isinstance(col, Mapping):
        return f"a {type(col).__name__} (pass a list of values, one per deal)"
    ndim = getattr(col, "ndim", None)
    if isinstance(ndim, int) and ndim != 1:
        shape = getattr(col, "shape", "?")
        return f"a {ndim}-D {type(col).__name__} of shape {shape} (pass one column)"
    return f"a scalar {type(col).__name__} {col!r:.60} (pass a list of values, one per deal)"


def check_column(name: str, col: object) -> None:
    """`DataTypeError` unless ``col`` is a one-dimensional sequence of values (a list, tuple, range,
    1-D numpy array or a data-frame column); the message says what it is instead."""
    ndim = getattr(col, "ndim", 1)
    ok = (
        hasattr(col, "__len__")
        and hasattr(col, "__getitem__")
        and not isinstance(col, (str, bytes, Mapping, set, frozenset))
        and (not isinstance(ndim, int) or ndim == 1)
    )
    if not ok:
        raise DataTypeError(f"column {name!r} must be a sequence of values, got {_describe(col)}")


def column_length(data: Mapping[str, Any], names: Sequence[str]) -> int:
    """The common length of the named columns; `RaggedColumnsError` if they differ."""
    for name in names:
        check_column(name, data[name])
    lengths = {name: len(data[name]) for name in names}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k!r} has {v}" for k, v in lengths.items())
        raise RaggedColumnsError(f"columns must all have the same length: {detail}")
    return next(iter(lengths.values()), 0)


def _categorical(col: Any) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[Any]] | None:
    """(codes with -1 for missing, categories) of a pandas or pyarrow categorical column.

    Polars categoricals share a global category list across columns; they go through
    ``to_numpy()`` like any other column."""
    cat = getattr(col, "cat", None)
    if cat is not None and hasattr(cat, "codes") and hasattr(cat, "categories"):  # pandas
        return np.asarray(cat.codes), np.asarray(cat.categories, dtype=object)
    type_ = getattr(col, "type", None)
    if type_ is not None and str(type_).startswith("dictionary"):  # pyarrow
        combined = col.combine_chunks() if hasattr(col, "combine_chunks") else col
        codes = combined.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return codes, np.asarray(combined.dictionary.to_pylist(), dtype=object)
    return None


def to_numpy(col: object) -> npt.NDArray[Any]:
    """Any column as a numpy array, without a copy where the source allows it."""
    if isinstance(col, np.ndarray):
        return col
    decoded = _categorical(col)
    if decoded is not None:
        codes, categories = decoded
        lookup = np.empty(len(categories) + 1, dtype=object)  # code -1 (missing) → the last, None
        lookup[:-1] = categories
        values: npt.NDArray[Any] = lookup[codes]
        return values
    to_np = getattr(col, "to_numpy", None)
    if to_np is not None:
        if hasattr(col, "combine_chunks") or type(col).__module__.startswith("pyarrow"):
            out = to_np(zero_copy_only=False)
        else:
            out = to_np()
        return np.asarray(out)
    if isinstance(col, (str, bytes, set, frozenset, Mapping)) or not hasattr(col, "__len__"):
        raise DataTypeError(f"a column must be a sequence of values, got {_describe(col)}")
    arr = np.asarray(col, dtype=object)
    if arr.ndim != 1:
        raise DataTypeError(
            f"a column must be one-dimensional, got values of shape {arr.shape} (pass one column)"
        )
    return arr


def is_missing_value(value: object) -> bool:
    """None, NaN, an empty or blank string, or pandas' NA / NaT: a missing cell."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip() == ""
    return type(value).__name__ in ("NAType", "NaTType")


def to_float_array(
    col: object, *, field: str, ids: npt.NDArray[Any] | None = None,
    places: int | npt.NDArray[np.intp] | None = None, currency: str | None = None,
) -> npt.NDArray[np.float64]:
    """A numeric column as float64 with NaN for missing values (empty strings, None, NA).

    With ``places`` (amounts: the decimal places of the currency's minor unit, one per deal or
    one for all, and ``currency``, its code for messages), text written with more decimal
    places than that, such as ``"1.500"`` (a thousands separator, 1,500) in USD, is a
    `DataQualityWarning` (``_decimals.warn_extra_decimals``): it would be rounded to 1.50
    silently. Numbers (not text) are left alone.
    """
    arr = to_numpy(col)
    kind = arr.dtype.kind
    if kind == "b":
        raise DataTypeError(f"{field} must be numbers, got a column of booleans")
    if kind in "iuf":
        return arr.astype(np.float64, copy=False)
    if kind == "U":
        try:
            out = np.where(np.char.str_len(np.char.strip(arr)) == 0, "nan", arr).astype(
                np.float64)
        except ValueError:
            pass
        else:
            if places is not None:
                warn_extra_decimals(arr, None, out, places, currency, field, ids)
            return out
    out = np.empty(len(arr), dtype=np.float64)
    text_rows: list[int] = []
    for row, value in enumerate(arr.tolist()):
        if is_missing_value(value):
            out[row] = math.nan
            continue
        if isinstance(value, bool):
            number = None
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = None
        if number is None:
            deal = None if ids is None else ids[row].item()
            raise DataTypeError(f"{where(deal, row)}{field} must be a number, got {value!r}")
        if isinstance(value, str):
            text_rows.append(row)
        out[row] = number
    if places is not None and text_rows:
        rows = np.array(text_rows, dtype=np.intp)
        warn_extra_decimals(arr[rows].astype(str), rows, out, places, currency, field, ids)
    return out


class Labels:
    """A label column as integer codes into a tuple of categories (no missing code: None is one).

    ``codes`` is an ``intp`` array (fast for `bincount`); ``categories`` is an object
    array. Categories are in sorted order (None last) unless they came from a categorical column,
    whose order is kept.
    """

    __slots__ = ("categories", "codes")

    def __init__(self, codes: IntArray, categories: npt.NDArray[Any]) -> None:
        self.codes = codes
        self.categories = categories

    def decoded(self) -> npt.NDArray[Any]:
        """The labels, one per deal."""
        return self.categories[self.codes]

    def take(self, rows: IntArray) -> Labels:
        return Labels(readonly(self.codes[rows]), self.categories)


def encode_labels(col: object, *, field: str) -> Labels:
    """Encode a label column; missing values (None, NaN, empty or blank strings, NA) become the
    label None, whatever the input (list, numpy, pandas, polars or pyarrow, categorical or not).

    A column that mixes numbers and strings (``[1, "1"]``) is a `DataError` naming two rows: its
    labels would otherwise merge or split silently.
    """
    decoded = _categorical(col)
    clean = False
    if decoded is None:
        decoded = _factorized(col)
        clean = True  # its categories are non-blank strings
    if decoded is not None:
        raw_codes, categories = decoded
        codes = raw_codes.astype(np.intp)
        has_missing = bool((codes < 0).any())
        if has_missing:
            categories = np.append(categories, np.array([None], dtype=object))
            codes = np.where(codes < 0, len(categories) - 1, codes)
        if clean:
            return Labels(readonly(codes), readonly(np.array(categories, dtype=object)))
        return _labels(codes, categories)
    try:
        arr = to_numpy(col)
    except DataTypeError as error:
        raise DataTypeError(f"{field}: {error}") from None
    small = _small_text_labels(arr)
    if small is not None:
        return small
    if arr.ndim != 1 or arr.dtype.names is not None:
        raise DataTypeError(
            f"{field} must hold one value per deal (a str or a number), got values of shape "
            f"{arr.shape} and type {arr.dtype} (a nested or struct column?)"
        )
    kind = arr.dtype.kind
    span = dense_span(arr)
    if span is not None:
        low, size = span
        offset = arr - low
        present = np.bincount(offset, minlength=size) > 0
        values = np.flatnonzero(present)
        lookup = np.cumsum(present, dtype=np.intp) - 1
        categories = np.empty(len(values), dtype=object)
        categories[:] = (values + low).tolist()
        return Labels(readonly(lookup[offset]), readonly(categories))
    if kind == "U":
        missing = arr == ""
    elif kind == "f":
        missing = np.isnan(arr)
    elif kind == "O":
        missing = _missing_objects(arr)
    else:
        missing = np.zeros(len(arr), dtype=bool)
    has_missing = bool(missing.any())
    present_values = arr[~missing] if has_missing else arr
    if kind == "O":
        present_values = _as_text_if_all_str(present_values)
    try:
        uniques, inverse = _unique_inverse(present_values)
    except TypeError:
        _check_one_kind(present_values, np.flatnonzero(~missing), field)
        as_text = np.array([str(v) for v in present_values.tolist()])
        uniques, inverse = np.unique(as_text, return_inverse=True)
    if uniques.dtype == object:  # few distinct values: a container among them is no label
        nested = [k for k, v in enumerate(uniques.tolist())
                  if isinstance(v, (list, dict, set, tuple, np.ndarray))]
        if nested:
            first = int(np.flatnonzero(inverse.ravel() == nested[0])[0])
            _check_one_kind(uniques[nested[:1]], np.flatnonzero(~missing)[first:first + 1], field)
    categories = np.empty(len(uniques) + has_missing, dtype=object)
    categories[: len(uniques)] = uniques.tolist()
    if has_missing:
        codes = np.full(len(arr), len(uniques), dtype=np.intp)
        codes[~missing] = inverse.ravel()
    else:
        codes = inverse.ravel().astype(np.intp, copy=False)
    blank = None
    if uniques.dtype.kind in "iufb":
        blank = np.zeros(len(categories), dtype=bool)
        blank[len(uniques):] = True
    elif uniques.dtype.kind == "U":
        blank = np.append(_blank(uniques), np.ones(int(has_missing), dtype=bool))
    return _labels(codes, categories, blank)


def _small_text_labels(arr: npt.NDArray[Any]) -> Labels | None:
    """The labels of a short object column of str and None (such as `Deal` attributes), from
    its few distinct values, else None (the general path): the same categories and codes as
    the general path, which costs tens of µs of numpy calls on a 100-deal column."""
    if arr.dtype != object or arr.ndim != 1 or len(arr) > _SMALL:
        return None
    values = arr.tolist()
    try:
        distinct = set(values)
    except TypeError:  # unhashable values: the general path names them
        return None
    distinct.discard(None)
    if not all(type(v) is str and not v.endswith("\0") for v in distinct):
        return None
    names = sorted(v for v in distinct if v.strip())
    missing = len(names)
    index: dict[str | None, int] = dict.fromkeys(distinct, missing)  # blank ones: missing
    index.update((name, k) for k, name in enumerate(names))
    index[None] = missing
    codes = np.fromiter(map(index.__getitem__, values), np.intp, len(values))
    categories = np.empty(missing + (len(names) < len(distinct) or None in values), dtype=object)
    categories[:missing] = names  # and None last, if some label is missing or blank
    return Labels(readonly(codes), readonly(categories))


#: Up to how many values a column of str and None is encoded by `_small_text_labels`.
_SMALL = 2048


def _labels(
    codes: IntArray, categories: npt.NDArray[Any], blank: npt.NDArray[np.bool_] | None = None
) -> Labels:
    """Labels from freshly made codes, with every missing-like category (None, NaN, NA, empty or
    blank strings) merged into one None category at the end (dropped when no deal has it).

    Works on the categories (few) and remaps the codes once only if some category is missing.
    """
    categories = np.array(categories, dtype=object)  # our own copy (a frame's categories are not)
    if blank is None:
        blank = _missing_categories(categories)
    if blank.any():
        keep = np.flatnonzero(~blank)
        remap = np.full(len(categories), len(keep), dtype=np.intp)
        remap[keep] = np.arange(len(keep))
        codes = remap[codes]
        used = bool((codes == len(keep)).any())
        kept = categories[keep]
        categories = np.empty(len(keep) + used, dtype=object)
        categories[: len(keep)] = kept
        if used:
            categories[-1] = None
    return Labels(readonly(codes), readonly(categories))


def _missing_categories(categories: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Missing entries of an object array of distinct labels, blank strings included."""
    if not len(categories):
        return np.zeros(0, dtype=bool)
    missing = _missing_objects(categories)
    is_text = np.fromiter((type(v) is str for v in categories.tolist()), bool, len(categories))
    if is_text.any():
        missing[is_text] |= _blank(categories[is_text].astype(str))
    return missing


def _check_one_kind(values: npt.NDArray[Any], rows: IntArray, field: str) -> None:
    """`DataError` if a label column mixes strings with other values (numbers, dates…);
    `DataTypeError` for a value that is not a label at all (a list, a dict, an array)."""
    for k, value in enumerate(values.tolist()):
        if isinstance(value, (list, dict, set, tuple, np.ndarray)):
            raise DataTypeError(
                f"row {int(rows[k])} of the data: {field} must be a single value (a str or a "
                f"number), got {type(value).__name__} {value!r:.60}"
            )
    is_text = np.fromiter((isinstance(v, str) for v in values.tolist()), bool, len(values))
    if is_text.all() or not is_text.any():
        return
    first_text, first_other = int(np.argmax(is_text)), int(np.argmax(~is_text))
    other = values[first_other]
    kind = "numbers" if isinstance(other, (int, float, np.number)) else (
        f"values of type {type(other).__name__}"
    )
    found = sorted(
        [(int(rows[first_text]), values[first_text]), (int(rows[first_other]), other)]
    )
    detail = " and ".join(f"{value!r} in row {row} of the data" for row, value in found)
    raise DataError(
        f"{field} mixes {kind} and strings ({detail}); a label such as 1 and '1' would be "
        "merged or split silently, so give the column one type (e.g. all strings)"
    )


def _missing_objects(arr: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Missing entries (None, NaN, empty strings, pandas NA) of an object column.

    Vectorized comparisons first (C loops); one Python pass over the values only if they contain
    something those comparisons cannot answer (such as pandas' NA)."""
    try:
        with np.errstate(invalid="ignore"):
            missing = np.asarray((arr == None) | (arr != arr) | (arr == ""), dtype=bool)  # noqa: E711
        if missing.shape == arr.shape:
            return missing
    except (TypeError, ValueError):
        pass
    return np.fromiter((is_missing_value(v) for v in arr.tolist()), bool, len(arr))


def _as_text_if_all_str(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Object values as a fixed-width string array when every one is a str (so that they encode
    with the fast string path), else unchanged."""
    try:
        text = values.astype(str)
        same = bool(np.all(text == values))
    except (TypeError, ValueError):
        return values
    return text if same else values


def _unique_inverse(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """``np.unique(values, return_inverse=True)``, fast for long columns of few distinct strings.

    A long string column (stages, owners, products) usually holds few distinct values: take them
    from a sample, look every value up with a binary search, and fall back to a full sort only
    for the values the sample missed.
    """
    n = len(values)
    if n > 65_536 and values.dtype.kind == "U" and values.dtype.itemsize:
        found = unique_inverse_text(values)  # integer keys instead of string comparisons
        if found is not None:
            return found
        categories = np.unique(values[:: n // 4096])
        codes = np.searchsorted(categories, values)
        np.minimum(codes, len(categories) - 1, out=codes)
        missed = categories[codes] != values
        if missed.any():
            categories = np.union1d(categories, values[missed])
            codes = np.searchsorted(categories, values)
        return categories, codes.astype(np.intp, copy=False)
    uniques, inverse = np.unique(values, return_inverse=True)
    return uniques, inverse.ravel()
