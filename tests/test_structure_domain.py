"""Issue 7, domain side: `date_formats=`, `Pipeline.latest_date`, one-way layers, chunk views that
carry their history, one place per concept, and fiscal-year periods that need a calendar."""

import datetime as dt

import numpy as np
import pytest

from salesmetrics import Deal, Pipeline
from salesmetrics.errors import DataError, DataTypeError, OptionError

D = dt.date


def cols(created, close=None, stage=None):
    n = len(created)
    return {
        "id": [f"D-{k}" for k in range(n)],
        "stage": stage or ["Meeting"] * n,
        "amount": [1.0] * n,
        "created": created,
        **({"close_date": close} if close is not None else {}),
    }


# -- date_formats= -----------------------------------------------------------------------------
@pytest.mark.parametrize("container", [list, np.array, lambda v: np.array(v, dtype=object)])
def test_date_formats_read_day_first_dates(container):
    p = Pipeline.from_columns(
        cols(container(["01/03/2024", "2024-02-05", "", "31/12/2023"])),
        date_formats=["%d/%m/%Y"],
    )
    assert p.created.tolist() == [D(2024, 3, 1), D(2024, 2, 5), None, D(2023, 12, 31)]


def test_date_formats_are_tried_in_order():
    p = Pipeline.from_columns(
        cols(["01.03.2024", "02/03/2024"]), date_formats=["%d.%m.%Y", "%m/%d/%Y"]
    )
    assert p.created.tolist() == [D(2024, 3, 1), D(2024, 2, 3)]


def test_date_formats_error_names_row_value_and_formats():
    with pytest.raises(DataError) as info:
        Pipeline.from_columns(cols(["01/03/2024", "1 March 2024"]), date_formats=["%d/%m/%Y"])
    message = str(info.value)
    assert "row 1" in message and "'1 March 2024'" in message and "%d/%m/%Y" in message


def test_without_date_formats_non_iso_strings_stay_errors():
    with pytest.raises(DataError, match="01/03/2024"):
        Pipeline.from_columns(cols(["01/03/2024"]))


def test_date_only_format_is_not_shifted_by_the_time_zone():
    p = Pipeline.from_columns(
        cols(["01/03/2024"]), date_formats=["%d/%m/%Y"], timezone="America/New_York"
    )
    assert p.created.tolist() == [D(2024, 3, 1)]
    q = Pipeline.from_columns(
        cols(["01/03/2024 02:00"]), date_formats=["%d/%m/%Y %H:%M"], timezone="America/New_York"
    )
    assert q.created.tolist() == [D(2024, 2, 29)]  # a UTC timestamp, in New York


def test_dateutil_mode_reads_flexible_dates():
    p = Pipeline.from_columns(
        cols(["March 1, 2024", "5 Feb 2024 10:00", "2024-01-02"]), date_formats="dateutil"
    )
    assert p.created.tolist() == [D(2024, 3, 1), D(2024, 2, 5), D(2024, 1, 2)]


@pytest.mark.parametrize("bad", ["March", "2024-03"])
def test_dateutil_mode_never_fills_in_from_today(bad):
    with pytest.raises(DataError, match="never filled in"):
        Pipeline.from_columns(cols([bad]), date_formats="dateutil")


def test_dateutil_mode_unknown_time_zone_name_is_an_error():
    with pytest.raises(DataError, match="time zone"):
        Pipeline.from_columns(cols(["5 Mar 2024 10:00 EST"]), date_formats="dateutil")


def test_date_formats_apply_to_close_dates_and_history():
    data = cols(["01/01/2024"], close=["15/02/2024"], stage=["Closed won"])
    history = {"id": ["D-0", "D-0"], "stage": ["Meeting", "Proposal"],
               "date": ["01/01/2024", "10/01/2024"]}
    p = Pipeline.from_columns(data, history=history, date_formats=["%d/%m/%Y"])
    assert p.close_date.tolist() == [D(2024, 2, 15)]
    assert p.history is not None
    assert p.history.dates.tolist() == [D(2024, 1, 1), D(2024, 1, 10)]


@pytest.mark.parametrize(
    ("option", "error"),
    [("%d/%m/%Y", OptionError), (["dmy"], OptionError), ([1], DataTypeError),
     (5, DataTypeError)],
)
def test_bad_date_formats_are_named(option, error):
    with pytest.raises(error, match="date_formats"):
        Pipeline.from_columns(cols(["2024-01-01"]), date_formats=option)


def test_read_csv_passes_date_formats(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("id,stage,created\nA,Meeting,01/03/2024\nB,Meeting,\n")
    p = Pipeline.read_csv(path, date_formats=["%d/%m/%Y"])
    assert p.created.tolist() == [D(2024, 3, 1), None]
    with pytest.raises(DataError, match=r"line 2 of deals\.csv"):
        Pipeline.read_csv(path)


# -- latest_date -------------------------------------------------------------------------------
def test_latest_date_is_the_latest_created_closed_or_history_date():
    p = Pipeline.from_deals([
        Deal("A", 1, "Closed won", created="2024-01-01", close_date="2024-03-01"),
        # an open deal's close date is only expected: it does not count
        Deal("B", 1, "Meeting", created="2024-02-01", close_date="2025-01-01"),
    ])
    assert p.latest_date == np.datetime64("2024-03-01")
    q = Pipeline.from_deals([
        Deal("A", 1, "Proposal", created="2024-01-01",
             history=[("Meeting", "2024-01-01"), ("Proposal", "2024-04-01")]),
    ])
    assert q.latest_date == np.datetime64("2024-04-01")


def test_latest_date_is_nat_without_dates():
    p = Pipeline.from_deals([Deal("A", 1, "Meeting")])
    assert np.isnat(p.latest_date)
    assert np.isnat(Pipeline.from_deals([]).latest_date)
