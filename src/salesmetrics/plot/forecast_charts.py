"""Figures of the forecast: its distribution and the pipeline it requires."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from salesmetrics._render import format_money, format_rate
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.metrics.coverage import required_pipeline as measure_required
from salesmetrics.metrics.forecast import Forecast, ForecastMethod
from salesmetrics.metrics.forecast import forecast as estimate_forecast
from salesmetrics.metrics.options import Basis
from salesmetrics.plot._style import (
    BLUE,
    GREY,
    ORANGE,
    axes_for,
    literals,
    money_unit,
    percent_ticks,
    period_title,
    thousands_ticks,
)

__all__ = ["forecast_distribution", "required_pipeline"]

#: Bars of the distribution's histogram (the exact distribution can have 2²⁰ points).
BARS = 60


def forecast_distribution(
    p: Pipeline, *, period: PeriodLike, target: float | None = None,
    probabilities: Mapping[str, float] | None = None, method: ForecastMethod = "exact",
    seed: int | None = None, ax: Any = None,
) -> Any:
    """The forecast distribution of the revenue won in the period, with the target line and
    P(≥ target) in the title.

    The distribution of `salesmetrics.forecast` with the same options, as a histogram of the
    probability per revenue band [fraction]; the dashed line is its mean, the orange line the
    target.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> import warnings; warnings.simplefilter("ignore")
    >>> ax = forecast_distribution(sample_pipeline(), period="2024-Q4", target=1_600_000)
    >>> ax.get_title()
    'Forecast — 2024-Q4: P(≥ USD 1,600,000.00) = 63.9 %'
    """
    f: Forecast = estimate_forecast(p, period=period, probabilities=probabilities,
                                    method=method, seed=seed)
    ax = axes_for(ax)
    values, probs = f.values, f.probabilities
    if len(values) == 1:
        width = max(abs(values[0]) * 0.02, 1.0)
        ax.bar(values, probs, width=width, color=BLUE, alpha=0.8)
    else:
        heights, edges = np.histogram(values, bins=min(BARS, len(values)), weights=probs)
        ax.bar(edges[:-1], heights, width=np.diff(edges), align="edge", color=BLUE, alpha=0.8,
               lw=0)
    ax.axvline(f.mean, color=GREY, ls="--", lw=1.2,
               label=f"mean {format_money(f.mean, f.currency)}")
    title = period_title("Forecast", period)
    if target is not None:
        ax.axvline(target, color=ORANGE, lw=2, label=f"target {format_money(target, f.currency)}")
        title += (f": P(≥ {format_money(target, f.currency)}) = "
                  f"{format_rate(f.probability_at_least(target))}")
    ax.set_title(title)
    ax.set_xlabel(f"revenue won in the period {money_unit(p)}")
    ax.set_ylabel("probability")
    ax.xaxis.set_major_formatter(thousands_ticks())
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.legend(frameon=False, loc="upper left")
    return ax


def required_pipeline(
    p: Pipeline, *, target: float, period: PeriodLike, basis: Basis = "value", ax: Any = None,
) -> Any:
    """The open value each stage must hold to reach the target, against what it holds
    [currency].

    The rows of `salesmetrics.required_pipeline` with the same options: per open stage, the
    required value (orange) and the held value (blue) side by side; a stage whose factor is
    unmeasured (nan) has no orange bar. The title gives what remains to win.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> import warnings; warnings.simplefilter("ignore")
    >>> ax = required_pipeline(sample_pipeline(), target=1_600_000, period="2024-Q4")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['required', 'held']
    """
    rows = measure_required(p, target=target, period=period, basis=basis)
    names = list(rows)
    x = np.arange(len(names))
    ax = axes_for(ax)
    ax.bar(x - 0.2, [rows[n].required for n in names], 0.4, label="required", color=ORANGE)
    ax.bar(x + 0.2, [rows[n].held for n in names], 0.4, label="held", color=BLUE)
    ax.set_xticks(x, literals(names), rotation=20, ha="right")
    ax.set_title(period_title("Required vs held pipeline", period)
                 + f": {format_money(rows.remaining, rows.currency)} to win")
    ax.set_ylabel(f"open value closing in the period {money_unit(p)}")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(thousands_ticks())
    ax.legend(frameon=False)
    return ax
