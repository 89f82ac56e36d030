"""Salesforce: Opportunity records, OpportunityStage metadata and OpportunityHistory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import is_missing_value, to_float_array, to_numpy
from salesmetrics.domain.dates import DateFormats, Formats, check_date_formats, to_zone
from salesmetrics.domain.exchange_rates import ExchangeRates, RateDate
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Outcome, Stage, forecast_category_labels
from salesmetrics.errors import DataError, DataTypeError
from salesmetrics.io._salesforce_checks import check_flags, check_spellings
from salesmetrics.io._tables import (
    DEFAULT_ENCODING,
    Rows,
    Table,
    column,
    date_column,
    deal_ids,
    first_present,
    load_table,
    ordered_process,
    own_probability,
    parse_dates,
    parse_flags,
    parse_probability,
    subset,
    text_of,
)

__all__ = ["read_salesforce", "read_salesforce_rates"]

_ENVELOPE = ("records",)
_DROP = ("attributes",)
#: Opportunity fields kept as label fields to group by, under these names.
FIELDS = {
    "forecast_category": ("ForecastCategoryName", "ForecastCategory"),
    "type": ("Type",),
    "lead_source": ("LeadSource",),
    "account": ("Account.Name", "AccountId"),
}
#: ``ForecastCategory`` (the API picklist) values → ``ForecastCategoryName``, the names that
#: `forecast_rollup` reads; the other values are the same in both.
CATEGORY_NAMES = {"Forecast": "Commit", "BestCase": "Best Case"}
#: What to do when Probability or DefaultProbability holds fractions.
_PERCENT_FIX = ("Salesforce writes probabilities as percents (60 for 60 %): multiply the "
                "column by 100 before loading")


def read_salesforce(
    opportunities: object,
    stages: object = None,
    *,
    history: object = None,
    currency: str | None = None,
    timezone: str | dt.tzinfo | None = None,
    encoding: str = DEFAULT_ENCODING,
    delimiter: str = ",",
    date_formats: DateFormats = None,
    rates: ExchangeRates | None = None,
    rate_date: RateDate = "close_date",
    allow_close_before_created: bool = False,
) -> Pipeline:
    """Build a `Pipeline` from Salesforce opportunities.

    Parameters
    ----------
    opportunities
        ``Opportunity`` records: a CSV export (Data Loader, Data Export or a report export with
        API field names), the REST API's records (a list of dicts; their ``attributes`` key is
        ignored, nested relationships such as ``Owner.Name`` are read), or a query response
        (``{"records": [...]}``).
    stages
        The sales process. ``OpportunityStage`` records (CSV, list or response; fields
        ``MasterLabel`` or ``ApiName``, ``DefaultProbability`` 0–100, ``IsClosed``, ``IsWon``,
        ``SortOrder``, ``IsActive``), or a sequence of `Stage`. Without it,
        the process is inferred from the opportunities: each ``StageName`` with its ``IsClosed``
        and ``IsWon`` flags, ordered by ``StageSortOrder`` (else by probability), with the most
        common ``Probability`` of its deals as its probability: an open stage none of whose
        deals has one (or no ``Probability`` column) is an error, never probability 0, and so
        are stage names that differ only in case or spaces (``"Prospecting"``,
        ``"prospecting"``). With ``stages``, a deal whose ``IsClosed`` or ``IsWon`` contradicts
        its stage's is an error naming the deal, its stage and both flags.
    history
        ``OpportunityHistory`` rows (CSV, list or response): ``OpportunityId``, ``StageName`` and
        ``CreatedDate`` (when the stage was set) become the stage history. Rows of opportunities
        that were not loaded are ignored.
    currency
        ISO code of the amounts; by default ``CurrencyIsoCode`` (one currency only, unless
        ``rates`` converts them; then ``currency`` is that of records without one) or none.
    timezone
        Time zone whose calendar dates ``CreatedDate`` timestamps become (default UTC, the API's).
    encoding, delimiter
        Of the CSV files given (default UTF-8, with or without a byte-order mark, and ``","``;
        e.g. ``encoding="cp1252", delimiter=";"`` for a report exported in a European locale).
        A file in another encoding is a `DataError` naming the file and line.
    date_formats
        How to read dates that are not ISO: ``strptime`` formats, e.g. ``["%m/%d/%Y"]`` for a
        US report (each date column is read with the first that reads all its dates), or
        ``"dateutil"``; as in `Pipeline.from_columns`.
    rates, rate_date
        `ExchangeRates` to convert deals in several currencies (``CurrencyIsoCode``) to one
        corporate currency, with the rate on each deal's close date (``rate_date="close_date"``, the
        default; an open deal's expected close date) or created date (``"created"``); as in
        `Pipeline.from_columns`.
    allow_close_before_created
        Load opportunities closed before they were created (demo and sandbox orgs hold such
        deals) instead of raising; cycle metrics leave them out and say how many. As in
        `Pipeline.from_columns`.

    Returns
    -------
    Pipeline
        With fields ``owner`` (``Owner.Name`` or ``OwnerId``), ``forecast_category``
        (``ForecastCategoryName``, else ``ForecastCategory`` with ``Forecast`` read as Commit and
        ``BestCase`` as Best Case: the names `forecast_rollup` reads), ``type``,
        ``lead_source`` and ``account`` where present.

    Notes
    -----
    Mapped: ``Id`` → id, ``StageName`` → stage, ``Amount`` → amount, ``CloseDate`` → close date
    (expected while open, actual once closed, as in Salesforce), ``CreatedDate`` → created,
    ``Probability`` (percent) → the deal's own probability where it differs from its stage's
    default, ``OwnerId`` → owner, ``CurrencyIsoCode`` → currency. Deleted records
    (``IsDeleted``) are left out; an opportunity without an ``Id`` is an error. Everything else
    (``ExpectedRevenue``, which is Amount × Probability, fiscal fields, custom ``__c`` fields)
    is ignored.

    Real orgs break rules: demo and sandbox orgs hold deals created after their close date. The
    error that names the first such deal says to pass ``allow_close_before_created=True``; they
    then load, and cycle-length metrics leave them out and say how many (`DataQualityWarning`).

    Examples
    --------
    >>> from salesmetrics.io import read_salesforce
    >>> import salesmetrics as sm
    >>> p = read_salesforce([
    ...     {"attributes": {"type": "Opportunity"}, "Id": "006A", "StageName": "Prospecting",
    ...      "Amount": 1000, "Probability": 10, "CloseDate": "2024-03-31",
    ...      "CreatedDate": "2024-01-02T10:00:00.000+0000", "IsClosed": False, "IsWon": False},
    ...     {"Id": "006B", "StageName": "Closed Won", "Amount": 500, "Probability": 100,
    ...      "CloseDate": "2024-02-01", "CreatedDate": "2024-01-05T10:00:00.000+0000",
    ...      "IsClosed": True, "IsWon": True}])
    >>> p.stage_names
    ('Prospecting', 'Closed Won')
    >>> sm.weighted_pipeline(p)
    100.0
    """
    what = "read_salesforce()"
    zone = to_zone(timezone)
    formats = check_date_formats(date_formats)
    options = {"encoding": encoding, "delimiter": delimiter}
    table, rows = load_table(opportunities, what=what, envelope=_ENVELOPE, drop=_DROP, **options)
    for name in ("Id", "StageName"):
        column(table, name, what=what)
    if "IsDeleted" in table:
        keep = ~parse_flags(table["IsDeleted"], field="IsDeleted", rows=rows)
        table, rows = subset(table, keep), rows.take(keep)
    ids = deal_ids(table["Id"], field="Id", what=what, rows=rows)
    n = len(ids)
    probability = (parse_probability(table["Probability"], scale="percent", ids=ids,
                                     field="Probability", rows=rows, fix=_PERCENT_FIX)
                   if "Probability" in table else np.full(n, np.nan))

    def dates(name: str) -> Any:
        return date_column(table, (name,), ids=ids, formats=formats, timezone=zone,
                           rows=rows)

    close_date, created = dates("CloseDate"), dates("CreatedDate")  # a deal's errors first
    process = _process(stages, table, probability, ids, rows, options)
    stage_names = np.asarray(table["StageName"], dtype=object)
    if stages is not None:
        check_flags(table, process, ids, rows)
    data: dict[str, Any] = {
        "id": ids,
        "stage": stage_names,
        "amount": table.get("Amount", np.full(n, None, dtype=object)),
        "close_date": close_date,
        "created": created,
        "probability": own_probability(probability, stage_names, process),
    }
    columns = {k: k for k in data}
    owner = first_present(table, ("Owner.Name", "OwnerId"))
    if owner:
        data["owner"] = table[owner]
        columns["owner"] = "owner"
    if "CurrencyIsoCode" in table and (currency is None or rates is not None):
        data["currency"] = table["CurrencyIsoCode"]
        columns["currency"] = "currency"
    for field, names in FIELDS.items():
        found = first_present(table, names)
        if found:
            data[field] = (forecast_category_labels(table[found], CATEGORY_NAMES)
                           if field == "forecast_category" else table[found])
            columns[field] = field
    events = None
    if history is not None:
        events = _history(history, set(ids.tolist()), formats, zone, options)
    return Pipeline.from_columns(
        data, process, columns=columns, currency=currency, history=events, timezone=zone,
        date_formats=formats, rates=rates, rate_date=rate_date,
        allow_close_before_created=allow_close_before_created,
    )


def _process(
    stages: object, table: Table, probability: Any, ids: Any, rows: Rows, options: Any
) -> tuple[Stage, ...]:
    if stages is None:
        return _infer_process(table, probability, ids, rows)
    if isinstance(stages, Sequence) and stages and all(isinstance(s, Stage) for s in stages):
        return tuple(stages)
    what = "read_salesforce(stages=...)"
    meta, at = load_table(stages, what=what, envelope=_ENVELOPE, drop=_DROP, **options)
    label = first_present(meta, ("MasterLabel", "ApiName", "StageName"))
    if label is None:
        raise DataError(f"{what}: OpportunityStage records need MasterLabel or ApiName")
    names = text_of(meta[label])
    n = len(names)
    active = (parse_flags(meta["IsActive"], field="IsActive", missing=True, ids=names, rows=at)
              if "IsActive" in meta else np.ones(n, bool))
    closed = parse_flags(column(meta, "IsClosed", what=what), field="IsClosed", ids=names,
                         rows=at)
    won = parse_flags(column(meta, "IsWon", what=what), field="IsWon", ids=names, rows=at)
    prob = parse_probability(column(meta, "DefaultProbability", what=what), scale="percent",
                             field="DefaultProbability", ids=names, rows=at,
                             fix=_PERCENT_FIX)
    order = (_sort_order(meta["SortOrder"], names, field="SortOrder", what=what)
             if "SortOrder" in meta else np.arange(n, dtype=float))
    order = np.where(np.isnan(order), np.inf, order)  # unnumbered stages after the numbered
    used = set(text_of(table["StageName"]).tolist())
    keep = [i for i in range(n) if active[i] or names[i] in used]
    return _ordered([(str(names[i]), float(np.nan_to_num(prob[i])),
                      _outcome(bool(closed[i]), bool(won[i])), float(order[i])) for i in keep])


def _sort_order(
    values: object, names: Any, *, field: str, what: str
) -> npt.NDArray[np.float64]:
    """Sort orders as numbers (NaN where missing); `DataError` naming the stage and value."""
    try:
        return to_float_array(values, field=field)
    except (DataError, DataTypeError):
        pass
    for name, value in zip(np.asarray(names).tolist(), to_numpy(values).tolist(), strict=True):
        try:
            if isinstance(value, bool):
                raise TypeError("a flag is no sort order")
            if not is_missing_value(value):
                float(value)
        except (TypeError, ValueError):
            raise DataError(f"{what}: stage {name!r}: {field} must be a number, got {value!r}"
                            ) from None
    raise AssertionError("unreachable: to_float_array failed on numbers")  # pragma: no cover


def _outcome(closed: bool, won: bool) -> Outcome:
    return Outcome.WON if won else Outcome.LOST if closed else Outcome.OPEN


def _infer_process(table: Table, probability: Any, ids: Any, rows: Rows) -> tuple[Stage, ...]:
    """The process from the opportunities themselves: each distinct ``StageName`` with the
    outcome of its ``IsClosed``/``IsWon`` flags (the same on every deal in it), its first
    ``StageSortOrder`` and its deals' most common ``Probability``; one pass over the deals."""
    text = text_of(table["StageName"])
    names, first, inverse = np.unique(text, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    check_spellings(names, first, ids, rows)
    lower = np.char.lower(names)
    closed = (parse_flags(table["IsClosed"], field="IsClosed", ids=ids, rows=rows)
              if "IsClosed" in table else np.char.startswith(lower, "closed")[inverse])
    won = (parse_flags(table["IsWon"], field="IsWon", ids=ids, rows=rows) if "IsWon" in table
           else (lower == "closed won")[inverse])
    codes = np.where(won, int(Outcome.WON), np.where(closed, int(Outcome.LOST),
                                                     int(Outcome.OPEN)))
    stage_code = codes[first]
    conflict = np.flatnonzero(codes != stage_code[inverse])
    if len(conflict):
        row = int(conflict[0])
        raise DataError(
            f"read_salesforce(): stage {str(text[row])!r} is "
            f"{Outcome(stage_code[inverse[row]]).name.lower()} on one deal and "
            f"{Outcome(codes[row]).name.lower()} on another (IsClosed/IsWon); pass stages=..."
        )
    if not (stage_code == int(Outcome.OPEN)).any():
        raise DataError("read_salesforce(): no open stage among the opportunities; pass "
                        "stages=... (OpportunityStage records or Stage objects)")
    order = (_sort_order(table["StageSortOrder"], text, field="StageSortOrder",
                         what="read_salesforce()")[first]
             if "StageSortOrder" in table else np.full(len(names), np.nan))
    known = np.bincount(inverse[~np.isnan(probability)], minlength=len(names)) > 0
    unknown = np.flatnonzero((stage_code == int(Outcome.OPEN)) & ~known)
    if len(unknown):
        listed = ", ".join(repr(str(names[k])) for k in unknown[:5])
        why = ("the opportunities have no Probability column" if "Probability" not in table
               else "no deal in it has a Probability")
        raise DataError(
            f"read_salesforce(): the probability of open stage{'s' * (len(unknown) > 1)} "
            f"{listed} is unknown ({why}), and every open deal's weighted amount would be 0; "
            f"pass stages=... (OpportunityStage records: MasterLabel, DefaultProbability, "
            f"IsClosed, IsWon, SortOrder; or Stage objects), or export the Probability field"
        )
    common = _most_common(inverse, probability, len(names))
    default = np.where(stage_code == int(Outcome.WON), 1.0,
                       np.where(stage_code == int(Outcome.OPEN), common, 0.0))
    rank = np.where(np.isnan(order), default * 100, order)
    return _ordered([(str(name), float(d), Outcome(int(c)), float(r)) for name, d, c, r in zip(
        names.tolist(), default.tolist(), stage_code.tolist(), rank.tolist(), strict=True)])


def _most_common(
    group: npt.NDArray[np.intp], values: npt.NDArray[np.float64], n_groups: int
) -> npt.NDArray[np.float64]:
    """Per group, the most common of its non-NaN ``values`` (the smallest where counts tie);
    0.0 for a group without one."""
    known = ~np.isnan(values)
    out = np.zeros(n_groups, dtype=np.float64)
    if not known.any():
        return out
    pairs, counts = np.unique(np.stack([group[known].astype(np.float64), values[known]]),
                              axis=1, return_counts=True)
    best = np.lexsort((-counts, pairs[0]))  # by group, most frequent first, stable in value
    groups = pairs[0][best]
    head = np.r_[True, groups[1:] != groups[:-1]]
    out[groups[head].astype(np.intp)] = pairs[1][best][head]
    return out


def _ordered(rows: list[tuple[str, float, Outcome, float]]) -> tuple[Stage, ...]:
    """Open stages in sort order, then won, then the other closed ones; by name where the
    sort orders tie."""
    return ordered_process(sorted(rows, key=lambda r: r[0]))


def _history(
    history: object, loaded: set[str], formats: Formats, zone: dt.tzinfo | None,
    options: Any,
) -> dict[str, Any]:
    what = "read_salesforce(history=...)"
    table, rows = load_table(history, what=what, envelope=_ENVELOPE, drop=_DROP, **options)
    ids = text_of(column(table, "OpportunityId", what=what))
    keep = np.isin(ids, np.array(sorted(loaded), dtype=str))  # rows of deals not loaded: left out
    if "IsDeleted" in table:
        keep &= ~parse_flags(table["IsDeleted"], field="IsDeleted", rows=rows)
    stage = np.asarray(column(table, "StageName", what=what), dtype=object)
    dates = parse_dates(column(table, "CreatedDate", what=what), field="history CreatedDate",
                        formats=formats, timezone=zone, rows=rows)
    return {"id": ids[keep], "stage": stage[keep], "date": dates[keep]}


def read_salesforce_rates(
    records_or_csv: object, *, corporate: str | None = None,
    encoding: str = DEFAULT_ENCODING, delimiter: str = ",",
) -> ExchangeRates:
    """Read Salesforce's dated exchange rates (advanced currency management) into
    `ExchangeRates`, for ``rates=`` of `read_salesforce`.

    Parameters
    ----------
    records_or_csv
        ``DatedConversionRate`` records: a CSV export (Data Loader, Data Export), the REST API's
        records or a query response (``{"records": [...]}``), e.g. from ``SELECT IsoCode,
        StartDate, NextStartDate, ConversionRate FROM DatedConversionRate``.
    corporate
        The corporate currency. Default: the one currency whose every ``ConversionRate`` is 1
        (Salesforce keeps the corporate currency's rate at 1).
    encoding, delimiter
        Of a CSV file.

    Returns
    -------
    ExchangeRates
        ``ConversionRate`` (units of ``IsoCode`` per one unit of the corporate currency, as
        written: ``0.92`` is 92/100) from ``StartDate``, holding until the next ``StartDate``
        of the currency, which Salesforce also writes as ``NextStartDate``.

    Raises
    ------
    DataError
        A column is missing, the corporate currency cannot be told (pass ``corporate=``), or
        a ``NextStartDate`` is not the next ``StartDate`` of its currency (a gap or an overlap:
        export every row of the currency), is not after its ``StartDate``, or ends the latest
        rate of a currency on a day other than 9999-12-31 (rows left out of the export).

    Examples
    --------
    >>> from salesmetrics.io import read_salesforce_rates
    >>> rates = read_salesforce_rates([
    ...     {"IsoCode": "USD", "StartDate": "0001-01-01", "NextStartDate": "9999-12-31",
    ...      "ConversionRate": 1.0},
    ...     {"IsoCode": "EUR", "StartDate": "0001-01-01", "NextStartDate": "2024-02-15",
    ...      "ConversionRate": 0.92},
    ...     {"IsoCode": "EUR", "StartDate": "2024-02-15", "NextStartDate": "9999-12-31",
    ...      "ConversionRate": 0.95}])
    >>> rates, rates.rate("EUR", "2024-03-01")
    (ExchangeRates(to USD: EUR 2 rates), Decimal('0.95'))
    """
    what = "read_salesforce_rates()"
    table, rows = load_table(records_or_csv, what=what, envelope=_ENVELOPE, drop=_DROP,
                             encoding=encoding, delimiter=delimiter)
    for name in ("IsoCode", "StartDate", "ConversionRate"):
        column(table, name, what=what)
    codes = np.char.upper(np.char.strip(text_of(table["IsoCode"])))
    start = parse_dates(table["StartDate"], field="StartDate", rows=rows)
    if corporate is None:
        corporate = _corporate_currency(codes, to_float_array(table["ConversionRate"],
                                                              field="ConversionRate"))
    if "NextStartDate" in table:
        following = parse_dates(table["NextStartDate"], field="NextStartDate", rows=rows)
        order = np.lexsort((start, codes))
        code, begin, end = codes[order], start[order], following[order]
        ends = ~np.isnat(end)
        backwards = ends & (end <= begin)
        if backwards.any():
            k = int(np.flatnonzero(backwards)[0])
            raise DataError(
                f"{what}: {code[k]}: the rate from {begin[k]} ends on {end[k]} (NextStartDate), "
                "not after it starts; NextStartDate must be later than StartDate")
        last = np.append(code[1:] != code[:-1], True)  # each currency's latest rate
        cut = last & ends & (end != _OPEN_END)
        if cut.any():
            k = int(np.flatnonzero(cut)[0])
            raise DataError(
                f"{what}: {code[k]}: its latest rate, from {begin[k]}, ends on {end[k]} "
                f"(NextStartDate) and no rate follows, so a deal after that day would be "
                f"converted at a rate that had ended; Salesforce writes {_OPEN_END} for the "
                "rate in force: export every DatedConversionRate row of the currency")
        bad = (code[1:] == code[:-1]) & ends[:-1] & (end[:-1] != begin[1:])
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{what}: {code[k]}: the rate from {begin[k]} holds until {end[k]} "
                f"(NextStartDate), but the next one starts on {begin[k + 1]}; a gap or an "
                "overlap: export every DatedConversionRate row of the currency")
    return ExchangeRates.from_columns(
        {"currency": codes, "start_date": start, "rate": to_numpy(table["ConversionRate"])},
        corporate=corporate)


#: The NextStartDate Salesforce writes for the rate in force (no later rate yet).
_OPEN_END = np.datetime64("9999-12-31", "D")


def _corporate_currency(codes: npt.NDArray[np.str_], rate: npt.NDArray[np.float64]) -> str:
    """The one currency whose every rate is 1; `DataError` if there is not exactly one."""
    names, inverse = np.unique(codes, return_inverse=True)
    not_one = np.bincount(inverse.ravel(), weights=(rate != 1.0), minlength=len(names))
    found = names[not_one == 0].tolist()
    if len(found) != 1:
        seen = "none" if not found else ", ".join(found)
        raise DataError(
            "read_salesforce_rates(): cannot tell the corporate currency (the one whose every "
            f"ConversionRate is 1; found {seen}); pass corporate='USD'")
    return str(found[0])
