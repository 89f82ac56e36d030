"""Issue 6: a Pipeline is built only from data it can trust, and says precisely what is wrong.

Each test here failed before its fix: pipelines shared memory with the caller's frame, mistyped
column-mapping keys loaded silently, wide stage histories could not be loaded, bad columns raised
raw TypeErrors, row numbers did not say what they counted, and caches raced under threads.
"""

import datetime as dt
import sys
import threading

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Outcome, Pipeline, Stage
from salesmetrics.errors import (
    DataError,
    DataQualityWarning,
    DataTypeError,
    SalesMetricsError,
    UnknownStageError,
)

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

STAGES = [
    Stage("Prospecting", 0.1),
    Stage("Engaging", 0.5),
    Stage("Won", 1.0, Outcome.WON),
    Stage("Lost", 0.0, Outcome.LOST),
]


# -- item 3: a Pipeline owns its data ----------------------------------------------------------
def numeric_rows() -> dict[str, object]:
    return {
        "id": np.array([1, 2, 3], dtype=np.int64),
        "amount": np.array([10.0, 20.0, 30.0]),
        "stage": ["Proposal", "Closed won", "Closed lost"],
        "created": np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[D]"),
        "close_date": np.array(["2024-02-01", "2024-02-02", "2024-02-03"], dtype="datetime64[D]"),
        "probability": np.array([0.5, 1.0, 0.0]),
        "owner": np.array([7, 8, 7], dtype=np.int64),
    }


def snapshot(p: Pipeline) -> dict[str, object]:
    return {
        "ids": p.ids.copy(), "amount": p.amount.copy(), "created": p.created.copy(),
        "close": p.close_date.copy(), "probability": p.probability.copy(),
        "owner": p.labels("owner").decoded().copy(),
    }


def assert_same(before: dict[str, object], p: Pipeline) -> None:
    after = snapshot(p)
    for name, values in before.items():
        np.testing.assert_array_equal(after[name], values, err_msg=name)


def mutate_numpy(data: dict[str, np.ndarray]) -> None:
    data["id"][:] = 99
    data["amount"][:] = -1.0
    data["created"][:] = np.datetime64("1999-01-01")
    data["close_date"][:] = np.datetime64("1999-01-01")
    data["probability"][:] = 7.0
    data["owner"][:] = 0


def test_dict_of_numpy_arrays_is_copied():
    data = numeric_rows()
    p = Pipeline.from_columns(data)
    before = snapshot(p)
    mutate_numpy(data)  # type: ignore[arg-type]
    assert_same(before, p)
    assert sm.pipeline_value(p) == 10.0


def test_dict_of_numpy_string_columns_is_copied():
    data = {"id": np.array(["A", "B"]), "stage": np.array(["Proposal", "Meeting"]),
            "owner": np.array(["ana", "bo"])}
    p = Pipeline.from_columns(data)
    data["id"][:] = "Z"
    data["owner"][:] = "zz"
    assert p.ids.tolist() == ["A", "B"]
    assert p.labels("owner").decoded().tolist() == ["ana", "bo"]


def test_dict_of_lists():
    data = {k: v.tolist() if isinstance(v, np.ndarray) else list(v)
            for k, v in numeric_rows().items()}
    p = Pipeline.from_columns(data)
    before = snapshot(p)
    data["id"][0] = 99  # type: ignore[index]
    assert_same(before, p)


def test_pandas_frame_is_copied():
    frame = pd.DataFrame(numeric_rows())
    p = Pipeline.from_columns(frame)
    before = snapshot(p)
    frame.loc[:, "id"] = 99
    frame.loc[:, "amount"] = 5.0
    frame.loc[:, "probability"] = 0.9
    frame.loc[:, "created"] = pd.Timestamp("1999-01-01")
    frame.loc[:, "owner"] = 0
    # also through the raw buffers, as numpy code does
    for name in ("id", "amount", "probability"):
        values = frame[name].to_numpy()
        if values.flags.writeable:
            values[:] = 0
    assert_same(before, p)


def test_polars_frame_is_copied():
    frame = pl.DataFrame({k: v for k, v in numeric_rows().items()})
    p = Pipeline.from_columns(frame)
    before = snapshot(p)
    for name in ("id", "amount", "probability", "created", "owner"):
        values = frame[name].to_numpy()
        if values.flags.writeable:
            values[:] = values[0]
    assert_same(before, p)
    for name in ("ids", "amount", "probability", "created"):
        array = getattr(p, {"ids": "ids"}.get(name, name))
        assert not array.flags.writeable


def test_pyarrow_table_is_copied():
    table = pa.table({k: v for k, v in numeric_rows().items()})
    p = Pipeline.from_columns(table)
    for array in (p.ids, p.probability, p.created, p.close_date, p.amount_minor):
        assert not array.flags.writeable
        # the pipeline's arrays are its own: no arrow buffer behind them
        for column in table.columns:
            view = column.to_numpy()
            assert not np.shares_memory(array, view)


@pytest.mark.parametrize("source", ["dict", "pandas", "polars", "arrow"])
def test_no_array_shares_memory_with_the_input(source):
    rows = numeric_rows()
    data = {"dict": lambda: rows, "pandas": lambda: pd.DataFrame(rows),
            "polars": lambda: pl.DataFrame(rows), "arrow": lambda: pa.table(rows)}[source]()
    p = Pipeline.from_columns(data)
    ours = [p.ids, p.amount_minor, p.stage_codes, p.created, p.close_date, p.probability,
            p.codes("owner")]
    for name in rows:
        column = data[name]
        if isinstance(column, list):
            continue
        raw = column if isinstance(column, np.ndarray) else np.asarray(column.to_numpy())
        for array in ours:
            assert not np.shares_memory(array, raw), name


def test_history_arrays_are_owned():
    history = {"id": np.array([1, 2]), "stage": ["Meeting", "Meeting"],
               "date": np.array(["2024-01-05", "2024-01-06"], dtype="datetime64[D]")}
    p = Pipeline.from_columns(numeric_rows(), history=history)
    history["date"][:] = np.datetime64("1990-01-01")
    assert p.history is not None
    assert p.history.dates.tolist() == [dt.date(2024, 1, 5), dt.date(2024, 1, 6)]


def test_from_columns_documents_the_copy():
    assert "copies" in (Pipeline.from_columns.__doc__ or "")


# -- item 4: unknown column-mapping keys ---------------------------------------------------------
BASE = {"id": ["A", "B"], "stage": ["Proposal", "Closed won"], "close_value": [10.0, 20.0],
        "close_date": ["2024-01-01", "2024-02-01"]}


def test_mapping_key_in_the_wrong_case_is_an_error():
    with pytest.raises(DataError, match=r"'Amount'.*did you mean 'amount'"):
        Pipeline.from_columns(BASE, columns={"Amount": "close_value"})


@pytest.mark.parametrize(("key", "meant"), [("ammount", "amount"), ("clsoe_date", "close_date"),
                                            ("amout", "amount"), ("owners", "owner")])
def test_mapping_key_one_edit_from_an_attribute_warns(key, meant):
    with pytest.warns(DataQualityWarning, match=rf"{key!r}.*did you mean {meant!r}"):
        p = Pipeline.from_columns(BASE, columns={key: "close_value"})
    assert key in p.fields  # still loads as a field


def test_real_fields_near_an_attribute_stay_usable():
    data = BASE | {"state": ["CA", "NY"], "account": ["x", "y"], "ip": ["1", "2"]}
    p = Pipeline.from_columns(data, columns={"state": "state", "account": "account", "ip": "ip"})
    assert p.fields == ("state", "account", "ip")
    with pytest.warns(DataQualityWarning, match=r"'satge'.*did you mean 'stage'"):
        p = Pipeline.from_columns(data | {"satge": ["CA", "NY"]},
                                  columns={"satge": "state", "account": "account"})
    assert p.fields == ("satge", "account")
    p = Pipeline.from_columns(data, columns={"state": "state", "account": "account"})
    assert p.fields == ("state", "account")
    assert sm.win_rate(p, by="state") == {"CA": pytest.approx(np.nan, nan_ok=True), "NY": 1.0}


def test_data_column_in_the_wrong_case_warns():
    data = {"id": ["A", "B"], "stage": ["Proposal", "Closed won"], "Amount": [10.0, 20.0],
            "close_date": ["2024-01-01", "2024-02-01"]}
    with pytest.warns(DataQualityWarning, match=r"'Amount'.*'amount'.*columns=\{'amount': "):
        Pipeline.from_columns(data)
    # mapped: no warning
    p = Pipeline.from_columns(data, columns={"amount": "Amount"})
    assert sm.pipeline_value(p) == 10.0


# -- item 5 (issue): stage_entered, a wide stage history -----------------------------------------
WIDE = {
    "id": ["A", "B", "C", "D"],
    "stage": ["Won", "Lost", "Lost", "Engaging"],
    "engage_date": ["2024-01-05", "2024-01-06", "", "2024-01-07"],
    "close_date": ["2024-02-01", "2024-02-02", "2024-02-03", ""],
}


def test_stage_entered_loads_a_wide_history():
    p = Pipeline.from_columns(WIDE, STAGES, stage_entered={"Engaging": "engage_date"})
    assert p.history is not None and len(p.history) == 3
    assert list(p.deal("B").history) == [("Engaging", dt.date(2024, 1, 6))]
    assert list(p.deal("C").history) == []
    # A and B engaged, C has no record of it: 1 won of the 2 closed that reached Engaging
    with pytest.warns(DataQualityWarning, match="1 closed deal"):
        assert sm.conversion_from_stage(p)["Engaging"] == 0.5


def test_stage_entered_combines_with_history():
    history = {"id": ["A", "B"], "stage": ["Prospecting", "Engaging"],
               "date": ["2024-01-01", "2024-01-06"]}
    p = Pipeline.from_columns(WIDE, STAGES, stage_entered={"Engaging": "engage_date"},
                              history=history)
    assert list(p.deal("A").history) == [("Prospecting", dt.date(2024, 1, 1)),
                                   ("Engaging", dt.date(2024, 1, 5))]
    assert list(p.deal("B").history) == [("Engaging", dt.date(2024, 1, 6))]  # no duplicate


@pytest.mark.parametrize("frame", [dict, pd.DataFrame, pl.DataFrame, pa.table])
def test_stage_entered_from_frames(frame):
    data = frame({**WIDE, "engage_date": [d or None for d in WIDE["engage_date"]],
                  "close_date": [d or None for d in WIDE["close_date"]]})
    p = Pipeline.from_columns(data, STAGES, stage_entered={"Engaging": "engage_date"})
    assert p.history is not None and len(p.history) == 3


def test_stage_entered_unknown_stages_are_listed():
    with pytest.raises(UnknownStageError, match=r"'Engagin'.*'Qualified'.*valid stages are"):
        Pipeline.from_columns(WIDE, STAGES,
                              stage_entered={"Engagin": "engage_date", "Qualified": "x"})


def test_stage_entered_missing_column():
    with pytest.raises(DataError, match=r"'engaged'.*'Engaging'.*columns are"):
        Pipeline.from_columns(WIDE, STAGES, stage_entered={"Engaging": "engaged"})


def test_stage_entered_bad_date_names_deal_and_row():
    data = WIDE | {"engage_date": ["2024-01-05", "soon", "", ""]}
    with pytest.raises(DataError, match=r"deal 'B' \(row 1 of the data\)"):
        Pipeline.from_columns(data, STAGES, stage_entered={"Engaging": "engage_date"})


def test_read_csv_stage_entered(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("id,stage,engage_date,close_date\nA,Won,2024-01-05,2024-02-01\n"
                    "B,Lost,,2024-02-02\n", encoding="utf-8")
    p = Pipeline.read_csv(path, STAGES, stage_entered={"Engaging": "engage_date"})
    assert p.history is not None and len(p.history) == 1


def test_maven_conversion_from_engaging(shared_data):
    path = shared_data / "maven-crm-sales-opportunities" / "sales_pipeline.csv"
    columns = {"id": "opportunity_id", "stage": "deal_stage", "close_date": "close_date",
               "created": "engage_date", "amount": "close_value"}
    p = Pipeline.read_csv(path, STAGES, columns=columns, currency="USD",
                          stage_entered={"Engaging": "engage_date"})
    conversion = sm.conversion_from_stage(p)["Engaging"]
    assert conversion < 1.0
    assert conversion == pytest.approx(sm.win_rate(p))


# -- item 9 parts --------------------------------------------------------------------------------
def test_a_process_that_cannot_win_warns():
    with pytest.warns(DataQualityWarning, match=r"no won stage.*'Won'.*Outcome.WON"):
        Pipeline.from_columns({"id": ["A"], "stage": ["Open"]},
                              [Stage("Open", 0.2), Stage("Won", 1.0)])


def test_a_process_with_a_won_stage_does_not_warn():
    Pipeline.from_columns({"id": ["A"], "stage": ["Open"]},
                          [Stage("Open", 0.2), Stage("Won", 1.0, Outcome.WON)])


@pytest.mark.parametrize("make", [list, lambda v: np.array(v, dtype=object), pd.Series])
def test_labels_mixing_numbers_and_strings_are_an_error(make):
    data = {"id": ["A", "B"], "stage": ["Proposal", "Meeting"], "owner": make([1, "1"])}
    with pytest.raises(DataError, match=r"owner.*numbers and strings.*row 0.*row 1"):
        Pipeline.from_columns(data)


@pytest.mark.parametrize("make", [list, lambda v: pd.Series(v, dtype=object)])
def test_a_list_as_a_label_is_named(make):
    data = {"id": ["A", "B"], "stage": ["Proposal", "Meeting"], "currency": make(["USD", [1]])}
    with pytest.raises(DataTypeError, match=r"row 1 of the data: currency must be a single value"):
        Pipeline.from_columns(data)


BLANKS = ["ana", "", "   ", None, "ana"]


@pytest.mark.parametrize("make", [
    list,
    lambda v: np.array([x or "" for x in v]),
    lambda v: pd.Series(v, dtype=object),
    lambda v: pd.Series(v, dtype="string"),
    lambda v: pd.Series(v, dtype="category"),
    lambda v: pl.Series(v),
    lambda v: pl.Series(v, dtype=pl.Categorical),
    lambda v: pa.array(v),
    lambda v: pa.array(v).dictionary_encode(),
    lambda v: pa.chunked_array([pa.array(v).dictionary_encode()]),
], ids=["list", "numpy", "pandas-object", "pandas-string", "pandas-category", "polars",
        "polars-categorical", "arrow", "arrow-dictionary", "arrow-chunked-dictionary"])
def test_blank_labels_are_missing_in_every_path(make):
    data = {"id": list("ABCDE"), "stage": ["Proposal"] * 5, "owner": make(BLANKS)}
    p = Pipeline.from_columns(data)
    assert p.labels("owner").decoded().tolist() == ["ana", None, None, None, "ana"]


def test_duplicated_column_names_are_an_error():
    frame = pd.DataFrame([["A", "Proposal", 1.0, 2.0]], columns=["id", "stage", "amount", "amount"])
    with pytest.raises(DataError, match=r"'amount'.*more than once"):
        Pipeline.from_columns(frame)


# -- errors that say what happened --------------------------------------------------------------
@pytest.mark.parametrize(("column", "what"), [
    ((x for x in ["A", "B"]), "generator"),
    ({"A", "B"}, "set"),
    (np.array([["A", "B"]]), "2-D"),
    ("AB", "str"),
    (5, "int"),
])
def test_bad_columns_are_named(column, what):
    data = {"id": column, "stage": ["Proposal", "Meeting"]}
    with pytest.raises(DataTypeError, match=rf"column 'id'.*{what}"):
        Pipeline.from_columns(data)


def test_a_series_as_data():
    with pytest.raises(DataTypeError, match=r"Series.*to_frame"):
        Pipeline.from_columns(pd.Series(["A"], name="id"))


def test_a_lazy_frame_as_data():
    with pytest.raises(DataTypeError, match=r"LazyFrame.*collect"):
        Pipeline.from_columns(pl.LazyFrame({"id": ["A"], "stage": ["Proposal"]}))


def test_int_column_names():
    frame = pd.DataFrame([["A", "Proposal"]])
    with pytest.raises(DataTypeError, match=r"column names must be str.*0"):
        Pipeline.from_columns(frame, columns={"id": "0", "stage": "1"})
    with pytest.raises(SalesMetricsError):
        Pipeline.from_columns({0: ["A"], 1: ["Proposal"]})


def test_unknown_stages_are_all_listed_with_counts():
    data = {"id": list("ABCDEF"),
            "stage": ["Won big", "Proposal", "Won big", "Lsot", None, "Won big"]}
    with pytest.raises(UnknownStageError) as info:
        Pipeline.from_columns(data)
    message = str(info.value)
    assert "'Won big' in 3 deals" in message
    assert "'Lsot' in 1 deal" in message
    assert "missing in 1 deal" in message
    assert "deal 'A' (row 0 of the data)" in message
    assert "valid stages are" in message


def test_rows_say_what_they_count():
    with pytest.raises(DataError, match=r"deal 'B' \(row 1 of the data\): amount must be >= 0"):
        Pipeline.from_columns({"id": ["A", "B"], "stage": ["Meeting"] * 2, "amount": [1, -5]})


def test_read_csv_names_the_line(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text('id,stage,amount,note\nA,Meeting,1,"two\nlines"\n\nB,Meeting,-5,x\n',
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"deal 'B' \(row 1 of the data, line 5 of sales\.csv\)"):
        Pipeline.read_csv(path)


def test_read_csv_unknown_stages_name_lines(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("id,stage\nA,Meeting\nB,Wonn\nC,Wonn\n", encoding="utf-8")
    with pytest.raises(UnknownStageError, match=r"row 1 of the data, line 3 of sales\.csv"):
        Pipeline.read_csv(path)


def test_positional_pipeline_points_to_from_deals():
    deals = [sm.Deal("A", 1.0, "Meeting")]
    with pytest.raises(DataTypeError, match=r"Pipeline\.from_deals"):
        Pipeline(deals)  # type: ignore[call-arg]


# -- item 8: read_columns ------------------------------------------------------------------------
def test_wrong_encoding_is_a_data_error(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,stage,owner\nA,Meeting,ana\nB,Meeting,Jos\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv.*line 3.*encoding="):
        Pipeline.read_csv(path)
    p = Pipeline.read_csv(path, encoding="latin-1")
    assert p.deal("B").owner == "Jos\u00e9"


def test_wrong_encoding_in_the_header(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,stage,propri\u00e9taire\nA,Meeting,x\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"line 1"):
        sm.io.read_columns(path)


def test_huge_fields_load(tmp_path):
    import csv

    limit = csv.field_size_limit()
    note = "x" * 200_000
    path = tmp_path / "big.csv"
    path.write_text(f"id,stage,note\nA,Meeting,{note}\n", encoding="utf-8")
    columns = sm.io.read_columns(path)
    assert columns["note"][0] == note
    assert csv.field_size_limit() == limit  # global state left alone


def test_delimiter_option(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("id;stage\nA;Meeting\n", encoding="utf-8")
    assert len(Pipeline.read_csv(path, delimiter=";")) == 1


# -- thread safety -------------------------------------------------------------------------------
def test_first_metrics_from_many_threads(monkeypatch):
    """Eight threads calling metrics on a fresh, chunked pipeline get the serial results. This
    guards the results under threads; `test_memo_trims_under_threads` guards the cache itself."""
    from salesmetrics import _kernels

    monkeypatch.setattr(_kernels, "CHUNK_ROWS", 64)
    rng = np.random.default_rng(6)
    n = 2_000
    stages = [s.name for s in sm.DEFAULT_STAGES]
    data = {
        "id": np.arange(n),
        "amount": rng.integers(1, 1000, n).astype(float),
        "stage": np.array(stages)[rng.integers(0, len(stages), n)],
        "created": np.datetime64("2024-01-01") + rng.integers(0, 100, n),
        "owner": np.array(["a", "b", "c"])[rng.integers(0, 3, n)],
    }
    data["close_date"] = data["created"] + rng.integers(0, 100, n)
    metrics = [
        lambda p: sm.win_rate(p, by="owner"),
        lambda p: sm.pipeline_value(p, by="owner"),
        lambda p: sm.weighted_pipeline(p),
        lambda p: sm.conversion_from_stage(p),
        lambda p: sm.stage_conversion(p),
        lambda p: sm.average_deal_size(p),
        lambda p: sm.funnel_counts(p),
        lambda p: sm.win_rate(p, basis="value"),
    ]
    def build() -> Pipeline:  # every deal entered the first stage when created
        return Pipeline.from_columns(data, stage_entered={"Initial contact": "created"})

    serial = build()
    expected = [repr(m(serial)) for m in metrics]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(5):
            p = build()
            errors: list[BaseException] = []
            results: dict[int, list[str]] = {}

            def run(k: int, p: Pipeline = p, errors: list[BaseException] = errors,
                    results: dict[int, list[str]] = results) -> None:
                try:
                    results[k] = [repr(metrics[(k + j) % len(metrics)](p))
                                  for j in range(len(metrics))]
                except BaseException as error:
                    errors.append(error)

            threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors, errors
            for k, got in results.items():
                shift = [expected[(k + j) % len(metrics)] for j in range(len(metrics))]
                assert got == shift
    finally:
        sys.setswitchinterval(old)


def test_memo_trims_under_threads():
    p = Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"]})

    def work(offset: int) -> None:
        for k in range(200):
            p._memo((offset, k), lambda k=k: k)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old)
    assert len(p._cache["memo"]) <= 32


def test_integer_ids_past_int64_load_as_text():
    p = Pipeline.from_columns({"id": [2**63, 1], "stage": ["Proposal", "Meeting"]})
    assert p.ids.tolist() == [str(2**63), "1"]
