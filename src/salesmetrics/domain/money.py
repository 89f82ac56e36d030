"""Money: ISO 4217 currency codes and exact integer minor units.

Amounts are stored as ``int64`` minor units (cents for USD, yen for JPY, fils for KWD), so that
totals are exact and do not depend on the order of the deals or how they were split. One amount,
and every total of amounts, is at most 2**63 - 1 minor units (`MAX_MINOR_UNITS`), e.g.
92233720368547758.07 USD or 9223372036854775807 JPY; past it, an `AmountError`, never a wrapped
number.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt

from salesmetrics.errors import AmountError, DataError, DataTypeError, where

__all__ = [
    "MAX_MINOR_UNITS", "max_amount", "minor_exponent", "normalize_currency", "to_minor_units",
]

# ISO 4217 currencies whose minor unit is not 1/100 (the default).
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip

#: Largest amount, and largest total of amounts, in minor units: 2**63 - 1 (the largest int64).
MAX_MINOR_UNITS = 2**63 - 1
_FLOAT_EXACT = 2.0**53  # below this, amount × 10**exponent is an exact float64 product


def normalize_currency(code: object) -> str | None:
    """Return an upper-case three-letter ISO 4217 code, or None for no currency."""
    if code is None:
        return None
    if not isinstance(code, str):
        raise DataTypeError(f"currency must be a three-letter ISO 4217 code, got {code!r}")
    code = code.strip().upper()
    if not code:
        return None
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise DataError(
            f"currency must be a three-letter ISO 4217 code such as 'USD', got {code!r}"
        )
    return code


def minor_exponent(currency: str | None) -> int:
    """Decimal places of the currency's minor unit (2 for USD and for no currency, 0 for JPY).

    >>> minor_exponent("USD"), minor_exponent("JPY"), minor_exponent("KWD")
    (2, 0, 3)
    """
    return 2 if currency is None else _EXPONENTS.get(currency, 2)


def max_amount(exponent: int) -> str:
    """The largest amount [major units] of a currency with ``exponent`` decimal places, exactly:
    2**63 - 1 minor units.

    >>> max_amount(2), max_amount(0), max_amount(3)
    ('92233720368547758.07', '9223372036854775807', '9223372036854775.807')
    """
    whole, fraction = divmod(MAX_MINOR_UNITS, 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)


def to_minor_units(
    amounts: npt.NDArray[np.float64],
    exponent: int,
    ids: npt.NDArray[np.generic] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_] | None]:
    """Convert amounts in major units to ``int64`` minor units, rounding half to even.

    Returns the minor units (0 where missing) and a mask of missing amounts, or None when none is
    missing. Raises `DataError` naming the first negative or infinite amount, and `AmountError`
    for one past 2**63 - 1 minor units (the message states that limit in the currency's units).

    Each float converts exactly: amounts below 2**53 minor units through one float product (exact
    there), larger ones through the float's exact rational value.
    """
    scaled = amounts * (10.0**exponent)
    missing = np.isnan(scaled)
    bad = ~missing & ((scaled < 0) | ~np.isfinite(scaled) | (scaled >= 2.0**63))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = float(amounts[row])
        deal = None if ids is None else ids[row].item()
        where_ = where(deal, row)
        if value < 0 or not np.isfinite(value):
            what = "must be >= 0" if value < 0 else "must be finite"
            raise DataError(f"{where_}amount {what}, got {value!r}")
        raise AmountError(
            f"{where_}amount must be at most {max_amount(exponent)} (2**63 - 1 minor units at "
            f"{exponent} decimal places), got {value!r}; load amounts this large in a larger unit "
            f"(thousands)"
        )
    has_missing = bool(missing.any())
    if has_missing:
        scaled = np.where(missing, 0.0, scaled)
    minor = np.rint(scaled).astype(np.int64)
    large = np.flatnonzero(scaled >= _FLOAT_EXACT)
    if len(large):  # rare: the float product may have rounded; use the exact value
        unit = 10**exponent
        for row in large.tolist():
            exact = round(Fraction(float(amounts[row])) * unit)
            if exact > MAX_MINOR_UNITS:
                deal = None if ids is None else ids[row].item()
                raise AmountError(
                    f"{where(deal, row)}amount must be at most {max_amount(exponent)} (2**63 - 1 "
                    f"minor units at {exponent} decimal places), got {float(amounts[row])!r}"
                )
            minor[row] = exact
    return minor, (missing if has_missing else None)
