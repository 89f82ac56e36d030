"""Building a pipeline: its constructors (`PipelineConstructors`, a base of `Pipeline`), and the
checks and conversions of the caller's columns behind them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._currencies import (
    PASS_RATES,
    check_rates,
    convert,
    deal_currencies,
    exponents,
)
from salesmetrics.domain._ids import check_unique, to_ids
from salesmetrics.domain._names import DEAL_ATTRIBUTES, resolve_columns
from salesmetrics.domain.columns import (
    column_length,
    encode_labels,
    owned,
    to_float_array,
    to_numpy,
)
from salesmetrics.domain.dates import (
    DateFormats,
    check_date_formats,
    days_of_dates,
    to_date_array,
    to_zone,
)
from salesmetrics.domain.history import load_history, resolve_stage_entered
from salesmetrics.domain.money import minor_exponent, normalize_currency, to_minor_units
from salesmetrics.domain.stage import (
    DEFAULT_STAGES,
    Stage,
    process_facts,
    stage_codes,
    validate_stages,
)
from salesmetrics.errors import (
    CurrencyError,
    DataError,
    DataTypeError,
    SalesMetricsError,
    where,
)

if TYPE_CHECKING:  # type-only: Deal and the exchange rates load when a pipeline needs them
    from salesmetrics.domain.deal import Deal
    from salesmetrics.domain.exchange_rates import ExchangeRates, RateDate
    from salesmetrics.domain.pipeline import Pipeline

__all__ = ["PipelineConstructors", "deals_to_columns", "ingest_columns", "with_lines"]

DateArray = npt.NDArray[np.datetime64]

class PipelineConstructors:
    """The constructors of `Pipeline` (a base class, so that they live with how a pipeline is
    built; each returns a `Pipeline`)."""

    __slots__ = ()

    @classmethod
    def from_deals(
        cls,
        deals: Iterable[Deal],
        stages: Sequence[Stage] = DEFAULT_STAGES,
        *,
        rates: ExchangeRates | None = None,
        rate_date: RateDate = "close_date",
        allow_close_before_created: bool = False,
    ) -> Pipeline:
        """Build a pipeline from `Deal` objects; it raises and warns as `from_columns`, whose
        ``rates`` and ``rate_date`` these are.

        Parameters
        ----------
        deals
            The deals. Every ``Deal.fields`` key becomes a label field (None where a deal lacks it).
        stages
            The sales process, open stages first in funnel order, then the closed ones.
        allow_close_before_created
            Load deals whose close date is before their created date instead of raising (real
            exports have them, e.g. demo orgs created after their data). Cycle metrics leave such
            deals out.
        """
        data, columns, history = deals_to_columns(deals)
        if rates is None and not any(c is not None for c in data["currency"]):
            del columns["currency"]  # no currency anywhere: nothing to check
        return cls.from_columns(
            data,
            stages,
            columns=columns,
            history=history,
            rates=rates,
            rate_date=rate_date,
            allow_close_before_created=allow_close_before_created,
        )

    @classmethod
    def from_columns(
        cls,
        data: Mapping[str, Any] | Any,
        stages: Sequence[Stage] = DEFAULT_STAGES,
        *,
        columns: Mapping[str, str] | None = None,
        currency: str | None = None,
        history: Mapping[str, Any] | Any | None = None,
        history_columns: Mapping[str, str] | None = None,
        stage_entered: Mapping[str, str] | None = None,
        timezone: str | dt.tzinfo | None = None,
        date_formats: DateFormats = None,
        rates: ExchangeRates | None = None,
        rate_date: RateDate = "close_date",
        allow_close_before_created: bool = False,
    ) -> Pipeline:
        """Build a pipeline from columns: a dict of lists or arrays, or a pandas or polars
        DataFrame or a pyarrow Table (read by duck typing; none of them is imported).

        Parameters
        ----------
        data
            Mapping of column name (str) to a sequence of values, one per deal.
        stages
            The sales process (default `DEFAULT_STAGES`).
        columns
            Deal attribute → column name in ``data``, e.g. ``{"id": "opportunity_id"}``. Attributes
            not given are looked up under their own name (``id``, ``amount``, ``stage``,
            ``created``, ``close_date``, ``owner``, ``probability``, ``currency``); only ``id`` and
            ``stage`` are required. Keys that are not Deal attributes become label fields to group
            by, e.g. ``{"product": "product"}``. A key that is a Deal attribute in another case
            (``"Amount"``) is an error; a key one edit away from one (``"ammount"``,
            ``"clsoe_date"``) loads as a field with a `DataQualityWarning` asking whether the
            attribute was meant (words such as ``"state"`` do not warn), and so does a data
            column named like an unmapped attribute in another case (``Amount``).
        currency
            ISO 4217 code of every amount. If not given, a ``currency`` column is used when present;
            without ``rates`` it must hold one currency (`CurrencyError` otherwise). With
            ``rates``, the currency of the deals whose ``currency`` cell is blank.
        history
            Stage history: columns ``id``, ``stage`` and ``date`` (renamed by ``history_columns``),
            one row per stage entered.
        stage_entered
            Stage name → column of ``data`` holding the date each deal entered that stage (empty
            where it did not), e.g. ``{"Engaging": "engage_date"}``: a wide stage history, the
            shape of HubSpot's "Date entered" columns. It loads into the same `StageHistory` as
            ``history`` (both may be given).
        timezone
            Time zone whose calendar dates timestamps become (default UTC).
        date_formats
            How to read date strings that are not ISO 8601 (``YYYY-MM-DD`` or an ISO date-time,
            always read): a list of `~datetime.datetime.strptime` formats such as
            ``["%d/%m/%Y"]``, or ``"dateutil"`` for python-dateutil's flexible parser (month
            first for ambiguous numeric dates). Each date column is read with the first format
            that reads all of its dates, so a date's reading depends on its column; if none
            does, its dates are read one by one with the first format that reads each. Default
            None: ISO only. Applies to ``created``, ``close_date`` and the history dates.
        rates
            `ExchangeRates` to convert deals in several currencies (the ``currency`` column) to
            its corporate currency, which becomes the pipeline's `currency`. Each amount is
            converted with the rate in force on the deal's ``rate_date``, exactly, and rounded
            once per deal to the corporate minor unit, half to even (see `ExchangeRates`). The
            originals stay as `original_amount` and `original_currency`, and ``by="currency"``
            groups by the deal's own currency. A deal whose currency has no rate on its date is
            a `CurrencyError` naming deal, currency and date; a deal without an amount needs no
            rate.
        rate_date
            Which date picks a deal's rate: ``"close_date"`` (default, as Salesforce's advanced
            currency management does; for an open deal its expected close date) or
            ``"created"``. Where that date is missing the other one is used; a deal with neither
            takes a rate that holds on every date (`ExchangeRates.fixed`), else it is a
            `CurrencyError`.
        allow_close_before_created
            Load deals closed before they were created instead of raising; cycle metrics leave
            them out.

        Raises
        ------
        DataError
            For a missing ``id`` or ``stage``, or a ``currency`` that is not an ISO 4217 code.
        DataTypeError
            For float ids past 2**53 (two ids may have become one): load them as text or int.
        CurrencyError
            For ``currency=`` contradicting a ``currency`` column of one currency, or several
            currencies without ``rates``.
        OptionError
            For a ``date_formats`` entry strptime cannot use (``"%q"``, a stray ``%``).

        Warns
        -----
        DataQualityWarning
            With the count, the first deal and the fix, for: text amounts with more decimal
            places than the currency (``"1.500"`` in USD; a float written in full, 15 or
            more significant digits, is noise, rounded silently); closed deals closing after
            today; a date column read with several ``date_formats`` of the same shape (day and
            month could swap); deals of at least one unit that convert to 0 with ``rates``.

        Notes
        -----
        Missing amounts (empty, None, NaN) load on every deal: they count 0 in value totals and are
        left out of averages. Missing ``created`` and ``close_date`` load too, except that a closed
        deal must have a close date. Amounts in float are rounded to the currency's minor unit.
        Missing labels (None, NaN, empty or blank strings) become the label None.

        The pipeline owns its data: it copies every column that it would otherwise share with
        ``data`` (a numpy array given as is, or a view of a frame's buffer), so that changing
        ``data`` afterwards changes nothing in the pipeline. Columns that had to be converted
        anyway (strings, dates to days, amounts to minor units) are not copied twice.

        Errors name the deal and its row, counted from 0 over the rows of ``data`` (``row 9 of
        the data``); an unknown stage lists every unknown value with its count.
        """
        return cast("Pipeline", cls(**ingest_columns(
            data, stages, columns=columns, currency=currency, history=history,
            history_columns=history_columns, stage_entered=stage_entered, timezone=timezone,
            date_formats=date_formats, rates=rates, rate_date=rate_date,
            allow_close_before_created=allow_close_before_created,
        )))

    @classmethod
    def read_csv(
        cls,
        path: str | os.PathLike[str],
        stages: Sequence[Stage] = DEFAULT_STAGES,
        *,
        columns: Mapping[str, str] | None = None,
        history: Mapping[str, Any] | Any | None = None,
        history_columns: Mapping[str, str] | None = None,
        stage_entered: Mapping[str, str] | None = None,
        currency: str | None = None,
        timezone: str | dt.tzinfo | None = None,
        encoding: str = "utf-8-sig",  # salesmetrics._csv.DEFAULT_ENCODING
        delimiter: str = ",",
        date_formats: DateFormats = None,
        rates: ExchangeRates | None = None,
        rate_date: RateDate = "close_date",
        allow_close_before_created: bool = False,
    ) -> Pipeline:
        """Read a CSV export (header row; empty cells are missing values) with the stdlib.

        ``encoding`` and ``delimiter`` are the file's; the other options are those of
        `from_columns`, and it raises and warns as `from_columns` does. Errors name the row of
        the data and the line of the file where its record starts (the header is line 1), e.g.
        ``deal 'D-9' (row 9 of the data, line 11 of sales.csv)``.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from salesmetrics import Pipeline
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "deals.csv"
        >>> _ = path.write_text(
        ...     "id,amount,stage,close_date\\nA,100,Closed won,2024-01-31\\nB,,Meeting,\\n")
        >>> Pipeline.read_csv(path)
        Pipeline(2 deals: 1 open, 1 won, 0 lost, 0 no decision)
        """
        from salesmetrics._csv import read_columns_and_lines  # loads csv: only when reading one

        table, lines = read_columns_and_lines(path, delimiter=delimiter, encoding=encoding)
        try:
            return cls.from_columns(
                table, stages, columns=columns, currency=currency, history=history,
                history_columns=history_columns, stage_entered=stage_entered, timezone=timezone,
                date_formats=date_formats, rates=rates, rate_date=rate_date,
                allow_close_before_created=allow_close_before_created,
            )
        except SalesMetricsError as error:
            located = with_lines(error, lines, os.path.basename(os.fspath(path)))
            if located is error:
                raise
            raise located from None


def deals_to_columns(
    deals: Iterable[Deal],
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any] | None]:
    """``(data, columns, history)`` for `ingest_columns` from `Deal` objects: one column per
    attribute and per ``Deal.fields`` key (None where a deal lacks it), and the long history."""
    from salesmetrics.domain.deal import Deal  # on first use: `Deal` is an attrs class

    items = list(deals)
    bad = next((row for row, deal in enumerate(items) if not isinstance(deal, Deal)), None)
    if bad is not None:
        raise DataTypeError(f"row {bad}: expected a Deal, got {items[bad]!r}")
    field_names: list[str] = []
    for deal in items:
        if deal.fields:
            field_names.extend(name for name in deal.fields if name not in field_names)
    nan = np.nan
    ids = to_ids(np.array([d.id for d in items], dtype=object))  # checked once, events reuse it
    data: dict[str, Any] = {
        "id": ids,
        "amount": np.array([nan if (a := d.amount) is None else a for d in items], float),
        "stage": [d.stage for d in items],
        "created": days_of_dates([d.created for d in items]),  # a Deal holds dates or None
        "close_date": days_of_dates([d.close_date for d in items]),
        "owner": [d.owner for d in items],
        "probability": np.array(
            [nan if (q := d.probability) is None else q for d in items], float
        ),
        "currency": [d.currency for d in items],
    }
    for name in field_names:
        if name in DEAL_ATTRIBUTES:
            raise DataError(f"Deal.fields: {name!r} is a Deal attribute, not a field")
        data[name] = [d.fields.get(name) for d in items]
    counts = [len(d.history) for d in items]
    history: dict[str, Any] | None = None
    if any(counts):
        events = [event for d in items for event in d.history]
        history = {"id": ids[np.repeat(np.arange(len(items)), counts)],
                   "stage": [stage for stage, _ in events],
                   "date": days_of_dates([day for _, day in events])}
    columns = {name: name for name in data}
    if not any(d.owner is not None for d in items):
        del columns["owner"]
    return data, columns, history


def ingest_columns(
    data: Any,
    stages: Sequence[Stage],
    *,
    columns: Mapping[str, str] | None,
    currency: str | None,
    history: Any,
    history_columns: Mapping[str, str] | None,
    stage_entered: Mapping[str, str] | None,
    timezone: str | dt.tzinfo | None,
    date_formats: DateFormats,
    allow_close_before_created: bool,
    rates: ExchangeRates | None = None,
    rate_date: RateDate = "close_date",
) -> dict[str, Any]:
    """The checked, converted columns of ``data`` as the keyword arguments of ``Pipeline()``
    (see `Pipeline.from_columns` for the options); every array is read-only and owned."""
    check_rates(rates, rate_date)
    process = validate_stages(stages)
    mapping = resolve_columns(data, columns)
    wide = resolve_stage_entered(data, stage_entered, process)
    n = column_length(data, [*mapping.values(), *wide.values()])
    zone = to_zone(timezone)
    formats = check_date_formats(date_formats)
    # The caller's own numpy arrays: a result that overlaps one of them is copied.
    sources = [data[c] for c in {*mapping.values(), *wide.values()}
               if isinstance(data[c], np.ndarray)]

    ids = to_ids(to_numpy(data[mapping["id"]]))
    check_unique(ids)

    codes = stage_codes(data[mapping["stage"]], process, ids)

    if rates is None:
        code, own = _currency(data, mapping, currency), None
        places: int | npt.NDArray[np.intp] = minor_exponent(code)
    else:
        code, own = rates.corporate, deal_currencies(data, mapping, currency, ids, n)
        places = exponents(own)
    if "amount" in mapping:
        amounts = to_float_array(data[mapping["amount"]], field="amount", ids=ids,
                                 places=places, currency=code)  # "1.500": a warning
        amount_minor, amount_missing = to_minor_units(amounts, places, ids)
    else:
        amount_minor, amount_missing = np.zeros(n, np.int64), np.ones(n, bool)

    def dates(name: str) -> DateArray:
        if name not in mapping:
            return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        return to_date_array(
            data[mapping[name]], field=name, ids=ids, timezone=zone, formats=formats
        )

    created, close_date = dates("created"), dates("close_date")
    closed = codes >= process_facts(process).n_open  # the closed stages follow the open ones
    no_close = closed & np.isnat(close_date)
    if no_close.any():
        row = int(np.flatnonzero(no_close)[0])
        raise DataError(
            f"{where(ids[row].item(), row)}close_date is missing on a closed deal "
            f"(stage {process[codes[row]].name!r})"
        )
    if not allow_close_before_created:
        backwards = close_date < created
        if backwards.any():
            row = int(np.flatnonzero(backwards)[0])
            raise DataError(
                f"{where(ids[row].item(), row)}close_date {close_date[row]} is before created "
                f"{created[row]}; pass allow_close_before_created=True to load such deals"
            )

    original = None
    if rates is not None and own is not None:
        original = amount_minor
        amount_minor = convert(rates, own, original, amount_missing, rate_date, close_date,
                               created, ids)

    probability = None
    if "probability" in mapping:
        probability = to_float_array(data[mapping["probability"]], field="probability", ids=ids)
        bad = (probability < 0) | (probability > 1) | np.isinf(probability)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{where(ids[row].item(), row)}probability must be in [0, 1], got "
                f"{float(probability[row])!r} (give 0.3 for 30 %)"
            )
        if np.isnan(probability).all():
            probability = None

    labels = {
        name: encode_labels(data[source], field=name)
        for name, source in mapping.items()
        if name not in DEAL_ATTRIBUTES or name == "owner"
    }
    if own is not None:
        labels["currency"] = own
    events = load_history(data, history, history_columns, wide, process, ids, zone, formats)
    from salesmetrics.domain._plausible_dates import warn_future_close_dates  # typo'd years

    warn_future_close_dates(close_date, closed, ids)
    return dict(
        stages=process,
        ids=owned(ids, sources),
        amount_minor=owned(amount_minor, sources),
        amount_missing=None if amount_missing is None else owned(amount_missing, sources),
        stage_codes=owned(codes, sources),
        created=owned(created, sources),
        close_date=owned(close_date, sources),
        probability=None if probability is None else owned(probability, sources),
        labels=labels,
        currency=code,
        history=events,
        original_minor=None if original is None else owned(original, sources),
    )


def _currency(data: Any, mapping: Mapping[str, str], currency: str | None) -> str | None:
    code = normalize_currency(currency)
    if "currency" not in mapping:
        return code
    labels = encode_labels(data[mapping["currency"]], field="currency")
    column = sorted({c for c in map(normalize_currency, labels.categories.tolist()) if c})
    found = sorted({*column, *([code] if code else [])})
    if code is not None and len(column) == 1 and column != [code]:
        raise CurrencyError(
            f"currency={code!r} conflicts with the currency column, which holds "
            f"{column[0]}; without rates, give currency= only to fill blank cells of the "
            f"same currency, or leave it out (the column says it), or {PASS_RATES}")
    if len(found) > 1:
        raise CurrencyError(f"deals are in several currencies ({', '.join(found)}); {PASS_RATES}")
    return found[0] if found else None


_DATA_ROW = r"row (\d+) of the data"  # compiled on first use, by `re`


def with_lines(error: SalesMetricsError, lines: Sequence[int], name: str) -> SalesMetricsError:
    """``error`` with ", line N of <name>" after each "row R of the data" of its message."""
    message = str(error)

    def line(match: re.Match[str]) -> str:
        row = int(match.group(1))
        if row >= len(lines):
            return match.group(0)
        return f"{match.group(0)}, line {lines[row]} of {name}"

    located = re.sub(_DATA_ROW, line, message)
    if located == message:
        return error
    try:
        return type(error)(located)
    except Exception:
        return error
