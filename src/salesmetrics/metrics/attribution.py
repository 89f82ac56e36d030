"""Which lever moved: a change in sales velocity split into its four levers, in logarithms."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Hashable, Sequence
from typing import Any, Literal, overload

import attrs

from salesmetrics._render import MISSING, format_number, format_rate, html_table, text_table
from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import CurrencyError, DataTypeError, OptionError, choices
from salesmetrics.metrics._common import called_by
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics.velocity import Velocity, sales_velocity

__all__ = ["LEVERS", "Lever", "VelocityAttribution", "velocity_attribution"]

#: A lever of the sales velocity equation, named as in `Velocity` and `velocity_change`.
Lever = Literal["opportunities", "average_deal_value", "win_rate", "cycle_days"]
#: The four levers in the order of the equation: N, V, W, L.
LEVERS: tuple[Lever, ...] = ("opportunities", "average_deal_value", "win_rate", "cycle_days")
_SYMBOL = {"opportunities": "N", "average_deal_value": "V", "win_rate": "W", "cycle_days": "L"}
#: A net log change this small next to the levers' gross movement is "no change" (rounding).
_NO_CHANGE = 1e-12


def _factor(value: float) -> str:
    """A factor as printed: ``×1.1000``; ``n/a`` when undefined."""
    return MISSING if math.isnan(value) else f"×{format_number(value, 4)}"


@attrs.frozen
class VelocityAttribution:
    r"""A change in sales velocity split into its four levers.

    Velocity is a product, $v = N \times V \times W \div L$, so its change splits exactly in
    logarithms:

    $$
    \ln\frac{v_1}{v_0} = \ln\frac{N_1}{N_0} + \ln\frac{V_1}{V_0} + \ln\frac{W_1}{W_0}
                         - \ln\frac{L_1}{L_0}
    $$

    Each lever's *factor* is its own ratio, for the cycle length $L_0 \div L_1$, so that a
    factor above 1 always means "helped". The four factors multiply to `ratio`. A lever's
    *share* is its term of the sum divided by the whole log change; the shares add up to 1.

    Undefined parts are nan, never inf and never an error, and `reason` says why: a lever that
    is 0, negative or undefined on either side has a nan factor and makes every share nan (its
    logarithm does not exist); a velocity that did not change (ratio 1) leaves no change to
    share out, so the shares are nan while the factors still show what moved.
    """

    #: $v_1 \div v_0$: revenue per day after over before [ratio]; nan unless before > 0.
    ratio: float
    #: Each lever's factor [ratio after/before; before/after for ``cycle_days``], keyed by
    #: lever (`LEVERS`); nan for a lever that is 0 or undefined on either side.
    factors: dict[str, float]
    #: Each lever's share of the log change [fraction, adding up to 1], keyed by lever.
    #: Negative for a lever that moved against the total; nan when `reason` says why.
    shares: dict[str, float]
    #: The baseline velocity (the earlier period).
    before: Velocity
    #: The velocity compared with it (the current period).
    after: Velocity
    #: Why some factors or the shares are nan; None when every number is defined.
    reason: str | None = None

    @property
    def log_contributions(self) -> dict[str, float]:
        """Each lever's term of the sum, ``ln(factor)`` [natural log]; they add up to
        ``ln(ratio)``."""
        return {lever: math.log(f) if f > 0 else math.nan for lever, f in self.factors.items()}

    def to_dict(self) -> dict[str, Any]:
        """A plain dict: ``ratio``, ``factors``, ``shares``, ``log_contributions``, ``before``
        and ``after`` (as dicts) and ``reason``."""
        return {
            "ratio": self.ratio,
            "factors": dict(self.factors),
            "shares": dict(self.shares),
            "log_contributions": self.log_contributions,
            "before": attrs.asdict(self.before),
            "after": attrs.asdict(self.after),
            "reason": self.reason,
        }

    def _record(self) -> dict[str, Any]:
        """One flat row (``ratio``, ``<lever>_factor``, ``<lever>_share``, ``reason``): the
        columns of a grouped result's frame."""
        row: dict[str, Any] = {"ratio": self.ratio}
        row |= {f"{lever}_factor": factor for lever, factor in self.factors.items()}
        row |= {f"{lever}_share": share for lever, share in self.shares.items()}
        row["reason"] = self.reason
        return row

    def to_pandas(self) -> Any:
        """A pandas DataFrame, one row per lever and a last row ``revenue_per_day`` (the
        total), with columns ``before``, ``after``, ``factor``, ``log_contribution`` and
        ``share``."""
        import pandas as pd

        logs = self.log_contributions
        rows = [[float(getattr(self.before, lever)), float(getattr(self.after, lever)),
                 self.factors[lever], logs[lever], self.shares[lever]] for lever in LEVERS]
        defined = not any(math.isnan(s) for s in self.shares.values())
        total = math.log(self.ratio) if self.ratio > 0 else math.nan
        rows.append([self.before.revenue_per_day, self.after.revenue_per_day, self.ratio, total,
                     1.0 if defined else math.nan])
        return pd.DataFrame(rows, index=pd.Index([*LEVERS, "revenue_per_day"], name="lever"),
                            columns=["before", "after", "factor", "log_contribution", "share"])

    def _cells(self) -> list[tuple[str, str]]:
        """As printed in a `GroupedResult`: the ratio, then each lever's factor and share."""
        return [("ratio", _factor(self.ratio))] + [
            (lever, f"{_factor(self.factors[lever])}, {format_rate(self.shares[lever])}")
            for lever in LEVERS
        ]

    def _table(self) -> tuple[str, list[str], list[list[str]]]:
        """Title, header and rows: each lever before and after, its factor and share."""
        before, after = dict(self.before._cells()), dict(self.after._cells())
        change = "" if math.isnan(self.ratio) else f" ({self.ratio - 1:+.1%})".replace("%", " %")
        title = (f"revenue_per_day {before['revenue_per_day']} → {after['revenue_per_day']}, "
                 f"{_factor(self.ratio)}{change}")
        rows = [[f"{_SYMBOL[lever]} {lever}", before[lever], after[lever],
                 _factor(self.factors[lever]), format_rate(self.shares[lever])]
                for lever in LEVERS]
        return title, ["lever", "before", "after", "factor", "share"], rows

    def __repr__(self) -> str:
        title, header, rows = self._table()
        lines = [f"VelocityAttribution: {title}", *text_table(header, rows)]
        if self.reason:
            lines.append(f"  {self.reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        title, header, rows = self._table()
        reason = f"<p>{html.escape(self.reason)}</p>" if self.reason else ""
        return f"<p><b>{html.escape(title)}</b></p>{html_table(header, rows)}{reason}"


def _lever_problem(value: object) -> str | None:
    """Why a lever's value has no logarithm ("is 0", "is undefined (nan)"…), or None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"is not a number ({value!r})"
    number = float(value)
    if math.isnan(number):
        return "is undefined (nan)"
    if math.isinf(number):
        return "is infinite"
    if number < 0:
        return f"is negative ({format_number(value)})"
    if number == 0:
        return "is 0"
    return None


def attribute(
    before: Velocity, after: Velocity, *, reason: str | None = None
) -> VelocityAttribution:
    """The attribution of one pair of velocities (``reason``, when given, replaces the one
    found: e.g. a group without deals in a period)."""
    for name, value in (("before", before), ("after", after)):
        if not isinstance(value, Velocity):
            raise DataTypeError(f"velocity_attribution(): {name} must be a Velocity (from "
                                f"sales_velocity), got {type(value).__name__}")
    if before.currency and after.currency and before.currency != after.currency:
        raise CurrencyError(f"velocity_attribution(): before is in {before.currency} and after "
                            f"in {after.currency}; compare velocities in one currency")
    nan = math.nan
    problems: list[str] = []
    factors: dict[str, float] = {}
    for lever in LEVERS:
        b, a = getattr(before, lever), getattr(after, lever)
        found = [(side, why) for side, why in (("before", _lever_problem(b)),
                                               ("after", _lever_problem(a))) if why]
        if found:
            if len(found) == 2 and found[0][1] == found[1][1]:
                problems.append(f"{lever} {found[0][1]} before and after")
            else:
                problems += [f"{lever} {why} {side}" for side, why in found]
            factors[lever] = nan
        else:
            factors[lever] = float(b) / float(a) if lever == "cycle_days" else float(a) / float(b)
    v0, v1 = float(before.revenue_per_day), float(after.revenue_per_day)
    ratio = v1 / v0 if math.isfinite(v0) and v0 > 0 and math.isfinite(v1) and v1 >= 0 else nan
    shares: dict[str, float] = dict.fromkeys(LEVERS, nan)
    found_reason = None
    if problems:
        found_reason = (f"{'; '.join(problems)}: a lever that is 0 or undefined has no "
                        "logarithm, so its factor and every share are nan")
    else:
        logs = {lever: math.log(f) for lever, f in factors.items()}
        total = math.fsum(logs.values())
        if ratio == 1 or abs(total) <= _NO_CHANGE * math.fsum(abs(x) for x in logs.values()):
            found_reason = ("velocity did not change (ratio 1): there is no change to share "
                            "out, so the shares are nan; the factors show how the levers moved")
        else:
            # + 0.0: a lever that did not move has the share 0.0, not -0.0 (0 ÷ a fall)
            shares = {lever: x / total + 0.0 for lever, x in logs.items()}
    return VelocityAttribution(ratio, factors, shares, before, after,
                               reason if reason is not None else found_reason)


def _attribute_grouped(
    before: GroupedResult[Velocity], after: GroupedResult[Velocity]
) -> GroupedResult[VelocityAttribution]:
    if before.by != after.by:
        raise OptionError(f"velocity_attribution(): before is grouped by {choices(before.by)} and "
                          f"after by {choices(after.by)}; group both by the same fields")
    only_before = [k for k in before if k not in after]
    only_after = [k for k in after if k not in before]
    if only_before or only_after:
        parts = []
        if only_before:
            parts.append(f"only before: {choices(only_before)}")
        if only_after:
            parts.append(f"only after: {choices(only_after)}")
        raise OptionError(
            f"velocity_attribution(): before and after have different groups ({'; '.join(parts)});"
            " give results with the same groups, or velocity_attribution(p, period=..., by=...), "
            "which keeps a group found in one period only, with nan shares"
        )
    keys = list(after)
    return GroupedResult(after.by, keys, [attribute(before[k], after[k]) for k in keys],
                         name="velocity_attribution")


#: The options of `sales_velocity` that ``velocity_attribution(p, ...)`` passes on.
_VELOCITY_OPTIONS = tuple(
    name for name, parameter in inspect.signature(sales_velocity).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("period", "by")
)


def _from_pipeline(
    p: Pipeline, period: PeriodLike | None, baseline: PeriodLike | None,
    by: str | Sequence[str] | None, options: dict[str, Any],
) -> VelocityAttribution | GroupedResult[VelocityAttribution]:
    if period is None:
        raise OptionError("velocity_attribution(): give period= (e.g. '2024-Q2') with a pipeline;"
                          " the baseline defaults to the period before it")
    unknown = sorted(set(options) - set(_VELOCITY_OPTIONS))
    if unknown:
        raise OptionError(f"velocity_attribution(): unknown option {choices(unknown)}; the "
                          f"options of sales_velocity are {choices(_VELOCITY_OPTIONS)}")
    current = as_period(period)
    base = current.previous() if baseline is None else as_period(baseline, name="baseline")
    with called_by("velocity_attribution", frames=2):  # called by velocity_attribution
        before = sales_velocity(p, period=base, by=by, **options)
        after = sales_velocity(p, period=current, by=by, **options)
    if not isinstance(before, GroupedResult) or not isinstance(after, GroupedResult):
        assert isinstance(before, Velocity) and isinstance(after, Velocity)
        return attribute(before, after)
    # A group with deals in one period only: its velocity in the other is that of no deals.
    keys: list[Hashable] = [*after, *(k for k in before if k not in after)]
    items = []
    for key in keys:
        if key in before and key in after:
            items.append(attribute(before[key], after[key]))
            continue
        present = before.get(key) or after.get(key)
        assert present is not None
        empty = Velocity(0, math.nan, math.nan, math.nan, math.nan, present.currency)
        missing = base if key not in before else current
        items.append(attribute(before.get(key, empty), after.get(key, empty),
                               reason=f"the group has no deals in {missing.label}: its factors "
                                      "and shares are nan"))
    return GroupedResult(after.by, keys, items, name="velocity_attribution")


@overload
def velocity_attribution(before: Velocity, after: Velocity, /) -> VelocityAttribution: ...
@overload
def velocity_attribution(
    before: GroupedResult[Velocity], after: GroupedResult[Velocity], /
) -> GroupedResult[VelocityAttribution]: ...
@overload
def velocity_attribution(
    p: Pipeline, /, *, period: PeriodLike, baseline: PeriodLike | None = ..., by: None = None,
    **sales_velocity_options: Any,
) -> VelocityAttribution: ...
@overload
def velocity_attribution(
    p: Pipeline, /, *, period: PeriodLike, baseline: PeriodLike | None = ...,
    by: str | Sequence[str], **sales_velocity_options: Any,
) -> GroupedResult[VelocityAttribution]: ...
def velocity_attribution(
    before: Velocity | GroupedResult[Velocity] | Pipeline,
    after: Velocity | GroupedResult[Velocity] | None = None,
    /,
    *,
    period: PeriodLike | None = None,
    baseline: PeriodLike | None = None,
    by: str | Sequence[str] | None = None,
    **sales_velocity_options: Any,
) -> VelocityAttribution | GroupedResult[VelocityAttribution]:
    r"""Which lever moved: a change in sales velocity split into its four levers.

    Velocity is a product ($v = N \times V \times W \div L$, see `sales_velocity`), so the
    change from a baseline $v_0$ to $v_1$ splits exactly, with no remainder, in logarithms:

    $$
    \ln\frac{v_1}{v_0} = \ln\frac{N_1}{N_0} + \ln\frac{V_1}{V_0} + \ln\frac{W_1}{W_0}
                         - \ln\frac{L_1}{L_0}
    $$

    A lever's *factor* is its own ratio ($L_0 \div L_1$ for the cycle length, so that above 1
    always means "helped"); the four factors multiply to the ratio $v_1 \div v_0$. Its *share*
    is its term divided by the left-hand side: the shares add up to 1, and a lever that moved
    against the total has a negative share. This is the multiplicative log-mean Divisia index
    (LMDI) of a single product, where it is exact and does not depend on the order of the
    levers (a one-at-a-time, "sequential" split does).

    Two forms:

    - ``velocity_attribution(before, after)``: two `Velocity` results of `sales_velocity`, or
      two `GroupedResult` of them with the same groups (a `GroupedResult` of attributions).
    - ``velocity_attribution(p, period=..., baseline=None, by=None, **options)``: both from one
      pipeline, over ``baseline`` and ``period``, with the same ``by`` and `sales_velocity`
      options. With ``by``, a group with deals in one period only is kept, with nan factors and
      shares and a `VelocityAttribution.reason` that says so.

    Parameters
    ----------
    before
        The baseline `Velocity` (or `GroupedResult` of them); or the `Pipeline` to compute both
        velocities from, with ``period=``.
    after
        The current `Velocity` (or `GroupedResult`); not given with a pipeline.
    period
        With a pipeline: the current period (a `Period` or a label such as ``"2024-Q2"``).
    baseline
        With a pipeline: the period compared with. Default: the period before ``period``
        (`Period.previous`: the previous quarter of a quarter, month of a month…).
    by
        With a pipeline: field name(s) to group by.
    **sales_velocity_options
        With a pipeline: options of `sales_velocity` (``opportunities``, ``view``,
        ``open_deals``, ``no_decision``, ``stale_after``, ``as_of``, ``zero_division``), the
        same for both periods.

    Returns
    -------
    VelocityAttribution or GroupedResult
        ``ratio`` [$v_1/v_0$], ``factors`` [ratios] and ``shares`` [fractions of the log
        change] per lever, the two velocities, and a ``reason`` where numbers are nan: a lever
        that is 0 or undefined on either side (nan factor, nan shares), or no change in
        velocity (ratio 1: nan shares). Never inf, and never an error for such data.

    Raises
    ------
    OptionError
        Grouped results with different groups (they are named) or fields; a pipeline without
        ``period``; an unknown option.
    CurrencyError
        Velocities in different currencies.

    See Also
    --------
    sales_velocity : the velocity and its levers.
    velocity_change : the reverse question, the effect of moving each lever.

    References
    ----------
    1. B. W. Ang, "Decomposition analysis for policymaking in energy: which is the preferred
       method?", Energy Policy 32 (2004) 1131–1139 (the log-mean Divisia index).
    2. B. W. Ang, "LMDI decomposition approach: A guide for implementation", Energy Policy 86
       (2015) 233–238.
    3. HubSpot, "Sales velocity: what it is and how to calculate it".

    Examples
    --------
    Every lever 10 % better (a cycle of 45 days instead of 50): velocity × 1.1³ ÷ 0.9, and the
    shorter cycle did slightly more than each of the others:

    >>> from salesmetrics import Velocity, velocity_attribution
    >>> q1 = Velocity(100, 1_000.0, 0.50, 50.0, 100 * 1_000.0 * 0.50 / 50.0)
    >>> q2 = Velocity(110, 1_100.0, 0.55, 45.0, 110 * 1_100.0 * 0.55 / 45.0)
    >>> a = velocity_attribution(q1, q2)
    >>> round(a.ratio, 4)
    1.4789
    >>> {lever: round(share, 4) for lever, share in a.shares.items()}
    {'opportunities': 0.2436, 'average_deal_value': 0.2436, 'win_rate': 0.2436, 'cycle_days': 0.2693}
    >>> a
    VelocityAttribution: revenue_per_day 1,000.00 → 1,478.89, ×1.4789 (+47.9 %)
      lever                    before      after   factor   share
      --------------------  ---------  ---------  -------  ------
      N opportunities             100        110  ×1.1000  24.4 %
      V average_deal_value   1,000.00   1,100.00  ×1.1000  24.4 %
      W win_rate               50.0 %     55.0 %  ×1.1000  24.4 %
      L cycle_days          50.0 days  45.0 days  ×1.1111  26.9 %
    """  # noqa: E501
    if isinstance(before, Pipeline):
        if after is not None:
            raise OptionError("velocity_attribution(): give a pipeline with period= (and "
                              "baseline=), or two velocities, not both")
        return _from_pipeline(before, period, baseline, by, sales_velocity_options)
    given = [name for name, value in (("period", period), ("baseline", baseline), ("by", by))
             if value is not None] + sorted(sales_velocity_options)
    if given:
        raise OptionError(f"velocity_attribution(): {choices(given)} only apply to a pipeline; "
                          "with two velocities, compute them with sales_velocity(...) first")
    if after is None:
        raise DataTypeError("velocity_attribution(): give two velocities (before, after), or a "
                            "pipeline with period=")
    if isinstance(before, GroupedResult) and isinstance(after, GroupedResult):
        return _attribute_grouped(before, after)
    if isinstance(before, GroupedResult) or isinstance(after, GroupedResult):
        raise DataTypeError("velocity_attribution(): before and after must both be Velocity or "
                            "both GroupedResult (sales_velocity with the same by=)")
    return attribute(before, after)
