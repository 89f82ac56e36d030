"""What every figure shares: colours, a new axes when none is given, titles, tick formats."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.pipeline import Pipeline

__all__ = [
    "BLUE", "GREY", "ORANGE", "axes_for", "draw_empty", "literal", "literals", "money_unit",
    "percent_ticks", "period_title", "thousands_ticks",
]

BLUE, ORANGE, GREY = "#3b5ba5", "#e8843c", "#9aa3b0"


def axes_for(ax: Any, size: tuple[float, float] = (7.0, 4.0)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def literal(text: object) -> str:
    """``text`` as matplotlib is to draw it, letter for letter: each ``$`` escaped.

    matplotlib reads a text with two ``$`` as math: an owner ``"a_b$c$d"`` would be drawn
    "a_bcd" with an italic c. Every tick label, legend entry, title or note built from data
    goes through this (``\\$`` is drawn as ``$``).

    >>> literal("a$b$c")
    'a\\\\$b\\\\$c'
    """
    return str(text).replace("$", r"\$")


def literals(texts: Iterable[object]) -> list[str]:
    """`literal` of each text."""
    return [literal(text) for text in texts]


def money_unit(p: Pipeline) -> str:
    return literal(f"[{p.currency}]" if p.currency else "[amount]")


def period_title(text: str, period: PeriodLike | None) -> str:
    """``text`` and the period's label, for a title (``text`` already `literal`)."""
    return text if period is None else f"{text} — {literal(as_period(period).label)}"


def draw_empty(ax: Any, text: str) -> None:
    """Say ``text`` in the middle of an axes that has nothing to draw, with no value axis."""
    ax.text(0.5, 0.5, literal(text), ha="center", va="center", transform=ax.transAxes, color="#444")
    ax.set_yticks([])


def thousands_ticks() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")


def percent_ticks() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)
