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
