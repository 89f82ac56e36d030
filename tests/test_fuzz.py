"""Fuzzing every way in: arbitrary text and bytes, wild column values, random adapter records
and mutated real exports.

The property, for every input: nothing but a `SalesMetricsError` may escape (a
`DataQualityWarning` is allowed, any other warning is an error), and when a pipeline loads, every
metric returns a number inside its documented range: rates in [0, 1] or nan, totals, averages,
counts and days >= 0 or nan, never inf; the weighted pipeline is at most the pipeline value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics import DEFAULT_STAGES, Outcome, Pipeline, Stage
from salesmetrics.errors import DataQualityWarning, SalesMetricsError
from salesmetrics.io import read_hubspot, read_pipedrive, read_records, read_salesforce

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIXTURES = Path(__file__).parent / "fixtures"

# One bug per test and no "explain" phase: a failing example shrinks in seconds, not minutes.
FUZZ = settings(max_examples=40, deadline=None, report_multiple_bugs=False,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
FEW = settings(FUZZ, max_examples=25)

STAGES: tuple[Stage, ...] = (*DEFAULT_STAGES, Stage("No decision", 0.0, Outcome.NO_DECISION))
STAGE_NAMES = [s.name for s in STAGES]


# -- the property --------------------------------------------------------------------------
def attempt(build: Callable[[], Any], *, note: bool = True) -> Any:
    """``build()``, or None if it raised a `SalesMetricsError`; a `DataQualityWarning` is allowed,
    anything else (another exception or warning) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        try:
            return build()
        except SalesMetricsError as error:
            if note:
                refused(error)
            return None


def refused(error: SalesMetricsError) -> None:
    """Note why an input was refused (``--hypothesis-show-statistics`` lists them)."""
    text = str(error)
    for word in ("must", "is not", "missing", "cannot", "occurs", "twice", "look"):
        if word in text:
            text = text[text.index(word):]
            break
    event(f"refused: {type(error).__name__}: {text[:40]}")


def _numbers(value: Any) -> Iterable[float]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _numbers(item)
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                yield float(item)
    else:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), value
        yield float(value)


def _check(name: str, value: Any, low: float, high: float) -> None:
    for number in _numbers(value):
        assert not math.isinf(number), f"{name} gave {number!r}: {value!r}"
        assert math.isnan(number) or low <= number <= high, f"{name} gave {number!r}: {value!r}"


RATES: dict[str, Callable[..., Any]] = {
    "win_rate": sm.win_rate,
    "win_rate value": lambda p, **kw: sm.win_rate(p, basis="value", **kw),
    "win_rate open lost": lambda p, **kw: sm.win_rate(p, open_deals="lost", **kw),
    "win_rate stale": lambda p, **kw: sm.win_rate(p, stale_after=30, as_of="2024-06-30", **kw),
    "conversion implied": sm.conversion_from_stage,
    "conversion visited": lambda p, **kw: sm.conversion_from_stage(p, skipped="visited", **kw),
    "conversion value": lambda p, **kw: sm.conversion_from_stage(p, basis="value", **kw),
    "stage_conversion implied": sm.stage_conversion,
    "stage_conversion visited": lambda p, **kw: sm.stage_conversion(p, skipped="visited", **kw),
    "outcome_shares": sm.outcome_shares,
}
TOTALS: dict[str, Callable[..., Any]] = {
    "pipeline_value": sm.pipeline_value,
    "weighted_pipeline": sm.weighted_pipeline,
    "won_revenue": sm.won_revenue,
    "average_deal_size": sm.average_deal_size,
    "average_deal_size open": lambda p, **kw: sm.average_deal_size(p, outcome="open", **kw),
    "cycle mean": sm.sales_cycle_length,
    "cycle median closed": lambda p, **kw: sm.sales_cycle_length(
        p, statistic="median", outcome="closed", **kw),
    "cycle p90 lost": lambda p, **kw: sm.sales_cycle_length(p, statistic=90, outcome="lost",
                                                           **kw),
    "funnel_counts": sm.funnel_counts,
    "funnel_counts value": lambda p, **kw: sm.funnel_counts(p, basis="value", **kw),
}


def check_metrics(p: Pipeline) -> None:
    """Every metric of ``p`` (whole, by owner where there is one, in a quarter) in its range."""
    assert isinstance(p, Pipeline)
    options: list[dict[str, Any]] = [{}, {"period": "2024-Q1"}]
    if "owner" in p.fields:
        options.append({"by": "owner"})
    for kw in options:
        for name, metric in RATES.items():
            value = attempt(lambda metric=metric, kw=kw: metric(p, **kw), note=False)
            if value is not None:
                _check(name, value, 0.0, 1.0)
        for name, metric in TOTALS.items():
            value = attempt(lambda metric=metric, kw=kw: metric(p, **kw), note=False)
            if value is not None:
                _check(name, value, 0.0, math.inf)
        velocity = attempt(lambda kw=kw: sm.sales_velocity(p, **kw), note=False)
        if velocity is not None:
            for v in (velocity.values() if isinstance(velocity, Mapping) else [velocity]):
                _check("sales_velocity", v, 0.0, math.inf)
                _check("sales_velocity win_rate", v.win_rate, 0.0, 1.0)
    value = attempt(lambda: sm.pipeline_value(p), note=False)
    weighted = attempt(lambda: sm.weighted_pipeline(p), note=False)
    if value is not None and weighted is not None and not math.isnan(weighted):
        assert weighted <= value * (1 + 1e-12) + 1e-9, (weighted, value)


def load_and_check(build: Callable[[], Pipeline]) -> Pipeline | None:
    p = attempt(build)
    if p is not None:
        event("loaded")
    if p is not None:
        check_metrics(p)
    return p


# -- values ----------------------------------------------------------------------------------
ODD_TEXT = ["", " ", "   ", "\t", "NaN", "nan", "null", "None", "NaT", "N/A", "-", "1704067200",
            "1677110400000", "-002024-01", "+2024-01-01", "2024-13-01", "2024-02-30",
            "0000-01-01", "9999-12-31", "10000-01-01", "2024-01-01T25:00", "20240101", "true",
            "false", "1e400", "-1e400", "1e308", "9e15", "-0", "0x10", "1_000", " 12 ", "١٢",
            "１２", "€100", "1,000.50", "12,5", "ana", "Ana ", "\u00e9", "\u0000", "\ufeffid",
            "Proposal", "proposal", "Closed won", "Closed lost", "Won", "\"", "'", ",", ";",
            "\n", "\r\n", "a\nb"]

WILD: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -0.0, 1e308, 2.0**53 + 1,
                     9e15, 9e18, -1.0, 0.5, 1.5, 100.0]),
    st.integers(-(10**20), 10**20),
    st.integers(0, 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=10),
    st.dates(min_value=dt.date(1, 1, 1)),
    st.datetimes(timezones=st.sampled_from([None, dt.UTC,
                                            dt.timezone(dt.timedelta(hours=-5))])),
    st.sampled_from([np.datetime64("NaT"), np.datetime64("1900-01-01"),
                     np.datetime64("2024-02-29"), np.datetime64("10000-01-01"),
                     np.datetime64("2024-01-01T12:00:00.123456789")]),
    st.sampled_from([[1], {"a": 1}, (1, 2), b"bytes", object()]),
)

CREATED = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2023, 12, 31))
CLOSED = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2024, 12, 31))
DAYS = st.one_of(CREATED, CLOSED)
VALID: dict[str, st.SearchStrategy[Any]] = {
    "stage": st.sampled_from(STAGE_NAMES),
    "amount": st.one_of(st.none(), st.integers(0, 10**6),
                        st.floats(0, 1e7, allow_nan=False).map(lambda x: round(x, 2))),
    "created": st.one_of(st.none(), CREATED, CREATED.map(dt.date.isoformat)),
    "close_date": st.one_of(CLOSED, CLOSED.map(dt.date.isoformat)),
    "owner": st.sampled_from(["ana", "bo", "cy", None, ""]),
    "probability": st.one_of(st.none(), st.floats(0, 1)),
    "currency": st.sampled_from(["USD", "usd", None]),
    "team": st.sampled_from(["east", "west", None]),
}


@st.composite
def wild_columns(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    """Columns of up to 12 deals: each column valid, absent, or mixed with wild values; held in
    lists, numpy arrays or pandas Series, or a pandas, polars or pyarrow frame."""
    n = draw(st.integers(0, 12))
    ids: list[Any] = [f"D{i}" for i in range(n)]
    if draw(st.booleans()):
        ids = list(range(n))
    data: dict[str, Any] = {"id": ids}
    for name, valid in VALID.items():
        mode = draw(st.sampled_from(["valid"] * 8 + ["mixed", "absent"]))
        if mode == "absent" and name not in ("stage", "close_date"):
            continue
        cell = valid if mode == "valid" else st.one_of(valid, valid, WILD)
        data[name] = draw(st.lists(cell, min_size=n, max_size=n))
    if draw(st.integers(0, 9)) == 0:  # now and then a wild id
        data["id"] = draw(st.lists(st.one_of(st.text(max_size=3), WILD), min_size=n, max_size=n))
    container = draw(st.sampled_from(["lists", "lists", "numpy", "series", "pandas", "polars",
                                      "arrow"]))
    out = _contain(data, container)
    options: dict[str, Any] = {"columns": {"team": "team"} if "team" in data else None,
                               "allow_close_before_created": draw(st.booleans())}
    if draw(st.booleans()):
        options["currency"] = draw(st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
    if draw(st.integers(0, 4)) == 0:
        options["timezone"] = draw(st.sampled_from(["Europe/Berlin", "America/New_York"]))
    return out, options


def _contain(data: dict[str, Any], container: str) -> Any:
    """``data`` in the container asked for, or in lists where that library will not hold it."""
    try:
        if container == "numpy":
            return {k: np.array(v, dtype=object) if _mixed(v) else np.array(v)
                    for k, v in data.items()}
        if container == "series":
            import pandas as pd
            return {k: pd.Series(v, dtype=object) for k, v in data.items()}
        if container == "pandas":
            import pandas as pd
            return pd.DataFrame(data)
        if container == "polars":
            import polars as pl
            return pl.DataFrame(data, strict=False)
        if container == "arrow":
            import pyarrow as pa
            return pa.table(data)
    except Exception:  # the frame library refused the values: fall back to lists
        return data
    return data


def _mixed(values: list[Any]) -> bool:
    return len({type(v) for v in values}) > 1 or any(isinstance(v, (list, dict, tuple, bytes))
                                                     for v in values)


# -- from_columns ------------------------------------------------------------------------------
@FUZZ
@given(wild_columns())
def test_from_columns_never_escapes_and_metrics_stay_in_range(drawn: tuple[Any, dict[str, Any]]
                                                               ) -> None:
    data, options = drawn
    load_and_check(lambda: Pipeline.from_columns(data, STAGES, **options))


@FEW
@given(st.lists(st.fixed_dictionaries({}, optional={
    "amount": WILD, "created": WILD, "close_date": WILD, "owner": WILD, "probability": WILD,
    "currency": WILD, "history": WILD}), max_size=4), st.lists(WILD, max_size=4))
def test_deals_never_escape(fields: list[dict[str, Any]], ids: list[Any]) -> None:
    def build() -> Pipeline:
        deals = [sm.Deal(ids[i] if i < len(ids) else f"D{i}", f.pop("amount", 1.0),
                         "Proposal", **f) for i, f in enumerate(fields)]
        return Pipeline.from_deals(deals)

    load_and_check(build)


# -- read_csv ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _read_csv(path: Path, **options: Any) -> Pipeline:
    return Pipeline.read_csv(path, STAGES, **options)


@FUZZ
@given(st.binary(max_size=400))
def test_read_csv_arbitrary_bytes(fuzz_dir: Path, content: bytes) -> None:
    path = fuzz_dir / "bytes.csv"
    path.write_bytes(content)
    load_and_check(lambda: _read_csv(path))
    path.write_bytes(b"id,stage,amount\n" + content)
    load_and_check(lambda: _read_csv(path))


@FUZZ
@given(st.text(max_size=400))
def test_read_csv_arbitrary_text(fuzz_dir: Path, content: str) -> None:
    path = fuzz_dir / "text.csv"
    path.write_text("id,stage,amount,created,close_date,owner\n" + content, encoding="utf-8")
    load_and_check(lambda: _read_csv(path))


CSV_CELLS: dict[str, st.SearchStrategy[str]] = {
    "stage": st.sampled_from(STAGE_NAMES),
    "amount": st.one_of(st.just(""), st.integers(0, 10**7).map(str)),
    "created": st.one_of(st.just(""), CREATED.map(dt.date.isoformat)),
    "close_date": CLOSED.map(dt.date.isoformat),
    "owner": st.sampled_from(["ana", "bo", "", " "]),
    "probability": st.sampled_from(["", "0", "0.25", "1"]),
    "currency": st.sampled_from(["USD", "", "usd"]),
    "Amount": st.integers(0, 100).map(str),
    "notes": st.text(max_size=12),
}
ODD_CELL = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=6),
                     st.integers(-(10**25), 10**25).map(str))


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A header (id and stage, mostly) and rows of cells that suit their column, now and then an
    odd cell, a missing cell or an extra one."""
    others = draw(st.lists(st.sampled_from(sorted(CSV_CELLS)), unique=True, max_size=6))
    header = ["id", "stage", "close_date", *[c for c in others if c not in ("stage", "close_date")]]
    if draw(st.integers(0, 5)) == 0:
        header = draw(st.permutations(header))[: draw(st.integers(1, len(header)))]
    odd = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    rows = []
    for i in range(draw(st.integers(0, 10))):
        cells = []
        for name in header:
            if odd and draw(st.floats(0, 1)) < odd:
                cells.append(draw(ODD_CELL))
            else:
                cells.append(f"R{i}" if name == "id" else draw(CSV_CELLS[name]))
        if odd and draw(st.floats(0, 1)) < odd:
            cells = cells[: draw(st.integers(0, len(cells)))] + draw(
                st.lists(ODD_CELL, max_size=2))
        rows.append(cells)
    return header, rows


@FUZZ
@given(csv_tables(), st.sampled_from([",", ";"]), st.sampled_from([True, True, True, False]))
def test_read_csv_structured(fuzz_dir: Path, table: tuple[list[str], list[list[str]]],
                             delimiter: str, quoted: bool) -> None:
    header, rows = table
    path = fuzz_dir / "structured.csv"
    buffer = io.StringIO()
    if quoted:
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    else:  # raw joins: stray quotes, delimiters and line breaks make malformed lines
        buffer.write("\n".join(delimiter.join(r) for r in [header, *rows]) + "\n")
    path.write_text(buffer.getvalue(), encoding="utf-8")
    columns = {"notes": "notes"} if "notes" in header else None
    load_and_check(lambda: _read_csv(path, delimiter=delimiter, columns=columns))
    load_and_check(lambda: read_records(path, STAGES, delimiter=delimiter, columns=columns))


# -- adapters ----------------------------------------------------------------------------------
SF_VALID: dict[str, st.SearchStrategy[Any]] = {
    "Id": st.sampled_from(["006A", "006B", "006C", "006D", "006E"]),
    "StageName": st.sampled_from(["Prospecting", "Qualification", "Closed Won", "Closed Lost"]),
    "Amount": VALID["amount"],
    "Probability": st.one_of(st.none(), st.integers(0, 100)),
    "CloseDate": VALID["close_date"],
    "CreatedDate": st.one_of(VALID["created"], st.just("2024-01-02T10:00:00.000+0000")),
    "IsClosed": st.booleans(),
    "IsWon": st.booleans(),
    "IsDeleted": st.sampled_from([False, False, True, "0", "1"]),
    "OwnerId": VALID["owner"],
    "CurrencyIsoCode": VALID["currency"],
    "StageSortOrder": st.one_of(st.none(), st.integers(1, 9)),
    "ForecastCategoryName": st.sampled_from(["Pipeline", "Closed", None]),
}


@st.composite
def records(draw: st.DrawFn, valid: Mapping[str, st.SearchStrategy[Any]],
            required: Iterable[str] = (), id_key: str | None = None,
            id_format: str = "{}") -> list[dict[str, Any]]:
    """Up to 8 records, each field present or not; in half of the examples some fields wild.
    Ids (``id_key``) are unique, but for one duplicate now and then."""
    required = set(required)
    wild = draw(st.sampled_from([0.0, 0.0, 0.0, 0.05, 0.3]))
    out = []
    for i in range(draw(st.integers(0, 8))):
        record = {}
        for key, strategy in valid.items():
            if key not in required and draw(st.integers(0, 3)) == 0:
                continue
            record[key] = (draw(WILD) if wild and draw(st.floats(0, 1)) < wild
                           else draw(strategy))
        if id_key is not None and id_key in record and (not wild or draw(st.integers(0, 5))):
            record[id_key] = id_format.format(i)
        out.append(record)
    return out


SF_FLAGS = {"Prospecting": (False, False), "Qualification": (False, False),
            "Closed Won": (True, True), "Closed Lost": (True, False)}


@FUZZ
@given(records(SF_VALID, required=("Id", "StageName", "CloseDate"), id_key="Id",
               id_format="006{}"), st.booleans(), st.booleans())
def test_read_salesforce_random_records(rows: list[dict[str, Any]], envelope: bool,
                                        consistent: bool) -> None:
    for record in rows:  # mostly, the flags agree with the stage (else: a fine error)
        if consistent and isinstance(record.get("StageName"), str) and (
                record["StageName"] in SF_FLAGS):
            record["IsClosed"], record["IsWon"] = SF_FLAGS[record["StageName"]]
    source: Any = {"records": rows, "done": True} if envelope else rows
    load_and_check(lambda: read_salesforce(source))
    stages = FIXTURES / "salesforce_stages.csv"
    load_and_check(lambda: read_salesforce(source, stages=stages))


HS_STAGE_IDS = [s["id"] for s in sm.io.HUBSPOT_DEFAULT_PIPELINE["stages"]]  # type: ignore[index]
MS = st.integers(946_684_800_000, 1_893_456_000_000).map(str)  # epoch milliseconds, 2000–2030
HS_VALID: dict[str, st.SearchStrategy[Any]] = {
    "hs_object_id": st.sampled_from(["1", "2", "3"]),
    "dealstage": st.sampled_from(HS_STAGE_IDS),
    "amount": VALID["amount"].map(lambda a: a if a is None else str(a)),
    "createdate": st.one_of(VALID["created"], MS, st.just("2024-01-02T10:15:00.000Z")),
    "closedate": st.one_of(VALID["close_date"], MS),
    "pipeline": st.sampled_from(["default", None]),
    "hubspot_owner_id": st.sampled_from(["301", "302", None]),
    "deal_currency_code": st.sampled_from(["EUR", None]),
    "hs_forecast_probability": st.one_of(st.none(), st.floats(0, 1).map(str)),
    "hs_deal_stage_probability": st.one_of(st.none(), st.floats(0, 1).map(str)),
    "hs_date_entered_qualifiedtobuy": st.one_of(st.none(), MS, DAYS.map(dt.date.isoformat)),
    "hs_date_entered_contractsent": st.one_of(st.none(), MS),
}


@FUZZ
@given(records(HS_VALID, required=("dealstage", "closedate"), id_key="hs_object_id",
               id_format="9{}"), st.booleans())
def test_read_hubspot_random_records(properties: list[dict[str, Any]], top_id: bool) -> None:
    deals = [{"id": str(i), "properties": p} if top_id or not p.get("hs_object_id")
             else {"properties": p} for i, p in enumerate(properties)]
    load_and_check(lambda: read_hubspot({"results": deals}))


def _json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


PD_VALID: dict[str, st.SearchStrategy[Any]] = {
    "id": st.integers(1, 5),
    "stage_id": st.integers(1, 5),
    "status": st.sampled_from(["open", "won", "lost", "deleted"]),
    "value": VALID["amount"],
    "currency": st.sampled_from(["GBP", None]),
    "add_time": st.one_of(st.none(), st.just("2024-01-08 09:12:44"), VALID["created"]),
    "won_time": st.sampled_from(["2024-02-20 15:30:00", "2024-02-20T15:30:00Z", None]),
    "lost_time": st.sampled_from(["2024-02-05 11:00:00", "2024-02-05", None]),
    "close_time": st.one_of(st.none(), st.just("2024-02-20 15:30:00")),
    "expected_close_date": st.one_of(st.none(), VALID["close_date"]),
    "probability": st.one_of(st.none(), st.integers(0, 100)),
    "user_id": st.one_of(st.none(), st.fixed_dictionaries({"id": st.integers(1, 3),
                                                           "name": st.sampled_from(["C", "D"])})),
    "pipeline_id": st.sampled_from([1, 1, 1, 1, 1, "1", None]),
    "stage_change_time": st.one_of(st.none(), st.just("2024-02-01 10:00:00")),
}


@FUZZ
@given(records(PD_VALID, required=("id", "stage_id", "status", "won_time", "lost_time"),
               id_key="id"), st.booleans())
def test_read_pipedrive_random_records(deals: list[dict[str, Any]], by_pipeline: bool) -> None:
    stages = _json("pipedrive_stages.json")
    options: dict[str, Any] = {"pipeline": 1} if by_pipeline else {}
    load_and_check(lambda: read_pipedrive({"success": True, "data": deals}, stages=stages,
                                          **options))


REC_VALID: dict[str, st.SearchStrategy[Any]] = {
    "key": st.sampled_from(["A", "B", "C", "D"]),
    "phase": VALID["stage"],
    "worth": st.one_of(VALID["amount"], st.sampled_from(["1200.50", "", "7"])),
    "p": st.one_of(st.none(), st.integers(0, 100)),
    "opened": st.one_of(VALID["created"], st.just("03/31/2024")),
    "due": st.one_of(VALID["close_date"], st.just("04/30/2024")),
    "rep": st.one_of(st.none(), st.fixed_dictionaries({"name": VALID["owner"]})),
    "region": VALID["team"],
}
REC_COLUMNS = {"id": "key", "stage": "phase", "amount": "worth", "probability": "p",
               "created": "opened", "close_date": "due", "owner": "rep.name", "region": "region"}


@FUZZ
@given(records(REC_VALID, required=("key", "phase", "due"), id_key="key", id_format="K{}"),
       st.booleans())
def test_read_records_random_records(rows: list[dict[str, Any]], formats: bool) -> None:
    present = {k for r in rows for k in r} | {"rep.name" for r in rows
                                              if isinstance(r.get("rep"), dict)}
    columns = {a: c for a, c in REC_COLUMNS.items() if c in present or a in ("id", "stage")}
    load_and_check(lambda: read_records(
        {"items": rows}, STAGES, columns=columns, probability_scale="percent",
        date_formats=["%m/%d/%Y"] if formats else (), allow_close_before_created=True))


# -- mutated real exports ----------------------------------------------------------------------
MUTATION = st.tuples(
    st.sampled_from(["delete", "duplicate", "swap", "corrupt", "truncate", "blank", "bytes"]),
    st.integers(0, 10**6), st.integers(0, 10**6),
    st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=8)), st.binary(min_size=1, max_size=4))


def mutate(lines: list[bytes], mutations: list[tuple[str, int, int, str, bytes]]) -> bytes:
    """Lines of a CSV file with lines deleted, duplicated, swapped or truncated, cells replaced by
    odd values or blanked, or random bytes inserted (the header is fair game too)."""
    out = list(lines)
    for kind, a, b, text, raw in mutations:
        if not out:
            break
        i, j = a % len(out), b % len(out)
        if kind == "delete":
            del out[i]
        elif kind == "duplicate":
            out.insert(j, out[i])
        elif kind == "swap":
            out[i], out[j] = out[j], out[i]
        elif kind in ("corrupt", "blank"):
            cells = out[i].split(b",")
            cells[j % len(cells)] = b"" if kind == "blank" else text.encode("utf-8")
            out[i] = b",".join(cells)
        elif kind == "truncate":
            out[i] = out[i][: b % (len(out[i]) + 1)]
        else:
            out[i] = out[i][: b % (len(out[i]) + 1)] + raw + out[i][b % (len(out[i]) + 1):]
    return b"\n".join(out) + b"\n"


def _head(path: Path, n: int = 200) -> list[bytes]:
    return path.read_bytes().splitlines()[:n]


MAVEN_STAGES = (Stage("Prospecting", 0.1), Stage("Engaging", 0.5),
                Stage("Won", 1.0, Outcome.WON), Stage("Lost", 0.0, Outcome.LOST))
MAVEN_COLUMNS = {"id": "opportunity_id", "stage": "deal_stage", "owner": "sales_agent",
                 "created": "engage_date", "close_date": "close_date", "amount": "close_value",
                 "product": "product", "account": "account"}
needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not present")


MAVEN = SHARED_DATA / "maven-crm-sales-opportunities" / "sales_pipeline.csv"
SALESFORCE = SHARED_DATA / "salesforce-devorg-sample"
OLIST = SHARED_DATA / "olist-marketing-funnel" / "olist_marketing_qualified_leads_dataset.csv"


def _maven(path: Path) -> list[Callable[[], Pipeline]]:
    return [lambda: Pipeline.read_csv(path, MAVEN_STAGES, columns=MAVEN_COLUMNS, currency="USD"),
            lambda: read_records(path, MAVEN_STAGES, columns=MAVEN_COLUMNS)]


def _salesforce(opportunities: Path, history: Path) -> list[Callable[[], Pipeline]]:
    # the dev org holds deals closed before they were created, as demo orgs do
    return [lambda: read_salesforce(opportunities, history=history,
                                    allow_close_before_created=True)]


def _olist(path: Path) -> list[Callable[[], Pipeline]]:
    def build() -> Pipeline:
        table = sm.io.read_columns(path)
        n = len(next(iter(table.values()), []))
        data = dict(table) | {"stage": ["MQL"] * n}
        return Pipeline.from_columns(
            data, [Stage("MQL", 0.1), Stage("Won", 1.0, Outcome.WON)],
            columns={"id": "mql_id", "created": "first_contact_date", "origin": "origin"})

    return [build]


@needs_shared
def test_unmutated_exports_load(fuzz_dir: Path) -> None:
    """The mutation tests check the metrics only of what loads: each export they mutate must
    load as it is, or they would check nothing (every example refused) and still pass."""
    paths = {name: fuzz_dir / f"plain-{name}.csv" for name in ("maven", "opp", "hist", "olist")}
    for name, source in [("maven", MAVEN), ("opp", SALESFORCE / "opportunity.csv"),
                         ("hist", SALESFORCE / "OpportunityHistory.csv"), ("olist", OLIST)]:
        paths[name].write_bytes(mutate(_head(source), []))
    builders = [*_maven(paths["maven"]), *_salesforce(paths["opp"], paths["hist"]),
                *_olist(paths["olist"])]
    for build in builders:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            p = build()
        assert len(p) > 10
        check_metrics(p)


@needs_shared
@FEW
@given(st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_maven_export(fuzz_dir: Path, mutations: list[Any]) -> None:
    path = fuzz_dir / "maven.csv"
    path.write_bytes(mutate(_head(MAVEN), mutations))
    for build in _maven(path):
        load_and_check(build)


@needs_shared
@FEW
@given(st.lists(MUTATION, min_size=1, max_size=6), st.lists(MUTATION, max_size=4))
def test_mutated_salesforce_export(fuzz_dir: Path, mutations: list[Any],
                                   history_mutations: list[Any]) -> None:
    opportunities, history = fuzz_dir / "opportunity.csv", fuzz_dir / "history.csv"
    opportunities.write_bytes(mutate(_head(SALESFORCE / "opportunity.csv"), mutations))
    history.write_bytes(mutate(_head(SALESFORCE / "OpportunityHistory.csv"), history_mutations))
    for build in _salesforce(opportunities, history):
        load_and_check(build)


@needs_shared
@FEW
@given(st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_olist_leads(fuzz_dir: Path, mutations: list[Any]) -> None:
    path = fuzz_dir / "olist.csv"
    path.write_bytes(mutate(_head(OLIST), mutations))
    for build in _olist(path):
        load_and_check(build)
