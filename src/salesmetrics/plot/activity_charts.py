"""Figures of activity: each owner's activity against target, week by week."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from salesmetrics.domain.activity import Activities
from salesmetrics.domain.period import PeriodLike
from salesmetrics.errors import OptionError, choices
from salesmetrics.metrics.activity_kpis import activity_vs_target as measure_vs_target
from salesmetrics.plot._style import axes_for, draw_empty, literal, literals, period_title

__all__ = ["activity_vs_target"]

#: Attainment shown at full colour: at least this much over target looks the same.
CEILING = 1.5


def activity_vs_target(
    a: Activities, *, targets: Mapping[str, float], period: PeriodLike, by: str = "owner",
    freq: str = "week", prorate: bool = False,
    owners: Sequence[str] | Mapping[Hashable, Sequence[str]] | None = None,
    kind: str | None = None, ax: Any = None,
) -> Any:
    """A heat map of activity attainment: one row per owner (or team), one column per week
    (or ``freq`` period), coloured by count ÷ target [fraction] from red (none) through white
    (on target) to green (at least 150 %), each cell labelled with its percentage.

    The numbers are those of `salesmetrics.activity_vs_target` with the same options, for one
    ``kind`` of ``targets``, or (``kind=None``) all its kinds together: Σ count ÷ Σ target.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from salesmetrics.datasets import SAMPLE_ACTIVITY_TARGETS, sample_activities
    >>> ax = activity_vs_target(sample_activities(), targets=SAMPLE_ACTIVITY_TARGETS,
    ...                         period="2024-12", kind="call")
    >>> ax.get_title()
    'Activity vs target: call — 2024-12'
    """
    table = measure_vs_target(a, targets=targets, period=period, by=by, freq=freq,
                              prorate=prorate, owners=owners)
    kinds = list(dict.fromkeys(table["kind"].tolist()))
    if kind is not None and kind not in kinds:
        raise OptionError(f"activity_vs_target(): kind must be one of the targets' kinds, "
                          f"{choices(kinds)}, or None, got {kind!r}")
    rows = np.ones(len(table), bool) if kind is None else table["kind"] == kind
    groups = list(dict.fromkeys(table[by][rows].tolist()))
    buckets = list(dict.fromkeys(table[freq][rows].tolist()))
    shape = (len(groups), len(kinds) if kind is None else 1, len(buckets))
    count = table["count"][rows].reshape(shape).sum(axis=1)
    target = table["target"][rows].reshape(shape).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(target > 0, count / np.where(target > 0, target, 1.0), np.nan)
    ax = axes_for(ax, (max(6.0, 0.55 * len(buckets) + 2), max(3.0, 0.4 * len(groups) + 1.5)))
    what = "all kinds" if kind is None else literal(kind)
    ax.set_title(period_title(f"Activity vs target: {what}", period))
    if not groups:
        draw_empty(ax, "no owners to show")
        return ax
    image = ax.imshow(np.clip(share, 0, CEILING), cmap="RdYlGn", vmin=0, vmax=CEILING,
                      aspect="auto")
    for (i, j), value in np.ndenumerate(share):  # one label per cell: owners × weeks
        ax.text(j, i, "–" if value != value else f"{value:.0%}", ha="center", va="center",
                fontsize=7, color="#222")
    ax.set_xticks(range(len(buckets)), literals(str(b).split("-")[-1] for b in buckets),
                  fontsize=8)
    ax.set_yticks(range(len(groups)), literals(groups), fontsize=8)
    ax.figure.colorbar(image, ax=ax, label="count ÷ target", format="{x:.0%}")
    return ax
