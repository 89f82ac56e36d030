"""Pipelines in several currencies: each deal's own currency as a label field, the conversion of
its amount with `ExchangeRates` at load time, and the originals kept on the pipeline
(`PipelineCurrencies`, a base of `Pipeline`, with ``original_amount`` and
``original_currency``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import Labels, encode_labels, readonly
from salesmetrics.domain.money import minor_exponent, normalize_currency
from salesmetrics.errors import CurrencyError, DataError, DataTypeError, check_option, where

if TYPE_CHECKING:  # exchange_rates loads when rates= is first given
    from salesmetrics.domain.exchange_rates import ExchangeRates
    from salesmetrics.domain.pipeline import Pipeline

__all__ = ["PipelineCurrencies", "check_rates", "convert", "deal_currencies", "exponents"]

#: How the error for mixed currencies without rates ends.
PASS_RATES = (
    "pass rates=ExchangeRates.from_columns(...) (dated rates; salesmetrics.io."
    "read_salesforce_rates reads Salesforce's DatedConversionRate) or ExchangeRates.fixed"
    "({...}, corporate='USD') to convert each deal to one corporate currency"
)


def check_rates(rates: object, rate_date: object) -> None:
    """`DataTypeError` unless ``rates`` is None or `ExchangeRates`; `OptionError` for a
    ``rate_date`` other than ``"close_date"`` or ``"created"``."""
    if rates is None and rate_date == "close_date":  # the default: nothing to load or check
        return
    from salesmetrics.domain.exchange_rates import RATE_DATES, ExchangeRates

    if rates is not None and not isinstance(rates, ExchangeRates):
        raise DataTypeError(
            f"rates must be an ExchangeRates (ExchangeRates.from_columns(...), "
            f"ExchangeRates.fixed(...) or salesmetrics.io.read_salesforce_rates(...)), got "
            f"{type(rates).__name__} {rates!r:.60}"
        )
    check_option("Pipeline.from_columns", "rate_date", rate_date, RATE_DATES)


def deal_currencies(
    data: Any, mapping: Mapping[str, str], currency: str | None, ids: npt.NDArray[Any], n: int
) -> Labels:
    """Each deal's currency as labels of upper-case ISO codes (sorted, None last where a deal
    has none); ``currency`` stands in for blank cells, and for every deal without a column."""
    default = normalize_currency(currency)
    if "currency" not in mapping:
        categories = np.array([default], dtype=object)
        return Labels(readonly(np.zeros(n, np.intp)), readonly(categories))
    labels = encode_labels(data[mapping["currency"]], field="currency")
    normalized: list[str | None] = []
    for k, value in enumerate(labels.categories.tolist()):
        try:
            code = normalize_currency(value)
        except DataError as error:
            row = int(np.flatnonzero(labels.codes == k)[0])
            raise type(error)(f"{where(ids[row].item(), row)}{error}") from None
        normalized.append(default if code is None else code)
    distinct = sorted({c for c in normalized if c is not None})
    if None in normalized:
        distinct.append(None)  # type: ignore[arg-type]
    remap = np.array([distinct.index(c) for c in normalized] or [0], dtype=np.intp)  # type: ignore[arg-type]
    return Labels(readonly(remap[labels.codes]), readonly(np.array(distinct, dtype=object)))


def exponents(labels: Labels) -> npt.NDArray[np.intp]:
    """The minor-unit exponent of each deal's currency (2 for none)."""
    per_code = np.array([minor_exponent(c) for c in labels.categories.tolist()] or [2], np.intp)
    return per_code[labels.codes]


def convert(
    rates: ExchangeRates, labels: Labels, amount_minor: npt.NDArray[np.int64],
    amount_missing: npt.NDArray[np.bool_] | None, rate_date: str,
    close_date: npt.NDArray[np.datetime64], created: npt.NDArray[np.datetime64],
    ids: npt.NDArray[Any],
) -> npt.NDArray[np.int64]:
    """Each amount in the corporate currency's minor units, rounded half to even once per deal.

    A deal without an amount needs no rate. One with an amount but no currency, or whose
    currency has no rate on its day, is a `CurrencyError` naming the deal, currency and day.
    """
    from salesmetrics.domain.exchange_rates import convert_minor_units, rate_days

    need = np.ones(len(ids), bool) if amount_missing is None else ~amount_missing
    none = np.array([c is None for c in labels.categories.tolist()] or [False], bool)
    no_code = need & none[labels.codes]
    if no_code.any():
        row = int(np.flatnonzero(no_code)[0])
        raise CurrencyError(
            f"{where(ids[row].item(), row)}currency is missing on a deal with an amount, and "
            f"rates= converts each deal from its own currency; fill it in, or pass currency= "
            f"for the deals without one"
        )
    days = rate_days(rate_date, close_date, created)
    index, fractions = rates._lookup(labels, days, need, ids)
    return convert_minor_units(amount_minor, exponents(labels), index, fractions,
                               rates.corporate, ids)


class PipelineCurrencies:
    """The original amounts and currencies of `Pipeline` (a base class)."""

    __slots__ = ()

    @property
    def original_amount(self) -> npt.NDArray[np.float64]:
        """Each deal's amount in its own currency [major units], NaN where missing: as loaded,
        before ``rates=`` converted it (the same as `amount` for a pipeline in one currency)."""
        p = cast("Pipeline", self)
        if p._original is None:
            return p.amount
        labels = p.labels("currency")
        values = p._original / 10.0 ** exponents(labels)
        if p.has_missing_amounts:
            values[p.amount_missing] = np.nan
        return readonly(values)

    @property
    def original_currency(self) -> npt.NDArray[Any]:
        """Each deal's own currency [ISO 4217 code, None where unknown], as loaded (the same as
        `currency` for every deal of a pipeline in one currency); ``by="currency"`` groups by it
        in a pipeline converted with ``rates=``."""
        p = cast("Pipeline", self)
        if p._original is None:
            return readonly(np.full(len(p), p.currency, dtype=object))
        return readonly(p.labels("currency").decoded())
