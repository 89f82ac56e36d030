"""Figures of the evidence behind probabilities: win curves and calibration."""

from __future__ import annotations

from typing import Any

import numpy as np

from salesmetrics._render import format_label, format_rate
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import OptionError
from salesmetrics.metrics import (
    GroupedResult,
)
from salesmetrics.metrics.options import (
    By,
)
from salesmetrics.metrics.win_curve import win_curve as estimate_win_curve
from salesmetrics.plot._style import (
    BLUE,
    GREY,
    axes_for,
    draw_empty,
    literal,
    percent_ticks,
)

__all__ = ["calibration", "win_curve"]

#: A curve with no deal won or lost, as `WinCurve` prints it.
UNESTIMATED = "no deal closed yet, nothing to estimate"

def win_curve(
    p: Pipeline, *, by: By = None, as_of: Any = None, max_days: int | None = None,
    ax: Any = None,
) -> Any:
    """Win curve: the share of deals won by each age, a step line with its 95 % band per curve.

    The curves of `salesmetrics.win_curve` with the same options (open deals censored on
    ``as_of``); with ``by=``, one curve per group, labelled with its deals and final value.
    A group with no deal won or lost has no curve (it would be flat at 0): its legend entry
    says "no deal closed yet, nothing to estimate", as `WinCurve` prints it; when no group has
    one, the chart says so instead.

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
    ax = axes_for(ax)
    drawn = waiting = 0
    for label, curve in named:
        if not curve.n:
            continue
        name = literal(f"{format_label(label)} ({curve.n:,})")
        if not curve.won + curve.lost:
            # flat at 0 is not a finding: listed as WinCurve prints it, with no line
            ax.plot([], [], ls="none", label=f"{name}: {UNESTIMATED}")
            waiting += 1
            continue
        line = ax.step(curve.days, curve.probability, where="post", lw=1.8,
                       label=f"{name}: {format_rate(curve.final)}")[0]
        ax.fill_between(curve.days, curve.lower, curve.upper, step="post", alpha=0.18,
                        color=line.get_color(), lw=0)
        drawn += 1
    if not drawn:
        draw_empty(ax, UNESTIMATED if waiting else "no deals with a created date")
        for line in ax.get_lines():
            line.remove()
    else:
        ax.yaxis.set_major_formatter(percent_ticks())
        ax.set_ylim(0, None)
        ax.legend(frameon=False, fontsize=8 if drawn + waiting > 4 else 10)
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
    ax = axes_for(ax, (5.5, 5.0))
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, lw=1, label="perfect calibration")
    if len(c):
        ax.plot(c.predicted, c.observed, color=BLUE, lw=1, alpha=0.5)
        ax.scatter(c.predicted, c.observed, s=30 + 270 * c.count / c.count.max(), color=BLUE,
                   zorder=3, label=literal(f"{c.by} ({c.n:,} deals)"))
        for x, y, label, n in zip(c.predicted, c.observed, c.labels, c.count, strict=True):
            ax.annotate(literal(f"{label} ({n:,})"), (x, y), textcoords="offset points",
                        xytext=(6, 6), fontsize=8)
        ax.legend(frameon=False, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no deal open then has closed since", ha="center", va="center",
                transform=ax.transAxes, color="#444")
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="predicted: probability given",
           ylabel="observed: share won")
    ax.xaxis.set_major_formatter(percent_ticks())
    ax.yaxis.set_major_formatter(percent_ticks())
    brier = "n/a" if np.isnan(c.brier) else f"{c.brier:.3f}"
    ax.set_title(f"Calibration of the deals open on {c.as_of.isoformat()} (Brier {brier})")
    return ax

