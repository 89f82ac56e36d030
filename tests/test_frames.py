"""Data frames in (pandas, polars, pyarrow, read by duck typing) and results out."""

import math

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Pipeline
from salesmetrics.datasets import sample_pipeline
from salesmetrics.errors import DataQualityWarning

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

ROWS = {
    "opportunity_id": ["A", "B", "C", "D"],
    "deal_stage": ["Closed won", "Closed lost", "Proposal", "Discovery"],
    "value": [100.0, 50.0, None, 20.0],
    "created": ["2024-01-01", "2024-01-02", "2024-01-03", None],
    "closed": ["2024-02-01", "2024-02-02", None, None],
    "rep": ["ana", "bo", None, "ana"],
}
COLUMNS = {"id": "opportunity_id", "stage": "deal_stage", "amount": "value",
           "created": "created", "close_date": "closed", "owner": "rep"}


def expected() -> Pipeline:
    return Pipeline.from_columns(ROWS, columns=COLUMNS)


def check(p: Pipeline) -> None:
    assert p == expected()
    assert sm.win_rate(p, by="owner") == {"ana": 1.0, "bo": 0.0, None: pytest.approx(math.nan,
                                                                                       nan_ok=True)}
    with pytest.warns(DataQualityWarning, match="1 of the 2 open deals has no amount"):
        assert sm.pipeline_value(p) == 20.0  # C has no amount


def test_pandas():
    frame = pd.DataFrame(ROWS)
    frame["created"] = pd.to_datetime(frame["created"])
    check(Pipeline.from_columns(frame, columns=COLUMNS))


def test_pandas_categorical_and_nullable():
    frame = pd.DataFrame(ROWS)
    frame["rep"] = frame["rep"].astype("category")
    frame["deal_stage"] = frame["deal_stage"].astype("category")
    frame["value"] = frame["value"].astype("Float64")
    p = Pipeline.from_columns(frame, columns=COLUMNS)
    check(p)


def test_polars():
    frame = pl.DataFrame(ROWS).with_columns(pl.col("created").str.to_date())
    check(Pipeline.from_columns(frame, columns=COLUMNS))
    cat = pl.DataFrame(ROWS).with_columns(pl.col("rep").cast(pl.Categorical))
    check(Pipeline.from_columns(cat, columns=COLUMNS))


def test_arrow():
    table = pa.table(ROWS)
    check(Pipeline.from_columns(table, columns=COLUMNS))
    encoded = pa.table({**ROWS, "rep": pa.array(ROWS["rep"]).dictionary_encode()})
    check(Pipeline.from_columns(encoded, columns=COLUMNS))


def test_results_convert():
    p = sample_pipeline()
    grouped = sm.win_rate(p, by="team")
    series = grouped.to_pandas()
    assert series.name == "win_rate"
    assert series.to_dict() == grouped.to_dict()
    frame = sm.sales_velocity(p, by=["team", "source"]).to_pandas()
    assert list(frame.index.names) == ["team", "source"]
    assert "revenue_per_day" in frame.columns
    nested = sm.conversion_from_stage(p, by="team").to_pandas()
    assert list(nested.columns) == [s.name for s in p.stages if not s.is_closed]
    polars_frame = grouped.to_polars()
    assert polars_frame.columns == ["team", "win_rate"]
    arrow = grouped.to_arrow()
    assert arrow.num_rows == 3
    assert np.allclose(arrow.column("win_rate").to_numpy(), list(grouped.values()))


def test_pipeline_to_pandas_round_trip():
    p = sample_pipeline()
    frame = p.to_pandas()
    q = Pipeline.from_columns(frame, p.stages, columns={c: c for c in frame.columns},
                              history=p.history_columns())
    assert q == p


@pytest.mark.parametrize("convert", ["to_pandas", "to_polars", "to_arrow"])
def test_pipeline_round_trips_through_every_frame(convert):
    p = sample_pipeline()
    frame = getattr(p, convert)()
    names = frame.column_names if convert == "to_arrow" else list(frame.columns)
    q = Pipeline.from_columns(frame, p.stages, columns={c: c for c in names},
                              history=p.history_columns())
    assert q == p
    assert sm.win_rate(q, by="owner") == sm.win_rate(p, by="owner")


def test_pandas_string_dtype_with_missing_labels():
    frame = pd.DataFrame(ROWS)
    frame["rep"] = frame["rep"].astype("string")  # missing values are pandas.NA
    check(Pipeline.from_columns(frame, columns=COLUMNS))


@pytest.mark.parametrize("make", [
    lambda v: pd.Series(v, dtype="object"),
    lambda v: pd.Series(v, dtype="string"),
    lambda v: pl.Series(v, dtype=pl.String),
    lambda v: pa.chunked_array([v[:2], v[2:]]),
])
def test_string_labels_encode_like_plain_lists(make):
    from salesmetrics.domain.columns import encode_labels

    values = ["b", "", None, "a", "b", "c"]
    expected = encode_labels(np.array(values, dtype=object), field="x")
    got = encode_labels(make(values), field="x")
    assert got.categories.tolist() == expected.categories.tolist() == ["a", "b", "c", None]
    assert got.decoded().tolist() == expected.decoded().tolist()
