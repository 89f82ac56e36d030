"""Figures of pipeline inspection: time in each stage, and how concentrated the open value is."""

from __future__ import annotations

from typing import Any

import numpy as np

from salesmetrics._render import format_rate
from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN
from salesmetrics.metrics.health_checks import concentration as measure_concentration
from salesmetrics.metrics.options import DealOutcome, Statistic
from salesmetrics.metrics.stage_time import Reentry
from salesmetrics.metrics.stage_time import time_in_stage as measure_time_in_stage
from salesmetrics.plot._style import (
    BLUE,
    GREY,
    ORANGE,
    axes_for,
    draw_empty,
    literals,
    percent_ticks,
    period_title,
)

__all__ = ["concentration", "time_in_stage"]


def time_in_stage(
    p: Pipeline, *, statistic: Statistic = "mean", outcome: DealOutcome | None = None,
    reentry: Reentry = "cumulative", include_open: bool = False, as_of: Any = None,
    ax: Any = None,
) -> Any:
    """Time in stage: one bar per open stage, in funnel order, labelled with its days and the
    deals behind it.

    The values of `salesmetrics.time_in_stage` with the same options (the pipeline needs its
    stage history). The longest bar is drawn in orange: the stage where deals wait most.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> ax = time_in_stage(sample_pipeline())
    >>> [t.get_text() for t in ax.get_yticklabels()][0]
    'Initial contact'
    """
    times = measure_time_in_stage(p, statistic=statistic, outcome=outcome, reentry=reentry,
                                  include_open=include_open, as_of=as_of)
    ax = axes_for(ax)
    names = list(times)
    values = np.array([times[s] for s in names], dtype=float)
    y = np.arange(len(names))[::-1]
    shown = np.nan_to_num(values)
    if not len(names) or not np.isfinite(values).any():
        draw_empty(ax, "no deal with a finished visit to a stage")
    else:
        longest = int(np.nanargmax(values))
        colours = [ORANGE if k == longest else BLUE for k in range(len(names))]
        ax.barh(y, shown, color=colours)
        ax.set_yticks(y, literals(names))
        for k, name in enumerate(names):
            label = "n/a" if np.isnan(values[k]) else f"{values[k]:,.1f} d"
            ax.text(shown[k], y[k], f" {label} ({times.deals[name]:,} deals)", va="center",
                    fontsize=8, color="#333")
        ax.set_xlim(0, float(np.nanmax(values)) * 1.3 or 1.0)
    stat = statistic if isinstance(statistic, str) else f"p{statistic:g}"
    ax.set_xlabel(f"{stat} days in stage [days]")
    ax.set_title(f"Time in stage ({reentry}, {outcome or 'all'} deals)")
    return ax


def concentration(
    p: Pipeline, *, top: int = 5, period: PeriodLike | None = None,
    thresholds: tuple[float, float] = (0.10, 0.01), ax: Any = None,
) -> Any:
    """Concentration: the cumulative share of the open value against the number of deals,
    largest first, coloured by band (rocks, stones, pebbles), with the ``top`` deals marked.

    The numbers of `salesmetrics.concentration` with the same options are in the title
    (``top_share`` and ``hhi``). A curve that rises steeply means a pipeline resting on a few
    deals.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> import warnings; warnings.simplefilter("ignore")
    >>> ax = concentration(sample_pipeline())
    >>> ax.get_title().startswith("Concentration: top 5")
    True
    """
    c = measure_concentration(p, top=top, period=period, thresholds=thresholds)
    ax = axes_for(ax)
    chosen = (p.outcome_codes == OPEN) & ~p.amount_missing
    if period is not None:
        chosen &= as_period(period).contains(p.close_date)
    amounts = np.sort(p.amount_minor[chosen])[::-1].astype(float)
    total = amounts.sum()
    if not total:
        draw_empty(ax, "no open value")
    else:
        share = amounts / total
        x = np.arange(1, len(amounts) + 1)
        rock, pebble = thresholds
        colours = np.where(share > rock, ORANGE, np.where(share < pebble, GREY, BLUE))
        ax.plot(np.r_[0, x], np.r_[0, np.cumsum(share)], color="#333", lw=1)
        for colour, name in ((ORANGE, "rocks"), (BLUE, "stones"), (GREY, "pebbles")):
            band = colours == colour
            if band.any():
                ax.scatter(x[band], np.cumsum(share)[band], s=12, color=colour,
                           label=f"{name} ({int(band.sum()):,})", zorder=3)
        ax.axvline(min(top, len(amounts)), color="#999", ls="--", lw=1)
        ax.yaxis.set_major_formatter(percent_ticks())
        ax.set_ylim(0, 1.02)
        ax.legend(frameon=False, loc="lower right")
    ax.set_xlabel("open deals, largest first")
    ax.set_ylabel("share of the open value")
    numbers = (f"top {top} = {format_rate(c.top_share)}, HHI {c.hhi:.3f}" if c.total
               else "no open value")
    ax.set_title(period_title(f"Concentration: {numbers}", period))
    return ax
