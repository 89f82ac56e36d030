"""HubSpot: deals (CRM API objects or an export), pipeline definitions, stage-entry dates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import is_missing_value, to_numpy
from salesmetrics.domain.dates import DateFormats, Formats, check_date_formats, to_zone
from salesmetrics.domain.exchange_rates import ExchangeRates, RateDate
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Outcome, Stage, forecast_category_labels
from salesmetrics.errors import (
    DataError,
    DataTypeError,
    OptionError,
    UnknownStageError,
    choices,
)
from salesmetrics.io._tables import (
    DEFAULT_ENCODING,
    Rows,
    Table,
    date_column,
    deal_ids,
    first_present,
    load_table,
    ordered_process,
    own_probability,
    parse_dates,
    parse_flags,
    parse_probability,
    stage_history,
    subset,
    text_of,
)

__all__ = ["HUBSPOT_DEFAULT_PIPELINE", "read_hubspot"]

#: HubSpot's default "Sales Pipeline": (stage id, label, probability, closed).
HUBSPOT_DEFAULT_PIPELINE = {
    "id": "default",
    "label": "Sales Pipeline",
    "stages": [
        {"id": sid, "label": label, "displayOrder": order,
         "metadata": {"probability": str(prob), "isClosed": str(closed).lower()}}
        for order, (sid, label, prob, closed) in enumerate([
            ("appointmentscheduled", "Appointment Scheduled", 0.2, False),
            ("qualifiedtobuy", "Qualified To Buy", 0.4, False),
            ("presentationscheduled", "Presentation Scheduled", 0.6, False),
            ("decisionmakerboughtin", "Decision Maker Bought-In", 0.8, False),
            ("contractsent", "Contract Sent", 0.9, False),
            ("closedwon", "Closed Won", 1.0, True),
            ("closedlost", "Closed Lost", 0.0, True),
        ])
    ],
}

# Property name (API) first, then the column header of a HubSpot export.
_ALIASES = {
    "id": ("hs_object_id", "id", "Record ID"),
    "stage": ("dealstage", "Deal Stage"),
    "amount": ("amount", "Amount"),
    "close_date": ("closedate", "Close Date"),
    "created": ("createdate", "createdAt", "Create Date"),
    "pipeline": ("pipeline", "Pipeline"),
    "owner": ("hubspot_owner_id", "Deal owner", "Deal Owner"),
    "currency": ("deal_currency_code", "Currency"),
    "forecast_probability": ("hs_forecast_probability", "Forecast probability"),
    "stage_probability": ("hs_deal_stage_probability",),
    "deal_type": ("dealtype", "Deal Type"),
    "forecast_category": ("hs_forecast_category", "hs_manual_forecast_category",
                          "Forecast category"),
}
#: ``hs_forecast_category`` values → the Salesforce names that `forecast_rollup` reads.
CATEGORY_NAMES = {"PIPELINE": "Pipeline", "BEST_CASE": "Best Case", "COMMIT": "Commit",
                  "CLOSED": "Closed", "OMIT": "Omitted"}
#: What to do when a probability holds percents (read_hubspot has no probability_scale=).
_FRACTION_FIX = ("read_hubspot reads probabilities as fractions, as HubSpot's API writes them "
                 "(0.6 for 60 %): divide the column by 100 before loading")
_ENTERED = "hs_date_entered_"
_EXPORT_ENTERED = re.compile(r'^Date entered "(.+) \((.+)\)"$')


def _find(table: Table, key: str) -> str | None:
    return first_present(table, _ALIASES[key])


def read_hubspot(
    deals: object,
    stages: object = None,
    *,
    pipeline: str | None = None,
    history: object = None,
    currency: str | None = None,
    timezone: str | dt.tzinfo | None = None,
    encoding: str = DEFAULT_ENCODING,
    delimiter: str = ",",
    date_formats: DateFormats = None,
    rates: ExchangeRates | None = None,
    rate_date: RateDate = "close_date",
    allow_close_before_created: bool = False,
    pipelines: object = None,
) -> Pipeline:
    """Build a `Pipeline` from HubSpot deals.

    Parameters
    ----------
    deals
        The CRM API's deal objects (a list, or a response ``{"results": [...]}``; each object's
        ``properties`` are read), or a deals export (CSV path) with HubSpot's column headers.
    stages
        The sales process: the pipelines API's response (``{"results": [pipeline, ...]}``), a
        list of pipelines or one pipeline, each with ``id``, ``label`` and ``stages`` (``id``,
        ``label``, ``displayOrder``, ``metadata.probability`` as a 0–1 string,
        ``metadata.isClosed``); or a sequence of `Stage` named as the deals' ``dealstage``
        values. Default: HubSpot's default Sales Pipeline (`HUBSPOT_DEFAULT_PIPELINE`).
    pipeline
        Id or label of the pipeline to read, when the deals span several. A deal without a
        ``pipeline`` is in HubSpot's ``default`` pipeline, as in HubSpot.
    history
        More stage history than the ``hs_date_entered_*`` properties hold: a CSV path, records
        or columns ``id`` (the deal's), ``stage`` (a stage id or label) and ``date`` (ISO or
        epoch milliseconds), one row per stage entered. Rows of deals not loaded are left out.
    currency
        ISO code of the amounts; by default ``deal_currency_code`` (one currency only, unless
        ``rates`` converts them; then ``currency`` is that of deals without one) or none.
    timezone
        Time zone whose calendar dates the timestamps become (default UTC, HubSpot's).
    encoding, delimiter
        Of a deals export (default UTF-8, with or without a byte-order mark, and ``","``). A
        file in another encoding is a `DataError` naming the file and line.
    date_formats
        How to read dates that are neither ISO nor epoch milliseconds: ``strptime`` formats
        (each date column is read with the first that reads all its dates), or
        ``"dateutil"``; as in `Pipeline.from_columns`.
    rates, rate_date
        `ExchangeRates` to convert deals in several currencies (``deal_currency_code``) to one
        corporate currency, with the rate on each deal's close date (``rate_date="close_date"``, the
        default; an open deal's expected close date) or created date (``"created"``); as in
        `Pipeline.from_columns`.
    allow_close_before_created
        Load deals closed before they were created instead of raising; cycle metrics leave them
        out and say how many. As in `Pipeline.from_columns`.
    pipelines
        The former name of ``stages`` (the pipeline definitions), still accepted.

    Returns
    -------
    Pipeline
        Stages named by their labels, in display order; fields ``owner``, ``deal_type`` and
        ``forecast_category`` (``hs_forecast_category``: ``COMMIT``, ``BEST_CASE``,
        ``PIPELINE``, ``OMIT``, ``CLOSED`` as Commit, Best Case, Pipeline, Omitted, Closed, the
        names `forecast_rollup` reads) where present; the stage history from the
        ``hs_date_entered_<stage id>`` properties (in an export, the
        ``Date entered "<stage> (<pipeline>)"`` columns).

    Notes
    -----
    Mapped: ``hs_object_id`` (else the object's ``id``) → id, ``dealstage`` (a stage id, or its
    label in an export) → stage, ``amount`` → amount, ``closedate`` → close date,
    ``createdate`` → created, ``hubspot_owner_id`` → owner, ``deal_currency_code`` →
    currency. The deal's own probability, where it differs from its stage's, is its
    ``hs_forecast_probability`` (0–1), else its ``hs_deal_stage_probability`` (0–1).
    A stage whose definition has no ``metadata.probability`` takes the most common
    ``hs_deal_stage_probability`` of its deals. A closed stage (``isClosed``) with probability
    1 is won, with probability 0 lost; any other closed stage, or one with no probability at
    all, is an error (never silently lost). Dates are ISO timestamps or epoch milliseconds
    (``"1677110400000"``, what the API sends), in every date property including
    ``hs_date_entered_*``. Archived deals (the API's ``"archived": true``: deleted in HubSpot)
    are left out, as the Salesforce and Pipedrive readers leave deleted records out. A deal
    without an id is an error. Other properties are ignored.

    Examples
    --------
    >>> from salesmetrics.io import read_hubspot
    >>> import salesmetrics as sm
    >>> p = read_hubspot({"results": [
    ...     {"id": "1", "properties": {"dealstage": "contractsent", "amount": "1000",
    ...      "createdate": "2024-01-02T09:00:00.000Z", "closedate": "2024-03-01T00:00:00Z"}},
    ...     {"id": "2", "properties": {"dealstage": "closedwon", "amount": "500",
    ...      "createdate": "2024-01-03T09:00:00.000Z", "closedate": "2024-02-01T00:00:00Z",
    ...      "hs_date_entered_contractsent": "2024-01-20T00:00:00Z"}}]})
    >>> sm.weighted_pipeline(p), sm.win_rate(p)
    (900.0, 1.0)
    """
    what = "read_hubspot()"
    zone = to_zone(timezone)
    formats = check_date_formats(date_formats)
    if pipelines is not None:
        if stages is not None:
            raise OptionError(f"{what}: give the pipeline definitions once, as stages=... "
                              "(pipelines= is its former name)")
        stages = pipelines
    table, rows = load_table(deals, what=what, envelope=("results",), merge=("properties",),
                             drop=("associations",), encoding=encoding, delimiter=delimiter)
    stage_col = _find(table, "stage")
    if _find(table, "id") is None or stage_col is None:
        raise DataError(f"{what}: deals need an id and a dealstage; columns are "
                        f"{choices(sorted(table)[:40])}")
    if "archived" in table:  # archived (deleted) deals are left out, as HubSpot lists them
        live = ~parse_flags(table["archived"], field="archived", rows=rows)
        table, rows = subset(table, live), rows.take(live)
    given = _given_stages(stages)
    definitions = [_definition(given)] if given else _pipelines(stages)
    definition, keep = _choose(definitions, table, pipeline)
    if keep is not None:
        table, rows = subset(table, keep), rows.take(keep)
    ids = _ids(table, rows, what)
    n = len(ids)
    by_key = _stage_keys(definition)
    stage = _stage_names(table[stage_col], by_key)

    def probability(key: str) -> Any:
        name = _find(table, key)
        return (None if name is None else
                parse_probability(table[name], scale="fraction", field=name, ids=ids, rows=rows,
                                  fix=_FRACTION_FIX))

    forecast, stage_prob = probability("forecast_probability"), probability("stage_probability")
    process = given or _stages(definition, stage, stage_prob)

    def dates(key: str) -> Any:
        return date_column(table, _ALIASES[key], ids=ids, formats=formats, timezone=zone,
                           epoch_ms=True, rows=rows)

    data: dict[str, Any] = {
        "id": ids, "stage": stage, "close_date": dates("close_date"), "created": dates("created"),
    }
    amount = _find(table, "amount")
    data["amount"] = table[amount] if amount else np.full(n, None, dtype=object)
    if forecast is not None or stage_prob is not None:
        own = stage_prob if forecast is None else forecast
        if forecast is not None and stage_prob is not None:
            own = np.where(np.isnan(forecast), stage_prob, forecast)
        data["probability"] = own_probability(own, stage, process)
    columns = {k: k for k in data}
    for key in ("owner", "deal_type", "forecast_category"):
        found = _find(table, key)
        if found:
            data[key] = (forecast_category_labels(table[found], CATEGORY_NAMES)
                         if key == "forecast_category" else table[found])
            columns[key] = key
    currency_col = _find(table, "currency")
    if currency_col and (currency is None or rates is not None):
        data["currency"] = table[currency_col]
        columns["currency"] = "currency"
    events = _history(table, ids, by_key, str(definition.get("label", "")), formats, zone,
                      rows)
    if history is not None:
        given_events = stage_history(
            history, what="read_hubspot(history=...)", loaded=ids, envelope=("results",),
            formats=formats, timezone=zone, epoch_ms=True, delimiter=delimiter,
            encoding=encoding)
        given_events["stage"] = _stage_names(given_events["stage"], by_key)
        events = given_events if events is None else {
            key: [*events[key], *given_events[key].tolist()] for key in events}
    try:
        return Pipeline.from_columns(
            data, process, columns=columns, currency=currency, history=events, timezone=zone,
            date_formats=formats, rates=rates, rate_date=rate_date,
            allow_close_before_created=allow_close_before_created,
        )
    except UnknownStageError as error:
        raise UnknownStageError(
            f"{error}; pass stages=... with the pipelines API's stage definitions"
        ) from None


def _given_stages(stages: object) -> tuple[Stage, ...] | None:
    """``stages`` as the process itself, when it is a sequence of `Stage`."""
    if isinstance(stages, Sequence) and stages and all(isinstance(s, Stage) for s in stages):
        return tuple(s for s in stages if isinstance(s, Stage))
    return None


def _definition(stages: tuple[Stage, ...]) -> Mapping[str, Any]:
    """One pipeline whose stages are the `Stage` objects given, named (id and label) as they
    are."""
    return {"id": "default", "label": "", "stages": [
        {"id": s.name, "label": s.name, "displayOrder": k} for k, s in enumerate(stages)]}


def _pipelines(pipelines: object) -> list[Mapping[str, Any]]:
    if pipelines is None:
        return [HUBSPOT_DEFAULT_PIPELINE]
    if isinstance(pipelines, Mapping):
        if "results" in pipelines:
            pipelines = pipelines["results"]
        elif "stages" in pipelines:
            pipelines = [pipelines]
    if not isinstance(pipelines, Sequence) or isinstance(pipelines, (str, bytes)) or not all(
        isinstance(p, Mapping) and "stages" in p for p in pipelines
    ) or not pipelines:
        raise DataTypeError(
            "read_hubspot(): stages must be the pipelines API response, a list of pipelines "
            "or one pipeline, each with 'id', 'label' and 'stages', or a sequence of Stage"
        )
    return list(pipelines)


def _choose(
    defs: list[Mapping[str, Any]], table: Table, wanted: str | None
) -> tuple[Mapping[str, Any], npt.NDArray[np.bool_] | None]:
    """The pipeline definition to read, and which deals are in it (None: all of them).

    A deal whose ``pipeline`` is empty is in HubSpot's ``default`` pipeline; deals name their
    pipeline by id (API) or label (export)."""
    names = {str(d.get("label")): d for d in defs} | {str(d.get("id")): d for d in defs}
    col = _find(table, "pipeline")
    pipes = None
    if col is not None:
        raw = to_numpy(table[col])
        values, inverse = np.unique(
            np.array(["" if is_missing_value(v) else str(v).strip() for v in raw.tolist()],
                     dtype=object).astype(str), return_inverse=True)
        canonical = [str(names[v].get("id")) if v in names else v or "default"
                     for v in values.tolist()]
        pipes = np.array(canonical, dtype=object)[inverse.reshape(-1)]
    if wanted is not None:
        if wanted not in names:
            raise DataError(f"read_hubspot(): pipeline {wanted!r} is not among "
                            f"{choices(sorted(names))}")
        chosen = names[wanted]
        return chosen, None if pipes is None else pipes == str(chosen.get("id"))
    present = [] if pipes is None else sorted(set(pipes.tolist()))
    if len(present) > 1:
        raise DataError(
            f"read_hubspot(): the deals are in several pipelines ({', '.join(present)}); "
            "choose one with pipeline=..."
        )
    if present and present[0] in names:
        return names[present[0]], None
    if len(defs) == 1:
        return defs[0], None
    if not present:
        raise DataError(
            "read_hubspot(): the deals do not say their pipeline and several pipelines are "
            f"given; choose one with pipeline=... ({choices(sorted(names))})"
        )
    raise DataError(
        f"read_hubspot(): the deals' pipeline {present[0]!r} is not among the pipelines given "
        f"({choices(sorted(names))})"
    )


def _ids(table: Table, rows: Rows, what: str) -> npt.NDArray[np.str_]:
    """``hs_object_id``, else the object's top-level ``id`` (else an export's Record ID)."""
    present = [name for name in _ALIASES["id"] if name in table]
    values = to_numpy(table[present[0]]).astype(object)
    for other in present[1:]:
        missing = np.array([is_missing_value(v) for v in values.tolist()], dtype=bool)
        if not missing.any():
            break
        values[missing] = to_numpy(table[other]).astype(object)[missing]
    return deal_ids(values, field=f"deal id ({' or '.join(present)})", what=what, rows=rows)


def _stage_keys(definition: Mapping[str, Any]) -> dict[str, str]:
    """Stage id and label → the stage's name (its label)."""
    by_key: dict[str, str] = {}
    for stage in definition["stages"]:
        label = str(stage.get("label") or stage.get("id"))
        by_key[str(stage.get("id"))] = label
        by_key[label] = label
    return by_key


def _stage_names(values: object, by_key: dict[str, str]) -> npt.NDArray[Any]:
    """Each deal's stage (an id in the API, a label in an export) as its label; None if
    missing, unknown ids as given (the pipeline then names them)."""
    raw = to_numpy(values)
    missing = np.array([is_missing_value(v) for v in raw.tolist()], dtype=bool)
    keys, inverse = np.unique(text_of(np.where(missing, "", raw)), return_inverse=True)
    stripped = [key.strip() for key in keys.tolist()]
    named = np.array([by_key.get(key, key) for key in stripped], dtype=object)
    out = named[inverse.reshape(-1)]
    out[missing] = None
    return out


def _stages(
    definition: Mapping[str, Any], stage: npt.NDArray[Any],
    deal_probability: npt.NDArray[np.float64] | None,
) -> tuple[Stage, ...]:
    """The process from a pipeline definition: labels as names, in display order, open stages
    first. A stage without ``metadata.probability`` takes its deals' most common
    ``hs_deal_stage_probability``; a closed stage must be won (1) or lost (0)."""
    pipeline = str(definition.get("label") or definition.get("id"))
    rows = []
    for order, spec in enumerate(definition["stages"]):
        meta = spec.get("metadata", {}) or {}
        label = str(spec.get("label") or spec.get("id"))
        field = f"pipeline {pipeline!r} stage {label!r}"
        closed = bool(parse_flags([meta.get("isClosed")], field=f"{field} metadata.isClosed")[0])
        raw = meta.get("probability")
        prob = parse_probability([raw], scale="fraction", fix=_FRACTION_FIX,
                                 field=f"{field} metadata.probability")[0]
        if np.isnan(prob):
            prob = _deals_probability(stage, deal_probability, label)
        if closed and prob not in (0.0, 1.0):
            got = (f"metadata.probability {raw!r}" if not np.isnan(prob) and raw is not None
                   else f"hs_deal_stage_probability {prob!r}" if not np.isnan(prob)
                   else "no metadata.probability")
            raise DataError(
                f"read_hubspot(): {field} is closed (isClosed) but has {got}; a closed stage "
                "needs probability '1.0' (won) or '0.0' (lost) to tell which"
            )
        if np.isnan(prob):
            if (stage == label).any():
                raise DataError(
                    f"read_hubspot(): {field} has no metadata.probability and its deals no "
                    "hs_deal_stage_probability; give the pipelines API's stage definitions"
                )
            prob = 0.0  # no deal in it: no metric depends on it
        outcome = Outcome.WON if closed and prob == 1.0 else Outcome.LOST if closed \
            else Outcome.OPEN
        rows.append((label, float(prob), outcome, float(spec.get("displayOrder", order))))
    return ordered_process(rows)


def _deals_probability(
    stage: npt.NDArray[Any], deal_probability: npt.NDArray[np.float64] | None, label: str
) -> float:
    """The most common ``hs_deal_stage_probability`` of the deals in stage ``label`` (NaN if
    none has one)."""
    if deal_probability is None:
        return float("nan")
    known = deal_probability[(stage == label) & ~np.isnan(deal_probability)]
    if not len(known):
        return float("nan")
    values, counts = np.unique(known, return_counts=True)
    return float(values[np.argmax(counts)])


def _history(
    table: Table, ids: Any, by_key: dict[str, str], pipeline_label: str, formats: Formats,
    zone: dt.tzinfo | None, rows: Rows,
) -> dict[str, Any] | None:
    """Stage-entry dates: API properties ``hs_date_entered_<stage id>``, or export columns
    ``Date entered "<stage label> (<pipeline label>)"``; other pipelines' stages are skipped."""
    out: dict[str, list[Any]] = {"id": [], "stage": [], "date": []}
    for name in table:
        label = None
        if name.startswith(_ENTERED):
            label = by_key.get(name[len(_ENTERED):])
        else:
            match = _EXPORT_ENTERED.match(name)
            if match and match.group(2) == pipeline_label:
                label = by_key.get(match.group(1))
        if label is None:
            continue
        days = parse_dates(table[name], field=name, ids=ids, formats=formats, timezone=zone,
                           epoch_ms=True, rows=rows)
        entered = np.flatnonzero(~np.isnat(days))
        out["id"].extend(ids[entered].tolist())
        out["stage"].extend([label] * len(entered))
        out["date"].extend(days[entered].tolist())
    return out if out["id"] else None
