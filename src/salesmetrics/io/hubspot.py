"""HubSpot: deals (CRM API objects or an export), pipeline definitions, stage-entry dates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from salesmetrics.domain.dates import to_zone
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Outcome, Stage
from salesmetrics.errors import DataError, DataTypeError, UnknownStageError, choices
from salesmetrics.io._tables import (
    Table,
    date_column,
    first_present,
    load_table,
    parse_dates,
    parse_flags,
    parse_probability,
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
    "deal_type": ("dealtype", "Deal Type"),
}
_ENTERED = "hs_date_entered_"
_EXPORT_ENTERED = re.compile(r'^Date entered "(.+) \((.+)\)"$')


def _find(table: Table, key: str) -> str | None:
    return first_present(table, _ALIASES[key])


def read_hubspot(
    deals: object,
    *,
    pipelines: object = None,
    pipeline: str | None = None,
    currency: str | None = None,
    timezone: str | dt.tzinfo | None = None,
    date_formats: Sequence[str] = (),
) -> Pipeline:
    """Build a `Pipeline` from HubSpot deals.

    Parameters
    ----------
    deals
        The CRM API's deal objects (a list, or a response ``{"results": [...]}``; each object's
        ``properties`` are read), or a deals export (CSV path) with HubSpot's column headers.
    pipelines
        The pipelines API's response (``{"results": [pipeline, ...]}``), a list of pipelines or
        one pipeline: each with ``id``, ``label`` and ``stages`` (``id``, ``label``,
        ``displayOrder``, ``metadata.probability`` as a 0–1 string, ``metadata.isClosed``).
        Default: HubSpot's default Sales Pipeline (`HUBSPOT_DEFAULT_PIPELINE`).
    pipeline
        Id or label of the pipeline to read, when the deals span several.
    currency
        ISO code of the amounts; by default ``deal_currency_code`` (one currency only) or none.
    timezone
        Time zone whose calendar dates the timestamps become (default UTC, HubSpot's).
    date_formats
        ``strptime`` formats for dates that are neither ISO nor epoch milliseconds.

    Returns
    -------
    Pipeline
        Stages named by their labels, in display order; fields ``owner`` and ``deal_type`` where
        present; the stage history from the ``hs_date_entered_<stage id>`` properties (in an
        export, the ``Date entered "<stage> (<pipeline>)"`` columns).

    Notes
    -----
    Mapped: ``dealstage`` (a stage id, or its label in an export) → stage, ``amount`` → amount,
    ``closedate`` → close date, ``createdate`` → created, ``hubspot_owner_id`` → owner,
    ``deal_currency_code`` → currency, ``hs_forecast_probability`` (0–1) → the deal's own
    probability where it differs from its stage's. ``hs_deal_stage_probability`` (0–1) gives the
    probability of stages the pipeline definitions do not cover. A closed stage with probability 1
    is won, any other closed stage lost. Other properties are ignored. Deals closed before they
    were created load; cycle metrics leave them out and say how many.

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
    table = load_table(deals, what=what, envelope=("results",), merge=("properties",),
                       drop=("associations",))
    id_col, stage_col = _find(table, "id"), _find(table, "stage")
    if id_col is None or stage_col is None:
        raise DataError(f"{what}: deals need an id and a dealstage; columns are "
                        f"{choices(sorted(table)[:40])}")
    defs = _pipelines(pipelines)
    chosen = _choose(defs, table, pipeline)
    if chosen is not None:
        keep = _in_pipeline(table, chosen)
        table = {k: np.asarray(v, dtype=object)[keep] for k, v in table.items()}
    definition = chosen if chosen is not None else defs[0]
    process, by_key = _stages(definition, table)
    ids = np.asarray(table[id_col]).astype(str)
    n = len(ids)
    raw_stage = np.asarray(table[stage_col], dtype=object)
    stage = np.array([by_key.get(str(s).strip(), str(s)) for s in raw_stage.tolist()], object)

    def dates(key: str) -> Any:
        return date_column(table, _ALIASES[key], ids=ids, formats=date_formats, timezone=zone)

    data: dict[str, Any] = {
        "id": ids, "stage": stage, "close_date": dates("close_date"), "created": dates("created"),
    }
    amount = _find(table, "amount")
    data["amount"] = table[amount] if amount else np.full(n, None, dtype=object)
    forecast = _find(table, "forecast_probability")
    if forecast:
        probs = parse_probability(table[forecast], scale="fraction", ids=ids)
        default = {s.name: s.probability for s in process}
        stage_default = np.array([default.get(str(s), np.nan) for s in stage.tolist()])
        data["probability"] = np.where(np.isclose(probs, stage_default), np.nan, probs)
    columns = {k: k for k in data}
    for key in ("owner", "deal_type"):
        found = _find(table, key)
        if found:
            data[key] = table[found]
            columns[key] = key
    currency_col = _find(table, "currency")
    if currency_col and currency is None:
        data["currency"] = table[currency_col]
        columns["currency"] = "currency"
    history = _history(table, ids, by_key, str(definition.get("label", "")), date_formats, zone)
    try:
        return Pipeline.from_columns(
            data, process, columns=columns, currency=currency, history=history, timezone=zone,
            allow_close_before_created=True,
        )
    except UnknownStageError as error:
        raise UnknownStageError(
            f"{error}; pass pipelines=... with the pipelines API's stage definitions"
        ) from None


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
            "read_hubspot(): pipelines must be the pipelines API response, a list of pipelines "
            "or one pipeline, each with 'id', 'label' and 'stages'"
        )
    return list(pipelines)


def _choose(
    defs: list[Mapping[str, Any]], table: Table, wanted: str | None
) -> Mapping[str, Any] | None:
    names = {str(d.get("id")): d for d in defs} | {str(d.get("label")): d for d in defs}
    if wanted is not None:
        if wanted not in names:
            raise DataError(f"read_hubspot(): pipeline {wanted!r} is not among "
                            f"{choices(sorted(names))}")
        return names[wanted]
    col = _find(table, "pipeline")
    present = ({str(v) for v in np.asarray(table[col], dtype=object).tolist() if v}
               if col else set())
    if len(present) > 1:
        raise DataError(
            f"read_hubspot(): the deals are in several pipelines ({', '.join(sorted(present))}); "
            "choose one with pipeline=..."
        )
    if present:
        return names.get(present.pop(), defs[0] if len(defs) == 1 else None)
    return None


def _in_pipeline(table: Table, chosen: Mapping[str, Any]) -> Any:
    col = _find(table, "pipeline")
    if col is None:
        return np.ones(len(next(iter(table.values()))), bool)
    keys = {str(chosen.get("id")), str(chosen.get("label"))}
    return np.array([str(v) in keys for v in np.asarray(table[col], dtype=object).tolist()])


def _stages(
    definition: Mapping[str, Any], table: Table
) -> tuple[tuple[Stage, ...], dict[str, str]]:
    """The process from a pipeline definition (labels as names) and a map id/label → name."""
    rows = []
    by_key: dict[str, str] = {}
    for order, stage in enumerate(definition["stages"]):
        meta = stage.get("metadata", {}) or {}
        label = str(stage.get("label") or stage.get("id"))
        prob = parse_probability([meta.get("probability", 0)], scale="fraction",
                                 field=f"stage {label!r} probability")[0]
        closed = bool(parse_flags([meta.get("isClosed", False)], field="isClosed")[0])
        outcome = (Outcome.WON if closed and prob >= 1 else Outcome.LOST if closed
                   else Outcome.OPEN)
        rows.append((label, 0.0 if np.isnan(prob) else float(prob), outcome,
                     float(stage.get("displayOrder", order))))
        by_key[str(stage.get("id"))] = label
        by_key[label] = label
    rank = {Outcome.OPEN: 0, Outcome.WON: 1, Outcome.LOST: 2, Outcome.NO_DECISION: 3}
    rows.sort(key=lambda r: (rank[r[2]], r[3]))
    return tuple(Stage(name, prob, outcome) for name, prob, outcome, _ in rows), by_key


def _history(
    table: Table, ids: Any, by_key: dict[str, str], pipeline_label: str, formats: Sequence[str],
    zone: dt.tzinfo | None,
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
        days = parse_dates(table[name], field=name, ids=ids, formats=formats, timezone=zone)
        rows = np.flatnonzero(~np.isnat(days))
        out["id"].extend(ids[rows].tolist())
        out["stage"].extend([label] * len(rows))
        out["date"].extend(days[rows].tolist())
    return out if out["id"] else None
