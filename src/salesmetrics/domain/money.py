"""Money: ISO 4217 currency codes and exact integer minor units.

Amounts are stored as ``int64`` minor units (cents for USD, yen for JPY, fils for KWD), so that
totals are exact and do not depend on the order of the deals or how they were split.

One amount is at most 2**53 minor units (`MAX_AMOUNT_MINOR_UNITS`), the range in which a float64,
as amounts are read, holds every whole number of minor units: 90071992547409.92 USD or
9007199254740992 JPY (`max_amount`). Totals of amounts are exact to 2**63 - 1 minor units
(`MAX_MINOR_UNITS`); past either limit, an `AmountError`, never a rounded or wrapped number.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from salesmetrics.errors import AmountError, DataError, DataTypeError, where

__all__ = [
    "ISO_4217", "MAX_AMOUNT_MINOR_UNITS", "MAX_MINOR_UNITS", "max_amount", "minor_exponent",
    "normalize_currency", "to_minor_units",
]

# ISO 4217 currencies whose minor unit is not 1/100 (the default).
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip

#: ISO 4217 codes: the active ones (2025), funds, metals and testing codes, and recently
#: withdrawn ones that old deals still carry (HRK, LTL, VEF…). Any other code is an error.
_ISO_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
    MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
    PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED
    VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX
    YER ZAR ZMW ZWG ZWL
    ADP AFA ATS BEF BGL BYR CSD CYP DEM EEK ESP FIM FRF GHC GRD HRK IEP ITL LTL LUF LVL MGF
    MRO MTL MZM NLG PTE ROL SDD SIT SKK SLL SRG STD TMM TRL VEB VEF XEU YUM ZMK ZWD ZWN ZWR
"""
ISO_4217 = frozenset(_ISO_CODES.split())

#: Largest amount of one deal [minor units]: 2**53, up to which a float64 holds every whole
#: number, so that an amount read as a float converts to minor units exactly.
MAX_AMOUNT_MINOR_UNITS = 2**53
#: Largest total of amounts [minor units]: 2**63 - 1, the largest int64.
MAX_MINOR_UNITS = 2**63 - 1


def normalize_currency(code: object) -> str | None:
    """Return an upper-case three-letter ISO 4217 code, or None for no currency.

    A code that ISO 4217 does not list (`ISO_4217`), such as ``"XYZ"``, is a `DataError`
    suggesting the nearest codes.

    >>> normalize_currency(" eur "), normalize_currency("")
    ('EUR', None)
    """
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
    if code not in ISO_4217:
        from difflib import get_close_matches

        major = "USD EUR JPY GBP CNY AUD CAD CHF HKD SGD SEK NOK INR BRL MXN ZAR"
        near = sorted(get_close_matches(code, sorted(ISO_4217), n=3, cutoff=0.6),
                      key=lambda c: (c[:2] != code[:2], c not in major))  # 'USX': 'USD' first
        hint = f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""
        raise DataError(
            f"currency {code!r} is not an ISO 4217 code{hint}; give the code of the amounts' "
            "currency, such as 'USD', 'EUR' or 'JPY', or leave currency out for amounts "
            "without one"
        )
    return code


def minor_exponent(currency: str | None) -> int:
    """Decimal places of the currency's minor unit (2 for USD and for no currency, 0 for JPY).

    >>> minor_exponent("USD"), minor_exponent("JPY"), minor_exponent("KWD")
    (2, 0, 3)
    """
    return 2 if currency is None else _EXPONENTS.get(currency, 2)


def max_amount(exponent: int) -> str:
    """The largest amount of one deal [major units] in a currency with ``exponent`` decimal
    places, written exactly: 2**53 minor units (`MAX_AMOUNT_MINOR_UNITS`).

    >>> max_amount(2), max_amount(0), max_amount(3)
    ('90071992547409.92', '9007199254740992', '9007199254740.992')
    """
    whole, fraction = divmod(MAX_AMOUNT_MINOR_UNITS, 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)


def to_minor_units(
    amounts: npt.NDArray[np.float64],
    exponent: int | npt.NDArray[np.intp],
    ids: npt.NDArray[np.generic] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_] | None]:
    """Convert amounts in major units to ``int64`` minor units, rounding half to even.

    ``exponent`` is the currency's decimal places, or one per amount (amounts in several
    currencies, before `ExchangeRates` converts them).

    Returns the minor units (0 where missing) and a mask of missing amounts, or None when none is
    missing. Raises `DataError` naming the first negative or infinite amount, and `AmountError`
    for one past 2**53 minor units, stating that limit in the currency's major units.
    """
    with np.errstate(over="ignore"):  # a huge finite amount scales to inf: past the limit below
        scaled = amounts * (10.0**exponent)
    missing = np.isnan(scaled)
    bad = ~missing & ((scaled < 0) | ~np.isfinite(scaled) | (scaled > MAX_AMOUNT_MINOR_UNITS))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = float(amounts[row])
        places = int(exponent if isinstance(exponent, int) else exponent[row])
        deal = None if ids is None else ids[row].item()
        if value < 0 or not np.isfinite(value):
            what = "must be >= 0" if value < 0 else "must be finite"
            raise DataError(f"{where(deal, row)}amount {what}, got {value!r}")
        raise AmountError(
            f"{where(deal, row)}amount must be at most {max_amount(places)} (2**53 minor units "
            f"at {places} decimal places: past it a float64 cannot hold every "
            f"{'cent' if places == 2 else 'minor unit'}), got {value!r}; load amounts this "
            f"large in a larger unit (thousands)"
        )
    has_missing = bool(missing.any())
    if has_missing:
        scaled = np.where(missing, 0.0, scaled)
    minor = np.rint(scaled).astype(np.int64)
    return minor, (missing if has_missing else None)
