"""Pipeline.as_of (the pipeline on a past date) and calibration (stage probabilities against
outcomes): worked examples computed by hand, each rule of the reconstruction, a per-deal
reference implementation, and the reliability diagram."""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import build, deal_rows

import salesmetrics as sm
from salesmetrics import Calibration, Deal, Pipeline, calibration
from salesmetrics.datasets import sample_pipeline
from salesmetrics.errors import (
    DataError,
    DataQualityWarning,
    DataTypeError,
    OptionError,
    UnknownStageError,
)

D = dt.date


def deal(id, stage, created, close=None, *history, **kw):
    return Deal(id, 100, stage, created=created, close_date=close, history=history, **kw)


def worked() -> Pipeline:
    """On 2024-03-31: A, B in Proposal (60 %); C, D, E in Meeting (30 %); F not created yet;
    G closed. Since then A and C won, B and D lost, E is still open."""
    return Pipeline.from_deals([
        deal("A", "Closed won", "2024-01-05", "2024-04-20", ("Meeting", "2024-01-05"),
             ("Proposal", "2024-03-01"), ("Closed won", "2024-04-20")),
        deal("B", "Closed lost", "2024-01-10", "2024-05-01", ("Meeting", "2024-01-10"),
             ("Proposal", "2024-02-15"), ("Closed lost", "2024-05-01")),
        deal("C", "Closed won", "2024-02-01", "2024-04-10", ("Meeting", "2024-02-01")),
        deal("D", "Closed lost", "2024-02-10", "2024-04-05", ("Meeting", "2024-02-10")),
        deal("E", "Proposal", "2024-03-01", "2024-06-30", ("Meeting", "2024-03-01"),
             ("Proposal", "2024-04-15")),
        deal("F", "Closed won", "2024-04-10", "2024-05-01"),
        deal("G", "Closed lost", "2024-01-01", "2024-03-15", ("Meeting", "2024-01-01")),
    ])


def stages_of(p: Pipeline) -> dict[object, str]:
    return {d.id: d.stage for d in p}


# -- Pipeline.as_of ------------------------------------------------------------------------------

def test_as_of_worked_example():
    past = worked().as_of("2024-03-31")
    assert stages_of(past) == {"A": "Proposal", "B": "Proposal", "C": "Meeting",
                               "D": "Meeting", "E": "Meeting", "G": "Closed lost"}
    assert [d.stage for d in worked()] != [d.stage for d in past]


def test_deals_created_after_the_date_are_absent():
    p = worked()
    assert "F" not in set(p.as_of("2024-04-09").ids.tolist())
    assert "F" in set(p.as_of("2024-04-10").ids.tolist())  # created on the day: present
    assert len(p.as_of("2023-12-31")) == 0


def test_stage_is_the_last_entered_on_or_before_the_date():
    p = worked()
    assert p.as_of("2024-02-14").deal("B").stage == "Meeting"
    assert p.as_of("2024-02-15").deal("B").stage == "Proposal"  # entered on the day
    assert p.as_of("2024-04-14").deal("E").stage == "Meeting"
    assert p.as_of("2024-04-15").deal("E").stage == "Proposal"


def test_before_its_first_event_a_deal_is_in_its_first_stage():
    p = Pipeline.from_deals([
        deal("A", "Negotiation", "2024-01-01", None, ("Proposal", "2024-02-01"),
             ("Negotiation", "2024-03-01")),
        deal("B", "Proposal", "2024-01-01"),  # no events: its current stage
        deal("C", "Closed won", "2024-01-01", "2024-03-01"),  # no open stage on record
    ])
    assert stages_of(p.as_of("2024-01-15")) == {
        "A": "Proposal", "B": "Proposal", "C": p.stage_names[0]}


def test_closed_only_if_a_closing_event_is_on_or_before_the_date():
    p = worked()
    assert p.as_of("2024-04-19").deal("A").stage == "Proposal"
    assert p.as_of("2024-04-20").deal("A").stage == "Closed won"
    assert p.as_of("2024-04-20").won.ids.tolist() == ["A", "C"]  # C by its close date


def test_close_date_stands_in_for_a_missing_closing_event():
    p = worked()  # C won on 2024-04-10, no closing event on record
    assert p.as_of("2024-04-09").deal("C").stage == "Meeting"
    assert p.as_of("2024-04-10").deal("C").stage == "Closed won"
    # a closed deal with no history at all: closed from its close date, absent before creation
    assert p.as_of("2024-05-01").deal("F").stage == "Closed won"
    assert p.as_of("2024-04-30").deal("F").stage == p.stage_names[0]


def test_the_history_decides_a_reopened_deal():
    p = Pipeline.from_deals([
        deal("A", "Proposal", "2024-01-01", "2024-09-30", ("Meeting", "2024-01-01"),
             ("Closed lost", "2024-02-01"), ("Proposal", "2024-03-01")),
    ])
    past = p.as_of("2024-02-10")
    assert past.deal("A").stage == "Closed lost"
    assert past.deal("A").close_date == D(2024, 2, 1)  # not today's 2024-09-30, after the day
    assert p.as_of("2024-03-01").deal("A").stage == "Proposal"
    assert p.as_of("2024-03-01").deal("A").close_date == D(2024, 9, 30)


def test_amounts_close_dates_and_fields_are_todays():
    p = Pipeline.from_deals([
        Deal("A", 123.45, "Closed won", created="2024-01-01", close_date="2024-03-01",
             owner="ana", probability=None, history=[("Meeting", "2024-01-01")]),
        Deal("B", 50, "Proposal", created="2024-01-01", close_date="2024-06-30", owner="bo",
             probability=0.9, history=[("Meeting", "2024-01-01")]),
    ])
    past = p.as_of("2024-02-01")
    a, b = past.deal("A"), past.deal("B")
    assert (a.amount, a.close_date, a.owner) == (123.45, D(2024, 3, 1), "ana")
    assert (b.stage, b.probability, b.close_date, b.owner) == ("Meeting", 0.9, D(2024, 6, 30), "bo")


def test_deals_without_a_created_date_are_present_from_their_first_event():
    p = Pipeline.from_deals([
        deal("A", "Proposal", None, None, ("Meeting", "2024-02-01"), ("Proposal", "2024-03-01")),
        deal("B", "Closed won", None, "2024-04-01"),  # its close date stands for an event
        deal("C", "Proposal", None),  # no events at all: present on every date
    ])
    assert p.as_of("2024-01-31").ids.tolist() == ["C"]
    assert p.as_of("2024-02-01").ids.tolist() == ["A", "C"]
    assert p.as_of("2024-04-01").ids.tolist() == ["A", "B", "C"]
    assert p.as_of("2030-01-01") == p


def test_the_result_keeps_the_history_up_to_the_date():
    p = worked()
    past = p.as_of("2024-03-01")
    assert past.deal("A").history == (("Meeting", D(2024, 1, 5)), ("Proposal", D(2024, 3, 1)))
    assert past.deal("E").history == (("Meeting", D(2024, 3, 1)),)
    assert len(past.history) == 8
    assert (past.history.dates <= np.datetime64("2024-03-01")).all()
    assert np.all(np.diff(past.history.rows) >= 0)
    # rebuilding again from the rebuilt pipeline gives the same stages
    assert stages_of(past.as_of("2024-02-01")) == stages_of(p.as_of("2024-02-01"))


def test_no_history_is_a_clear_error():
    p = Pipeline.from_deals([Deal("A", 1, "Proposal", created="2024-01-01")])
    with pytest.raises(DataError, match=r"cannot be known without .*history=.*stage_entered="):
        p.as_of("2024-01-01")


@pytest.mark.parametrize("day", ["2024-03-31", D(2024, 3, 31), dt.datetime(2024, 3, 31, 12),
                                 np.datetime64("2024-03-31"), "2024-03-31T08:00:00Z"])
def test_as_of_accepts_what_the_dates_accept(day):
    assert worked().as_of(day) == worked().as_of("2024-03-31")


@pytest.mark.parametrize(("day", "error"), [("", DataError), (None, DataError),
                                            ("31/03/2024", DataError), (5, DataTypeError)])
def test_as_of_rejects_what_is_not_a_date(day, error):
    with pytest.raises(error, match=r"Pipeline.as_of\(\): date must be a date"):
        worked().as_of(day)


def test_on_the_latest_date_the_sample_is_itself():
    p = sample_pipeline()
    past = p.as_of(p.latest_date)
    assert np.array_equal(past.ids, p.ids)
    assert np.array_equal(past.stage_codes, p.stage_codes)
    assert np.array_equal(past.outcome_codes, p.outcome_codes)
    assert past.history == p.history


def test_as_of_keeps_undated_deals_until_their_events_say_otherwise():
    p = Pipeline.from_deals([
        Deal("C", 70, "Meeting"),  # no created date, no history: present on every date
        Deal("H", 10, "Meeting", created="2024-01-01", history=[("Meeting", "2024-01-02")]),
        Deal("U", 20, "Proposal", history=[("Meeting", "2024-02-01"), ("Proposal", "2024-03-01")]),
        Deal("W", 30, "Closed won", close_date="2024-04-01"),  # its close date: an event
    ])
    assert p.as_of("2100-01-01").ids.tolist() == ["C", "H", "U", "W"]
    assert p.as_of("2023-06-30").ids.tolist() == ["C"]  # U's and W's events are all to come
    assert p.as_of("2024-02-01").ids.tolist() == ["C", "H", "U"]
    assert p.as_of("2024-02-01").deal("U").stage == "Meeting"
    assert p.as_of("2024-04-01").deal("W").stage == "Closed won"
    assert p.as_of("2100-01-01") == p


@given(deal_rows(min_size=1, max_size=25), st.data())
def test_undated_deals_without_history_are_there_on_the_latest_date(rows, data):
    p = build(rows)
    if p.history is None:
        return
    undated = data.draw(st.lists(st.sampled_from(p.open_stage_names), min_size=1, max_size=4))
    extra = [f"X{k}" for k in range(len(undated))]
    both = Pipeline.from_columns(
        {"id": [*p.ids.tolist(), *extra],
         "stage": [*p.labels("stage").decoded().tolist(), *undated],
         "created": [*p.created.tolist(), *([None] * len(undated))],
         "close_date": [*p.close_date.tolist(), *([None] * len(undated))]},
        p.stages,
        history={"id": [p.ids[r].item() for r in p.history.rows.tolist()],
                 "stage": [p.stage_names[c] for c in p.history.stages.tolist()],
                 "date": p.history.dates.tolist()},
    )
    past = both.as_of(both.latest_date)
    assert past.ids.tolist()[-len(extra):] == extra
    assert [past.deal(x).stage for x in extra] == undated


def reference(p: Pipeline, day: np.datetime64) -> dict[object, int]:
    """The rules of Pipeline.as_of, one deal at a time: id → stage code of the deals present."""
    closed = [s.is_closed for s in p.stages]
    h = p.history
    out = {}
    for row, id in enumerate(p.ids.tolist()):
        events = [(h.dates[k], int(h.stages[k])) for k in np.flatnonzero(h.rows == row)]
        current = int(p.stage_codes[row])
        merged = list(events)
        if closed[current] and not any(closed[s] for _, s in events):
            merged.append((p.close_date[row], current))
            merged.sort(key=lambda e: e[0])  # stable: the stand-in after the day's events
        by_day = [s for d, s in merged if d <= day]
        created = p.created[row]
        if not (created <= day if not np.isnat(created) else (by_day or not merged)):
            continue
        if by_day:
            out[id] = by_day[-1]
        else:
            first = events[0][1] if events else current
            out[id] = 0 if closed[first] else first
    return out


@given(deal_rows(min_size=0, max_size=25), st.integers(-5, 1100))
def test_as_of_matches_a_per_deal_reference(rows, offset):
    p = build(rows)
    if p.history is None:
        return
    day = np.datetime64("2023-01-01") + np.timedelta64(offset, "D")
    past = p.as_of(day)
    assert dict(zip(past.ids.tolist(), past.stage_codes.tolist(), strict=True)) == reference(p, day)
    closed = past.outcome_codes != 0
    assert (past.close_date[closed] <= day).all()
    assert (past.history.dates <= day).all()


@given(deal_rows(min_size=1, max_size=25))
def test_on_the_latest_date_deals_with_full_history_are_as_today(rows):
    p = build(rows)
    h = p.history
    past = p.as_of(p.latest_date)
    assert np.array_equal(past.ids, p.ids)  # every deal has a created date on or before it
    counts = np.bincount(h.rows, minlength=len(p))
    last_date = h.dates[np.cumsum(counts) - 1]
    closed = p.outcome_codes != 0
    # full history: the events explain today's stage (a closed deal's close date, standing in
    # for its closing event, comes after its other events)
    full = ~closed & (h.stages[np.cumsum(counts) - 1] == p.stage_codes)
    full |= closed & (p.close_date >= last_date)
    assert np.array_equal(past.stage_codes[full], p.stage_codes[full])
    assert np.array_equal(past.outcome_codes[full], p.outcome_codes[full])


def test_as_of_is_vectorized_on_a_large_pipeline():
    import time

    p = sample_pipeline()
    big = Pipeline.from_columns(
        {k: np.tile(v, 100) if k != "id" else np.arange(len(p) * 100)
         for k, v in p.to_columns().items()},
        p.stages, columns={k: k for k in p.to_columns()},
        history={"id": (np.repeat(np.arange(100) * len(p), len(p.history))
                        + np.tile(p.history.rows, 100)),
                 "stage": np.tile(np.array(p.stage_names, dtype=object)[p.history.stages], 100),
                 "date": np.tile(p.history.dates, 100)},
    )
    start = time.perf_counter()
    past = big.as_of("2024-06-30")
    assert time.perf_counter() - start < 2.0  # 200,000 deals, 799,000 events
    assert len(past) == 100 * len(p.as_of("2024-06-30"))


# -- calibration -------------------------------------------------------------------------------

def test_calibration_worked_example():
    c = calibration(worked(), as_of="2024-03-31")
    assert isinstance(c, Calibration)
    assert c.labels == ("Meeting", "Proposal")
    assert c.predicted.tolist() == [0.3, 0.6]
    assert c.observed.tolist() == [0.5, 0.5]
    assert c.won.tolist() == [1, 1] and c.count.tolist() == [2, 2]
    # A: (0.6 - 1)², B: 0.6², C: (0.3 - 1)², D: 0.3²
    assert c.brier == pytest.approx((0.16 + 0.36 + 0.49 + 0.09) / 4)
    assert (c.n, c.still_open, c.unrecorded, c.by) == (4, 1, 0, "stage")
    assert c.as_of == D(2024, 3, 31)
    assert len(c) == 2


def test_calibration_with_measured_probabilities():
    c = calibration(worked(), as_of="2024-03-31", probabilities={"Meeting": 0.5})
    assert c.predicted.tolist() == [0.5, 0.6]
    assert c.brier == pytest.approx((0.16 + 0.36 + 0.25 + 0.25) / 4)


def test_calibration_leaves_deal_overrides_out():
    p = Pipeline.from_deals([
        deal("A", "Closed won", "2024-01-01", "2024-05-01", ("Proposal", "2024-01-01")),
        deal("B", "Proposal", "2024-01-01", "2024-05-01", ("Proposal", "2024-01-01"),
             probability=0.99),
    ])
    c = calibration(p, as_of="2024-02-01")
    assert c.predicted.tolist() == [0.6] and c.brier == pytest.approx(0.16)
    assert c.still_open == 1


def test_calibration_in_bins():
    p = worked()
    c = calibration(p, as_of="2024-03-31", bins=2)
    assert c.by == "probability"
    assert c.labels == ("0–50 %", "50–100 %")
    assert c.lower.tolist() == [0.0, 0.5] and c.upper.tolist() == [0.5, 1.0]
    assert c.predicted.tolist() == [0.3, 0.6] and c.count.tolist() == [2, 2]
    assert c.brier == calibration(p, as_of="2024-03-31").brier
    edges = calibration(p, as_of="2024-03-31", bins=[0, 0.3, 1])  # 0.3 opens the second bin
    assert edges.labels == ("30–100 %",)
    assert edges.predicted.tolist() == [pytest.approx(0.45)]
    assert edges.observed.tolist() == [0.5] and edges.count.tolist() == [4]
    top = calibration(p, as_of="2024-03-31", bins=4, probabilities={"Proposal": 1.0})
    assert top.labels == ("25–50 %", "75–100 %")  # p = 1 in the last bin


def test_calibration_table():
    c = calibration(worked(), as_of="2024-03-31")
    frame = c.to_pandas()
    assert frame.index.name == "stage"
    assert list(frame.columns) == ["predicted", "observed", "won", "count"]
    assert frame.loc["Meeting", "observed"] == 0.5
    binned = calibration(worked(), as_of="2024-03-31", bins=5).to_pandas()
    assert binned.index.name == "bin"
    assert list(binned.columns) == ["predicted", "observed", "won", "count", "lower", "upper"]
    text = repr(c)
    assert "Brier score 0.2750" in text and "left out: 1 deal still open" in text
    assert "Proposal     60.0 %    50.0 %" in text
    assert "<table>" in c._repr_html_() and "Brier score" in c._repr_html_()


def test_no_deal_closed_since_gives_nan_and_no_rows():
    p = worked()
    c = calibration(p, as_of="2024-12-31")  # everything that was open then is still open
    assert math.isnan(c.brier) and len(c) == 0 and c.n == 0 and c.still_open == 1
    assert c.to_pandas().empty
    assert "Brier score n/a" in repr(c)
    empty = p.filter(np.zeros(len(p), bool))
    assert math.isnan(calibration(empty, as_of="2024-03-31").brier)
    assert len(calibration(p, as_of="2020-01-01", bins=3)) == 0


def test_deals_with_no_stage_on_record_are_left_out_with_a_warning():
    p = Pipeline.from_deals([
        deal("A", "Closed won", "2024-01-01", "2024-05-01", ("Proposal", "2024-01-01")),
        deal("B", "Closed lost", "2024-01-01", "2024-05-01"),  # stage on 2024-02-01 unknown
    ])
    with pytest.warns(DataQualityWarning, match=r"1 deal open on as_of .* left out"):
        c = calibration(p, as_of="2024-02-01")
    assert (c.n, c.unrecorded) == (1, 1)
    assert "1 deal with no stage on record" in repr(c)


def test_calibration_without_history_is_a_clear_error():
    p = Pipeline.from_deals([Deal("A", 1, "Closed won", created="2024-01-01",
                                  close_date="2024-02-01")])
    with pytest.raises(DataError, match=r"calibration\(\): .*history=.*stage_entered="):
        calibration(p, as_of="2024-01-15")


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"as_of": None}, OptionError, "as_of is required"),
    ({"as_of": "31/03/2024"}, DataError, "as_of must be a date"),
    ({"as_of": 5}, DataTypeError, "as_of must be a date"),
    ({"probabilities": {"Nope": 0.5}}, UnknownStageError, r"calibration\(\).*'Nope'"),
    ({"probabilities": {"Meeting": 1.5}}, DataError, r"calibration\(\).*\[0, 1\]"),
    ({"probabilities": [0.5]}, DataTypeError, r"calibration\(\).*mapping"),
    ({"bins": 0}, OptionError, "bins must be"),
    ({"bins": True}, DataTypeError, "bins must be"),
    ({"bins": "auto"}, DataTypeError, "bins must be"),
    ({"bins": [0, 0.5]}, OptionError, "from 0 to 1"),
    ({"bins": [0, 0.6, 0.4, 1]}, OptionError, "increasing"),
    ({"bins": [0, float("nan"), 1]}, OptionError, "increasing"),
    ({"bins": [1]}, OptionError, "at least two"),
])
def test_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        calibration(worked(), **({"as_of": "2024-03-31"} | options))


def test_calibration_options_are_keyword_only():
    with pytest.raises(TypeError):
        calibration(worked(), "2024-03-31")  # type: ignore[misc]


def test_sample_calibration_is_defined():
    p = sample_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = calibration(p, as_of="2024-06-30")
    assert c.n > 100 and 0 < c.brier < 0.5
    assert set(c.labels) <= set(p.open_stage_names)
    assert (c.observed >= 0).all() and (c.observed <= 1).all()
    assert c.n + c.still_open == int((p.as_of("2024-06-30").outcome_codes == 0).sum())
    assert sm.calibration is calibration


# -- plot ----------------------------------------------------------------------------------------

def test_plot_calibration_draws_on_the_given_axes():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from salesmetrics import plot

    fig = Figure()
    ax = fig.add_subplot()
    assert plot.calibration(worked(), as_of="2024-03-31", ax=ax) is ax
    assert [t.get_text() for t in ax.texts] == ["Meeting (2)", "Proposal (2)"]
    diagonal = ax.get_lines()[0]
    assert diagonal.get_xdata().tolist() == [0, 1] and diagonal.get_ydata().tolist() == [0, 1]
    points = ax.collections[0].get_offsets()
    assert points.tolist() == [[0.3, 0.5], [0.6, 0.5]]
    assert "Brier 0.275" in ax.get_title()
    fig.canvas.draw()


def test_plot_calibration_from_a_result_and_when_empty():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from salesmetrics import plot

    c = calibration(worked(), as_of="2024-03-31", bins=4)
    ax = Figure().add_subplot()
    assert plot.calibration(c, ax=ax) is ax
    assert [t.get_text() for t in ax.texts] == ["25–50 % (2)", "50–75 % (2)"]
    empty = Figure().add_subplot()
    plot.calibration(worked(), as_of="2024-12-31", ax=empty)
    assert "no deal open then has closed since" in [t.get_text() for t in empty.texts]
    empty.figure.canvas.draw()
    with pytest.raises(OptionError, match="apply to a pipeline"):
        plot.calibration(c, as_of="2024-03-31")
    with pytest.raises(OptionError, match="Pipeline or a Calibration"):
        plot.calibration("deals")
