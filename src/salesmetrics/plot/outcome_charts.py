"""Figures of outcomes: win rates by group and the distribution of cycle lengths."""

from __future__ import annotations

from typing import Any

import numpy as np

from salesmetrics._render import format_label
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import OptionError
from salesmetrics.metrics import (
    GroupedResult,
    cycle_days,
    win_rate,
)
from salesmetrics.metrics.options import (
    Basis,
    By,
    CycleOutcome,
    View,
)
from salesmetrics.plot._style import (
    BLUE,
    ORANGE,
    axes_for,
    draw_empty,
    literal,
    literals,
    percent_ticks,
    period_title,
)

__all__ = ["cycle_length_distribution", "win_rates"]

def win_rates(
    p: Pipeline,
    *,
    by: By = None,
    period: PeriodLike | None = None,
    view: View = "period",
    top: int = 20,
    ax: Any = None,
    **options: Any,
) -> Any:
    """Unit and value win rate per group, side by side [fraction].

    ``by`` is the field(s) to group by, as in `win_rate`; without it (the default), one pair of
    bars for the whole pipeline. Groups are sorted by unit win rate, highest first (groups
    without a closed deal last); only the first ``top`` (default 20) are drawn, and the title
    says how many were left out. A group with no deal won or lost (rate nan, as `win_rate`
    prints "n/a") has no bar and is marked "n/a", unlike a group at 0 %; when no group has
    one, the chart says so instead. ``options`` go to `win_rate` (``open_deals``,
    ``no_decision``…).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> ax = win_rates(sample_pipeline(), by="team")
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['SMB', 'Mid-market', 'Enterprise']
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise OptionError(f"win_rates(): top must be a whole number of groups, 1 or more, "
                          f"got {top!r}")

    def rates(basis: Basis) -> GroupedResult[float]:
        result = win_rate(p, by=by, period=period, view=view, basis=basis, **options)
        if isinstance(result, GroupedResult):
            return result
        return GroupedResult((), ["all"], [result], name="win_rate")

    unit, value = rates("unit"), rates("value")
    keys = list(unit)
    unit_rates = np.array([unit[k] for k in keys], dtype=np.float64)
    # highest unit win rate first, groups without a closed deal (nan) last, then by name
    order = sorted(range(len(keys)), key=lambda i: (
        np.isnan(unit_rates[i]), -np.nan_to_num(unit_rates[i]), format_label(keys[i])))
    left_out = max(len(keys) - top, 0)
    shown = [keys[i] for i in order[:top]]
    names = literals(format_label(k) for k in shown)
    x = np.arange(len(names))
    ax = axes_for(ax)
    title = f"Win rate by {literal(', '.join(unit.by))}" if unit.by else "Win rate, whole pipeline"
    if left_out:
        title += (f"\ntop {top} of {len(keys):,} groups by unit win rate; "
                  f"{left_out:,} left out")
    ax.set_title(period_title(title, period))
    unit_shown = np.array([unit[k] for k in shown], dtype=np.float64)
    value_shown = np.array([value[k] for k in shown], dtype=np.float64)
    if np.isnan(unit_shown).all() and np.isnan(value_shown).all():
        # nan is "nothing decided", not 0 %: no bars at 0 that would read as 0 %
        draw_empty(ax, "no deal won or lost: win rate n/a" if len(shown) < 2
                   else "no group has a deal won or lost: win rate n/a")
        ax.set_xticks([])
        return ax
    ax.bar(x - 0.2, np.nan_to_num(unit_shown), 0.4, label="unit (deals)", color=BLUE)
    ax.bar(x + 0.2, np.nan_to_num(value_shown), 0.4, label="value (amount)", color=ORANGE)
    for xi, u, v in zip(x, unit_shown, value_shown, strict=True):
        # a group with nothing decided is marked as win_rate prints it, unlike one at 0 %
        spots = ([xi] if np.isnan(u) and np.isnan(v) else
                 [xi - 0.2] * bool(np.isnan(u)) + [xi + 0.2] * bool(np.isnan(v)))
        for spot in spots:
            ax.text(spot, 0.01, "n/a", ha="center", va="bottom", fontsize=8, color="#444")
    ax.set_xticks(x, names, rotation=30 if len(names) > 4 else 0,
                  ha="right" if len(names) > 4 else "center")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_ylabel("win rate")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def cycle_length_distribution(
    p: Pipeline,
    *,
    outcome: CycleOutcome = "won",
    period: PeriodLike | None = None,
    view: View = "period",
    bins: int | str = "auto",
    ax: Any = None,
) -> Any:
    """Histogram of sales cycle lengths, created → close [days], with the mean and median.

    The deals and days of `cycle_days`, i.e. those that `sales_cycle_length` counts (without a
    created date, or closed before created, left out with a `DataQualityWarning`).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> ax = cycle_length_distribution(sample_pipeline())
    >>> [line.get_label() for line in ax.get_lines()][:2]
    ['mean 78 days', 'median 64 days']
    """
    days = cycle_days(p, outcome=outcome, period=period, view=view)
    ax = axes_for(ax)
    if len(days):
        ax.hist(days, bins=bins, color=BLUE, alpha=0.85)
        mean, median = float(days.mean()), float(np.median(days))
        ax.axvline(mean, color=ORANGE, lw=2, label=f"mean {mean:.0f} days")
        ax.axvline(median, color="#222", lw=2, ls="--", label=f"median {median:.0f} days")
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "no closed deals with both dates", ha="center", transform=ax.transAxes)
    ax.set_xlabel("cycle length [days]")
    ax.set_ylabel("deals")
    ax.set_title(period_title(f"Sales cycle of {outcome} deals ({len(days):,})", period))
    return ax

