"""The sales velocity equation: opportunities × deal value × win rate ÷ cycle length."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, overload

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_days, format_money, format_number, format_rate, html_table
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import WON
from salesmetrics.errors import OptionError
from salesmetrics.metrics._common import (
    Remembered,
    check_zero_division,
    result,
    total,
    warn_left_out_of_cycle,
    warn_missing_amounts,
    warn_never_stale,
    warn_no_close_date,
    warn_no_created_date,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_velocity
from salesmetrics.metrics._summary import Summary
from salesmetrics.metrics.options import By, NoDecision, OpenDeals, Opportunities, View
from salesmetrics.metrics.win_rates import check_win_rate_policies, stale_before, win_rate_terms

__all__ = [
    "Velocity",
    "finish_sales_velocity",
    "sales_velocity",
    "summarize_sales_velocity",
    "velocity_change",
]


@attrs.frozen
class Velocity:
    """The sales velocity equation and its four levers.

    ``revenue_per_day = opportunities × average_deal_value × win_rate ÷ cycle_days``.
    """

    #: N: deals in play [count] (see ``opportunities=`` of `sales_velocity`).
    opportunities: int
    #: V: mean amount of won deals [currency].
    average_deal_value: float
    #: W: unit win rate [fraction]: won ÷ closed by default, or under the `win_rate` policies
    #: given to `sales_velocity`.
    win_rate: float
    #: L: mean cycle length of won deals, created → close [days].
    cycle_days: float
    #: N × V × W ÷ L [currency per day].
    revenue_per_day: float
    #: ISO code of the currency, for display.
    currency: str | None = attrs.field(default=None, repr=False)

    def _cells(self) -> list[tuple[str, str]]:
        """The levers as printed: lever name, formatted value."""
        return [
            ("opportunities", format_number(self.opportunities)),
            ("average_deal_value", format_money(self.average_deal_value, self.currency)),
            ("win_rate", format_rate(self.win_rate)),
            ("cycle_days", format_days(self.cycle_days)),
            ("revenue_per_day", format_money(self.revenue_per_day, self.currency)),
        ]

    def __repr__(self) -> str:
        c = dict(self._cells())
        return (
            f"Velocity(revenue_per_day={c['revenue_per_day']}: opportunities="
            f"{c['opportunities']} × average_deal_value={c['average_deal_value']} × win_rate="
            f"{c['win_rate']} ÷ cycle_days={c['cycle_days']})"
        )

    def _repr_html_(self) -> str:
        c = dict(self._cells())
        rows = [
            ("Opportunities (N)", c["opportunities"]),
            ("Average deal value (V)", c["average_deal_value"]),
            ("Win rate (W)", c["win_rate"]),
            ("Cycle length (L)", c["cycle_days"]),
            ("Revenue per day", c["revenue_per_day"]),
        ]
        return html_table(None, rows)


@overload
def sales_velocity(
    p: Pipeline,
    *,
    period: PeriodLike | None = ...,
    by: None = None,
    opportunities: Opportunities = ...,
    view: View = ...,
    open_deals: OpenDeals = ...,
    no_decision: NoDecision = ...,
    stale_after: int | None = ...,
    as_of: dt.date | str | None = ...,
    zero_division: float = ...,
) -> Velocity: ...
@overload
def sales_velocity(
    p: Pipeline,
    *,
    period: PeriodLike | None = ...,
    by: str | Sequence[str],
    opportunities: Opportunities = ...,
    view: View = ...,
    open_deals: OpenDeals = ...,
    no_decision: NoDecision = ...,
    stale_after: int | None = ...,
    as_of: dt.date | str | None = ...,
    zero_division: float = ...,
) -> GroupedResult[Velocity]: ...
@overload
def sales_velocity(
    p: Pipeline,
    *,
    period: PeriodLike | None = ...,
    by: By = ...,
    opportunities: Opportunities = ...,
    view: View = ...,
    open_deals: OpenDeals = ...,
    no_decision: NoDecision = ...,
    stale_after: int | None = ...,
    as_of: dt.date | str | None = ...,
    zero_division: float = ...,
) -> Velocity | GroupedResult[Velocity]: ...
def sales_velocity(
    p: Pipeline,
    *,
    period: PeriodLike | None = None,
    by: By = None,
    opportunities: Opportunities = "all",
    view: View = "period",
    open_deals: OpenDeals = "exclude",
    no_decision: NoDecision = "lost",
    stale_after: int | None = None,
    as_of: dt.date | str | None = None,
    zero_division: float = math.nan,
) -> Velocity | GroupedResult[Velocity]:
    r"""Sales velocity: the revenue the pipeline produces per day [currency/day].

    $$
    \text{revenue per day} = \frac{N \times V \times W}{L}
    $$

    with *V* the mean amount of won deals, *W* the unit win rate (`win_rate` with the same
    ``open_deals``, ``no_decision``, ``stale_after`` and ``as_of``; by default won ÷ closed, no
    decision counted as lost), and *L* the mean cycle length of won deals [days], all over the
    deals closed in the period (every deal when there is no period), or created in it with
    ``view="cohort"``.

    Parameters
    ----------
    p
        The pipeline.
    period
        The period (a `Period` or a label such as ``"2017-Q2"``).
    by
        Field name(s) to group by.
    opportunities
        Which deals are *N*. Without a period, every deal in the pipeline, whatever this says.

        - ``"all"`` (default): every deal in play at some moment of the period: created before
          its end and not closed before its start. The textbook equation (e.g. HubSpot's and
          Pipedrive's sales-velocity guides) counts all qualified opportunities in the pipeline.
        - ``"created"``: deals created in the period: the *new pipeline* view used when the
          equation plans lead generation (marketing-sourced pipeline).
        - ``"open"``: deals open at the start of the period: the snapshot a forecast starts from
          (Salesforce pipeline-inspection style).
        - ``"closed"``: deals closed in it, so that *N × W* equals the deals won (the
          "bookings" reading of the equation).

        Deals without a created date count as created before the period.
    view
        ``"period"`` (default): V, W and L over the deals closed in the period; ``"cohort"``: over
        the deals created in it (as in `win_rate`).
    open_deals, no_decision, stale_after
        The policies of the win rate *W*, as in `win_rate`: ``open_deals="lost"`` counts the open
        deals in the window as not won (lead funnels, where most leads never close, get a
        meaningful *W*); ``stale_after`` counts open deals older than that many days as lost.
    as_of
        Reference day for ``stale_after``. Default: the latest date on record
        (`Pipeline.latest_date`), so that the result never depends on the clock.
    zero_division
        Revenue per day when the cycle length is 0 days: nan (default) or a number >= 0.

    Returns
    -------
    Velocity or GroupedResult
        The four levers and ``revenue_per_day``; nan levers where nothing was won or closed.

    Warns
    -----
    DataQualityWarning
        When won deals are left out of *V* (no amount) or of *L* (no created date, or closed
        before they were created), with their counts; with a period, when deals without a
        created date are in no cohort (``view="cohort"``) or not among the deals created in it
        (``opportunities="created"``); with ``stale_after``, when open deals without a created
        date never go stale in *W*; where *W* counts open deals (``open_deals="lost"`` or
        ``stale_after``) with ``view="period"``, when open deals have no expected close date.

    See Also
    --------
    velocity_change : the effect of moving each lever.

    References
    ----------
    1. HubSpot, "Sales velocity: what it is and how to calculate it".
    2. Pipedrive, "Sales velocity".

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, sales_velocity
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 20_000, "Closed won", created="2024-01-01", close_date="2024-01-31"),
    ...     Deal("B", 10_000, "Closed lost", created="2024-01-01", close_date="2024-01-21"),
    ...     Deal("C", 5_000, "Proposal", created="2024-01-15"),
    ... ])
    >>> v = sales_velocity(p)
    >>> v.opportunities, v.average_deal_value, v.win_rate, v.cycle_days, v.revenue_per_day
    (3, 20000.0, 0.5, 30.0, 1000.0)
    """
    memo: Remembered[Velocity | GroupedResult[Velocity]] = Remembered(
        p, "sales_velocity", period, by, opportunities, view, open_deals, no_decision, stale_after,
        as_of, zero_division)
    if memo.found:
        return memo.replay()
    with memo:
        zero = check_zero_division("sales_velocity", zero_division, high=math.inf)
        summary = summarize_sales_velocity(
            p, period=period, by=by, opportunities=opportunities, view=view, open_deals=open_deals,
            stale_after=stale_after, no_decision=no_decision, as_of=as_of)
        out = finish_sales_velocity(summary, open_deals=open_deals, no_decision=no_decision,
                                    view=view, opportunities=opportunities, zero_division=zero)
    return memo.keep(out)


def summarize_sales_velocity(
    p: Pipeline, *, period: PeriodLike | None = None, by: By = None,
    opportunities: Opportunities = "all", view: View = "period",
    open_deals: OpenDeals = "exclude", stale_after: int | None = None,
    no_decision: NoDecision = "lost", as_of: dt.date | str | None = None,
) -> Summary:
    """The ``velocity`` summary of `sales_velocity` (options checked)."""
    check_win_rate_policies("sales_velocity", open_deals, no_decision)
    stale = stale_before("sales_velocity", p, stale_after, as_of)
    return summarize_velocity(p, period=period, by=by, opportunities=opportunities, view=view,
                              stale_before=stale)


def finish_sales_velocity(
    summary: Summary, *, open_deals: str = "exclude", no_decision: str = "lost",
    view: str = "period", opportunities: str = "all", zero_division: float = math.nan,
    **_: object,
) -> Velocity | GroupedResult[Velocity]:
    """`sales_velocity` from its summary, with its warnings."""
    zero = check_zero_division("sales_velocity", zero_division, high=math.inf)
    stale = summary.context[3]
    a = summary.arrays
    if summary.outside.get("no_created"):
        why = " and ".join(
            [*(["view='cohort'"] if view == "cohort" else []),
             *(["opportunities='created'"] if opportunities == "created" else [])])
        warn_no_created_date(
            "sales_velocity", summary.outside["no_created"],
            why=f"{why} {'take' if ' and ' in why else 'takes'} the deals created in the period",
            instead="view='period' and opportunities='all' count them", stacklevel=4)
    if open_deals != "lost" and "never_stale" in a:
        warn_never_stale("sales_velocity", total(a["never_stale"]), stacklevel=4)
    if open_deals == "lost" or stale is not None:  # W counts open deals in the window
        warn_no_close_date("sales_velocity", summary.outside.get("no_close", 0),
                           effect="the win rate W leaves {them} out", stacklevel=4)
    won = total(a["count"][:, WON])
    warn_missing_amounts(
        "sales_velocity", won - total(a["valued"][:, WON]), won,
        deals="won deals", effect="left out of the average deal value V", stacklevel=4,
    )
    warn_left_out_of_cycle("sales_velocity", total(a["cycle_negative"][:, WON]),
                           total(a["cycle_unknown"][:, WON]), deals="won deal",
                           lead="the cycle length L leaves out", total=won, stacklevel=4)
    return finalize_velocity(summary, zero_division=zero, open_deals=open_deals,
                             no_decision=no_decision)


def finalize_velocity(
    summary: Summary, *, zero_division: float = math.nan, open_deals: str = "exclude",
    no_decision: str = "lost",
) -> Velocity | GroupedResult[Velocity]:
    """The velocity levers from a ``velocity`` summary; *W* as `win_rate` finalizes it."""
    a = summary.arrays
    minor, currency = summary.context[0], summary.context[1]
    nan = math.nan
    won_w, decided_w = win_rate_terms(a, open_deals=open_deals, no_decision=no_decision)
    # Few groups and five divisions each: plain floats beat a dozen tiny numpy calls.
    values = []
    for n, won_value, valued, won, decided, days, cycles in zip(
        a["opportunities"].tolist(), a["value"][:, WON].tolist(), a["valued"][:, WON].tolist(),
        won_w.tolist(), decided_w.tolist(),
        a["cycle_sum"][:, WON].tolist(), a["cycle_count"][:, WON].tolist(), strict=True,
    ):
        v = won_value / valued / minor if valued else nan
        w = won / decided if decided else nan
        cycle = days / cycles if cycles else nan
        revenue = (n * v * w / cycle if cycle else zero_division) if cycle == cycle else nan
        values.append(Velocity(n, v, w, cycle, revenue, currency))
    return result(summary, values, "sales_velocity")


@overload
def velocity_change(
    *, opportunities: float = ..., average_deal_value: float = ..., win_rate: float = ...,
    cycle_days: float = ...,
) -> float: ...
@overload
def velocity_change(
    *, opportunities: npt.ArrayLike = ..., average_deal_value: npt.ArrayLike = ...,
    win_rate: npt.ArrayLike = ..., cycle_days: npt.ArrayLike = ...,
) -> float | npt.NDArray[np.float64]: ...
def velocity_change(
    *,
    opportunities: npt.ArrayLike = 1.0,
    average_deal_value: npt.ArrayLike = 1.0,
    win_rate: npt.ArrayLike = 1.0,
    cycle_days: npt.ArrayLike = 1.0,
) -> float | npt.NDArray[np.float64]:
    r"""Ratio of new to old sales velocity when each lever is multiplied by a factor.

    $$
    \frac{v'}{v} = \frac{f_N \, f_V \, f_W}{f_L}
    $$

    Parameters
    ----------
    opportunities, average_deal_value, win_rate, cycle_days
        Factors [ratio new/old, > 0], scalars or arrays that broadcast together. 1 leaves a lever
        alone; ``cycle_days=0.9`` is a cycle 10 % shorter.

    Returns
    -------
    float or numpy.ndarray
        The velocity ratio: a float for scalar factors, an array otherwise.

    Examples
    --------
    Improving every lever by 10 % (a cycle 10 % shorter) raises velocity by about 48 %:

    >>> from salesmetrics import velocity_change
    >>> round(velocity_change(opportunities=1.1, average_deal_value=1.1, win_rate=1.1,
    ...                       cycle_days=0.9), 4)
    1.4789
    >>> velocity_change(win_rate=[1.0, 1.2])
    array([1. , 1.2])
    """
    factors: dict[str, Any] = {
        "opportunities": opportunities, "average_deal_value": average_deal_value,
        "win_rate": win_rate, "cycle_days": cycle_days,
    }
    arrays = {name: _factor(name, value) for name, value in factors.items()}
    try:
        np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} has shape {a.shape}" for name, a in arrays.items()
                           if a.ndim)
        raise OptionError(
            f"velocity_change(): the factors do not broadcast together: {shapes}; give scalars "
            "or arrays whose shapes broadcast (numpy rules)"
        ) from None
    ratio = (arrays["opportunities"] * arrays["average_deal_value"] * arrays["win_rate"]
             / arrays["cycle_days"])
    return float(ratio) if ratio.ndim == 0 else ratio


def _factor(name: str, value: object) -> npt.NDArray[np.float64]:
    """A lever's factor as a float array: numbers only (no bools, strings or None), > 0."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged nesting
        arr = np.asarray(None)
    if arr.dtype.kind not in "iuf":
        raise OptionError(f"velocity_change(): {name} must be a number > 0 or an array of them, "
                          f"got {value!r}")
    out = arr.astype(np.float64)
    if not (np.isfinite(out) & (out > 0)).all():
        raise OptionError(f"velocity_change(): {name} must be finite and > 0, got {value!r}")
    return out
