"""Pipedrive: deals (API v1 records or an export) and the pipeline's stage definitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import is_missing_value, to_numpy
from salesmetrics.domain.dates import DateFormats, check_date_formats, to_zone
from salesmetrics.domain.exchange_rates import ExchangeRates, RateDate
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Outcome, Stage
from salesmetrics.errors import DataError, choices
from salesmetrics.io._tables import (
    DEFAULT_ENCODING,
    Rows,
    Table,
    date_column,
    deal_ids,
    first_present,
    load_table,
    parse_flags,
    parse_probability,
    stage_history,
    subset,
    text_of,
)

__all__ = ["read_pipedrive"]

#: Names of the two closed stages that a Pipedrive process gets (Pipedrive closes deals by
#: status, not by stage).
WON_STAGE, LOST_STAGE = "Won", "Lost"
#: What to do when a probability holds fractions.
_PERCENT_FIX = ("Pipedrive writes probabilities as percents (60 for 60 %): multiply the column "
                "by 100 before loading")

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
    stages: object,
    *,
    pipeline: int | str | None = None,
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
    """Build a `Pipeline` from Pipedrive deals.

    Parameters
    ----------
    deals
        API v1 deal records (a list, or the response ``{"success": true, "data": [...]}``), or a
        deals export (CSV path) with Pipedrive's ``Deal - …`` column headers.
    stages
        The stage definitions: the ``/stages`` response or records (``id``, ``name``,
        ``order_nr``, ``deal_probability`` 0–100, ``pipeline_id``, ``pipeline_name``,
        ``active_flag``; a record without ``active_flag`` is active; inactive stages are kept
        where deals are in them), or a sequence of open `Stage`. Pipedrive closes deals by
        status, so the process gets two closed stages, ``"Won"`` and ``"Lost"``, after the
        open ones.
    pipeline
        Id or name of the pipeline to read, when the deals span several: its deals, and only
        its stages (each Pipedrive pipeline has its own, often with the same names). With
        it, a deal without a ``pipeline_id`` is an error. Without it, the deals' one pipeline
        (from ``pipeline_id``, else from their stages) gives the stages.
    history
        Stage history (e.g. from the deals' ``/flow`` updates): a CSV path, records or columns
        ``id`` (the deal's), ``stage`` (a stage id or name) and ``date``, one row per stage
        entered. Rows of deals not loaded are left out.
    currency
        ISO code of the amounts; by default the deals' ``currency`` (one only, unless
        ``rates`` converts them; then ``currency`` is that of deals without one) or none.
    timezone
        Time zone whose calendar dates the timestamps become (default UTC, Pipedrive's).
    encoding, delimiter
        Of the CSV files given (default UTF-8, with or without a byte-order mark, and ``","``;
        Pipedrive exports in a European locale may use ``";"``). A file in another encoding
        is a `DataError` naming the file and line.
    date_formats
        How to read dates that are not ISO: ``strptime`` formats (each date column is read
        with the first that reads all its dates), or ``"dateutil"``; as in
        `Pipeline.from_columns`.
    rates, rate_date
        `ExchangeRates` to convert deals in several currencies (``currency``) to one
        corporate currency, with the rate on each deal's close date (``rate_date="close_date"``, the
        default; an open deal's expected close date) or created date (``"created"``); as in
        `Pipeline.from_columns`.
    allow_close_before_created
        Load deals closed before they were created instead of raising; cycle metrics leave them
        out and say how many. As in `Pipeline.from_columns`.

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
    the deal's own probability, ``user_id`` → owner. A deal without an ``id`` is an error.
    Everything else is ignored.

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
    formats = check_date_formats(date_formats)
    options = {"encoding": encoding, "delimiter": delimiter}
    table, rows = load_table(deals, what=what, envelope=("data",), **options)
    for key in ("id", "stage", "status"):
        if _find(table, key) is None:
            raise DataError(f"{what}: deals need {' or '.join(map(repr, _ALIASES[key]))}; "
                            f"columns are {choices(sorted(table)[:40])}")
    defs = _StageDefs(stages, options)
    raw_ids = to_numpy(table[_find(table, "id") or ""])  # for messages
    raw_status = to_numpy(table[_find(table, "status") or ""])
    status = np.char.lower(np.char.strip(text_of(raw_status)))
    bad = ~np.isin(status, ["open", "won", "lost", "deleted"])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{what}: {rows.where(_key(raw_ids[row]) or None, row)}status must be "
                        "'open', 'won', "
                        f"'lost' or 'deleted', got {raw_status.tolist()[row]!r}")
    raw_stage = to_numpy(table[_find(table, "stage") or ""])
    keep = status != "deleted"
    chosen, in_pipeline = _pipeline(table, pipeline, raw_stage, defs, keep, raw_ids, rows, what)
    keep &= in_pipeline
    open_stages, keys = defs.process(chosen, set(_keys(raw_stage[keep]).tolist()))
    table, rows = subset(table, keep), rows.take(keep)
    status = status[keep]
    stage_name = _stage_names(raw_stage[keep], keys)
    ids = deal_ids(table[_find(table, "id") or ""], field=_find(table, "id") or "id", what=what,
                   rows=rows)
    n = len(ids)

    def dates(key: str) -> Any:
        return date_column(table, _ALIASES[key], ids=ids, formats=formats, timezone=zone,
                           rows=rows)

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
        data["probability"] = parse_probability(table[prob], scale="percent", field=prob,
                                                ids=ids, rows=rows, fix=_PERCENT_FIX)
    columns = {k: k for k in data}
    owner = _find(table, "owner")
    if owner:
        data["owner"] = table[owner]
        columns["owner"] = "owner"
    cur = _find(table, "currency")
    if cur and (currency is None or rates is not None):
        data["currency"] = table[cur]
        columns["currency"] = "currency"
    # The stage a closed deal was in: entered at its last stage change (else at creation).
    changed = dates("stage_change")
    entered = np.where(np.isnat(changed), created, changed)
    closed = (status != "open") & ~np.isnat(entered)
    events: dict[str, Any] = {"id": ids[closed], "stage": stage_name[closed],
                              "date": entered[closed]}
    if history is not None:
        given = stage_history(history, what="read_pipedrive(history=...)", loaded=ids,
                              envelope=("data",), formats=formats, timezone=zone,
                              delimiter=delimiter, encoding=encoding)
        given["stage"] = _stage_names(given["stage"], keys)
        events = {key: np.concatenate([np.asarray(events[key], dtype=object),
                                       np.asarray(given[key], dtype=object)])
                  for key in events}
        events["date"] = events["date"].astype("datetime64[D]")
    process = (*open_stages, Stage(WON_STAGE, 1.0, Outcome.WON),
               Stage(LOST_STAGE, 0.0, Outcome.LOST))
    return Pipeline.from_columns(
        data, process, columns=columns, currency=currency,
        history=events if len(events["id"]) else None, timezone=zone,
        date_formats=formats, rates=rates, rate_date=rate_date,
        allow_close_before_created=allow_close_before_created,
    )


def _key(value: object) -> str:
    """Stage and pipeline ids come as ints (API) or strings (export); compare them as text
    ("" where missing)."""
    if is_missing_value(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _keys(values: object) -> npt.NDArray[np.str_]:
    """`_key` of each value."""
    arr = to_numpy(values)
    if arr.dtype.kind in "iuU":
        return np.char.strip(text_of(arr))
    return np.array([_key(v) for v in arr.tolist()], dtype=str)


class _StageDefs:
    """The stage definitions: per stage its id, name, probability, order, pipeline and flag."""

    def __init__(self, stages: object, options: Any) -> None:
        self.given: tuple[Stage, ...] | None = None
        if isinstance(stages, Sequence) and stages and all(isinstance(s, Stage) for s in stages):
            self.given = tuple(s for s in stages if isinstance(s, Stage))
            stages = [{"id": s.name, "name": s.name} for s in self.given]
        what = "read_pipedrive(stages=...)"
        table, at = load_table(stages, what=what, envelope=("data",), **options)
        for name in ("id", "name"):
            if name not in table:
                raise DataError(f"{what}: stage records need {name!r}")
        self.name = text_of(table["name"])
        n = len(self.name)
        self.id = _keys(table["id"])
        self.active = (parse_flags(table["active_flag"], field="active_flag", missing=True,
                                   ids=self.name, rows=at)
                       if "active_flag" in table else np.ones(n, bool))
        self.probability = (parse_probability(table["deal_probability"], scale="percent",
                                              field="deal_probability", ids=self.name, rows=at,
                                              fix=_PERCENT_FIX)
                            if "deal_probability" in table else np.zeros(n))
        self.order = (_order(table["order_nr"], self.name, what)
                      if "order_nr" in table else np.arange(n, dtype=float))
        self.pipeline = _keys(table["pipeline_id"]) if "pipeline_id" in table else np.full(n, "")
        names = (text_of(table["pipeline_name"]) if "pipeline_name" in table
                 else np.full(n, ""))
        #: pipeline name (as an export's "Deal - Pipeline" gives it) → pipeline id
        self.pipeline_ids = {str(name): str(pid) for name, pid in zip(
            names.tolist(), self.pipeline.tolist(), strict=True) if name and pid}
        self.what = what

    def pipeline_of(self, stage_keys: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
        """The pipeline of each deal's stage (id or name), "" where unknown or ambiguous."""
        found: dict[str, set[str]] = {}
        for key, pid in zip([*self.id.tolist(), *self.name.tolist()],
                            [*self.pipeline.tolist(), *self.pipeline.tolist()], strict=True):
            found.setdefault(key, set()).add(pid)
        unique = {key: next(iter(p)) for key, p in found.items() if len(p) == 1}
        values, inverse = np.unique(stage_keys, return_inverse=True)
        return np.array([unique.get(v, "") for v in values.tolist()],
                        dtype=str)[inverse.reshape(-1)] if len(stage_keys) else stage_keys

    def process(
        self, pipeline: str | None, used: set[str]
    ) -> tuple[tuple[Stage, ...], dict[str, str]]:
        """The open stages of ``pipeline`` (all, if None) in order, and id/name → name."""
        if self.given is not None:
            return self.given, {s.name: s.name for s in self.given}
        # all stages where the definitions do not say (or know) the deals' pipeline
        mine = (self.pipeline == pipeline if pipeline is not None and pipeline in self.pipeline
                else np.ones(len(self.name), bool))
        rows = np.flatnonzero(mine & (self.active | np.isin(self.id, list(used))
                                      | np.isin(self.name, list(used))))
        rows = rows[np.lexsort((self.order[rows], self.pipeline[rows]))]
        names = self.name[rows].tolist()
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            pipes = sorted(set(self.pipeline[rows].tolist()) - {""})
            raise DataError(
                f"read_pipedrive(): the stages of pipelines {', '.join(pipes)} share the names "
                f"{choices(repeated)}; choose one pipeline with pipeline=..."
            )
        stages = tuple(Stage(str(self.name[i]), float(np.nan_to_num(self.probability[i])))
                       for i in rows.tolist())
        keys = {str(self.id[i]): str(self.name[i]) for i in np.flatnonzero(mine).tolist()}
        keys |= {str(self.name[i]): str(self.name[i]) for i in np.flatnonzero(mine).tolist()}
        return stages, keys


def _order(values: object, names: npt.NDArray[np.str_], what: str) -> npt.NDArray[np.float64]:
    out = np.empty(len(names), dtype=np.float64)
    for i, value in enumerate(to_numpy(values).tolist()):
        try:
            out[i] = np.inf if is_missing_value(value) else float(value)
        except (TypeError, ValueError):
            raise DataError(f"{what}: stage {names[i]!r}: order_nr must be a number, got "
                            f"{value!r}") from None
    return out


def _stage_names(raw_stage: Any, keys: dict[str, str]) -> npt.NDArray[Any]:
    """Each deal's stage id (API) or name (export) as the stage's name; unknown ones as given
    (the pipeline names them), None where missing."""
    text = _keys(raw_stage)
    values, inverse = np.unique(text, return_inverse=True)
    named = np.array([keys.get(v, v) if v else None for v in values.tolist()], dtype=object)
    return named[inverse.reshape(-1)] if len(text) else np.array([], dtype=object)


def _pipeline(
    table: Table, wanted: int | str | None, raw_stage: Any, defs: _StageDefs,
    live: npt.NDArray[np.bool_], raw_ids: npt.NDArray[Any], rows: Rows, what: str,
) -> tuple[str | None, npt.NDArray[np.bool_]]:
    """The pipeline to read (its id, or None when the deals say none) and its deals."""
    col = _find(table, "pipeline")
    if col is not None:
        pipes = _keys(table[col])
        if defs.pipeline_ids and len(pipes):  # pipeline names (an export's) as their ids
            values, inverse = np.unique(pipes, return_inverse=True)
            pipes = np.array([defs.pipeline_ids.get(v, v) for v in values.tolist()],
                             dtype=str)[inverse.reshape(-1)]
    else:
        pipes = defs.pipeline_of(_keys(raw_stage))
    present = sorted(set(pipes[live].tolist()) - {""})
    if wanted is None:
        if len(present) > 1:
            raise DataError(f"{what}: the deals are in several pipelines ({', '.join(present)}); "
                            "choose one with pipeline=...")
        return (present[0] if present else None), np.ones(len(pipes), bool)
    key = defs.pipeline_ids.get(_key(wanted), _key(wanted))
    known = sorted(set(present) | set(defs.pipeline.tolist()) - {""})
    if key not in known:
        names = sorted(defs.pipeline_ids)
        raise DataError(f"{what}: pipeline {wanted!r} is not among {choices(known + names)}")
    missing = live & (pipes == "")
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        field = col or "the pipeline of its stage"
        raise DataError(
            f"{what}: {rows.where(_key(raw_ids[row]) or None, row)}{field} is missing "
            f"({int(missing.sum())} of {int(live.sum())} deals); with pipeline={wanted!r} every "
            "deal must say its pipeline"
        )
    return key, pipes == key
