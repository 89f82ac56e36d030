"""Named policies of the metric functions, as ``Literal`` aliases (the public vocabulary)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

__all__ = [
    "Basis",
    "By",
    "CycleOutcome",
    "NoDecision",
    "OpenDeals",
    "Opportunities",
    "Skipped",
    "View",
]

#: ``"unit"`` counts deals; ``"value"`` adds up their amounts.
Basis: TypeAlias = Literal["unit", "value"]
#: How open deals enter a win rate: left out, or counted as not won.
OpenDeals: TypeAlias = Literal["exclude", "lost"]
#: How no-decision outcomes enter a win rate: as losses, or left out.
NoDecision: TypeAlias = Literal["lost", "exclude"]
#: Which deals a period selects for outcome metrics: closed in it, or created in it (a cohort).
View: TypeAlias = Literal["period", "cohort"]
#: Which stages a deal reached: entered ones only, or also every stage before one it entered.
Skipped: TypeAlias = Literal["implied", "visited"]
#: Which deals are the N of the velocity equation.
Opportunities: TypeAlias = Literal["all", "created", "open", "closed"]
#: Which closed deals a cycle or size statistic is over.
CycleOutcome: TypeAlias = Literal["won", "lost", "closed"]
#: One deal field to group by, or several.
By: TypeAlias = str | Sequence[str] | None
