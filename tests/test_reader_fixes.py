"""What a probe of the readers found: amounts with a thousands separator, probabilities on the
wrong scale, Salesforce stages without probabilities or with contradicting flags, HubSpot's
archived deals, and currency codes that ISO 4217 does not list. Each test has a known answer."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Pipeline
from salesmetrics.errors import DataError, DataQualityWarning
from salesmetrics.domain.columns import decimal_places
from salesmetrics.io import read_hubspot, read_pipedrive, read_records, read_salesforce

# ---------------------------------------------------------------- 1. amounts written as text


def test_decimal_places_counts_the_digits_after_the_point() -> None:
    text = np.array(["12", "1.500", " 0.25 ", "1.5e3", "7.", "1.234"])
    assert decimal_places(text).tolist() == [0, 3, 2, 0, 0, 3]


def test_thousands_separator_in_a_european_csv_warns(tmp_path: Path) -> None:
    # "1.500" in a ";" file means 1,500 EUR; read as a decimal it is 1.50 (3 decimal places, more
    # than EUR's 2): a warning names the deal, the text and what it was read as, and the fix.
    path = tmp_path / "eu.csv"
    path.write_text("id;amount;stage\nA;1.500;Proposal\nB;2.25;Proposal\nC;1.234;Proposal\n")
    with pytest.warns(DataQualityWarning) as caught:
        p = Pipeline.read_csv(path, delimiter=";", currency="EUR")
    (w,) = [x for x in caught if "decimal places" in str(x.message)]
    message = str(w.message)
    assert "2 amounts" in message and "EUR has (2)" in message
    assert "deal 'A' (row 0 of the data), '1.500' read as 1.50, and 1 more" in message
    assert "thousands separators" in message and "currency=" in message
    assert w.filename == __file__  # points at the caller's line
    assert p.amount.tolist() == [1.5, 2.25, 1.23]  # read as written, but no longer silently


@pytest.mark.parametrize("read", [
    lambda rows: read_records(rows),
    lambda rows: Pipeline.from_columns({k: [r[k] for r in rows] for k in rows[0]}),
    lambda rows: read_salesforce(
        [{"Id": r["id"], "StageName": r["stage"], "Amount": r["amount"], "Probability": 10,
          "CloseDate": "2024-01-01", "IsClosed": False, "IsWon": False} for r in rows]),
    lambda rows: read_hubspot({"results": [
        {"id": r["id"], "properties": {"dealstage": "contractsent", "amount": r["amount"]}}
        for r in rows]}),
    lambda rows: read_pipedrive(
        [{"id": r["id"], "value": r["amount"], "stage_id": 1, "status": "open",
          "add_time": "2024-01-02 09:00:00"} for r in rows],
        stages=[{"id": 1, "name": "Proposal", "order_nr": 1, "deal_probability": 20}]),
])
def test_every_reader_warns_on_text_with_three_decimals(read: object) -> None:
    rows = [{"id": "A", "amount": "1.234", "stage": "Proposal"}]
    with pytest.warns(DataQualityWarning, match=r"'1\.234' read as 1\.23"):
        p = read(rows)  # type: ignore[operator]
    assert p.amount.tolist() == [1.23]


def test_amounts_within_the_minor_unit_and_numbers_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = Pipeline.from_columns({"id": ["A", "B", "C"], "amount": ["1.5", "1234.56", "1e3"],
                                   "stage": ["Proposal"] * 3})
        q = Pipeline.from_columns({"id": ["A"], "amount": [1.234], "stage": ["Proposal"]})
        k = Pipeline.from_columns({"id": ["A"], "amount": ["1.234"], "stage": ["Proposal"]},
                                  currency="KWD")  # 3 places: exact
    assert p.amount.tolist() == [1.5, 1234.56, 1000.0]
    assert q.amount.tolist() == [1.23]  # a float is not text: rounded, as before
    assert k.amount.tolist() == [1.234]


def test_trailing_zeros_count_and_jpy_has_none() -> None:
    with pytest.warns(DataQualityWarning, match=r"JPY has \(0\).*'1500\.0' read as 1500"):
        p = Pipeline.from_columns({"id": ["A"], "amount": ["1500.0"], "stage": ["Proposal"]},
                                  currency="JPY")
    assert p.amount.tolist() == [1500.0]


def test_object_column_of_text_and_numbers_names_the_text_row() -> None:
    # row 0 is a float (left alone), row 1 the text "2.005": the first (and only) one named
    with pytest.warns(DataQualityWarning, match=r"1 amount is .*deal 'B' \(row 1 of the data\)"
                                                r", '2\.005' read as 2\.00"):
        Pipeline.from_columns({"id": ["A", "B"], "amount": [1.005, "2.005"],
                               "stage": ["Proposal"] * 2})
