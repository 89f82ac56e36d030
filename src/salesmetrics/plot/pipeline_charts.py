"""Figures of the pipeline: the funnel and open vs weighted value by stage."""

from __future__ import annotations

from typing import Any

import numpy as np

from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.metrics import (
    funnel_counts,
    pipeline_value,
    stage_conversion,
    weighted_pipeline,
)
from salesmetrics.metrics.options import (
    Skipped,
    View,
)
from salesmetrics.plot._style import (
    BLUE,
    GREY,
    ORANGE,
    axes_for,
    draw_empty,
    literals,
    money_unit,
    period_title,
    thousands_ticks,
)

__all__ = ["funnel", "pipeline_by_stage"]

def funnel(
    p: Pipeline,
    *,
    skipped: Skipped = "implied",
    period: PeriodLike | None = None,
    view: View = "period",
    ax: Any = None,
) -> Any:
    """Funnel: deals that reached each stage (bars), with the stage-to-stage conversion.

    Uses `funnel_counts` and `stage_conversion` with
    the same options.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> ax = funnel(sample_pipeline())
    >>> len(ax.patches)
    6
    """
    counts = funnel_counts(p, skipped=skipped, period=period, view=view)
    steps = stage_conversion(p, skipped=skipped, period=period, view=view)
    ax = axes_for(ax)
    names = [str(k) for k in counts]
    values = np.array(list(counts.values()), dtype=float)
    y = np.arange(len(names))[::-1]
    widest = values.max() if len(values) and values.max() > 0 else 1.0
    ax.barh(y, values, left=(widest - values) / 2, color=[BLUE] * (len(names) - 1) + [ORANGE])
    ax.set_yticks(y, literals(names))
    ax.set_xticks([])
    for spine in ("top", "right", "bottom"):
        ax.spines[spine].set_visible(False)
    for yi, value in zip(y, values, strict=True):
        ax.text(widest / 2, yi, f"{value:,.0f}", ha="center", va="center", color="white",
                fontweight="bold")
    for yi, rate in zip(y[:-1], steps.values(), strict=False):
        text = "–" if np.isnan(rate) else f"↓ {rate:.0%}"
        ax.text(widest * 1.02, yi - 0.5, text, va="center", fontsize=9, color="#444")
    ax.set_xlim(0, widest * 1.15)
    ax.set_title(period_title("Funnel: deals that reached each stage", period))
    return ax


def pipeline_by_stage(
    p: Pipeline,
    *,
    period: PeriodLike | None = None,
    probabilities: dict[str, float] | None = None,
    ax: Any = None,
) -> Any:
    """Open and weighted pipeline by open stage, side by side [currency].

    Without an open deal that has an amount, the chart says so ("no amounts on open deals", or
    "no open deals") instead of drawing an axis around 0.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> p = sample_pipeline()
    >>> p = p.filter(~p.amount_missing)  # else it warns: open deals without an amount count 0
    >>> ax = pipeline_by_stage(p)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['open', 'weighted']
    """
    open_ = pipeline_value(p, by="stage", period=period)
    weighted = weighted_pipeline(p, by="stage", period=period, probabilities=probabilities)
    names = list(p.open_stage_names)
    x = np.arange(len(names))
    ax = axes_for(ax)
    ax.set_title(period_title("Open vs weighted pipeline by stage", period))
    ax.set_xticks(x, literals(names), rotation=20, ha="right")
    in_window = p.open if period is None else p.open.closing_in(period)
    if not len(in_window) or in_window.amount_missing.all():
        # nothing to draw: say why, instead of an axis around 0 ("−0")
        draw_empty(ax, "no open deals" if not len(in_window) else "no amounts on open deals")
        return ax
    ax.bar(x - 0.2, [open_.get(n, 0.0) for n in names], 0.4, label="open", color=GREY)
    ax.bar(x + 0.2, [weighted.get(n, 0.0) for n in names], 0.4, label="weighted", color=BLUE)
    ax.set_ylabel(f"pipeline {money_unit(p)}")
    ax.set_ylim(bottom=0)
    if max(open_.values(), default=0.0) <= 0:
        ax.set_ylim(0, 1)  # open deals of amount 0: an axis from 0, never around it
    ax.yaxis.set_major_formatter(thousands_ticks())
    ax.legend(frameon=False)
    return ax

