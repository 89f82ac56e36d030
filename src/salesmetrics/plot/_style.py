"""What every figure shares: colours, a new axes when none is given, titles, tick formats."""

from __future__ import annotations

from typing import Any

from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.pipeline import Pipeline

__all__ = [
    "BLUE", "GREY", "ORANGE", "axes_for", "draw_empty", "money_unit", "percent_ticks",
    "period_title", "thousands_ticks",
]

BLUE, ORANGE, GREY = "#3b5ba5", "#e8843c", "#9aa3b0"


def axes_for(ax: Any, size: tuple[float, float] = (7.0, 4.0)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def money_unit(p: Pipeline) -> str:
    return f"[{p.currency}]" if p.currency else "[amount]"


def period_title(text: str, period: PeriodLike | None) -> str:
    return text if period is None else f"{text} — {as_period(period).label}"


def draw_empty(ax: Any, text: str) -> None:
    """Say ``text`` in the middle of an axes that has nothing to draw, with no value axis."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#444")
    ax.set_yticks([])


def thousands_ticks() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")


def percent_ticks() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)
