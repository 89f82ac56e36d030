"""Dated exchange rates to a corporate currency (`ExchangeRates`), and the exact conversion of
deal amounts with them (`convert_minor_units`).

A rate is in Salesforce's convention: units of the deal's currency per one unit of the corporate
currency (``EUR 0.92`` with corporate USD: 0.92 EUR buy 1 USD). It holds from its start date
until the next start date of the same currency. Rates are kept exactly as written, as decimals:
the string ``"0.92"`` and the float ``0.92`` are both 92/100 (a float is read as the decimal of
its shortest repr, never as its binary value 0.92000000000000003996…).

Conversion is exact rational arithmetic rounded once per deal, half to even, to the corporate
currency's minor unit::

    minor_corporate = round_half_even(minor_original × 10**(e_corporate − e_original) / rate)

so that every total is a sum of integers, the same in any order and any split of the deals.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._names import column_names
from salesmetrics.domain.columns import Labels, column_length, encode_labels, to_numpy
from salesmetrics.domain.dates import to_date_array
from salesmetrics.domain.money import (
    MAX_AMOUNT_MINOR_UNITS,
    max_amount,
    minor_exponent,
    normalize_currency,
)
from salesmetrics.errors import (
    AmountError,
    CurrencyError,
    DataError,
    DataQualityWarning,
    DataTypeError,
    choices,
    user_stacklevel,
    where,
)

if TYPE_CHECKING:  # decimal and fractions load when rates are read (1.5 ms of import time)
    from decimal import Decimal
    from fractions import Fraction

__all__ = ["RATE_DATES", "ExchangeRates", "RateDate", "convert_minor_units", "rate_days"]

#: The dates a deal's rate can be taken on (``rate_date=``).
RateDate: TypeAlias = Literal["close_date", "created"]
RATE_DATES: tuple[RateDate, ...] = ("close_date", "created")
#: The start of a rate that holds on every date (`ExchangeRates.fixed`), as int64 days.
_ALWAYS = np.iinfo(np.int64).min
_COLUMNS = ("currency", "start_date", "rate")
#: Lookup keys: currency index × 2**32 + the day shifted into [1, 2**32); 0 is "always".
_SHIFT, _SPAN = 2**31, 2**32


def _decimal(value: object, row: int) -> Decimal | None:
    """A rate as the exact decimal it is written as (None if missing); errors name the row."""
    from decimal import Decimal, InvalidOperation

    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise DataTypeError(f"rates: row {row}: rate must be a number, got {value!r}")
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        text = str(value)  # the shortest repr: 0.92, not the binary double's expansion
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
    else:
        raise DataTypeError(f"rates: row {row}: rate must be a number or a decimal string, got "
                            f"{type(value).__name__} {value!r:.60}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise DataError(f"rates: row {row}: rate must be a number such as '0.92', got {value!r}"
                        ) from None
    if not number.is_finite() or number <= 0:
        raise DataError(f"rates: row {row}: rate must be a finite number > 0 (units of the "
                        f"currency per one unit of the corporate currency), got {value!r}")
    return number


def _rates(values: npt.NDArray[Any]) -> list[Decimal | None]:
    """Each value of a rate column as a decimal, parsed once per distinct value."""
    try:
        uniques, inverse = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types in an object column
        uniques, inverse = values, np.arange(len(values))
    first = np.zeros(len(uniques), np.intp)
    first[inverse.ravel()[::-1]] = np.arange(len(values))[::-1]  # first row of each value
    parsed = [_decimal(v, int(first[k])) for k, v in enumerate(uniques.tolist())]
    return [parsed[k] for k in inverse.ravel().tolist()]


def _day(value: int) -> str:
    return "any date" if value == _ALWAYS else str(np.datetime64(value, "D"))


class ExchangeRates:
    """Dated exchange rates to a corporate currency.

    Each rate is the number of units of a currency per one unit of the corporate currency
    (Salesforce's ``ConversionRate`` convention: ``EUR 0.92`` with corporate USD means
    0.92 EUR = 1 USD), holding from its start date until the next start date of the same
    currency. The corporate currency's own rate is 1 and need not be given.

    Build with `from_columns` (a table of dated rates), `fixed` (one rate per currency) or
    `salesmetrics.io.read_salesforce_rates` (Salesforce's ``DatedConversionRate``), and pass it
    as ``rates=`` to `Pipeline.from_columns`, `Pipeline.read_csv` or a CRM adapter.

    Rates are stored exactly as written: a decimal string as its decimal value, a float as the
    decimal of its shortest repr (``0.92`` is 92/100, not the binary double).

    Examples
    --------
    >>> from salesmetrics import ExchangeRates
    >>> rates = ExchangeRates.from_columns(
    ...     {"currency": ["EUR", "EUR", "JPY"],
    ...      "start_date": ["2024-01-01", "2024-02-15", "2024-01-01"],
    ...      "rate": ["0.92", "0.95", 151.37]},
    ...     corporate="USD")
    >>> rates
    ExchangeRates(to USD: EUR 2 rates, JPY 1 rate)
    >>> rates.rate("EUR", "2024-03-01"), rates.rate("USD", "2024-03-01")
    (Decimal('0.95'), Decimal('1'))
    """

    __slots__ = ("_codes", "_corporate", "_currencies", "_rates", "_starts")

    def __init__(self, corporate: str, currencies: tuple[str, ...],
                 codes: npt.NDArray[np.int64], starts: npt.NDArray[np.int64],
                 rates: tuple[Decimal, ...]) -> None:
        """Internal: rows already checked, sorted by currency then start date."""
        self._corporate = corporate
        self._currencies = currencies
        self._codes = codes
        self._starts = starts
        self._rates = rates

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def from_columns(
        cls, data: Mapping[str, Any] | Any, *, corporate: str,
        columns: Mapping[str, str] | None = None,
    ) -> ExchangeRates:
        """Dated rates from columns ``currency``, ``start_date`` and ``rate``: a dict of lists or
        arrays, or a pandas or polars DataFrame or a pyarrow Table.

        Parameters
        ----------
        data
            One row per rate: the currency (ISO 4217), the first day it holds, and the rate
            [units of the currency per one unit of ``corporate``], a number or decimal string.
            Without a ``start_date`` column, each currency has one rate that holds on every date.
        corporate
            The ISO 4217 code amounts are converted to. Its own rows, if any, must be 1.
        columns
            Renames: ``{"currency": "IsoCode", "start_date": "StartDate", "rate":
            "ConversionRate"}``.

        Raises
        ------
        DataError
            A missing or malformed currency, date or rate (zero, negative or not a number), or
            two different rates for one currency on one start date, naming the row.
        """
        code = _corporate(corporate)
        names = column_names(data, "rates")
        given = dict(columns or {})
        unknown = sorted(set(given) - set(_COLUMNS))
        if unknown:
            raise DataError(f"ExchangeRates.from_columns(): columns: unknown key {unknown[0]!r}; "
                            f"valid keys are {choices(_COLUMNS)}")
        mapping = {key: given.get(key, key) for key in _COLUMNS}
        for key, name in mapping.items():
            if name not in names and not (key == "start_date" and key not in given):
                raise DataError(f"rates: column {name!r} (for {key!r}) is not in the data; "
                                f"columns are {choices(sorted(names))}")
        dated = mapping["start_date"] in names
        used = [mapping["currency"], mapping["rate"]] + ([mapping["start_date"]] if dated else [])
        n = column_length(data, used)
        labels = encode_labels(data[mapping["currency"]], field="currency")
        if dated:
            days = to_date_array(data[mapping["start_date"]], field="start_date")
            starts = days.astype(np.int64)
        else:
            days, starts = None, np.full(n, _ALWAYS, np.int64)
        values = _rates(to_numpy(data[mapping["rate"]]))
        currency = [normalize_currency(c) for c in labels.categories.tolist()]
        no_code = np.array([c is None for c in currency] or [False], bool)[labels.codes]
        missing = (("currency", no_code), ("rate", np.array([v is None for v in values], bool)),
                   ("start_date", np.zeros(n, bool) if days is None else np.isnat(days)))
        for what, mask in missing:
            if mask.any():
                raise DataError(f"rates: row {int(np.flatnonzero(mask)[0])}: {what} is missing")
        per_row = np.array(currency, dtype=object)[labels.codes] if n else np.array([], object)
        return cls._build(code, per_row.tolist(), starts, values)  # type: ignore[arg-type]

    @classmethod
    def fixed(cls, rates: Mapping[str, float | int | str | Decimal], *,
              corporate: str) -> ExchangeRates:
        """One rate per currency, holding on every date.

        >>> from salesmetrics import ExchangeRates
        >>> ExchangeRates.fixed({"EUR": 0.92, "JPY": "151.37"}, corporate="USD")
        ExchangeRates(to USD: EUR 1 rate, JPY 1 rate)
        """
        if not isinstance(rates, Mapping):
            raise DataTypeError(f"ExchangeRates.fixed(): rates must be a mapping of currency to "
                                f"rate, e.g. {{'EUR': 0.92}}, got {rates!r:.60}")
        codes = [normalize_currency(c) for c in rates]
        values = [_decimal(v, row) for row, v in enumerate(rates.values())]
        for row, (c, v) in enumerate(zip(codes, values, strict=True)):
            if c is None or v is None:
                raise DataError(f"ExchangeRates.fixed(): {list(rates)[row]!r}: "
                                f"{'currency' if c is None else 'rate'} is missing")
        starts = np.full(len(codes), _ALWAYS, np.int64)
        return cls._build(_corporate(corporate), codes, starts, values)  # type: ignore[arg-type]

    @classmethod
    def _build(cls, corporate: str, codes: list[str], starts: npt.NDArray[np.int64],
               values: list[Decimal]) -> ExchangeRates:
        """Sort by currency and start date; check the corporate rows and duplicate starts."""
        currencies = tuple(sorted(set(codes) - {corporate}))
        index = {c: k for k, c in enumerate(currencies)}
        own = np.array([c == corporate for c in codes], dtype=bool)
        for row in np.flatnonzero(own).tolist():
            if values[row] != 1:
                raise DataError(f"rates: row {row}: the corporate currency {corporate}'s own rate "
                                f"must be 1, got {values[row]}")
        keep = np.flatnonzero(~own)
        idx = np.array([index[codes[r]] for r in keep.tolist()], dtype=np.int64)
        start = starts[keep]
        order = np.lexsort((start, idx))
        idx, start, rows = idx[order], start[order], keep[order]
        rates = [values[r] for r in rows.tolist()]
        same = np.flatnonzero((idx[1:] == idx[:-1]) & (start[1:] == start[:-1]))
        drop = []
        for k in same.tolist():
            if rates[k] != rates[k + 1]:
                raise DataError(
                    f"rates: {currencies[idx[k]]} has two rates from {_day(int(start[k]))} "
                    f"(rows {int(rows[k])} and {int(rows[k + 1])}: {rates[k]} and "
                    f"{rates[k + 1]}); give one rate per currency and start date")
            drop.append(k + 1)
        kept = np.setdiff1d(np.arange(len(idx)), drop)
        return cls(corporate, currencies, idx[kept], start[kept],
                   tuple(rates[k] for k in kept.tolist()))

    # -- reading --------------------------------------------------------------------------------
    @property
    def corporate(self) -> str:
        """ISO 4217 code of the corporate currency, that amounts are converted to."""
        return self._corporate

    @property
    def currencies(self) -> tuple[str, ...]:
        """The currencies with rates (the corporate one aside), sorted."""
        return self._currencies

    def rate(self, currency: str, date: object) -> Decimal:
        """The rate of ``currency`` on ``date`` [units of it per corporate unit], exactly as
        written; `CurrencyError` if it has none on that date."""
        from decimal import Decimal

        code = normalize_currency(currency)
        if code == self._corporate:
            return Decimal(1)
        day = to_date_array([date], field="date").astype(np.int64)[0]
        k = self._currencies.index(code) if code in self._currencies else -1
        rows = np.flatnonzero(self._codes == k)
        at = int(np.searchsorted(self._starts[rows], day, side="right")) - 1
        if k < 0 or at < 0:
            raise CurrencyError(f"no exchange rate for {code} on {date}; {self._known()}")
        return self._rates[int(rows[at])]

    def _known(self) -> str:
        """What the table holds, for an error message."""
        if not self._currencies:
            return f"the rates have none (corporate {self._corporate})"
        firsts = np.r_[0, np.flatnonzero(np.diff(self._codes)) + 1]
        parts = [f"{self._currencies[int(self._codes[f])]} from {_day(int(self._starts[f]))}"
                 for f in firsts.tolist()]
        return "rates are known for " + ", ".join(parts)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """The rates as columns ``currency``, ``start_date`` (left out for rates that hold on
        every date, `fixed`) and ``rate`` (decimals), which `from_columns` reads back."""
        out = {
            "currency": np.array([self._currencies[k] for k in self._codes.tolist()], object),
            "start_date": self._starts.astype("datetime64[D]"),
            "rate": np.array(self._rates, dtype=object),
        }
        if len(self._starts) and (self._starts == _ALWAYS).all():
            del out["start_date"]
        return out

    def to_pandas(self) -> Any:
        """The rates as a pandas DataFrame (needs ``salesmetrics[pandas]``)."""
        import pandas as pd

        return pd.DataFrame(self.to_columns())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExchangeRates):
            return NotImplemented
        return (self._corporate == other._corporate and self._currencies == other._currencies
                and np.array_equal(self._codes, other._codes)
                and np.array_equal(self._starts, other._starts) and self._rates == other._rates)

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self._rates)

    def __repr__(self) -> str:
        counts = np.bincount(self._codes, minlength=len(self._currencies))
        parts = [f"{c} {n} rate{'s' if n != 1 else ''}"
                 for c, n in zip(self._currencies, counts.tolist(), strict=True)]
        return f"ExchangeRates(to {self._corporate}: {', '.join(parts) or 'no rates'})"

    # -- converting -----------------------------------------------------------------------------
    def _lookup(
        self, currency: Labels, days: npt.NDArray[np.datetime64], need: npt.NDArray[np.bool_],
        ids: npt.NDArray[Any],
    ) -> tuple[npt.NDArray[np.intp], list[Fraction]]:
        """Per deal, the index of its rate in the returned list of fractions (the last entry is
        1, for deals in the corporate currency and deals that need no rate). `CurrencyError`
        naming the first deal in ``need`` without a rate on its day."""
        cats = currency.categories.tolist()
        cat_index = np.array([self._currencies.index(c) if c in self._currencies else
                              (-2 if c == self._corporate else -1) for c in cats] or [0],
                             dtype=np.int64)
        deal_cur = cat_index[currency.codes] if len(currency.codes) else np.zeros(0, np.int64)
        identity = ~need | (deal_cur == -2)
        raw = days.astype(np.int64)
        offset = np.where(np.isnat(days), 0, np.clip(raw + _SHIFT, 1, _SPAN - 1))
        keys = np.maximum(deal_cur, 0) * _SPAN + offset
        rate_offset = np.where(self._starts == _ALWAYS, 0,
                               np.clip(self._starts + _SHIFT, 1, _SPAN - 1))
        rate_keys = self._codes * _SPAN + rate_offset
        pos = np.searchsorted(rate_keys, keys, side="right") - 1
        found = (deal_cur >= 0) & (pos >= 0)
        found[found] &= self._codes[pos[found]] == deal_cur[found]
        bad = ~identity & ~found
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            code = cats[currency.codes[row]]
            day = "no date (neither a close date nor a created date)" if np.isnat(days[row]) \
                else str(days[row])
            raise CurrencyError(
                f"{where(ids[row].item(), row)}no exchange rate for currency {code!r} on "
                f"{day} to {self._corporate}; {self._known()}"
            )
        from fractions import Fraction

        fractions = [Fraction(r) for r in self._rates] + [Fraction(1)]
        return np.where(identity, len(self._rates), pos).astype(np.intp), fractions


def _corporate(code: object) -> str:
    found = normalize_currency(code)
    if found is None:
        raise DataError("ExchangeRates: corporate must be an ISO 4217 code such as 'USD'")
    return found


def convert_minor_units(
    amount_minor: npt.NDArray[np.int64], exponents: npt.NDArray[np.intp],
    rate_index: npt.NDArray[np.intp], fractions: list[Fraction], corporate: str,
    ids: npt.NDArray[Any],
) -> npt.NDArray[np.int64]:
    """Each amount [minor units of its currency, ``exponents`` decimals] in the corporate
    currency's minor units: ``round_half_even(minor × 10**(e_corp − e) / rate)``, exactly.

    Per distinct (rate, exponent) pair the factor is a reduced fraction num/den of Python
    ints; per deal, int64 arithmetic: with ``x = q1·den + r1``, ``x·num/den = q1·num +
    r1·num/den``, where ``r1·num < den·num < 2**62``. Pairs whose num·den is larger (rates
    written with absurd precision) are converted with Python ints. A result past 2**53 minor
    units is an `AmountError` naming the deal.
    """
    from fractions import Fraction

    e_corp = minor_exponent(corporate)
    pair_keys = rate_index.astype(np.int64) * 16 + exponents
    pairs, inverse = np.unique(pair_keys, return_inverse=True)
    inverse = inverse.ravel()
    p_q = []
    for key in pairs.tolist():
        rate, e = fractions[key // 16], key % 16
        factor = Fraction(10) ** (e_corp - e) / rate
        p_q.append((factor.numerator, factor.denominator))
    big = np.array([p * q >= 2**62 for p, q in p_q] or [False], dtype=bool)
    num = np.array([p if p * q < 2**62 else 1 for p, q in p_q] or [1], dtype=np.int64)[inverse]
    den = np.array([q if p * q < 2**62 else 1 for p, q in p_q] or [1], dtype=np.int64)[inverse]
    x = amount_minor
    q1, r1 = np.divmod(x, den)
    limit = MAX_AMOUNT_MINOR_UNITS // num
    over = q1 > limit
    q1 = np.where(over, 0, q1)
    q2, r2 = np.divmod(r1 * num, den)
    total = q1 * num + q2
    up = (2 * r2 > den) | ((2 * r2 == den) & (total % 2 == 1))
    out = total + up
    for row in np.flatnonzero(big[inverse] if len(x) else np.zeros(0, bool)).tolist():
        p, q = p_q[int(inverse[row])]
        whole, rest = divmod(int(x[row]) * p, q)
        whole += 1 if 2 * rest > q or (2 * rest == q and whole % 2) else 0
        over[row] = whole > MAX_AMOUNT_MINOR_UNITS
        out[row] = min(whole, MAX_AMOUNT_MINOR_UNITS)
    over |= out > MAX_AMOUNT_MINOR_UNITS
    if over.any():
        row = int(np.flatnonzero(over)[0])
        raise AmountError(
            f"{where(ids[row].item(), row)}amount converted to {corporate} must be at most "
            f"{max_amount(e_corp)} (2**53 minor units); load amounts this large in a larger "
            "unit (thousands)")
    # A whole unit of a currency or more that becomes 0 (1 EUR at 1e400 EUR per USD): a rate
    # written the wrong way round or with a wrong exponent. Cents that round away are rounding.
    vanished = np.flatnonzero((x >= 10 ** exponents.astype(np.int64)) & (out == 0))
    if len(vanished):
        row = int(vanished[0])
        rate = fractions[int(pairs[int(inverse[row])]) // 16]
        try:
            shown = f"{float(rate):.6g}"
        except OverflowError:  # past 1e308
            shown = f"about 1e{len(str(rate.numerator)) - len(str(rate.denominator))}"
        warnings.warn(
            f"rates: {len(vanished):,} deal(s) of at least one unit of their currency convert "
            f"to 0 {corporate} "
            f"(first: {where(ids[row].item(), row)}{int(x[row]):,} minor units at a rate of "
            f"{shown}); a "
            "rate that large is usually written the wrong way round or with the wrong "
            "exponent. Fix: give each rate as units of the currency per one unit of "
            f"{corporate} (EUR 0.92 for 1 USD = 0.92 EUR)",
            DataQualityWarning, stacklevel=user_stacklevel())
    converted: npt.NDArray[np.int64] = out.astype(np.int64, copy=False)
    return converted


def rate_days(
    rate_date: str, close_date: npt.NDArray[np.datetime64], created: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.datetime64]:
    """The day each deal's rate is taken on: its ``rate_date`` (close date, expected for open
    deals, or created date), else the other one where that is missing."""
    first, other = (close_date, created) if rate_date == "close_date" else (created, close_date)
    return np.where(np.isnat(first), other, first)

