"""Figures of quotas and pay: attainment per owner, and a commission plan's curve."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from salesmetrics._render import format_label, format_rate
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.quotas import Quota
from salesmetrics.metrics.compensation import CommissionPlan
from salesmetrics.metrics.quota import quota_attainment
from salesmetrics.plot._style import (
    BLUE,
    GREY,
    ORANGE,
    axes_for,
    draw_empty,
    literal,
    percent_ticks,
    period_title,
)

__all__ = ["attainment", "commission_curve"]

#: Points of a commission curve.
POINTS = 401


def attainment(
    p: Pipeline, *, quotas: Mapping[Hashable, float] | Quota, period: PeriodLike,
    by: str | Sequence[str] = "owner", ax: Any = None,
) -> Any:
    """Quota attainment per owner (or group) in the period, as horizontal bars, with the
    100 % line; owners at or above quota in blue, below in orange.

    The numbers are those of `salesmetrics.quota_attainment` with the same options; groups
    without a quota are left out.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import SAMPLE_QUOTAS, sample_pipeline
    >>> import warnings; warnings.simplefilter("ignore")
    >>> ax = attainment(sample_pipeline(), quotas=SAMPLE_QUOTAS, period="2024-Q4")
    >>> ax.get_title()
    'Quota attainment — 2024-Q4'
    """
    r = quota_attainment(p, quotas=quotas, period=period, by=by)
    shown = [(literal(format_label(k)), v.attainment) for k, v in r.items()
             if not math.isnan(v.attainment)]
    ax = axes_for(ax, (7.0, max(2.5, 0.35 * len(shown) + 1.2)))
    ax.set_title(period_title("Quota attainment", period))
    if not shown:
        draw_empty(ax, "no group with a quota")
        return ax
    names = [name for name, _ in shown][::-1]
    values = np.array([value for _, value in shown][::-1])
    ax.barh(names, values, color=[BLUE if v >= 1 else ORANGE for v in values])
    ax.axvline(1.0, color=GREY, ls="--", lw=1.2)
    for y, v in enumerate(values):
        ax.text(v, y, f" {format_rate(v, 0)}", va="center", fontsize=8)
    ax.xaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel("won ÷ quota")
    ax.set_xlim(0, max(1.2, float(values.max()) * 1.15))
    return ax


def commission_curve(
    plan: CommissionPlan, *, quota: float = 100_000.0, up_to: float | None = None,
    ax: Any = None,
) -> Any:
    """A commission plan's pay against quota attainment, with its tier thresholds.

    The y axis is the pay as a share of ``quota`` (the plan's rates scale with the quota;
    a cap or a draw, which do not, are drawn for this ``quota``). A retroactive plan's jumps
    (its cliffs) show as vertical steps.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics import CommissionPlan
    >>> ax = commission_curve(CommissionPlan([(0.0, 0.10), (1.0, 0.15)]))
    >>> ax.get_title()
    'Commission: 10.0 % from 0 %, 15.0 % from 100 % (marginal)'
    """
    if not isinstance(plan, CommissionPlan):
        from salesmetrics.errors import DataTypeError

        raise DataTypeError(f"commission_curve(): expected a CommissionPlan, got {type(plan)!r}")
    starts = [start for start, _ in plan.tiers]
    top = up_to if up_to is not None else max(2.0, starts[-1] * 1.5)
    x = np.linspace(0.0, top, POINTS)
    pay = np.array([plan.pay(a * quota, quota) for a in x.tolist()])  # one per point
    ax = axes_for(ax)
    ax.plot(x, pay / quota, color=BLUE, lw=2, drawstyle="default")
    for start in starts[1:] if starts[0] == 0 else starts:
        ax.axvline(start, color=GREY, ls=":", lw=1)
    tiers = ", ".join(f"{format_rate(r)} from {start * 100:g} %" for start, r in plan.tiers)
    kind = "retroactive" if plan.retroactive else "marginal"
    ax.set_title(f"Commission: {tiers} ({kind})")
    if plan.cap is not None:
        ax.axhline(plan.cap / quota, color=ORANGE, lw=1.2, ls="--", label="cap")
    if plan.draw is not None:
        ax.axhline(plan.draw / quota, color=GREY, lw=1.2, ls="--", label="draw")
    if plan.cap is not None or plan.draw is not None:
        ax.legend(frameon=False, loc="upper left")
    ax.xaxis.set_major_formatter(percent_ticks())
    ax.yaxis.set_major_formatter(percent_ticks())
    ax.set_xlabel("quota attainment")
    ax.set_ylabel("pay ÷ quota")
    return ax
