"""SummaryMismatchError says in words which part of two summaries' contexts differs."""

from __future__ import annotations

import pytest

import salesmetrics as sm
from salesmetrics import Deal, Pipeline
from salesmetrics.metrics._summary import SummaryMismatchError

A = Pipeline.from_deals([Deal("A", 1, "Closed won", created="2024-01-01", close_date="2024-01-10"),
                         Deal("O", 1, "Proposal", created="2024-01-01")])
B = Pipeline.from_deals([Deal("B", 1, "Closed lost", created="2024-01-01",
                              close_date="2024-06-10")])


def _one(currency):
    return Pipeline.from_columns({"id": ["X"], "amount": [1], "stage": ["Closed won"],
                                  "close_date": ["2024-01-01"]}, currency=currency)


def _message(a, b):
    with pytest.raises(SummaryMismatchError) as raised:
        a + b
    text = str(raised.value)
    assert "over different processes, currencies or days: " in text
    assert "((" not in text  # no raw context tuples
    return text.split("days: ", 1)[1]


def test_currency_and_minor_unit_differences_are_named():
    assert _message(sm.summarize(A, "won_revenue"), sm.summarize(_one("EUR"), "won_revenue")) == (
        "the currency differs: None (no currency given) and 'EUR'")
    assert _message(sm.summarize(A, "won_revenue"), sm.summarize(_one("JPY"), "won_revenue")) == (
        "the minor unit differs: 100 (amounts in 1/100 of a unit) and 1 (whole units); "
        "the currency differs: None (no currency given) and 'JPY'")
    assert _message(sm.summarize(A, "pipeline_value"),
                    sm.summarize(_one("EUR"), "pipeline_value")) == (
        "the currency differs: None (no currency given) and 'EUR'")


def test_the_stale_day_is_named_with_the_as_of_hint():
    # Each part ages from its own latest date: 2024-01-10 - 30 days and 2024-06-10 - 30 days.
    text = _message(sm.summarize(A, "win_rate", stale_after=30),
                    sm.summarize(B, "win_rate", stale_after=30))
    assert text.startswith("the stale day differs: '2023-12-11' and '2024-05-11'; ")
    assert "pass as_of=" in text


def test_process_differences_are_named():
    other = [sm.Stage("Open", 0.5), sm.Stage("Won", 1, sm.Outcome.WON)]
    p = Pipeline.from_deals([Deal("A", 1, "Won", close_date="2024-01-01")], other)
    text = _message(sm.summarize(A, "sales_velocity"), sm.summarize(p, "sales_velocity"))
    assert text.startswith("the process's stages differ: 'Initial contact', ")
    assert text.endswith(" and 'Open', 'Won'")
    won = [sm.Stage("Open", 0.5), sm.Stage("Closed", 1, sm.Outcome.WON)]
    lost = [sm.Stage("Open", 0.5), sm.Stage("Closed", 0, sm.Outcome.LOST)]
    x, y = (Pipeline.from_deals([Deal(i, 1, "Closed", close_date="2024-01-01")], s)
            for i, s in (("A", won), ("B", lost)))
    assert _message(sm.summarize(x, "win_rate"), sm.summarize(y, "win_rate")) == (
        "stage 'Closed' is won in one process and lost in the other")
