"""The reverse funnel: from a target, how many deals must enter each stage in a period."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from salesmetrics._render import format_money, format_number, format_rate
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import DataQualityWarning, OptionError
from salesmetrics.metrics._common import called_by, check_pipeline, divide
from salesmetrics.metrics._stage_table import StageTable
from salesmetrics.metrics.conversion import stage_conversion
from salesmetrics.metrics.coverage import check_amount, closed_before, the_period
from salesmetrics.metrics.cycle import average_deal_size as measured_deal_size
from salesmetrics.metrics.pipeline_totals import stage_probabilities, won_revenue

__all__ = ["Plan", "plan"]


class Plan(StageTable[float]):
    """A reverse funnel: a read-only mapping of stage name → deals that must enter it in the
    period [count, fractional], in funnel order. Made by `plan`.

    Attributes
    ----------
    wins_needed
        remaining ÷ average_deal_size [deals].
    average_deal_size
        The average won deal [major currency units].
    per_week
        Stage → deals that must enter it per week [deals per week].
    rates
        Stage → conversion to the next stage (the last: to a win) [fraction].
    target, won, remaining
        The target, won in the period, and max(target − won, 0) [major currency units].
    weeks
        The weeks the deals must enter in [weeks].
    """

    __slots__ = ("average_deal_size", "currency", "per_week", "rates", "remaining",
                 "target", "weeks", "wins_needed", "won")

    def __init__(self, stages: list[str], entering: list[float], rates: list[float], *,
                 wins_needed: float, average_deal_size: float, target: float, won: float,
                 remaining: float, weeks: float, currency: str | None) -> None:
        super().__init__(dict(zip(stages, entering, strict=True)))
        self.rates: Mapping[str, float] = MappingProxyType(dict(zip(stages, rates, strict=True)))
        self.per_week: Mapping[str, float] = MappingProxyType(
            {s: v / weeks for s, v in self._values.items()})
        self.wins_needed, self.average_deal_size = wins_needed, average_deal_size
        self.target, self.won, self.remaining = target, won, remaining
        self.weeks, self.currency = weeks, currency

    def to_dict(self) -> dict[str, float]:
        """A plain dict of stage name → deals that must enter it."""
        return dict(self._values)

    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by ``stage``, with columns ``rate``, ``deals`` and
        ``per_week``."""
        import pandas as pd

        rows = [[self.rates[s], self[s], self.per_week[s]] for s in self]
        return pd.DataFrame(rows, index=pd.Index(list(self), name="stage"),
                            columns=["rate", "deals", "per_week"])

    def _title(self) -> str:
        def money(value: float) -> str:
            return format_money(value, self.currency)

        return (f"plan: target {money(self.target)} − won {money(self.won)} = "
                f"{money(self.remaining)} ÷ average deal {money(self.average_deal_size)} = "
                f"{_deals(self.wins_needed)} wins, over {format_number(round(self.weeks, 2))} "
                "weeks")

    def _table(self) -> tuple[list[str], list[list[str]]]:
        header = ["stage", "rate", "deals", "per_week"]
        rows = [[s, format_rate(self.rates[s]), _deals(self[s]), _deals(self.per_week[s])]
                for s in self]
        rows.append(["(won)", "", _deals(self.wins_needed),
                     _deals(self.wins_needed / self.weeks)])
        return header, rows

def _deals(value: float) -> str:
    return format_number(value, 1)


def plan(
    p: Pipeline | None,
    *,
    target: float,
    period: PeriodLike,
    weeks: float | None = None,
    rates: Mapping[str, float] | None = None,
    average_deal_size: float | None = None,
) -> Plan:
    r"""The reverse funnel: how many deals must enter each stage to reach the target.

    $$
    \text{wins} = \frac{\max(T - R, 0)}{\bar a}, \qquad
    n_k = \frac{\text{wins}}{\prod_{j \ge k} s_j}, \qquad
    \text{per week}_k = \frac{n_k}{\text{weeks}}
    $$

    where $T$ is the target, $R$ the revenue already won in the period (`won_revenue`), $\bar a$
    the average won deal (`average_deal_size`) and $s_j$ the conversion from stage *j* to the
    next (for the last open stage: to a win; `stage_conversion`), both measured on the deals
    of ``p`` closed before the period starts. $n_k$ is the number of deals that must enter
    stage *k* in the period: a plan, so it is fractional; round up for a headcount.

    Parameters
    ----------
    p
        The pipeline the rates, the deal size and the won revenue come from; None when both
        ``rates`` and ``average_deal_size`` are given (then nothing is won yet).
    target
        The target for the period [major currency units], a finite number >= 0.
    period
        The period (a `Period` or a label such as ``"2024-Q4"``).
    weeks
        The weeks in which deals must enter [weeks], > 0; default the period's length
        (days ÷ 7).
    rates
        ``{stage: conversion to the next stage}`` [fraction], in funnel order, the last stage's
        being its conversion to a win; the stages given make the funnel (with ``p``, they must
        be its open stages, and take its funnel order). Default: measured on ``p``.
    average_deal_size
        The average won deal [major currency units], > 0. Default: measured on ``p``.

    Returns
    -------
    Plan
        Stage → deals that must enter it [deals], with ``wins_needed``,
        ``average_deal_size``, ``per_week``, ``rates``, ``target``, ``won``, ``remaining``
        and ``weeks``.

    Raises
    ------
    OptionError
        For a target, weeks or average deal size that is not a finite number (>= 0 and > 0),
        no period, or ``p`` None without both ``rates`` and ``average_deal_size``.
    UnknownStageError, DataError
        For ``rates`` naming a stage that is not an open stage of ``p``, or a rate outside
        [0, 1].

    Warns
    -----
    DataQualityWarning
        When a stage's conversion is 0 or unmeasured (its count and every earlier one is nan)
        or no deal was won before the period (no average deal size); and those of
        `stage_conversion`, `average_deal_size` and `won_revenue`.

    References
    ----------
    The "reverse funnel" or "reverse-engineered pipeline" of sales planning: e.g. Salesforce,
    "How to build a sales pipeline"; Jacco van der Kooij, *Blueprints for a SaaS Sales
    Organization* (2016), ch. 2.

    Examples
    --------
    To win 100,000 at 10,000 a deal takes 10 wins; half of the Proposals win and a quarter of
    the Meetings reach Proposal, so 20 Proposals and 80 Meetings must start, over 13 weeks:

    >>> from salesmetrics import plan
    >>> pl = plan(None, target=100_000, period="2024-Q4", weeks=13,
    ...           rates={"Meeting": 0.25, "Proposal": 0.5}, average_deal_size=10_000)
    >>> pl.wins_needed, dict(pl)
    (10.0, {'Meeting': 80.0, 'Proposal': 20.0})
    >>> round(pl.per_week["Meeting"], 2)
    6.15
    >>> pl
    plan: target 100,000.00 − won 0.00 = 100,000.00 ÷ average deal 10,000.00 = 10.0 wins, over 13 weeks
      stage     rate    deals  per_week
      --------  ------  -----  --------
      Meeting   25.0 %   80.0       6.2
      Proposal  50.0 %   20.0       1.5
      (won)              10.0       0.8
    """  # noqa: E501
    function = "plan"
    chosen = the_period(function, period)
    goal = check_amount(function, "target", target)
    span = chosen.days / 7 if weeks is None else check_amount(function, "weeks", weeks,
                                                                 positive=True)
    size = (None if average_deal_size is None else
            check_amount(function, "average_deal_size", average_deal_size, positive=True))
    if p is None:
        if rates is None or size is None:
            raise OptionError(f"{function}(): without a pipeline (p is None), give both rates= "
                              "and average_deal_size=")
        names = list(rates)
    else:
        check_pipeline(function, p)
        names = list(p.open_stage_names)
    history = None if p is None else closed_before(p, chosen)
    if rates is None:
        assert history is not None
        with called_by(function):
            measured = stage_conversion(history)
        stages, rate = names, np.array([measured[s] for s in names], dtype=np.float64)
    else:
        given = stage_probabilities(function, names, np.full(len(names), np.nan), rates)
        keep = ~np.isnan(given)
        stages, rate = [s for s, k in zip(names, keep, strict=True) if k], given[keep]
    if size is None:
        assert history is not None
        with called_by(function):
            size = float(measured_deal_size(history))
    with called_by(function):
        won = 0.0 if p is None else float(won_revenue(p, period=chosen))
    remaining = max(goal - won, 0.0)
    wins = float(divide(np.array([remaining]), np.array([size]), math.nan)[0])
    through = np.cumprod(rate[::-1])[::-1]  # from stage k to a win
    entering = divide(np.full(len(rate), wins), through, math.nan)
    _warn_plan(function, chosen.start, size, [s for s, t in zip(stages, through, strict=True)
                                              if not t > 0], given=rates is not None)
    return Plan(stages, entering.tolist(), rate.tolist(), wins_needed=wins,
                average_deal_size=size, target=goal, won=won, remaining=remaining,
                weeks=span, currency=None if p is None else p.currency)


def _warn_plan(function: str, start: object, size: float, dead: list[str],
               given: bool = False) -> None:
    if size != size:
        warnings.warn(
            f"{function}(): no deal with an amount was won before {start}, so the average deal "
            "size and every count are nan. Fix: load more history, or give average_deal_size=",
            DataQualityWarning, stacklevel=3)
    if dead and given:
        warnings.warn(
            f"{function}(): with the rates= given, no deal entering "
            f"{', '.join(map(repr, dead))} goes on to win (a rate of 0 on the way to a win), so "
            f"the deals that must enter {'it' if len(dead) == 1 else 'them'} are nan. Fix: give "
            "every stage on the way a conversion above 0, or leave out the stages that have "
            "none", DataQualityWarning, stacklevel=3)
    elif dead:
        warnings.warn(
            f"{function}(): from {', '.join(map(repr, dead))} no deal closed before {start} "
            "went on to win (a conversion of 0 or unmeasured), so the deals that must enter "
            f"{'it' if len(dead) == 1 else 'them'} are nan. Fix: load more history and the "
            "stage history (history=), or give rates=",
            DataQualityWarning, stacklevel=3)
