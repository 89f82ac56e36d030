"""Commission: tiered plans (marginal or retroactive, with a cap and a draw) paid on won revenue.

Money is exact: revenue and quotas are integer minor units, thresholds and rates are read as the
decimals they are written as (``0.15`` is 15/100, not the float nearest it), every band's pay is
an exact fraction of a minor unit, and an owner's total is rounded once, half to even.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from typing import Any, overload

import attrs
import numpy as np

from salesmetrics._render import format_label, format_money, format_rate, text_table
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.quotas import Quota
from salesmetrics.domain.stage import WON
from salesmetrics.errors import DataError, DataQualityWarning, DataTypeError, OptionError
from salesmetrics.metrics._common import check_pipeline, plural, warn_missing_amounts
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_outcomes
from salesmetrics.metrics._summary import normalize_by, resolve_period
from salesmetrics.metrics.options import By
from salesmetrics.metrics.quota import quota_minor

__all__ = ["Commission", "CommissionLine", "CommissionPlan", "commission"]

_NAME = "commission"
#: The highest tier threshold [fraction of quota]: 1,000 % of quota. Above it, a threshold
#: written as a percentage (100 for 100 %) is the likely mistake.
_MAX_THRESHOLD = 10.0


def _decimal(value: float) -> Fraction:
    """A plan's number as the decimal it is written as: ``0.15`` → 3/20."""
    return Fraction(repr(float(value)))


def _number(what: str, value: object, low: float, high: float) -> float:
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not low <= float(value) <= high):
        upper = "" if math.isinf(high) else f" and <= {high:g}"
        raise DataError(f"CommissionPlan: {what} must be a finite number >= {low:g}{upper}, "
                        f"got {value!r}")
    return float(value)


def _tiers(tiers: object) -> tuple[tuple[float, float], ...]:
    if isinstance(tiers, (str, bytes, Mapping)) or not isinstance(tiers, Sequence) or not tiers:
        raise DataTypeError("CommissionPlan: tiers must be a non-empty sequence of "
                            f"(attainment_from, rate) pairs, e.g. [(0.0, 0.10), (1.0, 0.15)], "
                            f"got {tiers!r}")
    out: list[tuple[float, float]] = []
    for i, tier in enumerate(tiers):
        if isinstance(tier, (str, bytes)) or not isinstance(tier, Sequence) or len(tier) != 2:
            raise DataTypeError(f"CommissionPlan: tiers[{i}] must be an (attainment_from, rate) "
                                f"pair, got {tier!r}")
        start = _number(f"tiers[{i}] attainment_from", tier[0], 0.0, math.inf)
        if start > _MAX_THRESHOLD:
            raise DataError(
                f"CommissionPlan: tiers[{i}] attainment_from is {tier[0]!r}, i.e. "
                f"{start * 100:,.0f} % of quota; thresholds are fractions of quota (1.0 is "
                f"100 %), at most {_MAX_THRESHOLD:g} ({_MAX_THRESHOLD * 100:,.0f} %). For "
                f"100 % of quota write 1.0, not 100")
        rate = _number(f"tiers[{i}] rate", tier[1], 0.0, 1.0)
        if out and start <= out[-1][0]:
            raise DataError(f"CommissionPlan: tiers must be sorted by attainment_from, strictly "
                            f"increasing; tiers[{i}] starts at {start:g}, not after "
                            f"tiers[{i - 1}] at {out[-1][0]:g}")
        out.append((start, rate))
    return tuple(out)


def _cap(value: object) -> float | None:
    return None if value is None else _number("cap", value, 0.0, math.inf)


def _draw(value: object) -> float | None:
    return None if value is None else _number("draw", value, 0.0, math.inf)


def _pct(x: Fraction) -> str:
    return f"{float(x * 100):g} %"


@attrs.frozen
class CommissionLine:
    """One line of a commission breakdown: a band of attainment, or the cap or the draw."""

    #: ``"0 % to 100 %"``, ``"from 100 %"``, ``"cap"`` or ``"draw"``.
    band: str
    #: Revenue paid in the band [currency]; nan on the cap and draw lines.
    revenue: float
    #: The band's rate [fraction]; nan on the cap and draw lines.
    rate: float
    #: What the line pays [currency]: negative on the cap line (what the cap takes off),
    #: positive on the draw line (what tops the pay up to the draw).
    pay: float


@attrs.frozen
class Commission:
    """One owner's (or group's) commission in a period, with the breakdown to check by hand."""

    #: The quota [currency].
    quota: float
    #: Won revenue in the period [currency].
    revenue: float
    #: revenue ÷ quota [fraction]; nan for a quota of 0.
    attainment: float
    #: What the owner is paid [currency], exact to the minor unit.
    amount: float
    #: The breakdown: one line per band (marginal) or the band reached (retroactive), then a
    #: ``cap`` or ``draw`` line where one applies. The lines' pay adds up to ``amount``.
    tiers: tuple[CommissionLine, ...] = ()
    #: The currency code, or None.
    currency: str | None = None

    def _record(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("quota", "revenue", "attainment", "amount")}

    def _cells(self) -> list[tuple[str, str]]:
        return [(k, format_rate(v) if k == "attainment" else format_money(v, self.currency))
                for k, v in self._record().items()]

    def to_pandas(self) -> Any:
        """The breakdown as a pandas DataFrame: ``band``, ``revenue``, ``rate``, ``pay``."""
        import pandas as pd

        return pd.DataFrame([attrs.asdict(line) for line in self.tiers],
                            columns=["band", "revenue", "rate", "pay"])

    def __repr__(self) -> str:
        head = ", ".join(f"{k} {v}" for k, v in self._cells())
        rows = [[line.band, format_money(line.revenue, self.currency), format_rate(line.rate),
                 format_money(line.pay, self.currency)] for line in self.tiers]
        return "\n".join([f"Commission: {head}",
                          *text_table(["band", "revenue", "rate", "pay"], rows,
                                      align=["left", "right", "right", "right"])])


@attrs.frozen(init=False)
class CommissionPlan:
    r"""A tiered commission plan: rates by band of quota attainment, with a cap and a draw.

    $$
    \text{marginal: } \; C = \sum_i r_i \,\bigl(\min(R, t_{i+1} Q) - t_i Q\bigr)^+ ,
    \qquad \text{retroactive: } \; C = r_k R, \quad k = \max\{i : t_i \le R / Q\}
    $$

    then $\min(C, \text{cap})$ and $\max(C, \text{draw})$, with $R$ the revenue, $Q$ the
    quota, $t_i$ and $r_i$ the tiers' attainment thresholds and rates ($t_{n+1} = \infty$).

    Parameters
    ----------
    tiers
        ``(attainment_from, rate)`` pairs, thresholds fractions of quota in [0, 10] (up to
        1,000 % of quota) and strictly increasing, rates in [0, 1]:
        ``[(0.0, 0.10), (1.0, 0.15)]`` pays 10 % from 0 % of quota and 15 % from 100 %.
        Below a first threshold above 0 nothing is paid (a gate). Accelerators and
        decelerators are higher or lower rates in higher bands.
    retroactive
        False (default): marginal, each rate on the revenue inside its band, like tax brackets
        (the usual plan, e.g. Xactly's and Salesforce Spiff's "tiered" rate tables). True: the
        rate of the band reached applies to all revenue (a "retro" accelerator). A retroactive
        plan whose rate drops in a higher band pays less just past that threshold: the only
        place commission is not monotone in attainment (a *cliff*).
    cap
        The most one owner earns in a period [currency], or None.
    draw
        The least one owner earns in a period (a guaranteed minimum, non-recoverable here)
        [currency], or None. It must not exceed ``cap``.

    Raises
    ------
    DataError
        Unsorted or negative thresholds, a threshold above 10 (1,000 % of quota: ``100``
        written for 100 %, which is ``1.0``), rates outside [0, 1], a negative cap or draw, or a
        draw above the cap.

    References
    ----------
    1. Incentius, "Sales commissions: tiered, incremental, retroactive" (marginal versus
       retroactive tiers): https://incentius.com/blog-posts/sales-commissions-think-beyond-simple-percentage
    2. QuotaPath, "Commission with accelerators and decelerators" (tiers below and above
       quota, a retroactive base rate): https://comp.quotapath.com/account-executive/accelerators-decelerators
    3. D. Chung, T. Steenburgh and K. Sudhir, "Do bonuses enhance sales productivity? A dynamic
       structural analysis of bonus-based compensation plans", *Marketing Science* 33(2),
       2014, 165–187 (overachievement commission keeps effort up past quota; thresholds
       invite timing games): https://doi.org/10.1287/mksc.2013.0815

    Examples
    --------
    The worked example: 10 % up to quota and 15 % above it, 130 % of a USD 500,000 quota:

    >>> from salesmetrics import CommissionPlan
    >>> plan = CommissionPlan([(0.0, 0.10), (1.0, 0.15)])
    >>> plan.pay(650_000, 500_000)                    # 500,000 × 10 % + 150,000 × 15 %
    72500.0
    >>> CommissionPlan([(0.0, 0.10), (1.0, 0.15)], retroactive=True).pay(650_000, 500_000)
    97500.0
    """

    #: The ``(attainment_from, rate)`` pairs [fractions].
    tiers: tuple[tuple[float, float], ...] = attrs.field(converter=_tiers)
    #: Retroactive (True) or marginal (False).
    retroactive: bool = attrs.field(default=False, kw_only=True)
    #: The most one owner earns in a period [currency], or None.
    cap: float | None = attrs.field(default=None, kw_only=True, converter=_cap)
    #: The least one owner earns in a period [currency], or None.
    draw: float | None = attrs.field(default=None, kw_only=True, converter=_draw)

    def __init__(self, tiers: Sequence[tuple[float, float]], *, retroactive: bool = False,
                 cap: float | None = None, draw: float | None = None) -> None:
        self.__attrs_init__(tiers, retroactive=retroactive, cap=cap, draw=draw)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.retroactive, (bool, np.bool_)):
            raise OptionError(f"CommissionPlan: retroactive must be True or False, got "
                              f"{self.retroactive!r}")
        if self.cap is not None and self.draw is not None and self.draw > self.cap:
            raise DataError(f"CommissionPlan: draw {self.draw:g} is above cap {self.cap:g}; a "
                            "guaranteed minimum cannot exceed the maximum")

    def _bands(self) -> list[tuple[Fraction, Fraction]]:
        bands = [(_decimal(t), _decimal(r)) for t, r in self.tiers]
        if bands[0][0] > 0:
            bands.insert(0, (Fraction(0), Fraction(0)))
        return bands

    def pay_minor(self, revenue: int, quota: int, scale: int = 100
                  ) -> tuple[int, list[tuple[str, Fraction | None, Fraction | None, int]]]:
        """The exact pay of ``revenue`` on ``quota`` [int minor units], and the lines
        ``(band, revenue [minor units, exact], rate, pay [minor units])``.

        Band pays are cumulative sums rounded half to even, differenced: each is within one
        minor unit of its exact value and together they add up to the total, which is the
        exact pay rounded once, half to even.
        """
        bands = self._bands()
        labels = [f"{_pct(start)} to {_pct(bands[i + 1][0])}" if i + 1 < len(bands)
                  else f"from {_pct(start)}" for i, (start, _) in enumerate(bands)]
        lines: list[tuple[str, Fraction, Fraction, Fraction]] = []
        r = Fraction(revenue)
        if self.retroactive:
            reached = [i for i, (start, _) in enumerate(bands)
                       if (r >= start * quota if quota else r > 0 or start == 0)]
            k = reached[-1]
            lines.append((labels[k], r, bands[k][1], r * bands[k][1]))
        else:
            for i, (start, rate) in enumerate(bands):
                low = start * quota
                high = r if i + 1 == len(bands) else min(r, bands[i + 1][0] * quota)
                inside = max(Fraction(0), high - low)
                lines.append((labels[i], inside, rate, inside * rate))
        out: list[tuple[str, Fraction | None, Fraction | None, int]] = []
        cumulative, paid = Fraction(0), 0
        for label, inside, rate, exact in lines:
            cumulative += exact
            rounded = round(cumulative)  # Fraction rounds half to even
            out.append((label, inside, rate, rounded - paid))
            paid = rounded
        total = paid
        if self.cap is not None:
            cap = round(_decimal(self.cap) * scale)
            if total > cap:
                out.append(("cap", None, None, cap - total))
                total = cap
        if self.draw is not None:
            draw = round(_decimal(self.draw) * scale)
            if total < draw:
                out.append(("draw", None, None, draw - total))
                total = draw
        return total, out

    def pay(self, revenue: float, quota: float, *, currency: str | None = None) -> float:
        """What ``revenue`` earns on ``quota`` [currency], both in major units; computed in
        exact minor units (2 decimals unless ``currency`` says otherwise)."""
        from salesmetrics.domain.money import minor_exponent

        scale = 10 ** minor_exponent(currency)
        r = round(_decimal(_number("revenue", revenue, 0.0, math.inf)) * scale)
        q = round(_decimal(_number("quota", quota, 0.0, math.inf)) * scale)
        return float(self.pay_minor(r, q, scale)[0] / scale)


def _lines(lines: list[tuple[str, Fraction | None, Fraction | None, int]], scale: int
           ) -> tuple[CommissionLine, ...]:
    return tuple(CommissionLine(band, math.nan if inside is None else float(inside / scale),
                                math.nan if rate is None else float(rate), pay / scale)
                 for band, inside, rate, pay in lines)


@overload
def commission(
    plan: CommissionPlan, p: Pipeline, *, quotas: float, period: PeriodLike, by: None,
) -> Commission: ...
@overload
def commission(
    plan: CommissionPlan, p: Pipeline, *, quotas: Mapping[Hashable, float] | Quota,
    period: PeriodLike, by: str | Sequence[str] = ...,
) -> GroupedResult[Commission]: ...
def commission(
    plan: CommissionPlan,
    p: Pipeline,
    *,
    quotas: Mapping[Hashable, float] | Quota | float,
    period: PeriodLike,
    by: By = "owner",
) -> Commission | GroupedResult[Commission]:
    r"""Commission per owner (or group) in a period under a `CommissionPlan` [currency].

    Revenue $R$ is the won revenue of the period (`won_revenue`: deals won with a close date
    in it), $Q$ the owner's quota; the pay is the plan's (see `CommissionPlan`):

    $$
    C = \max\Bigl(\min\Bigl(\sum_i r_i \bigl(\min(R, t_{i+1} Q) - t_i Q\bigr)^+,\;
    \text{cap}\Bigr),\; \text{draw}\Bigr)
    $$

    Parameters
    ----------
    plan
        The `CommissionPlan`.
    p
        The pipeline.
    quotas
        Owner → quota [currency], or a `Quota` table (its quotas inside ``period``; with
        ``by="team"``, its team roll-ups); with ``by=None``, one number. Every owner in it
        appears, even with no deals.
    period
        The period paid (a `Period` or a label such as ``"2024-Q4"``).
    by
        The field the quotas are per (default ``"owner"``).

    Returns
    -------
    Commission or GroupedResult
        Per owner: ``quota``, ``revenue``, ``attainment``, ``amount`` and ``tiers``, the
        breakdown (band, revenue in it, rate, pay; a cap or draw as its own line).

    Warns
    -----
    DataQualityWarning
        For a quota of 0 with won revenue (every sale is above quota: the top band); owners
        with won revenue but no quota (left out); won deals without an amount (they count 0,
        as in `won_revenue`); a `Quota` table whose rows for an owner cover only part of
        ``period`` (two months of a quarter: the quota is understated), or that has no row
        inside it.

    Notes
    -----
    **Rounding.** Everything is computed exactly (revenue and quota in integer minor units,
    rates as decimals), and each owner's total is rounded once to the minor unit, half to
    even ("banker's rounding", as `to_minor_units` rounds amounts); the band lines are the
    rounded running totals, differenced, so they add up to the amount to the cent and no
    rounding drifts across owners. The cap and the draw are applied after rounding.

    References
    ----------
    1. WorldatWork, "Sales Compensation: Accelerators and Decelerators".
    2. Xactly, "Commission tiers: marginal vs. retroactive".

    Examples
    --------
    >>> from salesmetrics import CommissionPlan, Deal, Pipeline, commission
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 400_000, "Closed won", close_date="2024-11-01", owner="ana"),
    ...     Deal("B", 250_000, "Closed won", close_date="2024-12-01", owner="ana"),
    ... ])
    >>> plan = CommissionPlan([(0.0, 0.10), (1.0, 0.15)])
    >>> r = commission(plan, p, quotas={"ana": 500_000, "bo": 400_000}, period="2024-Q4")
    >>> r["ana"].amount, r["ana"].attainment, r["bo"].amount
    (72500.0, 1.3, 0.0)
    >>> [(t.band, t.revenue, t.rate, t.pay) for t in r["ana"].tiers]
    [('0 % to 100 %', 500000.0, 0.1, 50000.0), ('from 100 %', 150000.0, 0.15, 22500.0)]
    """
    if not isinstance(plan, CommissionPlan):
        raise DataTypeError(f"{_NAME}(): expected a CommissionPlan as first argument, got "
                            f"{type(plan)!r}")
    check_pipeline(_NAME, p)
    fields = normalize_by(_NAME, by)
    chosen = resolve_period(_NAME, period)
    if chosen is None:
        raise OptionError(f"{_NAME}(): period is required, e.g. period='2024-Q4'")
    quota = quota_minor(_NAME, quotas, p=p, period=chosen, fields=fields)
    summary = summarize_outcomes(p, by=by, period=chosen, view="period", function=_NAME)
    a = summary.arrays
    won = a["count"][:, WON]
    warn_missing_amounts(_NAME, int(won.sum() - a["valued"][:, WON].sum()), int(won.sum()),
                         deals="won deals", effect="counted as 0, so commission is understated")
    keys = list(summary.keys) if fields else [None]
    revenue = dict(zip(keys, a["value"][:, WON].tolist(), strict=True))
    scale = p.minor_unit
    unpaid = [k for k, v in revenue.items() if v > 0 and k not in quota]
    if unpaid:
        warnings.warn(
            f"{_NAME}(): {plural(len(unpaid), 'group')} with won revenue "
            f"{'has' if len(unpaid) == 1 else 'have'} no quota and "
            f"{'is' if len(unpaid) == 1 else 'are'} left out: "
            f"{', '.join(format_label(k) for k in unpaid[:5])}"
            f"{'…' if len(unpaid) > 5 else ''}. Fix: add their quotas",
            DataQualityWarning, stacklevel=2)
    zero = [k for k, q in quota.items() if q == 0 and revenue.get(k, 0) > 0]
    if zero:
        warnings.warn(
            f"{_NAME}(): {plural(len(zero), 'group')} with a quota of 0 and won revenue "
            f"({', '.join(format_label(k) for k in zero[:5])}): every sale is above quota and "
            "paid at the top rate. Fix: check those quotas", DataQualityWarning, stacklevel=2)
    rows: list[Commission] = []
    for key, q in quota.items():  # one row per owner, not per deal
        r = int(revenue.get(key, 0))
        total, lines = plan.pay_minor(r, q, scale)
        rows.append(Commission(quota=q / scale, revenue=r / scale,
                               attainment=r / q if q else math.nan, amount=total / scale,
                               tiers=_lines(lines, scale), currency=p.currency))
    if not fields:
        return rows[0]
    return GroupedResult(fields, list(quota), rows, name=_NAME, unit="money",
                         currency=p.currency)
