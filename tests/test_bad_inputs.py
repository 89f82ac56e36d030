"""Bad and tricky inputs at every entry point, as a table: never a silent wrong number.

Each `Case` calls one entry point (a constructor, a CSV reader, a frame, an adapter, a metric
option, ``Period``, the command line) and states what must happen:

- ``raises``: the error class, and ``match``: substrings (or compiled regexes) that the message
  must contain, i.e. the row or deal, the field and the value;
- ``warns``: a warning class that must be emitted (``match`` then applies to its message);
- ``result``: the exact right result (a value, compared nan-aware and with float tolerance, or a
  predicate that returns True).

To add a case, append a ``Case(...)`` to the right section of ``CASES``. Keep ``match`` to the
field name and the value rather than whole sentences, so that rewording a message does not
break the table.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import functools
import io
import math
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Deal, FiscalCalendar, Outcome, Period, Pipeline, Stage
from salesmetrics.__main__ import main
from salesmetrics.errors import (
    AmountError,
    CurrencyError,
    DataError,
    DataQualityWarning,
    DataTypeError,
    DuplicateDealError,
    OptionError,
    RaggedColumnsError,
    SalesMetricsError,
    UnknownStageError,
)
from salesmetrics.io import read_hubspot, read_pipedrive, read_records, read_salesforce

FIXTURES = Path(__file__).parent / "fixtures"


# -- the table ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    """One bad or tricky input and what must come of it (see the module docstring)."""

    id: str
    call: Callable[[], Any]
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None
    match: tuple[str | re.Pattern[str], ...] = ()
    result: Any = None
    warns: type[Warning] | None = None


def row(n: int) -> re.Pattern[str]:
    """A message naming row ``n``: ``row 3``, ``row 3 of the data`` or ``record 3``."""
    return re.compile(rf"\b(row|record)s? {n}\b")


def _found(needle: str | re.Pattern[str], text: str) -> bool:
    if isinstance(needle, re.Pattern):
        return needle.search(text) is not None
    return needle in text


def _same(actual: Any, expected: Any) -> bool:
    """Equal, nan-aware and with a float tolerance, through mappings, sequences and arrays."""
    if isinstance(expected, float) or isinstance(actual, float):
        if isinstance(actual, (int, float, np.number)) and isinstance(
            expected, (int, float, np.number)
        ) and not isinstance(actual, bool):
            return bool(actual == pytest.approx(expected, rel=1e-12, nan_ok=True))
        return False
    if isinstance(expected, Mapping):
        return (isinstance(actual, Mapping) and set(actual) == set(expected)
                and all(_same(actual[k], v) for k, v in expected.items()))
    if isinstance(expected, (list, tuple)) and not isinstance(actual, str):
        try:
            items = list(actual)
        except TypeError:
            return False
        return len(items) == len(expected) and all(
            _same(a, e) for a, e in zip(items, expected, strict=True))
    return bool(actual == expected)


def _check_result(case: Case, value: Any) -> None:
    if case.result is None:
        return
    if callable(case.result):
        assert case.result(value), f"{case.id}: the result {value!r} fails {case.result.__name__}"
    else:
        assert _same(value, case.result), f"{case.id}: got {value!r}, expected {case.result!r}"


def run_case(case: Case) -> None:
    if case.raises is not None:
        with warnings.catch_warnings():  # the error is the point; a warning on the way is not
            warnings.simplefilter("ignore", DataQualityWarning)
            with pytest.raises(case.raises) as info:
                case.call()
        message = str(info.value)
        for needle in case.match:
            assert _found(needle, message), (
                f"{case.id}: the message does not name {needle!r}: {message!r}")
        return
    if case.warns is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = case.call()
        mine = [str(w.message) for w in caught if issubclass(w.category, case.warns)]
        others = [f"{w.category.__name__}: {w.message}" for w in caught
                  if not issubclass(w.category, case.warns)]
        assert mine, f"{case.id}: no {case.warns.__name__} (other warnings: {others})"
        for needle in case.match:
            assert any(_found(needle, m) for m in mine), (
                f"{case.id}: no warning names {needle!r}: {mine!r}")
        _check_result(case, value)
        return
    _check_result(case, case.call())


# -- helpers that build inputs -----------------------------------------------------------------
@functools.cache
def _tmp() -> Path:
    path = Path(tempfile.mkdtemp(prefix="sm-bad-inputs-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def csv_file(text: str | bytes, name: str = "deals.csv", encoding: str = "utf-8") -> Path:
    """``text`` written to a temporary file (bytes as they are)."""
    path = _tmp() / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def cols(**extra: Any) -> dict[str, Any]:
    """Columns of two open deals A and B in Proposal, with ``extra`` replacing or adding."""
    data: dict[str, Any] = {"id": ["A", "B"], "stage": ["Proposal", "Proposal"],
                            "amount": [100.0, 200.0]}
    data.update(extra)
    return data


def load(**extra: Any) -> Pipeline:
    return Pipeline.from_columns(cols(**extra))


@functools.cache
def base() -> Pipeline:
    """Four deals: A open (Proposal, 100), B won (200, 31 days), C lost (50), E won (300, 60
    days); owners ana/bo, teams east/west; a stage history for every deal."""
    return Pipeline.from_columns(
        {"id": ["A", "B", "C", "E"],
         "stage": ["Proposal", "Closed won", "Closed lost", "Closed won"],
         "amount": [100.0, 200.0, 50.0, 300.0],
         "owner": ["ana", "bo", "ana", "ana"],
         "team": ["east", "east", "west", "west"],
         "created": ["2024-01-01", "2024-01-01", "2024-01-10", "2024-01-20"],
         "close_date": ["2024-03-01", "2024-02-01", "2024-02-15", "2024-03-20"]},
        columns={"team": "team"}, currency="USD",
        history={"id": ["A", "B", "B", "C", "C", "E"],
                 "stage": ["Proposal", "Meeting", "Closed won", "Discovery", "Closed lost",
                           "Closed won"],
                 "date": ["2024-01-01", "2024-01-01", "2024-02-01", "2024-01-10", "2024-02-15",
                          "2024-03-20"]},
    )


def overflow(stage: str = "Proposal", n: int = 1100, amount: float = 9e13, **extra: Any
             ) -> Pipeline:
    """``n`` deals of ``amount`` each: every amount fits, their total does not (9.9e18 cents)."""
    data: dict[str, Any] = {"id": range(n), "amount": [amount] * n, "stage": [stage] * n}
    if stage.startswith("Closed"):
        data["close_date"] = ["2024-01-31"] * n
        data["created"] = ["2024-01-01"] * n
    data.update(extra)
    return Pipeline.from_columns(data, currency="USD")


def in_range(low: float, high: float) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        values = list(value.values()) if isinstance(value, Mapping) else [value]
        return all(math.isnan(v) or low <= v <= high for v in values)

    check.__name__ = f"every value in [{low}, {high}] or nan"
    return check


def equals(expected: Any) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return _same(value, expected)

    check.__name__ = f"== {expected!r}"
    return check


def _whitespace_owners(kind: str) -> dict[Any, float]:
    """Won revenue by owner when owners are 'ana', '   ' and '' (both blanks are missing)."""
    owners = ["ana", "   ", ""]
    data: dict[str, Any] = {"id": ["A", "B", "C"], "stage": ["Proposal"] * 3,
                            "amount": [1.0, 2.0, 3.0], "owner": owners}
    if kind == "numpy":
        data["owner"] = np.array(owners)
    elif kind == "pandas":
        import pandas as pd
        data = pd.DataFrame(data)
    elif kind == "pandas-category":
        import pandas as pd
        data = pd.DataFrame(data).astype({"owner": "category"})
    elif kind == "polars":
        import polars as pl
        data = pl.DataFrame(data)
    elif kind == "arrow":
        import pyarrow as pa
        data = pa.table(data)
    elif kind == "arrow-dictionary":
        import pyarrow as pa
        data = pa.table(data)
        data = data.set_column(3, "owner", data["owner"].dictionary_encode())
    elif kind == "csv":
        path = csv_file("id,stage,amount,owner\nA,Proposal,1,ana\nB,Proposal,2,   \n"
                        "C,Proposal,3,\n", "blank_owners.csv")
        return dict(sm.pipeline_value(Pipeline.read_csv(path), by="owner"))
    elif kind == "deals":
        deals = [Deal(i, a, "Proposal", owner=o) for i, a, o in
                 zip(data["id"], data["amount"], owners, strict=True)]
        return dict(sm.pipeline_value(Pipeline.from_deals(deals), by="owner"))
    elif kind == "records":
        records = [{"id": i, "stage": "Proposal", "amount": a, "owner": o}
                   for i, a, o in zip(data["id"], data["amount"], owners, strict=True)]
        return dict(sm.pipeline_value(read_records(records), by="owner"))
    elif kind == "field":
        data = {"id": ["A", "B", "C"], "stage": ["Proposal"] * 3, "amount": [1.0, 2.0, 3.0],
                "team": owners}
        return dict(sm.pipeline_value(Pipeline.from_columns(data, columns={"team": "team"}),
                                      by="team"))
    return dict(sm.pipeline_value(Pipeline.from_columns(data), by="owner"))


WHITESPACE_RESULT = {"ana": 1.0, None: 5.0}


def _unchanged_after_caller_edits(kind: str) -> bool:
    """Build from the caller's arrays, change them, and compare the pipeline before and after."""
    ids = np.array([1, 2, 3])
    amount = np.array([100.0, 200.0, 300.0])
    prob = np.array([0.1, 0.2, 0.3])
    created = np.array(["2024-01-01"] * 3, dtype="datetime64[D]")
    data: Any = {"id": ids, "stage": ["Proposal"] * 3, "amount": amount, "probability": prob,
                 "created": created}
    if kind == "pandas":
        import pandas as pd
        data = pd.DataFrame(data)
    elif kind == "polars":
        import polars as pl
        data = pl.DataFrame(data)
    p = Pipeline.from_columns(data)

    def snapshot() -> tuple[Any, ...]:
        return (p.ids.tolist(), p.probability.tolist(), p.created.tolist(),
                sm.weighted_pipeline(p),
                sm.weighted_pipeline(Pipeline.from_columns(p.to_columns())))

    before = snapshot()
    if kind == "numpy":
        ids[0], amount[0], prob[0], created[0] = 99, 1e6, 0.9, np.datetime64("2000-01-01")
    elif kind == "pandas":
        data.loc[0, "id"] = 99
        data.loc[0, "probability"] = 0.9
        data.loc[0, "created"] = np.datetime64("2000-01-01")
        for name in ("id", "probability", "created"):  # also through the arrays themselves
            with contextlib.suppress(ValueError):
                data[name].to_numpy()[0] = data[name].to_numpy()[1]
    elif kind == "polars":
        for name in ("id", "probability", "created"):
            with contextlib.suppress(Exception):
                data[name].to_numpy(writable=False)[0] = data[name].to_numpy()[1]
        data[0, "probability"] = 0.9
    return snapshot() == before


def _hubspot_deal(id_: Any = "1", **props: Any) -> dict[str, Any]:
    properties = {"hs_object_id": id_, "dealstage": "contractsent", "amount": "100",
                  "createdate": "2024-01-02T00:00:00Z"}
    properties.update(props)
    return {"id": id_, "properties": properties}


PD_STAGES = [{"id": 1, "name": "Lead In", "order_nr": 1, "deal_probability": 10,
              "pipeline_id": 1, "active_flag": True},
             {"id": 2, "name": "Proposal", "order_nr": 2, "deal_probability": 50,
              "pipeline_id": 1, "active_flag": True},
             {"id": 3, "name": "Lead In", "order_nr": 1, "deal_probability": 20,
              "pipeline_id": 2, "active_flag": True},
             {"id": 4, "name": "Demo", "order_nr": 2, "deal_probability": 40,
              "pipeline_id": 2, "active_flag": True}]
PD_DEALS = [{"id": 1, "stage_id": 2, "status": "open", "pipeline_id": 1, "value": 100},
            {"id": 2, "stage_id": 4, "status": "open", "pipeline_id": 2, "value": 50}]


def _pd_one_pipeline_names() -> tuple[str, ...]:
    stages = [s for s in PD_STAGES if s["id"] != 3]  # no shared name: the other pipeline's only
    return read_pipedrive(PD_DEALS, stages=stages, pipeline=1).stage_names


def _sf(**fields: Any) -> dict[str, Any]:
    record = {"Id": "006A", "StageName": "Prospecting", "Amount": 100, "Probability": 10,
              "IsClosed": False, "IsWon": False, "CloseDate": "2024-03-31",
              "CreatedDate": "2024-01-02"}
    record.update(fields)
    return record


SF_WON = _sf(Id="006B", StageName="Closed Won", IsClosed=True, IsWon=True, CloseDate="2024-02-01")


def _latin1(kind: str) -> Any:
    """A file in Latin-1 (``José``), read with the default encoding or with encoding=."""
    if kind == "csv":
        return csv_file("id,stage,owner\nA,Proposal,Jos\xe9\n", "deals_latin1.csv", "latin-1")
    if kind == "salesforce":
        return csv_file("Id,StageName,IsClosed,IsWon,Probability,Owner.Name\n006A,Prospecting,"
                        "false,false,10,Jos\xe9\n", "sf_latin1.csv", "latin-1")
    if kind == "hubspot":
        return csv_file("Record ID,Deal Stage,Deal owner\n1,contractsent,Jos\xe9\n",
                        "hs_latin1.csv", "latin-1")
    return csv_file("Deal - ID,Deal - Stage,Deal - Status,Deal - Owner\n1,1,open,Jos\xe9\n",
                    "pd_latin1.csv", "latin-1")


def _semicolons(kind: str) -> Any:
    if kind == "csv":
        return csv_file("id;stage;amount\nA;Proposal;100\n", "semi.csv")
    if kind == "salesforce":
        return csv_file("Id;StageName;IsClosed;IsWon;Probability;Amount\n006A;Prospecting;false;"
                        "false;10;100\n",
                        "sf_semi.csv")
    if kind == "hubspot":
        return csv_file("Record ID;Deal Stage;Amount\n1;contractsent;100\n", "hs_semi.csv")
    return csv_file("Deal - ID;Deal - Stage;Deal - Status;Deal - Value\n1;1;open;100\n",
                    "pd_semi.csv")


PD_ONE = [{"id": 1, "name": "Lead In", "order_nr": 1, "deal_probability": 10}]


def _owners(p: Pipeline) -> list[Any]:
    return p.categories("owner").tolist()


# -- the command line ------------------------------------------------------------------------
def cli(*argv: str) -> tuple[int, str]:
    """Run ``python -m salesmetrics`` in this process: (exit status, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with (warnings.catch_warnings(), contextlib.redirect_stdout(out),
          contextlib.redirect_stderr(err)):
        warnings.simplefilter("ignore", DataQualityWarning)
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, err.getvalue()


def cli_error(*needles: str | re.Pattern[str]) -> Callable[[tuple[int, str]], bool]:
    """Exit status 2, one line on stderr, no traceback, naming each of ``needles``."""

    def check(outcome: tuple[int, str]) -> bool:
        code, err = outcome
        lines = [line for line in err.splitlines() if line.strip()]
        return (code == 2 and len(lines) == 1 and "Traceback" not in err
                and all(_found(n, err) for n in needles))

    check.__name__ = f"exit 2 with one line naming {needles!r}"
    return check


GOOD_CSV = "id,stage,amount,close_date\nA,Closed won,100,2024-01-31\nB,Proposal,50,\n"


# -- the cases ---------------------------------------------------------------------------------
DEAL_CASES = [
    Case("deal-created-not-a-date", lambda: Deal("D-1", 1, "Proposal", created="2024-13-01"),
         DataError, ("created", "2024-13-01")),
    Case("deal-close_date-word", lambda: Deal("D-1", 1, "Proposal", close_date="yesterday"),
         DataError, ("close_date", "yesterday")),
    Case("deal-created-int", lambda: Deal("D-1", 1, "Proposal", created=12345),
         (DataError, DataTypeError), ("created", "12345")),
    Case("deal-created-year-10000",
         lambda: Deal("D-1", 1, "Proposal", created=np.datetime64("10000-01-01")),
         SalesMetricsError, ("created", "10000")),
    Case("deal-created-digit-string", lambda: Deal("D-1", 1, "Proposal", created="1704067200"),
         DataError, ("created", "1704067200")),
    Case("deal-amount-negative", lambda: Deal("D-1", -5, "Proposal"),
         DataError, ("'D-1'", "amount", "-5")),
    Case("deal-amount-inf", lambda: Deal("D-1", float("inf"), "Proposal"),
         DataError, ("'D-1'", "amount", "inf")),
    Case("deal-amount-text", lambda: Deal("D-1", "lots", "Proposal"),
         DataTypeError, ("amount", "lots")),
    Case("deal-amount-bool", lambda: Deal("D-1", True, "Proposal"),
         DataTypeError, ("amount", "True")),
    Case("deal-probability-1.5", lambda: Deal("D-1", 1, "Proposal", probability=1.5),
         DataError, ("'D-1'", "probability", "1.5")),
    Case("deal-probability-text", lambda: Deal("D-1", 1, "Proposal", probability="0.5"),
         DataTypeError, ("probability", "'0.5'")),
    Case("deal-id-none", lambda: Deal(None, 1, "Proposal"), DataTypeError, ("id", "None")),
    Case("deal-id-float", lambda: Deal(1.5, 1, "Proposal"), DataTypeError, ("id", "1.5")),
    Case("deal-stage-int", lambda: Deal("D-1", 1, 3), DataTypeError, ("'D-1'", "stage", "3")),
    Case("deal-currency-two-letters", lambda: Deal("D-1", 1, "Proposal", currency="US"),
         DataError, ("currency", "'US'")),
    Case("deal-fields-list", lambda: Deal("D-1", 1, "Proposal", fields=[1]),
         DataTypeError, ("fields", "[1]")),
    Case("deal-history-string", lambda: Deal("D-1", 1, "Proposal", history="Proposal"),
         DataTypeError, ("history", "'Proposal'")),
    Case("deal-history-bad-date",
         lambda: Deal("D-1", 1, "Proposal", history=[("Proposal", "someday")]),
         DataError, ("history", "someday")),
    Case("deal-exact-amount", lambda: Deal("D-1", "20000.50", "Proposal").amount,
         result=20000.5),
]

STAGE_CASES = [
    Case("stage-probability-1.5", lambda: Stage("X", 1.5),
         DataError, ("'X'", "probability", "1.5")),
    Case("stage-probability-nan", lambda: Stage("X", float("nan")),
         DataError, ("'X'", "probability", "nan")),
    Case("stage-probability-text", lambda: Stage("X", "0.5"),
         DataTypeError, ("probability", "'0.5'")),
    Case("stage-empty-name", lambda: Stage("", 0.5), DataTypeError, ("name", "''")),
    Case("stage-outcome-unknown", lambda: Stage("X", 0.5, "maybe"),
         DataTypeError, ("outcome", "'maybe'")),
    Case("stages-duplicate-name",
         lambda: Pipeline.from_columns(cols(), [Stage("Proposal", 0.5), Stage("Proposal", 0.6)]),
         DataError, ("'Proposal'", "twice")),
    Case("stages-open-after-closed",
         lambda: Pipeline.from_columns(cols(), [Stage("Won", 1, Outcome.WON),
                                                Stage("Proposal", 0.5)]),
         DataError, ("'Proposal'", "after")),
    Case("stages-empty", lambda: Pipeline.from_columns(cols(), []), DataError, ("stages",)),
    Case("stages-a-string", lambda: Pipeline.from_columns(cols(), "Proposal"),
         DataTypeError, ("stages", "'Proposal'")),
    Case("stages-won-stage-without-won-outcome",
         lambda: Pipeline.from_columns(cols(), [Stage("Proposal", 0.5), Stage("Won", 1.0)]),
         warns=DataQualityWarning, match=("'Won'",)),
]

PERIOD_CASES = [
    Case("period-parse-9999", lambda: Period.parse("9999"), SalesMetricsError, ("9999",)),
    Case("period-parse-0000-01", lambda: Period.parse("0000-01"), SalesMetricsError, ("0000",)),
    Case("period-parse-FY9999", lambda: Period.parse("FY9999"), SalesMetricsError, ("9999",)),
    Case("period-parse-9999-Q4", lambda: Period.parse("9999-Q4"), SalesMetricsError, ("9999",)),
    Case("period-parse-Q5", lambda: Period.parse("2017-Q5"), DataError, ("2017-Q5",)),
    Case("period-parse-month-13", lambda: Period.parse("2017-13"), DataError, ("month", "13")),
    Case("period-parse-week-54", lambda: Period.parse("2017-W54"), DataError, ("week", "54")),
    Case("period-parse-week-53-of-2021", lambda: Period.parse("2021-W53"),
         DataError, ("2021", "53")),
    Case("period-parse-feb-30", lambda: Period.parse("2024-02-30"), DataError, ("2024-02-30",)),
    Case("period-parse-empty", lambda: Period.parse(""), DataError, ("''",)),
    Case("period-parse-int", lambda: Period.parse(2017), DataTypeError, ("2017",)),
    Case("period-end-before-start", lambda: Period("2024-02-01", "2024-01-01"),
         DataError, ("2024-02-01", "2024-01-01")),
    Case("period-end-not-a-date", lambda: Period("2024-01-01", "2024-13-01"),
         DataError, ("end", "2024-13-01")),
    Case("period-range-backwards", lambda: Period.range("2024-Q3", "2024-Q1"),
         SalesMetricsError, ("2024-Q3", "2024-Q1")),
    Case("period-range-mixed-kinds", lambda: Period.range("2024-Q1", "2024-05"),
         DataError, ("2024-Q1", "2024-05")),
    Case("period-month-13", lambda: Period.month(2024, 13), DataError, ("month", "13")),
    Case("fiscal-start-month-13", lambda: FiscalCalendar(start_month=13),
         OptionError, ("start_month", "13")),
    Case("period-parse-lenient-spacing", lambda: Period.parse(" 2017-q2 "),
         result=Period(dt.date(2017, 4, 1), dt.date(2017, 7, 1), kind="quarter")),
    Case("period-parse-fiscal",
         lambda: Period.parse("FY2025-Q1", calendar=FiscalCalendar(start_month=2)).start,
         result=dt.date(2024, 2, 1)),
]

FROM_COLUMNS_CASES = [
    # money
    Case("overflow-pipeline_value", lambda: sm.pipeline_value(overflow()), AmountError,
         ("amount",)),
    Case("overflow-weighted_pipeline", lambda: sm.weighted_pipeline(overflow()), AmountError,
         ("amount",)),
    Case("overflow-won_revenue", lambda: sm.won_revenue(overflow("Closed won")), AmountError,
         ("amount",)),
    Case("overflow-average_deal_size", lambda: sm.average_deal_size(overflow("Closed won")),
         AmountError, ("amount",)),
    Case("overflow-win_rate-value",
         lambda: sm.win_rate(overflow("Closed won"), basis="value"), AmountError, ("amount",)),
    Case("overflow-grouped-pipeline_value",
         lambda: sm.pipeline_value(overflow(owner=["ana"] * 1100), by="owner"), AmountError,
         ("amount",)),
    Case("overflow-sales_velocity", lambda: sm.sales_velocity(overflow("Closed won")),
         AmountError, ("amount",)),
    Case("overflow-is-a-data-error", lambda: sm.pipeline_value(overflow()), DataError,
         ("amount",)),
    Case("amount-past-usd-limit",
         lambda: Pipeline.from_columns(cols(amount=[1.0, 1e14]), currency="USD"),
         AmountError, ("'B'", row(1), "amount", "100000000000000",
                       re.compile(r"90[,_ ]?071[,_ ]?992[,_ ]?547[,_ ]?409"))),
    Case("amount-past-jpy-limit",
         lambda: Pipeline.from_columns(cols(amount=[1.0, 1e16]), currency="JPY"),
         AmountError, ("'B'", "amount",
                       re.compile(r"9[,_ ]?007[,_ ]?199[,_ ]?254[,_ ]?740[,_ ]?992"))),
    Case("amount-just-below-usd-limit",
         lambda: sm.pipeline_value(Pipeline.from_columns(cols(amount=[1.0, 9e13]),
                                                         currency="USD")),
         result=9e13 + 1),
    Case("amount-negative", lambda: load(amount=[1.0, -5.0]),
         DataError, ("'B'", row(1), "amount", "-5")),
    Case("amount-inf", lambda: load(amount=[1.0, float("inf")]),
         DataError, ("'B'", row(1), "amount", "inf")),
    Case("amount-text", lambda: load(amount=["100", "lots"]),
         DataTypeError, ("'B'", row(1), "amount", "lots")),
    # dates
    Case("date-digit-string", lambda: load(created=["2024-01-01", "1704067200"]),
         DataError, ("'B'", row(1), "created", "1704067200")),
    Case("date-negative-year", lambda: load(close_date=["2024-01-01", "-002024-01"]),
         DataError, ("'B'", row(1), "close_date", "-002024-01")),
    Case("date-month-13", lambda: load(created=["2024-13-01", "2024-01-01"]),
         DataError, ("'A'", row(0), "created", "2024-13-01")),
    Case("date-feb-30", lambda: load(created=["2024-01-01", "2024-02-30"]),
         DataError, ("'B'", "created", "2024-02-30")),
    Case("date-word", lambda: load(close_date=["soon", None]),
         DataError, ("'A'", "close_date", "soon")),
    Case("date-int", lambda: load(created=[20240101, None]),
         (DataError, DataTypeError), ("'A'", "created", "20240101")),
    Case("date-datetime64-year-10000",
         lambda: load(created=np.array(["10000-01-01", "2024-01-01"], dtype="datetime64[D]")),
         SalesMetricsError, ("created", "10000")),
    Case("date-iso-with-time-and-zone",
         lambda: load(created=["2024-01-01T23:30:00-05:00", None]).created[0],
         result=np.datetime64("2024-01-02")),
    # ids, stages, columns
    Case("id-missing", lambda: load(id=["A", None]), DataError, (row(1), "id")),
    Case("id-bool", lambda: load(id=[True, False]), DataTypeError, (row(0), "id", "True")),
    Case("id-duplicate", lambda: load(id=["A", "A"]), DuplicateDealError, ("'A'", "0", "1")),
    Case("stage-unknown-each-with-count",
         lambda: Pipeline.from_columns({"id": list("ABCD"), "stage": ["Nope", "Zap", "Nope",
                                                                      "Proposal"]}),
         UnknownStageError, ("'Nope'", "'Zap'", re.compile(r"\b2\b"))),
    Case("stage-missing", lambda: load(stage=["Proposal", None]),
         UnknownStageError, ("'B'", "stage")),
    Case("closed-without-close-date",
         lambda: load(stage=["Closed won", "Proposal"]), DataError, ("'A'", "close_date")),
    Case("close-before-created",
         lambda: load(created=["2024-02-01", None], close_date=["2024-01-01", None]),
         DataError, ("'A'", "close_date", "created", "2024-01-01")),
    Case("probability-1.5", lambda: load(probability=[0.5, 1.5]),
         DataError, ("'B'", "probability", "1.5")),
    Case("probability-text", lambda: load(probability=["high", 0.5]),
         DataTypeError, ("'A'", "probability", "high")),
    Case("currency-mixed", lambda: load(currency=["USD", "EUR"]), CurrencyError, ("EUR", "USD")),
    Case("currency-mixed-says-pass-rates", lambda: load(currency=["USD", "EUR"]), CurrencyError,
         ("rates=", "ExchangeRates")),
    Case("rates-no-rate-on-the-date",
         lambda: Pipeline.from_columns(cols(currency=["EUR", "EUR"], close_date=[
             "2024-03-01", "2023-06-30"]), rates=sm.ExchangeRates.from_columns(
             {"currency": ["EUR"], "start_date": ["2024-01-01"], "rate": ["0.92"]},
             corporate="USD")),
         CurrencyError, ("'B'", "'EUR'", "2023-06-30", "2024-01-01")),
    Case("rates-currency-without-rate",
         lambda: Pipeline.from_columns(cols(currency=["EUR", "GBP"], close_date=[
             "2024-03-01", "2024-03-01"]), rates=sm.ExchangeRates.fixed(
             {"EUR": 0.92}, corporate="USD")),
         CurrencyError, ("'B'", "'GBP'", "2024-03-01")),
    Case("rates-not-exchange-rates",
         lambda: Pipeline.from_columns(cols(currency=["EUR", "EUR"]), rates={"EUR": 0.92}),
         DataTypeError, ("rates", "ExchangeRates", "dict")),
    Case("rate-date-unknown",
         lambda: Pipeline.from_columns(cols(), rate_date="closed",
                                       rates=sm.ExchangeRates.fixed({}, corporate="USD")),
         OptionError, ("rate_date", "'closed'", "'close_date'", "'created'")),
    Case("rates-negative", lambda: sm.ExchangeRates.fixed({"EUR": -0.92}, corporate="USD"),
         DataError, ("rate", "> 0", "-0.92")),
    Case("rates-text", lambda: sm.ExchangeRates.from_columns(
             {"currency": ["EUR", "JPY"], "start_date": ["2024-01-01"] * 2,
              "rate": ["0.92", "n/a"]}, corporate="USD"),
         DataError, ("row 1", "rate", "'n/a'")),
    Case("rates-two-on-one-day", lambda: sm.ExchangeRates.from_columns(
             {"currency": ["EUR", "EUR"], "start_date": ["2024-01-01"] * 2,
              "rate": ["0.92", "0.93"]}, corporate="USD"),
         DataError, ("EUR", "2024-01-01", "0.92", "0.93")),
    Case("rates-corporate-not-1", lambda: sm.ExchangeRates.fixed({"USD": 2}, corporate="USD"),
         DataError, ("USD", "must be 1", "2")),
    Case("salesforce-rates-gap", lambda: sm.io.read_salesforce_rates([
             {"IsoCode": "USD", "StartDate": "2024-01-01", "ConversionRate": 1},
             {"IsoCode": "EUR", "StartDate": "2024-01-01", "NextStartDate": "2024-02-01",
              "ConversionRate": 0.92},
             {"IsoCode": "EUR", "StartDate": "2024-03-01", "ConversionRate": 0.95}]),
         DataError, ("EUR", "2024-02-01", "2024-03-01", "NextStartDate")),
    Case("currency-option-bad", lambda: Pipeline.from_columns(cols(), currency="DOLLAR"),
         DataError, ("currency", "DOLLAR")),
    Case("timezone-unknown", lambda: Pipeline.from_columns(cols(), timezone="Mars/Base"),
         DataError, ("timezone", "Mars/Base")),
    Case("ragged-columns", lambda: load(amount=[1.0, 2.0, 3.0]),
         RaggedColumnsError, ("amount", "3")),
    Case("column-mapped-to-absent", lambda: Pipeline.from_columns(cols(), columns={"id": "nope"}),
         DataError, ("'nope'", "'id'")),
    Case("columns-not-a-mapping", lambda: Pipeline.from_columns(cols(), columns="id"),
         DataTypeError, ("columns", "'id'")),
    Case("data-an-int", lambda: Pipeline.from_columns(42), DataTypeError, ("data", "int")),
    Case("pipeline-called-with-deals",
         lambda: Pipeline([Deal("A", 1, "Proposal")]), SalesMetricsError, ("from_deals",)),
    Case("from_deals-not-a-deal", lambda: Pipeline.from_deals([Deal("A", 1, "Proposal"), 7]),
         DataTypeError, (row(1), "7")),
    Case("from_deals-unknown-stage", lambda: Pipeline.from_deals([Deal("D-9", 1, "Nope")]),
         UnknownStageError, ("'D-9'", "'Nope'")),
    Case("from_deals-field-is-attribute",
         lambda: Pipeline.from_deals([Deal("A", 1, "Proposal", fields={"amount": 3})]),
         DataError, ("'amount'",)),
    # column shapes and containers
    Case("column-generator", lambda: load(id=(x for x in "AB")),
         DataTypeError, ("id", "generator")),
    Case("column-set", lambda: load(owner={"ana", "bo"}), DataTypeError, ("owner", "set")),
    Case("column-2d", lambda: load(amount=np.ones((2, 2))), SalesMetricsError, ("amount", "2")),
    Case("column-2d-labels", lambda: load(owner=[["ana"], ["bo"]]),
         SalesMetricsError, ("owner",)),
    Case("column-polars-struct",
         lambda: Pipeline.from_columns(__import__("polars").DataFrame(
             {"id": ["A", "B"], "stage": [None, {"a": 1.0}]})),
         SalesMetricsError, ("stage",)),
    Case("label-a-dict", lambda: load(owner=[{"a": 1}, "bo"]),
         DataTypeError, ("owner", "{'a': 1}", row(0))),
    Case("label-only-dicts",
         lambda: Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "owner": [{"a": 1}]}),
         DataTypeError, ("owner", "{'a': 1}")),
    Case("label-dict-through-deal",
         lambda: Pipeline.from_deals([Deal("D-1", 1, "Proposal", owner={"a": 1})]),
         DataTypeError, ("owner", "{'a': 1}")),
    Case("column-scalar", lambda: load(stage="Proposal"),
         DataTypeError, ("stage", "'Proposal'")),
    Case("data-pandas-series",
         lambda: Pipeline.from_columns(__import__("pandas").Series(["A", "B"], name="id")),
         SalesMetricsError, ("Series",)),
    Case("data-polars-lazyframe",
         lambda: Pipeline.from_columns(__import__("polars").LazyFrame(cols())),
         DataTypeError, ("LazyFrame",)),
    Case("data-int-column-names",
         lambda: Pipeline.from_columns(__import__("pandas").DataFrame({0: ["A"], 1: ["Proposal"]}),
                                       columns={"id": "0", "stage": "1"}),
         SalesMetricsError, ("0",)),
    Case("pandas-duplicated-column",
         lambda: Pipeline.from_columns(__import__("pandas").DataFrame(
             [["A", "Proposal", 1.0, 2.0]], columns=["id", "stage", "amount", "amount"])),
         DataError, ("'amount'",)),
    Case("arrow-duplicated-column",
         lambda: Pipeline.from_columns(__import__("pyarrow").Table.from_arrays(
             [__import__("pyarrow").array(v) for v in (["A"], ["Proposal"], [1.0], [2.0])],
             names=["id", "stage", "amount", "amount"])),
         DataError, ("'amount'",)),
    # labels
    Case("owners-int-and-str", lambda: load(owner=[1, "1"]),
         DataError, ("owner", "'1'", row(0))),
    *[Case(f"blank-labels-missing-{kind}", functools.partial(_whitespace_owners, kind),
           result=WHITESPACE_RESULT)
      for kind in ("list", "numpy", "pandas", "pandas-category", "polars", "arrow",
                   "arrow-dictionary", "csv", "deals", "records", "field")],
    # the caller's arrays are not the pipeline's
    *[Case(f"owns-its-data-{kind}", functools.partial(_unchanged_after_caller_edits, kind),
           result=True) for kind in ("numpy", "pandas", "polars")],
    Case("columns-are-read-only", lambda: load().amount_minor.flags.writeable, result=False),
    # column mappings
    Case("mapping-key-case-of-attribute",
         lambda: Pipeline.from_columns(cols(close_value=[1.0, 2.0]),
                                       columns={"Amount": "close_value"}),
         DataError, ("'Amount'", "amount")),
    Case("mapping-key-one-edit-from-amount",
         lambda: Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "v": [1.0]},
                                       columns={"ammount": "v"}).fields,
         warns=DataQualityWarning, match=("ammount", "amount"), result=("ammount",)),
    Case("mapping-key-swap-in-close_date",
         lambda: Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "c": ["2024-01-01"]},
                                       columns={"clsoe_date": "c"}),
         warns=DataQualityWarning, match=("clsoe_date", "close_date")),
    Case("data-column-Amount-unmapped",
         lambda: Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "Amount": [5.0]}),
         warns=DataQualityWarning, match=("Amount", "amount")),
    Case("mapping-real-fields-state-account",
         lambda: Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "st": ["CA"],
                                        "acc": ["x"]},
                                       columns={"state": "st", "account": "acc"}).fields,
         result=("state", "account")),
    Case("stage_entered-wide-history",
         lambda: Pipeline.from_columns(
             {"id": ["A"], "stage": ["Proposal"], "met": ["2024-01-05"]},
             stage_entered={"Meeting": "met"}).deal("A").history,
         result=(("Meeting", dt.date(2024, 1, 5)),)),
    Case("stage_entered-unknown-stage",
         lambda: Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"], "x": ["2024-01-05"]},
                                       stage_entered={"Nope": "x"}),
         UnknownStageError, ("'Nope'",)),
    Case("stage_entered-absent-column",
         lambda: Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"]},
                                       stage_entered={"Meeting": "met"}),
         DataError, ("'met'",)),
]

CSV_CASES = [
    Case("csv-wrong-encoding", lambda: Pipeline.read_csv(_latin1("csv")),
         DataError, ("deals_latin1.csv", "line 2")),
    Case("csv-encoding-option",
         lambda: _owners(Pipeline.read_csv(_latin1("csv"), encoding="latin-1")),
         result=["José"]),
    Case("csv-delimiter-option",
         lambda: sm.pipeline_value(Pipeline.read_csv(_semicolons("csv"), delimiter=";")),
         result=100.0),
    Case("csv-field-over-stdlib-limit",
         lambda: len(Pipeline.read_csv(csv_file(
             "id,stage,notes\nA,Proposal," + "x" * 200_000 + "\n", "long.csv"),
             columns={"notes": "notes"})),
         result=1),
    Case("csv-empty-file", lambda: Pipeline.read_csv(csv_file("", "empty.csv")),
         DataError, ("empty.csv", "empty")),
    Case("csv-header-repeats",
         lambda: Pipeline.read_csv(csv_file("id,stage,amount,amount\nA,Proposal,1,2\n",
                                            "repeat.csv")),
         DataError, ("repeat.csv", "amount")),
    Case("csv-row-too-long",
         lambda: Pipeline.read_csv(csv_file("id,stage\nA,Proposal\nB,Proposal,9\n",
                                            "long_row.csv")),
         DataError, ("long_row.csv", "line 3")),
    Case("csv-digit-string-date",
         lambda: Pipeline.read_csv(csv_file("id,stage,created\nA,Proposal,2024-01-01\n"
                                            "B,Proposal,1704067200\n", "digits.csv")),
         DataError, ("'B'", "created", "1704067200", row(1))),
    Case("csv-line-number-in-message",
         lambda: Pipeline.read_csv(csv_file("id,stage,amount\nA,Proposal,1\nB,Proposal,-3\n",
                                            "negative.csv")),
         DataError, ("'B'", "amount", "-3", "line 3")),
    Case("csv-binary-bytes", lambda: Pipeline.read_csv(csv_file(bytes(range(256)), "bin.csv")),
         SalesMetricsError, ("bin.csv",)),
    Case("csv-blank-owner-and-padding",
         lambda: len(Pipeline.read_csv(csv_file("id,stage,owner\nA,Proposal\n\n", "pad.csv"))),
         result=1),
]

SF_CASES = [
    Case("sf-no-stage-column", lambda: read_salesforce([{"Id": "1"}]), DataError, ("StageName",)),
    Case("sf-missing-id", lambda: read_salesforce([_sf(Id=None), _sf(Id="006B")]),
         DataError, (row(0), re.compile(r"\bI[dD]\b"))),
    Case("sf-probability-150", lambda: read_salesforce([_sf(Probability=150)]),
         DataError, ("'006A'", "Probability", "150")),
    Case("sf-us-date", lambda: read_salesforce([_sf(CloseDate="3/31/2024")]),
         DataError, ("'006A'", "CloseDate", "3/31/2024")),
    Case("sf-isclosed-maybe", lambda: read_salesforce([_sf(IsClosed="maybe")]),
         DataError, ("IsClosed", "maybe")),
    Case("sf-amount-text", lambda: read_salesforce([_sf(Amount="lots")]),
         DataTypeError, ("'006A'", "mount", "lots")),
    Case("sf-not-records", lambda: read_salesforce(42), DataTypeError, ("int",)),
    Case("sf-sort-order-text-metadata",
         lambda: read_salesforce([_sf()], stages=[
             {"MasterLabel": "Prospecting", "DefaultProbability": 10, "IsClosed": False,
              "IsWon": False, "SortOrder": "first"},
             {"MasterLabel": "Closed Won", "DefaultProbability": 100, "IsClosed": True,
              "IsWon": True, "SortOrder": 2}]),
         DataError, ("SortOrder", "first")),
    Case("sf-sort-order-text-opportunity",
         lambda: read_salesforce([_sf(StageSortOrder="x")]), DataError, ("StageSortOrder", "'x'")),
    Case("sf-sort-order-bool-opportunity",
         lambda: read_salesforce([_sf(StageSortOrder=True)]),
         SalesMetricsError, ("StageSortOrder", "True")),
    Case("sf-sort-order-bool-metadata",
         lambda: read_salesforce([_sf()], stages=[
             {"MasterLabel": "Prospecting", "DefaultProbability": 10, "IsClosed": False,
              "IsWon": False, "SortOrder": True}]),
         SalesMetricsError, ("SortOrder", "True")),
    Case("sf-digit-string-date", lambda: read_salesforce([_sf(CreatedDate="1704067200")]),
         DataError, ("'006A'", "CreatedDate", "1704067200")),
    Case("sf-wrong-encoding", lambda: read_salesforce(_latin1("salesforce")),
         DataError, ("sf_latin1.csv", "line 2")),
    Case("sf-encoding-option",
         lambda: _owners(read_salesforce(_latin1("salesforce"), encoding="latin-1")),
         result=["José"]),
    Case("sf-delimiter-option",
         lambda: sm.pipeline_value(read_salesforce(_semicolons("salesforce"), delimiter=";")),
         result=100.0),
    Case("sf-exact", lambda: sm.win_rate(read_salesforce([_sf(), SF_WON])), result=1.0),
]

HS_CASES = [
    Case("hs-epoch-ms-string",
         lambda: read_hubspot([_hubspot_deal(createdate="1677110400000")]).created[0],
         result=np.datetime64("2023-02-23")),
    Case("hs-epoch-ms-history",
         lambda: read_hubspot([_hubspot_deal(
             hs_date_entered_appointmentscheduled="1677110400000")]).deal("1").history,
         result=(("Appointment Scheduled", dt.date(2023, 2, 23)),)),
    Case("hs-null-pipeline-kept",
         lambda: len(read_hubspot([_hubspot_deal("1", pipeline="default"),
                                   _hubspot_deal("2", pipeline=None)])),
         result=2),
    Case("hs-closed-stage-without-probability",
         lambda: read_hubspot(
             [_hubspot_deal(dealstage="s2", closedate="2024-02-01")],
             pipelines={"id": "p1", "label": "P", "stages": [
                 {"id": "s1", "label": "Open", "metadata": {"probability": "0.5",
                                                            "isClosed": "false"}},
                 {"id": "s2", "label": "Signed", "metadata": {"isClosed": "true"}}]}),
         SalesMetricsError, ("Signed",)),
    Case("hs-object-id-null-uses-top-level-id",
         lambda: read_hubspot([{"id": "77", "properties": {
             "hs_object_id": None, "dealstage": "contractsent"}}]).ids.tolist(),
         result=["77"]),
    Case("hs-missing-id",
         lambda: read_hubspot([{"id": None, "properties": {"dealstage": "contractsent"}},
                               _hubspot_deal("2")]),
         DataError, (row(0), "id")),
    Case("hs-deal-stage-probability-read",
         lambda: read_hubspot([_hubspot_deal("5", hs_deal_stage_probability="0.5")])
         .deal("5").probability,
         result=0.5),
    Case("hs-unknown-pipeline",
         lambda: read_hubspot([_hubspot_deal()], pipeline="Nope"), DataError, ("'Nope'",)),
    Case("hs-unknown-stage", lambda: read_hubspot([_hubspot_deal(dealstage="1234567")]),
         UnknownStageError, ("'1234567'", "'1'")),
    Case("hs-bad-date", lambda: read_hubspot([_hubspot_deal(createdate="yesterday")]),
         DataError, ("'1'", "createdate", "yesterday")),
    Case("hs-digit-string-date", lambda: read_hubspot([_hubspot_deal(createdate="1704067200")]),
         DataError, ("'1'", "createdate", "1704067200")),
    Case("hs-negative-amount", lambda: read_hubspot([_hubspot_deal(amount="-5")]),
         DataError, ("'1'", "amount", "-5")),
    Case("hs-forecast-percent", lambda: read_hubspot([_hubspot_deal(hs_forecast_probability="40")]),
         DataError, ("'1'", "probability", "40")),
    Case("hs-wrong-encoding", lambda: read_hubspot(_latin1("hubspot")),
         DataError, ("hs_latin1.csv", "line 2")),
    Case("hs-encoding-option",
         lambda: _owners(read_hubspot(_latin1("hubspot"), encoding="latin-1")),
         result=["José"]),
    Case("hs-delimiter-option",
         lambda: sm.pipeline_value(read_hubspot(_semicolons("hubspot"), delimiter=";")),
         result=100.0),
]

PD_CASES = [
    Case("pd-chosen-pipeline-stages-only", _pd_one_pipeline_names,
         result=("Lead In", "Proposal", "Won", "Lost")),
    Case("pd-shared-stage-names",
         lambda: read_pipedrive(PD_DEALS, stages=PD_STAGES, pipeline=2).stage_names,
         result=("Lead In", "Demo", "Won", "Lost")),
    Case("pd-stage-without-active-flag",
         lambda: read_pipedrive([{"id": 1, "stage_id": 2, "status": "open"}],
                                stages=[{"id": 1, "name": "A", "active_flag": True},
                                        {"id": 2, "name": "B"}]).stage_names,
         result=("A", "B", "Won", "Lost")),
    Case("pd-null-pipeline-id-with-pipeline",
         lambda: read_pipedrive([PD_DEALS[0], {"id": 7, "stage_id": 2, "status": "open",
                                               "pipeline_id": None}],
                                stages=PD_STAGES[:2], pipeline=1),
         DataError, ("pipeline", re.compile(r"'7'|\b7\b"))),
    Case("pd-missing-id",
         lambda: read_pipedrive([{"id": None, "stage_id": 1, "status": "open"}], stages=PD_ONE),
         DataError, (row(0), "id")),
    Case("pd-status-pending",
         lambda: read_pipedrive([{"id": 1, "stage_id": 1, "status": "pending"}], stages=PD_ONE),
         DataError, (row(0), "status", "pending")),
    Case("pd-probability-140",
         lambda: read_pipedrive([{"id": 1, "stage_id": 1, "status": "open", "probability": 140}],
                                stages=PD_ONE),
         DataError, ("'1'", "probability", "140")),
    Case("pd-deals-without-stage",
         lambda: read_pipedrive([{"id": 1}], stages=PD_ONE), DataError, ("stage_id",)),
    Case("pd-stages-without-id",
         lambda: read_pipedrive([{"id": 1, "stage_id": 1, "status": "open"}],
                                stages=[{"name": "X"}]),
         DataError, ("'id'",)),
    Case("pd-wrong-encoding", lambda: read_pipedrive(_latin1("pipedrive"), stages=PD_ONE),
         DataError, ("pd_latin1.csv", "line 2")),
    Case("pd-encoding-option",
         lambda: _owners(read_pipedrive(_latin1("pipedrive"), stages=PD_ONE, encoding="latin-1")),
         result=["José"]),
    Case("pd-delimiter-option",
         lambda: sm.pipeline_value(read_pipedrive(_semicolons("pipedrive"), stages=PD_ONE,
                                                  delimiter=";")),
         result=100.0),
]

RECORDS_CASES = [
    Case("records-probability-scale",
         lambda: read_records([{"id": 1, "stage": "Proposal"}], probability_scale="basis points"),
         OptionError, ("probability_scale", "'basis points'")),
    Case("records-absent-column",
         lambda: read_records([{"id": 1, "stage": "Proposal"}], columns={"owner": "Nope"}),
         DataError, ("'Nope'", "'owner'")),
    Case("records-missing-id",
         lambda: read_records([{"id": 1, "stage": "Proposal"}, {"id": None, "stage": "Proposal"}]),
         DataError, (row(1), "id")),
    Case("records-not-records", lambda: read_records(42), DataTypeError, ("int",)),
    Case("records-record-not-dict", lambda: read_records([{"id": 1, "stage": "Proposal"}, 5]),
         DataTypeError, (row(1), "5")),
    Case("records-digit-string-date",
         lambda: read_records([{"id": 1, "stage": "Proposal", "created": "1704067200"}]),
         DataError, ("created", "1704067200")),
    Case("records-mapping-typo",
         lambda: read_records([{"id": 1, "stage": "Proposal", "v": 3}], columns={"ammount": "v"}),
         warns=DataQualityWarning, match=("ammount", "amount")),
    Case("records-wrong-encoding", lambda: read_records(_latin1("csv")),
         DataError, ("deals_latin1.csv", "line 2")),
    Case("records-encoding-option",
         lambda: _owners(read_records(_latin1("csv"), encoding="latin-1")), result=["José"]),
    Case("records-delimiter-option",
         lambda: sm.pipeline_value(read_records(_semicolons("csv"), delimiter=";")),
         result=100.0),
    Case("records-percent-exact",
         lambda: sm.weighted_pipeline(read_records(
             [{"id": 1, "stage": "Proposal", "amount": 200, "p": "25"}],
             columns={"probability": "p"}, probability_scale="percent")),
         result=50.0),
]


def _two_stage_skips() -> Any:
    """Three open deals; one entered Meeting then Proposal, two went straight to Proposal."""
    p = Pipeline.from_columns(
        {"id": ["A", "B", "C"], "stage": ["Proposal"] * 3, "amount": [1.0, 1.0, 1.0]},
        history={"id": ["A", "A", "B", "C"], "stage": ["Meeting", "Proposal", "Proposal",
                                                       "Proposal"],
                 "date": ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-02"]})
    return sm.stage_conversion(p, skipped="visited")


def _lost_at_zero() -> Pipeline:
    return Pipeline.from_columns(
        {"id": ["A", "B", "C"], "stage": ["Closed won", "Closed lost", "Closed lost"],
         "amount": [100.0, 0.0, 0.0], "close_date": ["2024-01-31"] * 3},
        history={"id": ["A", "B", "C"], "stage": ["Proposal", "Meeting", "Meeting"],
                 "date": ["2024-01-02"] * 3})


def _no_history() -> Pipeline:
    return Pipeline.from_columns(
        {"id": ["A", "B", "C"], "stage": ["Proposal", "Closed won", "Closed lost"],
         "amount": [1.0, 2.0, 3.0], "close_date": [None, "2024-01-31", "2024-01-31"]})


def _one_without_created() -> Pipeline:
    return Pipeline.from_columns(
        {"id": ["A", "B"], "stage": ["Closed won"] * 2, "amount": [1.0, 2.0],
         "created": ["2024-01-01", None], "close_date": ["2024-02-01", "2024-02-01"]})


def _old_date_median() -> float:
    p = Pipeline.from_columns(
        {"id": ["A", "B", "C"], "stage": ["Closed won"] * 3, "amount": [1.0, 2.0, 3.0],
         "created": ["2024-01-01", "2024-01-01", "1900-01-01"],
         "close_date": ["2024-01-11", "2024-01-21", "2024-01-01"]})
    return sm.sales_cycle_length(p, statistic="median")


METRIC_CASES = [
    # options
    Case("win_rate-basis", lambda: sm.win_rate(base(), basis="units"),
         OptionError, ("basis", "'units'", "'unit'", "'value'")),
    Case("win_rate-open_deals", lambda: sm.win_rate(base(), open_deals="include"),
         OptionError, ("open_deals", "'include'")),
    Case("win_rate-no_decision", lambda: sm.win_rate(base(), no_decision="won"),
         OptionError, ("no_decision", "'won'")),
    Case("win_rate-view", lambda: sm.win_rate(base(), view="calendar"),
         OptionError, ("view", "'calendar'")),
    Case("win_rate-by-unknown-field", lambda: sm.win_rate(base(), by="region"),
         DataError, ("'region'", "'owner'")),
    Case("win_rate-by-non-string", lambda: sm.win_rate(base(), by=["owner", 3]),
         DataTypeError, ("by", "3")),
    Case("win_rate-period-Q5", lambda: sm.win_rate(base(), period="2024-Q5"),
         DataError, ("2024-Q5",)),
    Case("win_rate-period-int", lambda: sm.win_rate(base(), period=2024),
         DataTypeError, ("period", "2024")),
    Case("win_rate-period-9999", lambda: sm.win_rate(base(), period="9999"),
         SalesMetricsError, ("9999",)),
    Case("win_rate-stale_after-negative", lambda: sm.win_rate(base(), stale_after=-1),
         OptionError, ("stale_after", "-1")),
    Case("win_rate-stale_after-float", lambda: sm.win_rate(base(), stale_after=1.5),
         OptionError, ("stale_after", "1.5")),
    Case("win_rate-stale_after-huge",
         lambda: sm.win_rate(base(), stale_after=10**20, as_of="2024-06-30"),
         SalesMetricsError, ("stale_after", "100000000000000000000")),
    Case("win_rate-as_of-empty", lambda: sm.win_rate(base(), stale_after=30, as_of=""),
         SalesMetricsError, ("as_of", "''")),
    Case("win_rate-as_of-month-13",
         lambda: sm.win_rate(base(), stale_after=30, as_of="2024-13-01"),
         SalesMetricsError, ("as_of", "2024-13-01")),
    Case("win_rate-as_of-int", lambda: sm.win_rate(base(), stale_after=30, as_of=20240101),
         DataTypeError, ("as_of", "20240101")),
    Case("win_rate-zero_division-text", lambda: sm.win_rate(base(), zero_division="0"),
         OptionError, ("zero_division", "'0'")),
    Case("win_rate-not-a-pipeline", lambda: sm.win_rate([1, 2]), DataTypeError, ("Pipeline",)),
    Case("cycle-statistic", lambda: sm.sales_cycle_length(base(), statistic="mode"),
         OptionError, ("statistic", "'mode'")),
    Case("cycle-percentile-101", lambda: sm.sales_cycle_length(base(), statistic=101),
         OptionError, ("statistic", "101")),
    Case("cycle-outcome", lambda: sm.sales_cycle_length(base(), outcome="open"),
         OptionError, ("outcome", "'open'")),
    Case("deal_size-outcome", lambda: sm.average_deal_size(base(), outcome="pending"),
         OptionError, ("outcome", "'pending'")),
    Case("time_in_stage-statistic", lambda: sm.time_in_stage(base(), statistic="mode"),
         OptionError, ("statistic", "'mode'")),
    Case("time_in_stage-reentry", lambda: sm.time_in_stage(base(), reentry="first"),
         OptionError, ("reentry", "'first'", "'cumulative'")),
    Case("time_in_stage-outcome", lambda: sm.time_in_stage(base(), outcome="pending"),
         OptionError, ("outcome", "'pending'")),
    Case("time_in_stage-no-history", lambda: sm.time_in_stage(load()),
         DataError, ("stage history", "history=")),
    Case("deal_age-as_of", lambda: sm.deal_age(base(), as_of="2024-13-01"),
         SalesMetricsError, ("as_of", "2024-13-01")),
    Case("hygiene-as_of-none", lambda: sm.hygiene(base(), as_of=None),
         OptionError, ("as_of", "required")),
    Case("hygiene-stalled_after", lambda: sm.hygiene(base(), as_of="2024-06-30",
                                                     stalled_after=0),
         OptionError, ("stalled_after", "0")),
    Case("hygiene-probability_tolerance",
         lambda: sm.hygiene(base(), as_of="2024-06-30", probability_tolerance=1.5),
         OptionError, ("probability_tolerance", "1.5")),
    Case("changes-after-not-a-pipeline", lambda: sm.pipeline_changes(base(), [1, 2]),
         DataTypeError, ("after", "list")),
    Case("changes-weighted", lambda: sm.pipeline_changes(base(), base(), weighted="yes"),
         DataTypeError, ("weighted", "'yes'")),
    Case("changes-by", lambda: sm.pipeline_changes(base(), base(), by="region"),
         DataError, ("region", "owner")),
    Case("slip_rate-period-none", lambda: sm.slip_rate(base(), base(), period=None),
         OptionError, ("period", "required")),
    Case("slip_rate-basis", lambda: sm.slip_rate(base(), base(), period="2024-Q1",
                                                 basis="money"),
         OptionError, ("basis", "'money'")),
    Case("concentration-top", lambda: sm.concentration(base(), top=-1),
         OptionError, ("top", "-1")),
    Case("concentration-thresholds", lambda: sm.concentration(base(), thresholds=(0.01, 0.1)),
         OptionError, ("thresholds", "(0.01, 0.1)")),
    Case("conversion-skipped", lambda: sm.conversion_from_stage(base(), skipped="all"),
         OptionError, ("skipped", "'all'")),
    Case("conversion-basis", lambda: sm.conversion_from_stage(base(), basis="count"),
         OptionError, ("basis", "'count'")),
    Case("funnel-basis", lambda: sm.funnel_counts(base(), basis="x"),
         OptionError, ("basis", "'x'")),
    Case("stage_conversion-view", lambda: sm.stage_conversion(base(), view="x"),
         OptionError, ("view", "'x'")),
    Case("velocity-opportunities", lambda: sm.sales_velocity(base(), opportunities="some"),
         OptionError, ("opportunities", "'some'")),
    Case("outcome_shares-basis", lambda: sm.outcome_shares(base(), basis="y"),
         OptionError, ("basis", "'y'")),
    Case("weighted-unknown-stage",
         lambda: sm.weighted_pipeline(base(), probabilities={"Nope": 0.5}),
         UnknownStageError, ("'Nope'",)),
    Case("weighted-probability-2", lambda: sm.weighted_pipeline(base(),
                                                               probabilities={"Proposal": 2}),
         DataError, ("'Proposal'", "2")),
    Case("velocity_change-shapes", lambda: sm.velocity_change(win_rate=[1, 2],
                                                             cycle_days=[1, 2, 3]),
         SalesMetricsError, ("win_rate", "cycle_days")),
    Case("velocity_change-zero", lambda: sm.velocity_change(win_rate=0),
         OptionError, ("win_rate", "0")),
    Case("velocity_change-text", lambda: sm.velocity_change(opportunities="x"),
         OptionError, ("opportunities", "'x'")),
    # exact results
    Case("exact-win_rate", lambda: sm.win_rate(base()), result=2 / 3),
    Case("exact-win_rate-value", lambda: sm.win_rate(base(), basis="value"), result=500 / 550),
    Case("exact-win_rate-by-owner", lambda: sm.win_rate(base(), by="owner"),
         result={"ana": 0.5, "bo": 1.0}),
    Case("exact-win_rate-stale", lambda: sm.win_rate(base(), stale_after=0, as_of="2024-06-30"),
         result=2 / 4),
    Case("exact-win_rate-not-yet-stale",
         lambda: sm.win_rate(base(), stale_after=365, as_of="2024-06-30"), result=2 / 3),
    Case("exact-by-two-fields-only-occurring",
         lambda: sm.won_revenue(base(), by=["owner", "team"]),
         result={("ana", "east"): 0.0, ("bo", "east"): 200.0, ("ana", "west"): 300.0}),
    Case("exact-pipeline_value", lambda: sm.pipeline_value(base()), result=100.0),
    Case("exact-pipeline_value-period",
         lambda: sm.pipeline_value(base(), period="2024-Q1"), result=100.0),
    Case("exact-weighted", lambda: sm.weighted_pipeline(base()), result=60.0),
    Case("exact-won_revenue-cohort", lambda: sm.won_revenue(base(), period="2024-01",
                                                            view="cohort"), result=500.0),
    Case("exact-average_deal_size", lambda: sm.average_deal_size(base()), result=250.0),
    Case("exact-cycle-mean", lambda: sm.sales_cycle_length(base()), result=45.5),
    Case("exact-cycle-median-old-date", _old_date_median, result=20.0),
    Case("exact-zero_division", lambda: sm.win_rate(base(), period="2030-Q1", zero_division=0),
         result=0.0),
    Case("exact-velocity_change", lambda: sm.velocity_change(win_rate=1.2, cycle_days=0.8),
         result=1.5),
    Case("stage_conversion-visited-is-a-rate", _two_stage_skips, result=in_range(0.0, 1.0)),
    Case("stage_conversion-visited-reached-both",
         lambda: _two_stage_skips()["Meeting"], result=1.0),
    # data-quality warnings
    Case("warn-no-amounts",
         lambda: sm.pipeline_value(Pipeline.from_columns({"id": ["A", "B"],
                                                          "stage": ["Proposal"] * 2})),
         warns=DataQualityWarning, match=("2", "amount")),
    Case("warn-open-without-amount",
         lambda: sm.weighted_pipeline(load(amount=[100.0, None])),
         warns=DataQualityWarning, match=("1", "amount")),
    Case("warn-lost-all-zero", lambda: sm.win_rate(_lost_at_zero(), basis="value"),
         warns=DataQualityWarning, match=("lost",), result=1.0),
    Case("warn-conversion-without-history", lambda: sm.conversion_from_stage(_no_history()),
         warns=DataQualityWarning, match=("1",)),
    Case("warn-cycle-without-created", lambda: sm.sales_cycle_length(_one_without_created()),
         warns=DataQualityWarning, match=("1", "created"), result=31.0),
]

# The forecasting, evidence and attribution functions: each bad option named with its value.
PLANNING_CASES = [
    Case("forecast-method", lambda: sm.forecast(base(), period="2024-Q1", method="bogus"),
         OptionError, ("method", "'bogus'", "'exact'")),
    Case("forecast-no-period", lambda: sm.forecast(base(), period=None),
         OptionError, ("period",)),
    Case("forecast-draws-0",
         lambda: sm.forecast(base(), period="2024-Q1", method="simulate", draws=0),
         OptionError, ("draws", "0")),
    Case("historical-basis", lambda: sm.historical_probabilities(base(), basis="x"),
         OptionError, ("basis", "'x'")),
    Case("historical-prior-negative",
         lambda: sm.historical_probabilities(base(), prior_strength=-1),
         OptionError, ("prior_strength", "-1")),
    Case("historical-prior-with-value-basis",
         lambda: sm.historical_probabilities(base(), basis="value", prior_strength=2),
         OptionError, ("prior_strength", "value")),
    Case("win_curve-alpha", lambda: sm.win_curve(base(), alpha=2), OptionError, ("alpha", "2")),
    Case("win_curve-max_days", lambda: sm.win_curve(base(), max_days=-3),
         OptionError, ("max_days", "-3")),
    Case("calibration-without-history",
         lambda: sm.calibration(_no_history(), as_of="2024-02-01"),
         DataError, ("history",)),
    Case("calibration-bins-0", lambda: sm.calibration(base(), as_of="2024-02-01", bins=0),
         OptionError, ("bins", "0")),
    Case("as_of-without-history", lambda: _no_history().as_of("2024-02-01"),
         DataError, ("history",)),
    Case("as_of-month-13", lambda: base().as_of("2024-13-01"), DataError, ("2024-13-01",)),
    Case("quota-not-a-mapping",
         lambda: sm.quota_attainment(base(), quotas=5, period="2024-Q1"),
         DataTypeError, ("quotas", "5")),
    Case("quota-negative",
         lambda: sm.quota_attainment(base(), quotas={"ana": -1}, period="2024-Q1"),
         DataError, ("quotas['ana']", "-1")),
    Case("coverage-target-negative",
         lambda: sm.pipeline_coverage(base(), target=-5, period="2024-Q1"),
         OptionError, ("target", "-5")),
    Case("plan-weeks-0", lambda: sm.plan(base(), target=100, period="2024-Q2", weeks=0),
         OptionError, ("weeks", "0")),
    Case("accuracy-lengths", lambda: sm.forecast_accuracy([1, 2], [1]),
         DataError, ("2", "1")),
    Case("attribution-not-velocities", lambda: sm.velocity_attribution(1, 2),
         DataTypeError, ("before", "int")),
]

CLI_CASES = [
    Case("cli-period-9999", lambda: cli("report", "--period", "9999"),
         result=cli_error("9999")),
    Case("cli-period-Q5", lambda: cli("report", "--period", "2024-Q5"),
         result=cli_error("2024-Q5")),
    Case("cli-stages-malformed", lambda: cli("report", "--stages", "Open"),
         result=cli_error("Open")),
    Case("cli-stages-probability-text", lambda: cli("report", "--stages", "Open:x,Won:1:won"),
         result=cli_error("'x'")),
    Case("cli-stages-outcome-unknown", lambda: cli("report", "--stages", "Open:0.5,Won:1:yes"),
         result=cli_error("yes")),
    Case("cli-column-without-equals",
         lambda: cli("report", str(csv_file(GOOD_CSV, "good.csv")), "--column", "nope"),
         result=cli_error("nope")),
    Case("cli-column-unknown",
         lambda: cli("report", str(csv_file(GOOD_CSV, "good.csv")), "--column", "owner=rep"),
         result=cli_error("rep")),
    Case("cli-columns-do-not-match",
         lambda: cli("report", str(csv_file("opp,phase\nA,Won\n", "other.csv"))),
         result=cli_error("--column", "opp", "phase")),
    Case("cli-unknown-stage-suggests-stages",
         lambda: cli("report", str(csv_file("id,stage\nA,Nope\n", "nope.csv"))),
         result=cli_error("--stages", "Nope")),
    Case("cli-missing-file", lambda: cli("report", str(_tmp() / "absent.csv")),
         result=cli_error("absent.csv")),
    Case("cli-binary-file", lambda: cli("report", str(csv_file(bytes(range(256)), "bin.csv"))),
         result=cli_error("bin.csv")),
    Case("cli-by-unknown", lambda: cli("report", "--by", "region"), result=cli_error("region")),
    Case("cli-currency-bad",
         lambda: cli("report", str(csv_file(GOOD_CSV, "good.csv")), "--currency", "XX"),
         result=cli_error("XX")),
    Case("cli-files-differ",
         lambda: cli("report", str(csv_file(GOOD_CSV, "good.csv")),
                     str(csv_file("id,stage\nC,Proposal\n", "fewer.csv"))),
         result=cli_error("fewer.csv")),
    Case("cli-good-file", lambda: cli("report", str(csv_file(GOOD_CSV, "good.csv")))[0],
         result=0),
]

# -- activities (issue 11) ----------------------------------------------------------------------
def acts(**extra: Any) -> dict[str, Any]:
    """Columns of two activities A1 (call) and A2 (email) by ana, with ``extra`` replacing."""
    data: dict[str, Any] = {"id": ["A1", "A2"], "kind": ["call", "email"], "owner": ["ana"] * 2,
                            "date": ["2024-10-07", "2024-10-08"], "deal_id": ["A", None]}
    data.update(extra)
    return data


def activities(**extra: Any) -> sm.Activities:
    return sm.Activities.from_columns(acts(**extra))


def _vs(**options: Any) -> Any:
    return sm.activity_vs_target(activities(), **{"targets": {"call": 5},
                                                 "period": "2024-10", **options})


ACTIVITY_CASES = [
    Case("activity-duplicate-id", lambda: activities(id=["A1", "A1"]),
         raises=DuplicateDealError, match=("activity 'A1'", row(0), row(1))),
    Case("activity-id-missing", lambda: activities(id=["A1", None]), raises=DataError,
         match=(row(1), "id is missing")),
    Case("activity-kind-number", lambda: activities(kind=[3, 4]), raises=DataTypeError,
         match=("kind", "3", "'A1'")),
    Case("activity-kind-mixed", lambda: activities(kind=["call", 4]), raises=DataError,
         match=("kind", "4")),
    Case("activity-kind-missing", lambda: activities(kind=["call", None]), raises=DataError,
         match=("'A2'", row(1), "kind is missing")),
    Case("activity-kind-list", lambda: activities(kind=["call", ["x"]]), raises=DataTypeError,
         match=("kind", row(1))),
    Case("activity-kind-spelling", lambda: activities(kind=["Follow-up", "CALL"]).kinds,
         result=("call", "follow_up")),
    Case("activity-date-missing", lambda: activities(date=["2024-10-07", None]),
         raises=DataError, match=("'A2'", row(1), "date is missing")),
    Case("activity-date-bad", lambda: activities(date=["2024-10-07", "7/10/24"]),
         raises=DataError, match=("'A2'", "date", "'7/10/24'")),
    Case("activity-no-kind-column", lambda: sm.Activities.from_columns(
        {"id": ["A1"], "date": ["2024-10-07"]}), raises=DataError, match=("'kind'",)),
    Case("activity-ragged", lambda: activities(owner=["ana"]), raises=RaggedColumnsError,
         match=("'owner' has 1",)),
    Case("activity-csv-line", lambda: sm.Activities.read_csv(csv_file(
        "id,kind,date\nA1,call,2024-10-07\nA2,call,\n", "activities.csv")), raises=DataError,
         match=("'A2'", "line 3 of activities.csv", "date is missing")),
    Case("activity-record-kind-type", lambda: sm.Activity("A1", 5, "ana", "2024-10-07"),  # type: ignore[arg-type]
         raises=DataTypeError, match=("activity 'A1'", "kind", "5")),
    Case("activity-record-no-date", lambda: sm.Activity("A1", "call", "ana", None),
         raises=DataError, match=("activity 'A1'", "date is missing")),
    Case("activity-record-bad-id", lambda: sm.Activity(1.5, "call", "ana", "2024-10-07"),  # type: ignore[arg-type]
         raises=DataTypeError, match=("activity id", "1.5")),
    Case("activity-from-records-dict", lambda: sm.Activities.from_records([{"id": "A1"}]),
         raises=DataTypeError, match=("row 0", "expected an Activity")),
    Case("activity-counts-not-activities", lambda: sm.activity_counts(base()),
         raises=DataTypeError, match=("Activities", "Pipeline")),
    Case("activity-counts-unknown-field", lambda: sm.activity_counts(activities(), by="region"),
         raises=DataError, match=("'region'", "'kind'")),
    Case("activity-counts-bad-freq", lambda: sm.activity_counts(activities(), freq="day"),
         raises=OptionError, match=("freq", "'day'", "'week'")),
    Case("activity-target-not-mapping", lambda: _vs(targets=5), raises=DataTypeError,
         match=("targets", "5")),
    Case("activity-target-negative", lambda: _vs(targets={"call": -1}), raises=DataError,
         match=("targets['call']", "-1")),
    Case("activity-target-nan", lambda: _vs(targets={"call": math.nan}), raises=DataError,
         match=("targets['call']", "nan")),
    Case("activity-target-bool", lambda: _vs(targets={"call": True}), raises=DataError,
         match=("targets['call']", "True")),
    Case("activity-target-kind-type", lambda: _vs(targets={3: 5}), raises=DataTypeError,
         match=("targets keys", "3")),
    Case("activity-target-no-period", lambda: _vs(period=None), raises=OptionError,
         match=("period",)),
    Case("activity-target-freq", lambda: _vs(freq=None), raises=OptionError,
         match=("freq", "None")),
    Case("activity-target-owners-str", lambda: _vs(owners="ana"), raises=DataTypeError,
         match=("owners", "'ana'")),
    Case("activity-target-team-owners-list", lambda: sm.activity_vs_target(
        sm.Activities.from_columns({**acts(), "team": ["x", "x"]}, columns={"team": "team"}),
        targets={"call": 1}, period="2024-10", by="team", owners=["ana"]),
         raises=DataTypeError, match=("owners", "mapping")),
    Case("activity-target-prorate", lambda: _vs(prorate="yes"), raises=DataTypeError,
         match=("prorate", "'yes'")),
    Case("activity-ratios-unknown-deal", lambda: sm.activity_ratios(
        activities(deal_id=["Z", None]), base()), warns=DataQualityWarning,
         match=("1 activity", "deal id")),
    Case("activity-required-negative-target", lambda: sm.required_activity(
        base(), activities(), target=-5, period="2025-Q1"), raises=SalesMetricsError,
         match=("target", "-5")),
    Case("activity-required-no-history", lambda: sm.required_activity(
        base(), activities(), target=100, period="2024-Q3"), warns=DataQualityWarning,
         match=("no activity is dated before",)),
]

# Lead, renewal, retention and peer KPIs, quotas and commission (issue 11).
_PLAN = [(0.0, 0.1), (1.0, 0.15)]
KPI_CASES = [
    Case("plan-unsorted", lambda: sm.CommissionPlan([(1.0, 0.1), (0.5, 0.2)]),
         DataError, ("tiers[1]", "0.5", "sorted")),
    Case("plan-negative-threshold", lambda: sm.CommissionPlan([(-0.1, 0.1)]),
         DataError, ("tiers[0] attainment_from", "-0.1")),
    Case("plan-rate-above-1", lambda: sm.CommissionPlan([(0.0, 1.5)]),
         DataError, ("tiers[0] rate", "1.5")),
    Case("plan-draw-above-cap", lambda: sm.CommissionPlan(_PLAN, cap=1, draw=2),
         DataError, ("draw 2", "cap 1")),
    Case("commission-not-a-plan",
         lambda: sm.commission(_PLAN, base(), quotas={"ana": 1}, period="2024-Q1"),
         DataTypeError, ("CommissionPlan", "list")),
    Case("commission-negative-quota",
         lambda: sm.commission(sm.CommissionPlan(_PLAN), base(), quotas={"ana": -5},
                               period="2024-Q1"),
         DataError, ("quotas['ana']", "-5")),
    Case("quota-table-negative", lambda: sm.Quota.from_columns(
        {"owner": ["ana", "bo"], "period": ["2024-Q1"] * 2, "amount": [1, -2]}),
         DataError, (row(1), "amount", "-2")),
    Case("quota-table-straddles", lambda: sm.quota_attainment(
        base(), quotas=sm.Quota.from_columns(
            {"owner": ["ana"], "period": ["2024-Q1"], "amount": [1]}), period="2024-02"),
         DataError, ("2024-Q1", "straddles", "2024-02")),
    Case("renewal-type-field-unknown",
         lambda: sm.renewal_rate(base(), period="2024-Q1", type_field="kind"),
         DataError, ("type_field='kind'",)),
    Case("renewal-no-type-field", lambda: sm.renewal_rate(base(), period="2024-Q1"),
         DataError, ("type_field='type'",)),
    Case("logo-account-field-unknown",
         lambda: sm.logo_retention(base(), period="2024-Q1"),
         DataError, ("account_field='account'",)),
    Case("new-leads-freq", lambda: sm.new_leads(base(), freq="daily"),
         OptionError, ("freq", "'daily'")),
    Case("lead-conversion-zero-division",
         lambda: sm.lead_conversion(base(), zero_division=2), OptionError, ("zero_division", "2")),
    Case("peer-scores-weights", lambda: sm.peer_scores(base(), period="2024-Q1",
                                                        weights={"speed": 1}),
         OptionError, ("weights", "speed")),
    Case("peer-scores-no-by", lambda: sm.peer_scores(base(), period="2024-Q1", by=None),
         OptionError, ("by",)),
]

CASES: list[Case] = [
    *DEAL_CASES, *STAGE_CASES, *PERIOD_CASES, *FROM_COLUMNS_CASES, *CSV_CASES, *SF_CASES,
    *HS_CASES, *PD_CASES, *RECORDS_CASES, *METRIC_CASES, *PLANNING_CASES, *CLI_CASES,
    *ACTIVITY_CASES, *KPI_CASES,
]


def test_the_table_is_large_and_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 80
    assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
    for case in CASES:
        assert case.raises is None or case.match, f"{case.id}: an error case names nothing"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case) -> None:
    run_case(case)
