"""Dates a probe found wrong: a typo'd close year, one format per column, an invalid format."""

from __future__ import annotations

import datetime as dt
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
    # E was won on 2099-02-01, a day still to come: a typo'd year.
    typo = Deal("E", 100, "Closed won", created="2024-02-01", close_date="2099-02-01")
    with pytest.warns(DataQualityWarning) as caught:
        p = Pipeline.from_deals([*DEALS, typo])
    (message,) = [str(w.message) for w in caught]
    assert caught[0].filename == __file__  # the user's line, not the constructor's
    assert f"1 closed deal closes after today ({dt.date.today()})" in message
    assert "deal 'E' (row 4 of the data) on 2099-02-01" in message
    assert "cannot have been won or lost on a day still to come" in message
    assert "Fix:" in message
    assert p.latest_date == np.datetime64("2099-02-01")  # the data is kept as given
    # without a created date too; two of them are counted
    with pytest.warns(DataQualityWarning, match="2 closed deals close after today"):
        Pipeline.from_columns({"id": ["A", "B", "C"],
                               "stage": ["Closed won", "Closed lost", "Proposal"],
                               "close_date": ["2099-01-01", "2098-01-01", "2024-02-01"]})


def test_past_close_dates_and_open_deals_in_the_future_do_not_warn():
    # An export filtered by created date: C was created late in 2022 and won 437 days later,
    # more than a year after every other date of the file. Real, so no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Pipeline.from_deals([
            Deal("A", 1, "Closed won", created="2022-01-10", close_date="2022-03-01"),
            Deal("B", 1, "Closed lost", created="2022-06-01", close_date="2022-08-01"),
            Deal("C", 1, "Closed won", created="2022-12-20", close_date="2024-03-01"),
            Deal("F", 1, "Proposal", created="2022-02-01", close_date="2099-01-01"),  # open
        ])
        Pipeline.from_deals([Deal("T", 1, "Closed won",
                                  close_date=dt.date.today() + dt.timedelta(days=1))])  # zones
        sm.datasets.sample_pipeline()


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
