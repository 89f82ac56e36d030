"""Amounts written as text with more decimal places than their currency's minor unit
(``"1.500"``: a thousands separator, or a third decimal)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.errors import DataQualityWarning, user_stacklevel, where

__all__ = ["FLOAT_NOISE_DIGITS", "decimal_places", "significant_digits", "warn_extra_decimals"]

#: From this many significant digits, a text amount is a float written in full (binary noise
#: past the cents: repr gives up to 17 digits), not a misread value: it is rounded without a
#: warning. Counted in significant digits, not decimal places: '30000000.299999997' has 9
#: places but 17 digits.
FLOAT_NOISE_DIGITS = 15


def decimal_places(text: npt.NDArray[np.str_]) -> npt.NDArray[np.intp]:
    """How many digits each number written as text has after its decimal point (0 for
    ``"12"``, 3 for ``"1.500"``, 0 for exponent notation such as ``"1.5e3"``).

    >>> decimal_places(np.array(["12", "1.500", " 0.25 ", "1.5e3", "7."])).tolist()
    [0, 3, 2, 0, 0]
    """
    stripped = np.char.strip(text)
    dot = np.char.rfind(stripped, ".")
    exponent = np.char.find(np.char.lower(stripped), "e") >= 0
    digits = np.char.str_len(stripped) - dot - 1
    return np.where((dot >= 0) & ~exponent, digits, 0).astype(np.intp)


def significant_digits(text: npt.NDArray[np.str_]) -> npt.NDArray[np.intp]:
    """How many digits each number written as text has, leading zeros, sign and point left out.

    >>> significant_digits(np.array(["12", "-0.0250", "3703.6800000000003"])).tolist()
    [2, 3, 17]
    """
    if not len(text):  # numpy's strip of given characters fails on an empty array
        return np.zeros(0, dtype=np.intp)
    digits = np.char.replace(np.char.strip(text), ".", "")
    return np.char.str_len(np.char.lstrip(np.char.lstrip(digits, "+-"), "0")).astype(np.intp)


def warn_extra_decimals(
    text: npt.NDArray[np.str_], rows: npt.NDArray[np.intp] | None,
    numbers: npt.NDArray[np.float64], places: int | npt.NDArray[np.intp],
    currency: str | None, field: str, ids: npt.NDArray[Any] | None,
) -> None:
    """`DataQualityWarning` if amounts written as ``text`` (at ``rows`` of the column, or every
    row) have more decimal places than their currency's minor unit (``places``): the count, the
    first deal with its text and what it was read as, and the fixes."""
    allowed = places if isinstance(places, int) else (
        places if rows is None else places[rows])
    # A float written in full (pandas' to_csv of a computed 3703.6800000000003: 17 digits) is
    # noise that rounding removes, not a separator ('1.500').
    extra = (decimal_places(text) > allowed) & (significant_digits(text) < FLOAT_NOISE_DIGITS)
    if not extra.any():
        return
    k = int(np.flatnonzero(extra)[0])
    row = k if rows is None else int(rows[k])
    digits = int(places if isinstance(places, int) else places[row])
    deal = None if ids is None else ids[row].item()
    read = f"{np.round(numbers[row], digits):.{digits}f}"
    count = int(extra.sum())
    if not isinstance(places, int):
        unit = "their currency has"
    elif currency:
        unit = f"{currency} has ({digits})"
    else:
        unit = f"amounts without a currency have ({digits}, cents)"
    more = f", and {count - 1} more" if count > 1 else ""
    warnings.warn(
        f"{field}: {count} amount{'s are' if count > 1 else ' is'} written with more decimal "
        f"places than {unit} and rounded to {digits} places (first: {where(deal, row)[:-2]}, "
        f"{str(text[k]).strip()!r} read as {read}{more}). If '.' separates thousands there "
        f"(a European export: '1.500' for 1500), remove the thousands separators before "
        f"loading; if the amounts are in a currency with more decimal places, pass currency= "
        f"(e.g. currency='KWD', 3 places)",
        DataQualityWarning, stacklevel=user_stacklevel(),
    )
