"""Figures of what changed between two snapshots: the pipeline waterfall."""

from __future__ import annotations

from typing import Any

import numpy as np

from salesmetrics.errors import DataTypeError
from salesmetrics.metrics.changes import PipelineChanges
from salesmetrics.plot._style import (
    BLUE,
    GREY,
    ORANGE,
    axes_for,
    literal,
    literals,
    thousands_ticks,
)

__all__ = ["waterfall"]

GREEN = "#4c9a5b"


def waterfall(changes: PipelineChanges, *, ax: Any = None) -> Any:
    """Waterfall: the open value at the start, each movement as a floating bar (inflows green,
    outflows orange), and the value at the end; movements that are 0 are left out.

    Takes a `PipelineChanges` (from `pipeline_changes`; with ``by=``, one group's).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import warnings
    >>> from salesmetrics import pipeline_changes
    >>> from salesmetrics.datasets import sample_snapshots
    >>> with warnings.catch_warnings(action="ignore"):  # the sample's deals without an amount
    ...     ax = waterfall(pipeline_changes(*sample_snapshots()))
    >>> ax.get_xticklabels()[0].get_text(), ax.get_xticklabels()[-1].get_text()
    ('start', 'end')
    """
    if not isinstance(changes, PipelineChanges):
        raise DataTypeError(f"waterfall(): expected a PipelineChanges (from pipeline_changes), "
                            f"got {type(changes)!r}; with by=, pass one group's, e.g. "
                            f"changes['ana']")
    ax = axes_for(ax, (8.0, 4.0))
    moves = [(name, value) for name, value in changes.totals.items() if value]
    names = ["start", *(n for n, _ in moves), "end"]
    values = np.array([v for _, v in moves], dtype=float)
    level = changes.start + np.concatenate([[0.0], np.cumsum(values)])
    bottoms = [0.0, *np.minimum(level[:-1], level[1:]), 0.0]
    heights = [changes.start, *np.abs(values), changes.end]
    colours = [BLUE, *(GREEN if v > 0 else ORANGE for v in values), BLUE]
    x = np.arange(len(names))
    ax.bar(x, heights, bottom=bottoms, color=colours, edgecolor="white")
    for i in range(len(names) - 1):  # connectors between the bars' levels
        top = changes.start if i == 0 else level[i]
        ax.plot([x[i] + 0.4, x[i + 1] - 0.4], [top, top], color=GREY, lw=0.8)
    ax.set_xticks(x, literals(names), rotation=30, ha="right")
    ax.yaxis.set_major_formatter(thousands_ticks())
    what = "Weighted pipeline" if changes.weighted else "Open pipeline"
    scope = f" — {literal(changes.period)}" if changes.period else ""
    ax.set_title(f"{what}: what changed{scope}")
    ax.set_ylabel(literal(f"[{changes.currency}]" if changes.currency else "[amount]"))
    return ax
