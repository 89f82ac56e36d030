"""Figures of sales velocity: its levers, and which lever moved between two periods."""

from __future__ import annotations

from typing import Any

import numpy as np

from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import OptionError
from salesmetrics.metrics import (
    VelocityAttribution,
    sales_velocity,
    velocity_change,
)
from salesmetrics.metrics.attribution import velocity_attribution as attribute_velocity
from salesmetrics.plot._style import (
    BLUE,
    GREY,
    ORANGE,
    axes_for,
    draw_empty,
    literal,
    literals,
    money_unit,
    period_title,
    thousands_ticks,
)

__all__ = ["velocity_attribution", "velocity_levers"]

def velocity_levers(
    p: Pipeline,
    *,
    period: PeriodLike | None = None,
    change: float = 0.1,
    ax: Any = None,
) -> Any:
    """Sales velocity now, and the effect of moving each lever by ``change`` (default 10 %):
    more opportunities, larger deals, a higher win rate, a shorter cycle, and all four.

    Where the velocity is undefined (nan: e.g. no deal won or lost), the chart says so instead
    of drawing the levers over bars of nothing.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> ax = velocity_levers(sample_pipeline(), period="2024-Q2")
    >>> len(ax.patches)
    6
    """
    v = sales_velocity(p, period=period)
    ax = axes_for(ax)
    ax.set_title(period_title("Sales velocity = N × V × W ÷ L, and each lever", period))
    if not np.isfinite(v.revenue_per_day):
        # levers of an undefined velocity: no bars of nothing under ×factors
        undefined = [name for name, lever in (
            ("V (no won deal with an amount)", v.average_deal_value),
            ("W (no deal won or lost)", v.win_rate),
            ("L (no won deal with both dates)", v.cycle_days)) if not np.isfinite(lever)]
        draw_empty(ax, "sales velocity n/a:\n" + ("\n".join(undefined) or "L is 0 days"))
        ax.set_xticks([])
        return ax
    up, down = 1 + change, 1 - change
    effects = {
        "now": 1.0,
        f"N +{change:.0%}\n({v.opportunities:,} deals)": velocity_change(opportunities=up),
        f"V +{change:.0%}\n({v.average_deal_value:,.0f})": velocity_change(
            average_deal_value=up),
        f"W +{change:.0%}\n({v.win_rate:.0%})": velocity_change(win_rate=up),
        f"L −{change:.0%}\n({v.cycle_days:.0f} days)": velocity_change(cycle_days=down),
        "all four": velocity_change(opportunities=up, average_deal_value=up, win_rate=up,
                                    cycle_days=down),
    }
    values = [v.revenue_per_day * float(factor) for factor in effects.values()]
    colors = [GREY] + [BLUE] * 4 + [ORANGE]
    bars = ax.bar(range(len(values)), values, color=colors)
    for bar, factor in zip(bars, effects.values(), strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"×{float(factor):.3f}",
                ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(values)), list(effects), fontsize=8)
    ax.set_ylim(0, max(max(values), 1.0) * 1.12)
    ax.set_ylabel(f"revenue per day {money_unit(p)}")
    ax.yaxis.set_major_formatter(thousands_ticks())
    return ax


def velocity_attribution(
    p: Pipeline | VelocityAttribution,
    *,
    period: PeriodLike | None = None,
    baseline: PeriodLike | None = None,
    ax: Any = None,
    **options: Any,
) -> Any:
    """Which lever moved: a waterfall from the baseline velocity to the current one [currency
    per day], one step per lever.

    ``p`` is a pipeline, with ``period=`` (and ``baseline=``, by default the period before; the
    ``options`` go to `sales_velocity`), or a `VelocityAttribution` already computed. Each
    lever's step is its share of the log change times the change in revenue per day, so the
    steps add up to the change and do not depend on the order of the levers; each is labelled
    with the lever's factor and share. Where the shares are undefined (a lever at 0 or
    undefined, or no change), only the two velocities are drawn and the reason is written.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import warnings
    >>> from salesmetrics.datasets import sample_pipeline
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the sample's won deals without an amount
    ...     ax = velocity_attribution(sample_pipeline(), period="2024-Q2")
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['2024-Q1', 'N', 'V', 'W', 'L', '2024-Q2']
    """
    if isinstance(p, VelocityAttribution):
        if period is not None or baseline is not None or options:
            raise OptionError("velocity_attribution(): period=, baseline= and options apply to "
                              "a pipeline, not to an attribution already computed")
        a, names, title = p, ("before", "after"), "Which lever moved"
    elif isinstance(p, Pipeline):
        if period is None:
            raise OptionError("velocity_attribution(): give period= (e.g. '2024-Q2'); the "
                              "baseline defaults to the period before it")
        current = as_period(period)
        base = current.previous() if baseline is None else as_period(baseline)
        a = attribute_velocity(p, period=current, baseline=base, **options)
        names = (base.label, current.label)
        title = f"Which lever moved, {literal(base.label)} → {literal(current.label)}"
    else:
        raise OptionError(f"velocity_attribution(): p must be a Pipeline or a "
                          f"VelocityAttribution (one group of a grouped result: result[key]), "
                          f"got {type(p).__name__}")
    v0, v1 = a.before.revenue_per_day, a.after.revenue_per_day
    levers = list(a.factors)
    defined = not any(np.isnan(list(a.shares.values())))
    steps = [a.shares[k] * (v1 - v0) if defined else 0.0 for k in levers]
    starts = v0 + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    ax = axes_for(ax)
    x = np.arange(len(levers) + 2)
    ends = [v if np.isfinite(v) else 0.0 for v in (v0, v1)]
    ax.bar([x[0], x[-1]], ends, color=[GREY, ORANGE])
    if defined:
        colors = [BLUE if step >= 0 else "#c0504d" for step in steps]
        ax.bar(x[1:-1], steps, bottom=starts, color=colors)
    for xi, k in zip(x[1:-1], levers, strict=True):
        factor, share = a.factors[k], a.shares[k]
        label = "n/a" if np.isnan(factor) else f"×{factor:.3f}"
        if not np.isnan(share):
            label += f"\n{share:.0%}"
        top = max(starts[xi - 1], starts[xi - 1] + steps[xi - 1]) if defined else max(ends)
        ax.text(xi, top, label, ha="center", va="bottom", fontsize=8)
    for xi, value in ((x[0], v0), (x[-1], v1)):
        ax.text(xi, value if np.isfinite(value) else 0.0,
                f"{value:,.0f}" if np.isfinite(value) else "n/a", ha="center", va="bottom",
                fontsize=8)
    if a.reason:
        ax.text(0.5, 0.97, literal(a.reason), ha="center", va="top", transform=ax.transAxes,
                fontsize=7, color="#444", wrap=True)
    symbols = {"opportunities": "N", "average_deal_value": "V", "win_rate": "W",
               "cycle_days": "L"}
    ax.set_xticks(x, literals([names[0], *(symbols[k] for k in levers), names[1]]))
    ax.set_ylim(0, max(max(ends), 1.0) * 1.18)
    unit = a.after.currency or a.before.currency
    ax.set_ylabel(literal(f"revenue per day {f'[{unit}]' if unit else '[amount]'}"))
    ax.yaxis.set_major_formatter(thousands_ticks())
    ax.set_title(title)
    return ax

