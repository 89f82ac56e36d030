"""Dates a probe found wrong: a typo'd close year, one format per column, an invalid format."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Deal, Pipeline
from salesmetrics.errors import DataQualityWarning, OptionError

DEALS = [
    Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-02-01"),
    Deal("B", 100, "Closed lost", created="2024-01-01", close_date="2024-02-15"),
    Deal("C", 100, "Proposal", created="2024-02-01", close_date="2024-04-01"),
    Deal("D", 100, "Proposal", created="2024-02-20", close_date="2024-04-01"),
]


def test_a_closed_deal_closing_in_2099_warns_at_load_naming_the_deal_and_the_fix():
    # Latest created date 2024-02-20; E closes 2099-02-01, 27,740 days later (> 366).
    typo = Deal("E", 100, "Closed won", created="2024-02-01", close_date="2099-02-01")
    with pytest.warns(DataQualityWarning) as caught:
        p = Pipeline.from_deals([*DEALS, typo])
    (message,) = [str(w.message) for w in caught]
    assert caught[0].filename == __file__  # the user's line, not the constructor's
    assert "1 closed deal closes more than 366 days after" in message
    assert "(2024-02-20)" in message and "deal 'E' (row 4 of the data) on 2099-02-01" in message
    assert "Fix:" in message
    assert p.latest_date == np.datetime64("2099-02-01")  # the data is kept as given


def test_close_dates_within_a_year_of_the_other_dates_do_not_warn():
    # Also a closed deal without a created date of its own is not compared.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Pipeline.from_deals([Deal("A", 100, "Closed won", close_date="2024-03-15"),
                             Deal("B", None, "Proposal", created="2020-01-01")])
    # 2024-02-20 + 366 days = 2025-02-20: on that day still plausible; open deals never count.
    deals = [*DEALS,
             Deal("E", 1, "Closed won", created="2024-02-01", close_date="2025-02-20"),
             Deal("F", 1, "Proposal", created="2024-02-01", close_date="2099-01-01")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Pipeline.from_deals(deals)
        Pipeline.from_deals([Deal("G", 1, "Closed won", close_date="2099-01-01")])  # no created
        sm.datasets.sample_pipeline()


def test_the_history_of_open_stages_counts_as_a_date_on_record():
    # Latest created 2024-01-01, but an open-stage history entry on 2025-06-01: 2026-01-01 is
    # 214 days later, plausible. The won entry on 2026-01-01 itself is not a reference.
    history = [("Proposal", "2025-06-01"), ("Closed won", "2026-01-01")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Pipeline.from_deals([Deal("A", 1, "Closed won", created="2024-01-01",
                                  close_date="2026-01-01", history=history)])
    with pytest.warns(DataQualityWarning, match="2 closed deals close"):
        Pipeline.from_columns({"id": ["A", "B", "C"],
                               "stage": ["Closed won", "Closed lost", "Proposal"],
                               "created": ["2024-01-01", "2023-01-01", "2024-01-01"],
                               "close_date": ["2030-01-01", "2031-01-01", "2024-02-01"]})


def _read(tmp_path, body, formats):
    path = tmp_path / "deals.csv"
    path.write_text("id,amount,stage,close_date\n" + body)
    return Pipeline.read_csv(path, date_formats=formats).close_date.astype(str).tolist()


def test_one_format_per_column_the_first_that_reads_every_date(tmp_path):
    # "25/04/2024" cannot be month first, so the column is day first: 03/04 is April 3.
    body = "A,1,Proposal,03/04/2024\nB,1,Proposal,25/04/2024\n"
    assert _read(tmp_path, body, ["%m/%d/%Y", "%d/%m/%Y"]) == ["2024-04-03", "2024-04-25"]
    # Every date reads month first: the first format wins.
    body = "A,1,Proposal,03/04/2024\nB,1,Proposal,04/25/2024\nC,1,Proposal,2024-01-09\n"
    assert _read(tmp_path, body, ["%m/%d/%Y", "%d/%m/%Y"]) == [
        "2024-03-04", "2024-04-25", "2024-01-09"]


def test_a_column_no_single_format_reads_is_read_per_cell_with_a_warning(tmp_path):
    body = "A,1,Proposal,13/04/2024\nB,1,Proposal,04/25/2024\n"
    with pytest.warns(DataQualityWarning) as caught:
        days = _read(tmp_path, body, ["%m/%d/%Y", "%d/%m/%Y"])
    assert days == ["2024-04-13", "2024-04-25"]
    (message,) = [str(w.message) for w in caught]
    assert caught[0].filename == __file__
    assert message.startswith("close_date: no single one of date_formats")
    assert "'%m/%d/%Y' for 1 (e.g. '04/25/2024'), '%d/%m/%Y' for 1 (e.g. '13/04/2024')" in message
    # Formats of different shapes cannot be confused: read per cell without a warning.
    body = "A,1,Proposal,13.04.2024\nB,1,Proposal,04/25/2024\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        days = _read(tmp_path, body, ["%m/%d/%Y", "%d.%m.%Y"])
    assert days == ["2024-04-13", "2024-04-25"]


@pytest.mark.parametrize("fmt", ["%q", "%d/%m/%", "%Y-%m-%d %K"])
def test_an_invalid_strptime_format_is_an_option_error_not_unreadable_dates(tmp_path, fmt):
    with pytest.raises(OptionError, match="is not a valid strptime format"):
        _read(tmp_path, "A,1,Proposal,03/04/2024\n", [fmt])


CYCLES = Pipeline.from_deals([
    Deal(i, 100, "Closed won", created="2024-01-01", close_date=f"2024-01-{d:02d}",
         history=[("Proposal", "2024-01-01"), ("Closed won", f"2024-01-{d:02d}")])
    for i, d in enumerate([11, 21, 31])])


def test_a_fractional_percentile_warns_that_percentiles_are_0_to_100():
    # Cycles 10, 20, 30 days: the 0.9th percentile is 10 + 0.009 * 20 = 10.18, the 90th is 28.
    with pytest.warns(UserWarning, match=r"statistic=0.9 is the 0.9th percentile.*give "
                      r"statistic=90 if the 90th percentile was meant") as caught:
        assert sm.sales_cycle_length(CYCLES, statistic=0.9) == pytest.approx(10.18)
    assert caught[0].filename == __file__
    with pytest.warns(UserWarning, match="sales_cycle_length"):  # a remembered call warns again
        sm.sales_cycle_length(CYCLES, statistic=0.9)
    with pytest.warns(UserWarning, match=r"time_in_stage\(\): statistic=0.5") as caught:
        sm.time_in_stage(CYCLES, statistic=0.5)
    assert caught[0].filename == __file__
    with pytest.warns(UserWarning, match="statistic=0.9"):
        sm.finalize(sm.summarize(CYCLES, "sales_cycle_length", statistic=0.9))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sm.sales_cycle_length(CYCLES, statistic=90) == pytest.approx(28.0)
        sm.sales_cycle_length(CYCLES, statistic=0)
        sm.sales_cycle_length(CYCLES, statistic=1)
