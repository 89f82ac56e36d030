"""Each figure renders on the Agg backend to a non-trivial PNG with the expected bars and text."""

import io

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import plot
from salesmetrics.datasets import sample_pipeline
from salesmetrics.errors import DataQualityWarning

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def render(ax) -> np.ndarray:
    """The axes' figure as an RGBA image; asserts it is not blank."""
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=60)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    buffer.seek(0)
    image = matplotlib.image.imread(buffer)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.05  # not a blank canvas
    assert len(np.unique(image[..., :3].reshape(-1, 3), axis=0)) > 10
    return image


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_all_lists_the_plots():
    assert set(plot.__all__) == {"funnel", "pipeline_by_stage", "win_rates", "velocity_levers",
                                 "velocity_attribution", "cycle_length_distribution",
                                 "win_curve", "calibration", "forecast_distribution",
                                 "required_pipeline", "activity_vs_target",
                                 "attainment", "commission_curve",
                                 "time_in_stage", "concentration", "waterfall"}


def test_funnel():
    p = sample_pipeline()
    ax = plot.funnel(p)
    render(ax)
    counts = sm.funnel_counts(p)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(counts)
    assert len(ax.patches) == len(counts)
    widths = sorted(round(bar.get_width()) for bar in ax.patches)
    assert widths == sorted(round(v) for v in counts.values())
    assert f"{counts['Initial contact']:,.0f}" in texts(ax)
    assert any(t.startswith("↓ ") and t.endswith("%") for t in texts(ax))


def test_pipeline_by_stage():
    p = sample_pipeline()
    # The sample has open deals without an amount: the figure warns as the metrics do.
    with pytest.warns(DataQualityWarning, match="14 of the 217 open deals have no amount"):
        ax = plot.pipeline_by_stage(p)
    with pytest.warns(DataQualityWarning, match="no amount"):
        expected = sm.pipeline_value(p), sm.weighted_pipeline(p)
    render(ax)
    heights = [bar.get_height() for bar in ax.patches]
    assert len(heights) == 2 * len(p.open_stage_names)
    assert sum(heights[: len(heights) // 2]) == pytest.approx(expected[0])
    assert sum(heights[len(heights) // 2:]) == pytest.approx(expected[1])
    assert ax.get_ylabel() == "pipeline [USD]"


def test_win_rates_by_group_and_whole():
    p = sample_pipeline()
    ax = plot.win_rates(p, by="team", period="2024-Q2")
    render(ax)
    unit = sm.win_rate(p, by="team", period="2024-Q2")
    heights = [bar.get_height() for bar in ax.patches[:3]]
    assert heights == pytest.approx(sorted(unit.values(), reverse=True))  # highest first
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert [unit[name] for name in names] == pytest.approx(heights)
    assert "2024-Q2" in ax.get_title()
    whole = plot.win_rates(p, by=None)
    assert len(whole.patches) == 2
    assert whole.patches[0].get_height() == pytest.approx(sm.win_rate(p))


def test_velocity_levers():
    p = sample_pipeline()
    ax = plot.velocity_levers(p, period="2024-Q2")
    render(ax)
    v = sm.sales_velocity(p, period="2024-Q2")
    heights = [bar.get_height() for bar in ax.patches]
    assert heights[0] == pytest.approx(v.revenue_per_day)
    assert heights[-1] == pytest.approx(v.revenue_per_day * 1.1**3 / 0.9)
    assert "×1.479" in texts(ax)


def test_cycle_length_distribution():
    p = sample_pipeline()
    ax = plot.cycle_length_distribution(p, outcome="closed", period="2024")
    render(ax)
    labels = [line.get_label() for line in ax.get_lines()]
    expected = sm.sales_cycle_length(p, outcome="closed", period="2024")
    assert labels[0] == f"mean {expected:.0f} days"
    assert sum(bar.get_height() for bar in ax.patches) > 100


def test_given_axes_are_used():
    _, axes = plt.subplots(1, 2)
    assert plot.funnel(sample_pipeline(), ax=axes[1]) is axes[1]
    assert not axes[0].patches


def test_empty_pipeline_still_draws():
    p = sample_pipeline().filter(np.zeros(2000, bool))
    for draw in (plot.funnel, plot.pipeline_by_stage, plot.velocity_levers,
                 plot.cycle_length_distribution):
        draw(p).figure.canvas.draw()


# --- charts that must not mislead: nan is not 0 %, nothing is not a chart, $ is not math ---

def deal(id, stage, owner, *, amount=100, created="2024-01-01", close="2024-02-01", **kw):
    return sm.Deal(id, amount, stage, created=created, close_date=close, owner=owner, **kw)


def test_win_rates_marks_a_group_with_nothing_decided_unlike_one_at_0():
    # ana 1 won of 1 → 100 %; bo 0 won of 1 lost → 0 %; cy only open → nan ("n/a")
    p = sm.Pipeline.from_deals([deal("A", "Closed won", "ana"), deal("B", "Closed lost", "bo"),
                                deal("C", "Proposal", "cy", close="2024-03-01")])
    ax = plot.win_rates(p, by="owner")
    render(ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ana", "bo", "cy"]
    assert [bar.get_height() for bar in ax.patches] == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    marks = [t for t in ax.texts if t.get_text() == "n/a"]
    assert [t.get_position()[0] for t in marks] == [2]  # cy's place, one mark for both bars
    # bo: unit 1 won of 1 = 100 %, value 0 won of 0 closed = nan: only the value bar is marked
    p = sm.Pipeline.from_deals([deal("A", "Closed won", "ana"),
                                deal("D", "Closed won", "bo", amount=0)])
    ax = plot.win_rates(p, by="owner")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ana", "bo"]
    assert [t.get_position()[0] for t in ax.texts if t.get_text() == "n/a"] == [
        pytest.approx(1.2)]


def test_win_rates_with_every_group_nan_says_so():
    p = sm.Pipeline.from_deals([deal("A", "Proposal", "ana"), deal("B", "Meeting", "bo")])
    ax = plot.win_rates(p, by="owner")
    render(ax)
    assert texts(ax) == ["no group has a deal won or lost: win rate n/a"]
    assert not ax.patches and ax.get_legend() is None and not ax.get_xticklabels()
    whole = plot.win_rates(p)
    assert texts(whole) == ["no deal won or lost: win rate n/a"]
    empty = plot.win_rates(sm.Pipeline.from_deals([]), by="owner")
    assert texts(empty) == ["no deal won or lost: win rate n/a"]


def test_report_win_rate_by_stage_marks_open_stages_n_a(monkeypatch):
    # the HTML review's win-rate chart by stage: an open stage's rate is nan, not 0 %
    from salesmetrics import report

    drawn = []
    real = plot.win_rates

    def spy(*args, **kwargs):
        drawn.append(real(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(plot, "win_rates", spy)
    p = sm.Pipeline.from_deals([deal("A", "Closed won", "ana"), deal("B", "Closed lost", "bo"),
                                deal("C", "Proposal", "cy", close="2024-03-01")])
    report.pipeline_review_html(p, by="stage")
    (ax,) = drawn
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert "Proposal" in names
    marks = [t.get_position()[0] for t in ax.texts if t.get_text() == "n/a"]
    assert names.index("Proposal") in marks


def test_win_curve_with_nothing_closed_says_so_as_the_curve_prints():
    p = sm.Pipeline.from_deals([deal("A", "Proposal", "ana"), deal("B", "Meeting", "bo")])
    assert "no deal closed yet, nothing to estimate" in repr(sm.win_curve(p))
    for ax in (plot.win_curve(p), plot.win_curve(p, by="owner")):
        render(ax)
        assert texts(ax) == ["no deal closed yet, nothing to estimate"]
        assert ax.get_legend() is None and not ax.get_lines()
    # one group closed, one not: a curve for ana, a legend entry without a line for bo
    p = sm.Pipeline.from_deals([deal("A", "Closed won", "ana"),
                                deal("B", "Meeting", "bo", close="2024-03-01")])
    ax = plot.win_curve(p, by="owner")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["ana (1): 100.0 %", "bo (1): no deal closed yet, nothing to estimate"]


def test_velocity_levers_of_an_undefined_velocity_says_so():
    p = sm.Pipeline.from_deals([deal("A", "Proposal", "ana"), deal("B", "Meeting", "bo")])
    assert np.isnan(sm.sales_velocity(p).revenue_per_day)
    for q in (p, sm.Pipeline.from_deals([])):
        ax = plot.velocity_levers(q)
        render(ax)
        assert not ax.patches and not ax.get_xticklabels()
        assert not any(t.startswith("×") for t in texts(ax))
        (note,) = texts(ax)
        assert note.startswith("sales velocity n/a:") and "W (no deal won or lost)" in note


def drawn_text(t) -> str:
    """What matplotlib draws for a Text; fails if it would be read as math."""
    text, math = t._preprocess_math(t.get_text())
    assert math is False, f"{t.get_text()!r} drawn as math"
    return text


def all_texts(ax) -> list[str]:
    ax.figure.canvas.draw()
    found = [ax.title, *ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels(),
             ax.xaxis.label, ax.yaxis.label]
    if ax.get_legend() is not None:
        found += ax.get_legend().get_texts()
    return [drawn_text(t) for t in found]


def test_dollar_signs_in_labels_are_drawn_as_written():
    stages = [sm.Stage("Meet$ing$", 0.2), sm.Stage("Pro$po$sal", 0.5),
              sm.Stage("Won", 1.0, sm.Outcome.WON), sm.Stage("Lost", 0.0, sm.Outcome.LOST)]
    deals = [deal("A", "Won", "a$b$c", history=[("Meet$ing$", "2024-01-01")]),
             deal("B", "Lost", "a$b$c", history=[("Meet$ing$", "2024-01-01")]),
             deal("C", "Pro$po$sal", "x$1$", close="2024-12-01",
                  history=[("Meet$ing$", "2024-01-01"), ("Pro$po$sal", "2024-01-10")]),
             deal("D", "Meet$ing$", "x$1$", close="2024-12-01",
                  history=[("Meet$ing$", "2024-01-05")])]
    p = sm.Pipeline.from_deals(deals, stages=stages)
    charts = {
        "win_rates": plot.win_rates(p, by="owner"),
        "win_curve": plot.win_curve(p, by="owner"),
        "funnel": plot.funnel(p),
        "pipeline_by_stage": plot.pipeline_by_stage(p),
        "time_in_stage": plot.time_in_stage(p),
        "required_pipeline": plot.required_pipeline(p, target=1_000, period="2024-Q4"),
        "attainment": plot.attainment(p, quotas={"a$b$c": 200, "x$1$": 100},
                                      period="2024-Q1"),
    }
    found = {name: all_texts(ax) for name, ax in charts.items()}
    assert {"a$b$c", "x$1$"} <= set(found["win_rates"])
    assert "a$b$c (2): 50.0 %" in found["win_curve"]
    assert "a$b$c" in found["attainment"]
    for name in ("funnel", "time_in_stage"):
        assert {"Meet$ing$", "Pro$po$sal"} <= set(found[name]), name
    for name in ("pipeline_by_stage", "required_pipeline"):
        assert "Pro$po$sal" in found[name], name
    plt.close("all")
