"""Named policies of the metric functions, as ``Literal`` aliases: the public vocabulary that the
metrics and the plots share.

Each alias has the tuple of its choices next to it (for error messages), and `OUTCOME_CODES`
says which deal outcomes each ``outcome=`` choice selects, so that no module spells the outcome
codes out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

from salesmetrics.domain.stage import LOST, NO_DECISION, OPEN, WON

__all__ = [
    "BASES",
    "CYCLE_OUTCOMES",
    "DEAL_OUTCOMES",
    "OUTCOME_CODES",
    "STATISTICS",
    "Basis",
    "By",
    "CycleOutcome",
    "DealOutcome",
    "NoDecision",
    "OpenDeals",
    "Opportunities",
    "Skipped",
    "Statistic",
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
#: Which closed deals a cycle statistic is over (``"lost"``: lost and no decision).
CycleOutcome: TypeAlias = Literal["won", "lost", "closed"]
#: Which deals a deal-size statistic is over: closed ones as in `CycleOutcome`, or the open ones.
DealOutcome: TypeAlias = Literal["won", "lost", "closed", "open"]
#: A statistic of a distribution: the mean, the median, or a percentile in [0, 100].
Statistic: TypeAlias = Literal["mean", "median"] | float
#: One deal field to group by, or several.
By: TypeAlias = str | Sequence[str] | None

BASES: tuple[Basis, ...] = ("unit", "value")
CYCLE_OUTCOMES: tuple[CycleOutcome, ...] = ("won", "lost", "closed")
DEAL_OUTCOMES: tuple[DealOutcome, ...] = ("won", "lost", "closed", "open")
STATISTICS: tuple[Literal["mean", "median"], ...] = ("mean", "median")

#: The deal outcome codes (`salesmetrics.Outcome`) each ``outcome=`` choice selects.
OUTCOME_CODES: dict[str, tuple[int, ...]] = {
    "won": (WON,),
    "lost": (LOST, NO_DECISION),
    "closed": (WON, LOST, NO_DECISION),
    "open": (OPEN,),
}
