"""Figures for notebooks and reports (needs matplotlib: ``pip install salesmetrics[plot]``).

Each function takes a `Pipeline` first, draws something sensible from it
alone, accepts keyword options and an optional ``ax=`` (a new figure otherwise), and returns the
matplotlib ``Axes``. matplotlib is imported when a function is called, never at
``import salesmetrics``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from salesmetrics._render import format_label, format_rate
from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import OptionError
from salesmetrics.metrics import (
    GroupedResult,
    VelocityAttribution,
    cycle_days,
    funnel_counts,
    pipeline_value,
    sales_velocity,
    stage_conversion,
    velocity_change,
    weighted_pipeline,
    win_rate,
)
from salesmetrics.metrics.attribution import velocity_attribution as attribute_velocity
from salesmetrics.metrics.options import (
    Basis,
    By,
    CycleOutcome,
    Skipped,
    View,
)
from salesmetrics.metrics.win_curve import win_curve as estimate_win_curve

__all__ = [
    "calibration",
    "cycle_length_distribution",
    "funnel",
    "pipeline_by_stage",
    "velocity_attribution",
    "velocity_levers",
    "win_curve",
    "win_rates",
]

_BLUE, _ORANGE, _GREY = "#3b5ba5", "#e8843c", "#9aa3b0"


def _axes(ax: Any, size: tuple[float, float] = (7.0, 4.0)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _money_label(p: Pipeline) -> str:
    return f"[{p.currency}]" if p.currency else "[amount]"


def _title(text: str, period: PeriodLike | None) -> str:
    return text if period is None else f"{text} — {as_period(period).label}"


def _empty(ax: Any, text: str) -> None:
    """Say ``text`` in the middle of an axes that has nothing to draw, with no value axis."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#444")
    ax.set_yticks([])


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
    ax = _axes(ax)
    names = [str(k) for k in counts]
    values = np.array(list(counts.values()), dtype=float)
    y = np.arange(len(names))[::-1]
    widest = values.max() if len(values) and values.max() > 0 else 1.0
    ax.barh(y, values, left=(widest - values) / 2, color=[_BLUE] * (len(names) - 1) + [_ORANGE])
    ax.set_yticks(y, names)
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
    ax.set_title(_title("Funnel: deals that reached each stage", period))
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
    ax = _axes(ax)
    ax.set_title(_title("Open vs weighted pipeline by stage", period))
    ax.set_xticks(x, names, rotation=20, ha="right")
    in_window = p.open if period is None else p.open.closing_in(period)
    if not len(in_window) or in_window.amount_missing.all():
        # nothing to draw: say why, instead of an axis around 0 ("−0")
        _empty(ax, "no open deals" if not len(in_window) else "no amounts on open deals")
        return ax
    ax.bar(x - 0.2, [open_.get(n, 0.0) for n in names], 0.4, label="open", color=_GREY)
    ax.bar(x + 0.2, [weighted.get(n, 0.0) for n in names], 0.4, label="weighted", color=_BLUE)
    ax.set_ylabel(f"pipeline {_money_label(p)}")
    ax.set_ylim(bottom=0)
    if max(open_.values(), default=0.0) <= 0:
        ax.set_ylim(0, 1)  # open deals of amount 0: an axis from 0, never around it
    ax.yaxis.set_major_formatter(_thousands())
    ax.legend(frameon=False)
    return ax


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
    says how many were left out. ``options`` go to `win_rate` (``open_deals``,
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
    names = [format_label(k) for k in shown]
    x = np.arange(len(names))
    ax = _axes(ax)
    ax.bar(x - 0.2, [unit[k] for k in shown], 0.4, label="unit (deals)", color=_BLUE)
    ax.bar(x + 0.2, [value[k] for k in shown], 0.4, label="value (amount)", color=_ORANGE)
    ax.set_xticks(x, names, rotation=30 if len(names) > 4 else 0,
                  ha="right" if len(names) > 4 else "center")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(_percent())
    ax.set_ylabel("win rate")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    title = f"Win rate by {', '.join(unit.by)}" if unit.by else "Win rate, whole pipeline"
    if left_out:
        title += (f"\ntop {top} of {len(keys):,} groups by unit win rate; "
                  f"{left_out:,} left out")
    ax.set_title(_title(title, period))
    return ax


def velocity_levers(
    p: Pipeline,
    *,
    period: PeriodLike | None = None,
    change: float = 0.1,
    ax: Any = None,
) -> Any:
    """Sales velocity now, and the effect of moving each lever by ``change`` (default 10 %):
    more opportunities, larger deals, a higher win rate, a shorter cycle, and all four.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> ax = velocity_levers(sample_pipeline(), period="2024-Q2")
    >>> len(ax.patches)
    6
    """
    v = sales_velocity(p, period=period)
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
    base = v.revenue_per_day if np.isfinite(v.revenue_per_day) else 0.0
    values = [base * float(factor) for factor in effects.values()]
    ax = _axes(ax)
    colors = [_GREY] + [_BLUE] * 4 + [_ORANGE]
    bars = ax.bar(range(len(values)), values, color=colors)
    for bar, factor in zip(bars, effects.values(), strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"×{float(factor):.3f}",
                ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(values)), list(effects), fontsize=8)
    ax.set_ylim(0, max(max(values), 1.0) * 1.12)
    ax.set_ylabel(f"revenue per day {_money_label(p)}")
    ax.yaxis.set_major_formatter(_thousands())
    ax.set_title(_title("Sales velocity = N × V × W ÷ L, and each lever", period))
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
        title = f"Which lever moved, {base.label} → {current.label}"
    else:
        raise OptionError(f"velocity_attribution(): p must be a Pipeline or a "
                          f"VelocityAttribution (one group of a grouped result: result[key]), "
                          f"got {type(p).__name__}")
    v0, v1 = a.before.revenue_per_day, a.after.revenue_per_day
    levers = list(a.factors)
    defined = not any(np.isnan(list(a.shares.values())))
    steps = [a.shares[k] * (v1 - v0) if defined else 0.0 for k in levers]
    starts = v0 + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    ax = _axes(ax)
    x = np.arange(len(levers) + 2)
    ends = [v if np.isfinite(v) else 0.0 for v in (v0, v1)]
    ax.bar([x[0], x[-1]], ends, color=[_GREY, _ORANGE])
    if defined:
        colors = [_BLUE if step >= 0 else "#c0504d" for step in steps]
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
        ax.text(0.5, 0.97, a.reason, ha="center", va="top", transform=ax.transAxes, fontsize=7,
                color="#444", wrap=True)
    symbols = {"opportunities": "N", "average_deal_value": "V", "win_rate": "W",
               "cycle_days": "L"}
    ax.set_xticks(x, [names[0], *(symbols[k] for k in levers), names[1]])
    ax.set_ylim(0, max(max(ends), 1.0) * 1.18)
    unit = a.after.currency or a.before.currency
    ax.set_ylabel(f"revenue per day {f'[{unit}]' if unit else '[amount]'}")
    ax.yaxis.set_major_formatter(_thousands())
    ax.set_title(title)
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
    ax = _axes(ax)
    if len(days):
        ax.hist(days, bins=bins, color=_BLUE, alpha=0.85)
        mean, median = float(days.mean()), float(np.median(days))
        ax.axvline(mean, color=_ORANGE, lw=2, label=f"mean {mean:.0f} days")
        ax.axvline(median, color="#222", lw=2, ls="--", label=f"median {median:.0f} days")
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "no closed deals with both dates", ha="center", transform=ax.transAxes)
    ax.set_xlabel("cycle length [days]")
    ax.set_ylabel("deals")
    ax.set_title(_title(f"Sales cycle of {outcome} deals ({len(days):,})", period))
    return ax


def win_curve(
    p: Pipeline, *, by: By = None, as_of: Any = None, max_days: int | None = None,
    ax: Any = None,
) -> Any:
    """Win curve: the share of deals won by each age, a step line with its 95 % band per curve.

    The curves of `salesmetrics.win_curve` with the same options (open deals censored on
    ``as_of``); with ``by=``, one curve per group, labelled with its deals and final value.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> ax = win_curve(sample_pipeline())
    >>> [line.get_label() for line in ax.get_lines()]
    ['all deals (2,000): 24.4 %']
    """
    curves = estimate_win_curve(p, by=by, as_of=as_of, max_days=max_days)
    named = curves.items() if isinstance(curves, GroupedResult) else [("all deals", curves)]
    ax = _axes(ax)
    drawn = 0
    for label, curve in named:
        if not curve.n:
            continue
        line = ax.step(curve.days, curve.probability, where="post", lw=1.8,
                       label=f"{format_label(label)} ({curve.n:,}): {format_rate(curve.final)}")[0]
        ax.fill_between(curve.days, curve.lower, curve.upper, step="post", alpha=0.18,
                        color=line.get_color(), lw=0)
        drawn += 1
    if not drawn:
        _empty(ax, "no deals with a created date")
    else:
        ax.yaxis.set_major_formatter(_percent())
        ax.set_ylim(0, None)
        ax.legend(frameon=False, fontsize=8 if drawn > 4 else 10)
    ax.set_xlabel("age [days since created]")
    ax.set_ylabel("won by this age")
    ax.set_title("Win curve: deals won by age (open deals censored, 95 % band)")
    return ax


def calibration(
    p: Any, *, as_of: Any = None, probabilities: Any = None, bins: Any = None, ax: Any = None,
) -> Any:
    """Reliability diagram: per stage (or probability bin), the probability the deals open on
    ``as_of`` were given against the share of them that won, and the diagonal of perfect
    calibration. ``p`` is a pipeline with its stage history (options as in
    `salesmetrics.calibration`) or a `Calibration`. Each point's area grows with its deals; it is
    labelled with its name and count. Points below the diagonal are stages too optimistic.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import sample_pipeline
    >>> ax = calibration(sample_pipeline(), as_of="2024-06-30")
    >>> ax.get_title(), ax.texts[-1].get_text()
    ('Calibration of the deals open on 2024-06-30 (Brier 0.211)', 'Negotiation (11)')
    """
    from salesmetrics.metrics.calibration import Calibration
    from salesmetrics.metrics.calibration import calibration as measure

    if isinstance(p, Calibration):
        if as_of is not None or probabilities is not None or bins is not None:
            raise OptionError("calibration(): as_of=, probabilities= and bins= apply to a "
                              "pipeline, not to a calibration already computed")
        c = p
    elif isinstance(p, Pipeline):
        c = measure(p, as_of=as_of, probabilities=probabilities, bins=bins)
    else:
        raise OptionError(f"calibration(): p must be a Pipeline or a Calibration, got "
                          f"{type(p).__name__}")
    ax = _axes(ax, (5.5, 5.0))
    ax.plot([0, 1], [0, 1], ls="--", color=_GREY, lw=1, label="perfect calibration")
    if len(c):
        ax.plot(c.predicted, c.observed, color=_BLUE, lw=1, alpha=0.5)
        ax.scatter(c.predicted, c.observed, s=30 + 270 * c.count / c.count.max(), color=_BLUE,
                   zorder=3, label=f"{c.by} ({c.n:,} deals)")
        for x, y, label, n in zip(c.predicted, c.observed, c.labels, c.count, strict=True):
            ax.annotate(f"{label} ({n:,})", (x, y), textcoords="offset points", xytext=(6, 6),
                        fontsize=8)
        ax.legend(frameon=False, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no deal open then has closed since", ha="center", va="center",
                transform=ax.transAxes, color="#444")
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="predicted: probability given",
           ylabel="observed: share won")
    ax.xaxis.set_major_formatter(_percent())
    ax.yaxis.set_major_formatter(_percent())
    brier = "n/a" if np.isnan(c.brier) else f"{c.brier:.3f}"
    ax.set_title(f"Calibration of the deals open on {c.as_of.isoformat()} (Brier {brier})")
    return ax


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)
