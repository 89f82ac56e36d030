"""Pipedrive: deals (API v1 records or an export) and the pipeline's stage definitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from salesmetrics.domain.dates import to_zone
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Outcome, Stage
from salesmetrics.errors import DataError, choices
from salesmetrics.io._tables import (
    Table,
    date_column,
    first_present,
    load_table,
    parse_flags,
    parse_probability,
)

__all__ = ["read_pipedrive"]

#: Names of the two closed stages that a Pipedrive process gets (Pipedrive closes deals by
#: status, not by stage).
WON_STAGE, LOST_STAGE = "Won", "Lost"

# API field first, then the column header of a Pipedrive export.
_ALIASES = {
    "id": ("id", "Deal - ID"),
    "value": ("value", "Deal - Value"),
    "currency": ("currency", "Deal - Currency of Value", "Deal - Currency"),
    "stage": ("stage_id", "Deal - Stage"),
    "status": ("status", "Deal - Status"),
    "add_time": ("add_time", "Deal - Deal created"),
    "won_time": ("won_time", "Deal - Won time"),
    "lost_time": ("lost_time", "Deal - Lost time"),
    "close_time": ("close_time", "Deal - Deal closed on"),
    "expected": ("expected_close_date", "Deal - Expected close date"),
    "probability": ("probability", "Deal - Probability"),
    "owner": ("user_id.name", "owner_name", "user_id", "Deal - Owner"),
    "pipeline": ("pipeline_id", "Deal - Pipeline"),
    "stage_change": ("stage_change_time", "Deal - Last stage change"),
}


def _find(table: Table, key: str) -> str | None:
    return first_present(table, _ALIASES[key])


def read_pipedrive(
    deals: object,
    *,
    stages: object,
    pipeline: int | str | None = None,
    currency: str | None = None,
    timezone: str | dt.tzinfo | None = None,
    date_formats: Sequence[str] = (),
) -> Pipeline:
    """Build a `Pipeline` from Pipedrive deals.

    Parameters
    ----------
    deals
        API v1 deal records (a list, or the response ``{"success": true, "data": [...]}``), or a
        deals export (CSV path) with Pipedrive's ``Deal - …`` column headers.
    stages
        The stage definitions: the ``/stages`` response or records (``id``, ``name``,
        ``order_nr``, ``deal_probability`` 0–100, ``pipeline_id``, ``active_flag``), or a
        sequence of open `Stage`. Pipedrive closes deals by status, so the
        process gets two closed stages, ``"Won"`` and ``"Lost"``, after the open ones.
    pipeline
        Id or name of the pipeline to read, when the deals span several.
    currency
        ISO code of the amounts; by default the deals' ``currency`` (one only) or none.
    timezone
        Time zone whose calendar dates the timestamps become (default UTC, Pipedrive's).
    date_formats
        ``strptime`` formats for dates that are not ISO.

    Returns
    -------
    Pipeline
        With field ``owner`` (``user_id``'s name, else its id); for closed deals, the stage they
        were in is kept as a history event, so conversion from each stage counts them there.

    Notes
    -----
    Mapped: ``value`` → amount, ``currency`` → currency, ``stage_id`` → stage (for open deals),
    ``status`` open/won/lost → outcome (``deleted`` deals are left out), ``add_time`` → created,
    ``won_time``/``lost_time`` (else ``close_time``) → close date of closed deals,
    ``expected_close_date`` → close date of open ones, ``probability`` (0–100, usually empty) →
    the deal's own probability, ``user_id`` → owner. Everything else is ignored.

    Examples
    --------
    >>> from salesmetrics.io import read_pipedrive
    >>> import salesmetrics as sm
    >>> stages = [{"id": 1, "name": "Qualified", "order_nr": 1, "deal_probability": 20},
    ...           {"id": 2, "name": "Proposal Made", "order_nr": 2, "deal_probability": 60}]
    >>> p = read_pipedrive({"success": True, "data": [
    ...     {"id": 7, "value": 1000, "currency": "EUR", "stage_id": 2, "status": "open",
    ...      "add_time": "2024-01-02 09:00:00", "expected_close_date": "2024-03-31"},
    ...     {"id": 8, "value": 400, "currency": "EUR", "stage_id": 2, "status": "won",
    ...      "add_time": "2024-01-05 09:00:00", "won_time": "2024-02-01 12:00:00"},
    ...     {"id": 9, "value": 300, "currency": "EUR", "stage_id": 1, "status": "lost",
    ...      "add_time": "2024-01-06 09:00:00", "lost_time": "2024-01-20 12:00:00"}]},
    ...     stages=stages)
    >>> sm.weighted_pipeline(p), sm.win_rate(p), p.currency
    (600.0, 0.5, 'EUR')
    """
    what = "read_pipedrive()"
    zone = to_zone(timezone)
    table = load_table(deals, what=what, envelope=("data",))
    for key in ("id", "stage", "status"):
        if _find(table, key) is None:
            raise DataError(f"{what}: deals need {' or '.join(map(repr, _ALIASES[key]))}; "
                            f"columns are {choices(sorted(table)[:40])}")
    open_stages, keys, stage_pipeline = _stage_defs(stages)
    status = np.array([str(s).strip().lower() for s in np.asarray(
        table[_find(table, "status") or ""], dtype=object).tolist()], dtype=object)
    bad = ~np.isin(status, ["open", "won", "lost", "deleted"])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{what}: row {row}: status must be 'open', 'won', 'lost' or 'deleted', "
                        f"got {status[row]!r}")
    raw_stage = np.asarray(table[_find(table, "stage") or ""], dtype=object)
    stage_name = np.array([keys.get(_key(s), str(s)) for s in raw_stage.tolist()], dtype=object)
    keep = status != "deleted"
    keep &= _pipeline_mask(table, pipeline, raw_stage, stage_pipeline, what)
    table = {k: np.asarray(v, dtype=object)[keep] for k, v in table.items()}
    status, stage_name = status[keep], stage_name[keep]
    ids = np.asarray(table[_find(table, "id") or ""]).astype(str)
    n = len(ids)

    def dates(key: str) -> Any:
        return date_column(table, _ALIASES[key], ids=ids, formats=date_formats, timezone=zone)

    won_time, lost_time, close_time = dates("won_time"), dates("lost_time"), dates("close_time")
    closed_at = np.where(status == "won", won_time, np.where(status == "lost", lost_time,
                                                             np.datetime64("NaT")))
    closed_at = np.where(np.isnat(closed_at), close_time, closed_at)
    close_date = np.where(status == "open", dates("expected"), closed_at)
    created = dates("add_time")
    final = np.where(status == "won", WON_STAGE, np.where(status == "lost", LOST_STAGE,
                                                          stage_name))
    data: dict[str, Any] = {"id": ids, "stage": final, "created": created,
                            "close_date": close_date}
    value = _find(table, "value")
    data["amount"] = table[value] if value else np.full(n, None, dtype=object)
    prob = _find(table, "probability")
    if prob:
        data["probability"] = parse_probability(table[prob], scale="percent", ids=ids)
    columns = {k: k for k in data}
    owner = _find(table, "owner")
    if owner:
        data["owner"] = table[owner]
        columns["owner"] = "owner"
    cur = _find(table, "currency")
    if cur and currency is None:
        data["currency"] = table[cur]
        columns["currency"] = "currency"
    # The stage a closed deal was in: entered at its last stage change (else at creation).
    changed = dates("stage_change")
    entered = np.where(np.isnat(changed), created, changed)
    closed = (status != "open") & ~np.isnat(entered)
    history = {"id": ids[closed], "stage": stage_name[closed], "date": entered[closed]}
    process = (*open_stages, Stage(WON_STAGE, 1.0, Outcome.WON),
               Stage(LOST_STAGE, 0.0, Outcome.LOST))
    return Pipeline.from_columns(
        data, process, columns=columns, currency=currency,
        history=history if closed.any() else None, timezone=zone,
        allow_close_before_created=True,
    )


def _key(value: object) -> str:
    """Stage ids come as ints (API) or strings (export); compare them as text."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _stage_defs(stages: object) -> tuple[tuple[Stage, ...], dict[str, str], dict[str, str]]:
    """Open stages in order, a map id/name → name, and stage name → pipeline id."""
    if isinstance(stages, Sequence) and stages and all(isinstance(s, Stage) for s in stages):
        given = tuple(s for s in stages if isinstance(s, Stage))
        return given, {s.name: s.name for s in given}, {}
    table = load_table(stages, what="read_pipedrive(stages=...)", envelope=("data",))
    for name in ("id", "name"):
        if name not in table:
            raise DataError(f"read_pipedrive(stages=...): stage records need {name!r}")
    n = len(table["id"])
    active = (parse_flags(table["active_flag"], field="active_flag") if "active_flag" in table
              else np.ones(n, bool))
    prob = (parse_probability(table["deal_probability"], scale="percent",
                              field="deal_probability")
            if "deal_probability" in table else np.zeros(n))
    order = (np.asarray(table["order_nr"], dtype=float) if "order_nr" in table
             else np.arange(n, dtype=float))
    pipeline = table.get("pipeline_id", [None] * n)
    rows = sorted((i for i in range(n) if active[i]), key=lambda i: (str(pipeline[i]), order[i]))
    open_stages = tuple(Stage(str(table["name"][i]), float(np.nan_to_num(prob[i])))
                        for i in rows)
    keys = {_key(table["id"][i]): str(table["name"][i]) for i in range(n)}
    keys |= {str(table["name"][i]): str(table["name"][i]) for i in range(n)}
    return open_stages, keys, {str(table["name"][i]): _key(pipeline[i]) for i in range(n)}


def _pipeline_mask(
    table: Table, wanted: int | str | None, raw_stage: Any, stage_pipeline: dict[str, str],
    what: str,
) -> Any:
    col = _find(table, "pipeline")
    if col is not None:
        pipes = np.array([_key(v) for v in np.asarray(table[col], dtype=object).tolist()], object)
    else:
        pipes = np.array([stage_pipeline.get(str(s), "") for s in raw_stage.tolist()], object)
    present = sorted(set(pipes.tolist()) - {"", "None"})
    if wanted is None:
        if len(present) > 1:
            raise DataError(f"{what}: the deals are in several pipelines ({', '.join(present)}); "
                            "choose one with pipeline=...")
        return np.ones(len(pipes), bool)
    if _key(wanted) not in present:
        raise DataError(f"{what}: pipeline {wanted!r} is not among {choices(present)}")
    return pipes == _key(wanted)
