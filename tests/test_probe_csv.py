"""A spreadsheet's trailing rows of empty cells are skipped like blank lines."""

from __future__ import annotations

from salesmetrics import Pipeline
from salesmetrics.io import read_columns, read_salesforce


def test_rows_of_empty_cells_are_skipped_and_lines_still_count(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("id,amount,stage\nA,1,Proposal\n,,\n , ,\n\nB,2,Proposal\n,,,,\n")
    assert read_columns(path)["id"].tolist() == ["A", "B"]
    p = Pipeline.read_csv(path)
    assert p.ids.tolist() == ["A", "B"] and p.amount.tolist() == [1.0, 2.0]


def test_a_row_with_one_filled_cell_is_still_read(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("id,amount,stage\nA,1,Proposal\n,,Proposal\n")
    table = read_columns(path)
    assert table["stage"].tolist() == ["Proposal", "Proposal"]
    assert table["id"].tolist() == ["A", ""]


def test_the_crm_readers_skip_them_too(tmp_path):
    path = tmp_path / "sf.csv"
    path.write_text("Id,StageName,Amount,Probability,CloseDate,IsClosed,IsWon\n"
                    "006A,Prospecting,1000,10,2024-03-31,false,false\n,,,,,,\n,,,,,,\n")
    assert read_salesforce(str(path)).ids.tolist() == ["006A"]
