"""Any other CRM: a CSV export or API records with a column mapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from salesmetrics.domain.columns import to_numpy
from salesmetrics.domain.dates import DateFormats, check_date_formats, to_zone
from salesmetrics.domain.exchange_rates import ExchangeRates, RateDate
from salesmetrics.domain.pipeline import DEAL_ATTRIBUTES, Pipeline
from salesmetrics.domain.stage import DEFAULT_STAGES, Stage
from salesmetrics.errors import check_option
from salesmetrics.io._tables import (
    DEFAULT_ENCODING,
    load_table,
    parse_dates,
    parse_probability,
)

__all__ = ["read_records"]


def read_records(
    source: object,
    stages: Sequence[Stage] = DEFAULT_STAGES,
    *,
    columns: Mapping[str, str] | None = None,
    probability_scale: str = "fraction",
    envelope: Sequence[str] = ("records", "results", "data", "items"),
    history: object = None,
    history_columns: Mapping[str, str] | None = None,
    currency: str | None = None,
    timezone: str | dt.tzinfo | None = None,
    encoding: str = DEFAULT_ENCODING,
    delimiter: str = ",",
    date_formats: DateFormats = None,
    rates: ExchangeRates | None = None,
    rate_date: RateDate = "close_date",
    allow_close_before_created: bool = False,
) -> Pipeline:
    """Build a `Pipeline` from any CRM's deals, with a column mapping.

    Parameters
    ----------
    source
        A CSV export (path), a list of record dicts (nested dicts become ``key.subkey``
        columns), an API response holding the records under one of ``envelope``, or a mapping
        of columns.
    stages
        The sales process (default `DEFAULT_STAGES`).
    columns
        Deal attribute → column name, as in `from_columns`; other keys become
        label fields to group by.
    probability_scale
        ``"fraction"`` (0–1, the default; HubSpot) or ``"percent"`` (0–100; Salesforce,
        Pipedrive, most exports). A value outside the scale is an error that names it, and
        so is a ``"percent"`` column of fractions (every value at most 1, not all 0 or 1:
        ``0.6`` would be 0.6 %); values below 1 among larger ones (``50`` and ``0.5``) are a
        `DataQualityWarning`.
    envelope
        Keys under which an API response holds its records.
    history, history_columns
        Stage history (``id``, ``stage``, ``date``) as a CSV path, records or columns, with
        its own column mapping.
    currency, timezone
        As in `Pipeline.from_columns`.
    encoding, delimiter
        Of a CSV export (default UTF-8, with or without a byte-order mark, and ``","``; e.g.
        ``encoding="cp1252", delimiter=";"`` for a Windows export in a European locale). A file
        in another encoding is a `DataError` naming the file and line.
    date_formats
        How to read dates that are neither ISO nor epoch milliseconds: ``strptime`` formats,
        e.g. ``["%m/%d/%Y", "%d.%m.%Y"]`` (each date column is read with the first that reads
        all its dates), or ``"dateutil"``; as in `Pipeline.from_columns`.
    rates, rate_date
        `ExchangeRates` to convert deals in several currencies (the mapped ``currency``
        column) to one corporate currency, with the rate on each deal's close date
        (``rate_date="close_date"``, the default; an open deal's expected close date) or
        created date (``"created"``); as in `Pipeline.from_columns`.
    allow_close_before_created
        As in `Pipeline.from_columns`: load deals closed before they were created (cycle
        metrics leave them out and say how many) instead of raising.

    Examples
    --------
    >>> from salesmetrics.io import read_records
    >>> p = read_records(
    ...     {"items": [{"key": "A", "phase": "Proposal", "worth": "1200.50", "p": 45,
    ...                 "due": "03/31/2024", "rep": {"name": "ana"}}]},
    ...     columns={"id": "key", "stage": "phase", "amount": "worth", "probability": "p",
    ...              "close_date": "due", "owner": "rep.name"},
    ...     probability_scale="percent", date_formats=["%m/%d/%Y"])
    >>> deal = p.deal("A")
    >>> deal.amount, deal.probability, deal.close_date, deal.owner
    (1200.5, 0.45, datetime.date(2024, 3, 31), 'ana')
    """
    check_option("read_records", "probability_scale", probability_scale, ("percent", "fraction"))
    zone = to_zone(timezone)
    formats = check_date_formats(date_formats)
    options = {"delimiter": delimiter, "encoding": encoding}
    table, rows = load_table(source, what="read_records()", envelope=envelope, **options)
    mapping = {k: k for k in DEAL_ATTRIBUTES if k in table} | dict(columns or {})
    data: dict[str, Any] = {}
    ids = to_numpy(table[mapping["id"]]) if mapping.get("id") in table else None
    for attribute, name in mapping.items():
        if name not in table:
            data[attribute] = None  # from_columns names the missing column
            continue
        values = table[name]
        if attribute == "probability":
            values = parse_probability(values, scale=probability_scale, field=name, ids=ids,
                                       rows=rows)
        elif attribute in ("created", "close_date"):
            values = parse_dates(values, field=name, ids=ids, formats=formats,
                                 timezone=zone, epoch_ms=True, rows=rows)
        data[attribute] = values
    missing = [a for a, v in data.items() if v is None]
    for attribute in missing:
        del data[attribute]
    events = None
    if history is not None:
        hist, hist_rows = load_table(history, what="read_records(history=...)", envelope=envelope,
                          **options)
        names = {"id": "id", "stage": "stage", "date": "date"} | dict(history_columns or {})
        events = {key: hist.get(name, []) for key, name in names.items()}
        if names["date"] in hist:
            events["date"] = parse_dates(hist[names["date"]], field="history date",
                                         formats=formats, timezone=zone, epoch_ms=True,
                                         rows=hist_rows)
    return Pipeline.from_columns(
        data, stages,
        columns={a: a for a in data} | {a: mapping[a] for a in missing},
        currency=currency, history=events, timezone=zone, date_formats=formats,
        rates=rates, rate_date=rate_date,
        allow_close_before_created=allow_close_before_created,
    )
