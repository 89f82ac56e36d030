"""What keeps small calls fast must not change a result: remembered periods and results."""

import pytest

from salesmetrics import Period
from salesmetrics.domain.period import as_period
from salesmetrics.errors import DataError, DataTypeError


def test_a_period_label_is_read_once_and_shared():
    first = as_period("2024-Q2")
    assert first == Period.quarter(2024, 2)
    assert as_period("2024-Q2") is first
    assert as_period(" 2024-q2 ") == first  # the same period, spelled otherwise


def test_a_bad_label_raises_every_time():
    for _ in range(2):
        with pytest.raises(DataError, match="2024-Q5"):
            as_period("2024-Q5")
    with pytest.raises(DataTypeError, match="period must be a Period"):
        as_period(2024)


def test_a_str_subclass_is_parsed_not_remembered():
    class Label(str):
        pass

    assert as_period(Label("2024-Q2")) == Period.quarter(2024, 2)
