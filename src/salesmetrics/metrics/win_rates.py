"""Win rates: unit and value, with every policy for open and no-decision deals named."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, overload

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_rate
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import LOST, NO_DECISION, OPEN, WON
from salesmetrics.errors import OptionError, check_option
from salesmetrics.metrics._common import (
    Remembered,
    check_pipeline,
    check_zero_division,
    divide,
    result,
    total,
    warn_left_out_of_window,
    warn_missing_amounts,
    warn_zeroed_losses,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_outcomes
from salesmetrics.metrics._summary import Summary, as_of_date
from salesmetrics.metrics.options import Basis, By, NoDecision, OpenDeals, View

__all__ = [
    "MAX_STALE_DAYS",
    "OutcomeShares",
    "check_win_rate_policies",
    "finalize_win_rate",
    "finish_outcome_shares",
    "finish_win_rate",
    "outcome_shares",
    "stale_before",
    "summarize_outcome_shares",
    "summarize_win_rate",
    "win_rate",
    "win_rate_terms",
]

#: The largest ``stale_after`` [days]: 10,000 years (use None for "never stale").
MAX_STALE_DAYS = 3_652_425


def stale_before(
    function: str, p: Pipeline, stale_after: int | None, as_of: object
) -> np.datetime64 | None:
    """The day before which an open deal was created to count as stale (``as_of −
    stale_after``; ``as_of`` defaults to the latest date on record), or None without
    ``stale_after``. Shared by `win_rate` and the win rate W of `sales_velocity`."""
    if stale_after is None:
        return None
    if (
        isinstance(stale_after, (bool, np.bool_))
        or not isinstance(stale_after, (int, np.integer))
        or not 0 <= stale_after <= MAX_STALE_DAYS
    ):
        raise OptionError(
            f"{function}(): stale_after must be a whole number of days from 0 to "
            f"{MAX_STALE_DAYS:,} (10,000 years), or None for no ageing, got {stale_after!r}"
        )
    check_pipeline(function, p)
    return as_of_date(as_of, p) - np.timedelta64(int(stale_after), "D")


def check_win_rate_policies(function: str, open_deals: object, no_decision: object) -> None:
    """`OptionError` unless ``open_deals`` and ``no_decision`` are valid choices."""
    check_option(function, "open_deals", open_deals, ("exclude", "lost"))
    check_option(function, "no_decision", no_decision, ("lost", "exclude"))


def win_rate_terms(
    arrays: Mapping[str, Any], *, basis: str = "unit", open_deals: str = "exclude",
    no_decision: str = "lost",
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per group, the won and the decided deals (or amounts, ``basis="value"``) of a win rate
    under its policies, from the tallies of an ``outcomes`` or ``velocity`` summary.

    The one definition of the win rate's numerator and denominator: `win_rate` and the *W* of
    `sales_velocity` both finalize with it.
    """
    a = arrays["count" if basis == "unit" else "value"]
    won = a[:, WON]
    decided = won + a[:, LOST]
    if no_decision == "lost":
        decided = decided + a[:, NO_DECISION]
    if open_deals == "lost":
        decided = decided + a[:, OPEN]
    elif "stale_count" in arrays:
        decided = decided + arrays["stale_count" if basis == "unit" else "stale_value"]
    return won, decided


def _warn_value_basis(
    function: str, summary: Summary, *, open_deals: str = "exclude", no_decision: str = "lost",
    stacklevel: int = 4,
) -> None:
    """The data-quality warnings of a value-based win rate or share, from its ``outcomes``
    summary: deals in it without an amount (they count 0), and lost deals all of amount 0."""
    a = summary.arrays
    # Totals per outcome over the groups: three small reductions, then plain ints (cheap calls).
    count, valued, value = (a[name].sum(axis=0).tolist() for name in ("count", "valued", "value"))
    lost = [LOST] if no_decision == "exclude" else [LOST, NO_DECISION]
    counted = [WON, *lost, *([OPEN] if open_deals == "lost" else [])]
    n = sum(count[o] for o in counted)
    missing = n - sum(valued[o] for o in counted)
    if open_deals != "lost" and "stale_count" in a:
        stale_count = total(a["stale_count"])
        n += stale_count
        missing += stale_count - total(a["stale_valued"])
    deals = "deals in the value win rate" if function == "win_rate" else "closed deals"
    warn_missing_amounts(function, missing, n, deals=deals,
                         effect="counted as 0", stacklevel=stacklevel)
    warn_zeroed_losses(function, sum(valued[o] for o in lost), sum(value[o] for o in lost),
                       value[WON], stacklevel=stacklevel)



@overload
def win_rate(
    p: Pipeline,
    *,
    basis: Basis = ...,
    open_deals: OpenDeals = ...,
    stale_after: int | None = ...,
    no_decision: NoDecision = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: None = None,
    as_of: dt.date | str | None = ...,
    zero_division: float = ...,
) -> float: ...
@overload
def win_rate(
    p: Pipeline,
    *,
    basis: Basis = ...,
    open_deals: OpenDeals = ...,
    stale_after: int | None = ...,
    no_decision: NoDecision = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: str | Sequence[str],
    as_of: dt.date | str | None = ...,
    zero_division: float = ...,
) -> GroupedResult[float]: ...
@overload
def win_rate(
    p: Pipeline,
    *,
    basis: Basis = ...,
    open_deals: OpenDeals = ...,
    stale_after: int | None = ...,
    no_decision: NoDecision = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: By = ...,
    as_of: dt.date | str | None = ...,
    zero_division: float = ...,
) -> float | GroupedResult[float]: ...
def win_rate(
    p: Pipeline,
    *,
    basis: Basis = "unit",
    open_deals: OpenDeals = "exclude",
    stale_after: int | None = None,
    no_decision: NoDecision = "lost",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
    as_of: dt.date | str | None = None,
    zero_division: float = math.nan,
) -> float | GroupedResult[float]:
    r"""Win rate: the share of decided deals that were won [fraction].

    $$
    \text{unit} = \frac{n_\text{won}}{n_\text{won} + n_\text{lost} (+ n_\text{no decision})
    (+ n_\text{open counted})}, \qquad
    \text{value} = \frac{\sum_\text{won} a_i}{\sum_\text{same deals} a_i}
    $$

    Parameters
    ----------
    p
        The pipeline.
    basis
        ``"unit"`` (default): deals counted, as in Salesforce's and HubSpot's win-rate reports.
        ``"value"``: amounts added up, the *dollar win rate* that forecasting teams use, where a
        few large losses weigh more than many small wins.
    open_deals
        ``"exclude"`` (default): open deals are not decided and are left out, the usual CRM report
        (Salesforce "Win Rate" = won ÷ closed). ``"lost"``: every open deal in the window counts as
        not won, the stricter rate used to judge a cohort's funnel (HubSpot's "deals created"
        win-rate reports, where open deals lower the rate).
    stale_after
        Days [int]. Open deals older than this (created before ``as_of − stale_after``) count as
        lost, as Zoho CRM's Motivator and "aged out" pipeline hygiene do. Open deals without a
        created date never age out (with a `DataQualityWarning` giving their count). Ignored for
        deals already counted by ``open_deals="lost"``.
    no_decision
        ``"lost"`` (default): a no-decision outcome is a loss, as in Salesforce, where every
        closed stage that is not won is "Closed Lost". ``"exclude"``: no-decision deals are left
        out, as in competitive win-rate analysis (win/loss against competitors only).
    period
        The window. With ``view="period"`` (default), closed deals whose close date falls in it,
        and open deals expected to close in it; with ``view="cohort"``, deals created in it.
        None: every deal.
    view
        ``"period"`` or ``"cohort"``.
    by
        Field name(s) to group by.
    as_of
        Reference day for ``stale_after``. Default: the latest date on record
        (`Pipeline.latest_date`: the latest created date, close date of a closed deal or
        stage-history date), whatever the period, so that the result never depends on the clock.
    zero_division
        The value when nothing is decided: nan (default) or a number in [0, 1]. Never inf, never
        an exception.

    Returns
    -------
    float or GroupedResult
        Win rate [fraction in 0..1]; per group with ``by``.

    Notes
    -----
    Deals without an amount count 0 in the value basis, with a `DataQualityWarning` giving their
    count; so does a value basis where every lost deal has amount 0 (CRMs that zero the amount
    of a lost deal make the value win rate 1.0). With ``view="cohort"`` and a period, deals
    without a created date are in no cohort and left out; with ``stale_after``, open deals
    without a created date never go stale; where open deals count (``open_deals="lost"`` or
    ``stale_after``) with ``view="period"`` and a period, open deals without an expected close
    date are in no period and left out: each with a `DataQualityWarning` giving the count and
    the fix. See `outcome_shares` for the won, lost and no-decision shares together.

    References
    ----------
    1. Salesforce Help, "Opportunity Win Rate" report.
    2. Zoho CRM Help, "Motivator: Win rate".

    Examples
    --------
    A and B won, C and D lost:

    >>> from salesmetrics import Deal, Pipeline, win_rate
    >>> deals = [
    ...     Deal("A", 20_000, "Closed won", close_date="2024-03-01"),
    ...     Deal("B", 10_000, "Closed won", close_date="2024-03-01"),
    ...     Deal("C", 40_000, "Closed lost", close_date="2024-03-01"),
    ...     Deal("D", 30_000, "Closed lost", close_date="2024-03-01"),
    ... ]
    >>> p = Pipeline.from_deals(deals)
    >>> win_rate(p), win_rate(p, basis="value")
    (0.5, 0.3)
    """
    memo: Remembered[float | GroupedResult[float]] = Remembered(
        p, "win_rate", basis, open_deals, stale_after, no_decision, period, view, by, as_of,
        zero_division)
    if memo.found:
        return memo.replay()
    with memo:
        zero = check_zero_division("win_rate", zero_division)
        summary = summarize_win_rate(p, basis=basis, open_deals=open_deals, stale_after=stale_after,
                                     no_decision=no_decision, period=period, view=view, by=by,
                                     as_of=as_of)
        out = finish_win_rate(summary, basis=basis, open_deals=open_deals,
                              no_decision=no_decision, zero_division=zero)
    return memo.keep(out)


def summarize_win_rate(
    p: Pipeline, *, basis: Basis = "unit", open_deals: OpenDeals = "exclude",
    stale_after: int | None = None, no_decision: NoDecision = "lost",
    period: PeriodLike | None = None, view: View = "period", by: By = None,
    as_of: dt.date | str | None = None,
) -> Summary:
    """The ``outcomes`` summary of `win_rate` (options checked)."""
    check_option("win_rate", "basis", basis, ("unit", "value"))
    check_win_rate_policies("win_rate", open_deals, no_decision)
    stale = stale_before("win_rate", p, stale_after, as_of)
    return summarize_outcomes(p, by=by, period=period, view=view, function="win_rate",
                              stale_before=stale)


def finish_win_rate(
    summary: Summary, *, basis: str = "unit", open_deals: str = "exclude",
    no_decision: str = "lost", zero_division: float = math.nan, **_: object,
) -> float | GroupedResult[float]:
    """`win_rate` from its summary (`summarize_win_rate`), with its warnings."""
    zero = check_zero_division("win_rate", zero_division)
    warn_left_out_of_window("win_rate", summary, open_deals=open_deals,
                            open_counted=open_deals == "lost" or summary.context[2] is not None,
                            stacklevel=4)
    if basis == "value":
        _warn_value_basis("win_rate", summary, open_deals=open_deals, no_decision=no_decision,
                          stacklevel=5)
    return finalize_win_rate(
        summary, basis=basis, open_deals=open_deals, no_decision=no_decision, zero_division=zero
    )


def finalize_win_rate(
    summary: Summary,
    *,
    basis: str = "unit",
    open_deals: str = "exclude",
    no_decision: str = "lost",
    zero_division: float = math.nan,
) -> float | GroupedResult[float]:
    """The win rate from an ``outcomes`` summary."""
    won, decided = win_rate_terms(summary.arrays, basis=basis, open_deals=open_deals,
                                  no_decision=no_decision)
    return result(summary, divide(won, decided, zero_division), "win_rate", unit="rate")


@attrs.frozen
class OutcomeShares:
    """Shares of the closed deals by outcome [fractions summing to 1, or nan if none closed]."""

    #: Share won.
    won: float
    #: Share lost.
    lost: float
    #: Share closed without a decision.
    no_decision: float

    def _cells(self) -> list[tuple[str, str]]:
        """The shares as printed: percentages with one decimal."""
        return [("won", format_rate(self.won)), ("lost", format_rate(self.lost)),
                ("no_decision", format_rate(self.no_decision))]

    def __repr__(self) -> str:
        return "OutcomeShares(" + ", ".join(f"{k}={v}" for k, v in self._cells()) + ")"


@overload
def outcome_shares(
    p: Pipeline,
    *,
    basis: Basis = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: None = None,
    zero_division: float = ...,
) -> OutcomeShares: ...
@overload
def outcome_shares(
    p: Pipeline,
    *,
    basis: Basis = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: str | Sequence[str],
    zero_division: float = ...,
) -> GroupedResult[OutcomeShares]: ...
@overload
def outcome_shares(
    p: Pipeline,
    *,
    basis: Basis = ...,
    period: PeriodLike | None = ...,
    view: View = ...,
    by: By = ...,
    zero_division: float = ...,
) -> OutcomeShares | GroupedResult[OutcomeShares]: ...
def outcome_shares(
    p: Pipeline,
    *,
    basis: Basis = "unit",
    period: PeriodLike | None = None,
    view: View = "period",
    by: By = None,
    zero_division: float = math.nan,
) -> OutcomeShares | GroupedResult[OutcomeShares]:
    r"""Won, lost and no-decision shares of the closed deals, together.

    $$
    s_o = \frac{n_o}{n_\text{won} + n_\text{lost} + n_\text{no decision}}
    $$

    The won share is the win rate with ``no_decision="lost"``; the no-decision share is the
    *no-decision rate* that sales-effectiveness studies track separately from losses to
    competitors.

    Parameters
    ----------
    p
        The pipeline.
    basis
        ``"unit"`` (deal counts) or ``"value"`` (amounts).
    period, view, by
        As in `win_rate`.
    zero_division
        Each share where nothing closed: nan (default) or a number in [0, 1].

    Returns
    -------
    OutcomeShares or GroupedResult
        The three shares [fractions]; ``zero_division`` (nan) where nothing closed.

    Notes
    -----
    As in `win_rate`, deals without an amount (value basis), lost deals all of amount 0, and,
    with ``view="cohort"`` and a period, deals without a created date (in no cohort) each give
    a `DataQualityWarning` with the count.

    Examples
    --------
    >>> from salesmetrics import Deal, Outcome, Pipeline, Stage, outcome_shares
    >>> stages = [Stage("Open", 0.5), Stage("Won", 1.0, Outcome.WON),
    ...           Stage("Lost", 0.0, Outcome.LOST), Stage("Stalled", 0.0, Outcome.NO_DECISION)]
    >>> p = Pipeline.from_deals([
    ...     Deal(i, 100, s, close_date="2024-01-31")
    ...     for i, s in enumerate(["Won", "Won", "Lost", "Stalled"])], stages)
    >>> outcome_shares(p)
    OutcomeShares(won=50.0 %, lost=25.0 %, no_decision=25.0 %)
    >>> outcome_shares(p).won
    0.5
    """
    memo: Remembered[OutcomeShares | GroupedResult[OutcomeShares]] = Remembered(
        p, "outcome_shares", basis, period, view, by, zero_division)
    if memo.found:
        return memo.replay()
    with memo:
        zero = check_zero_division("outcome_shares", zero_division)
        summary = summarize_outcome_shares(p, basis=basis, period=period, view=view, by=by)
        out = finish_outcome_shares(summary, basis=basis, zero_division=zero)
    return memo.keep(out)


def summarize_outcome_shares(
    p: Pipeline, *, basis: Basis = "unit", period: PeriodLike | None = None,
    view: View = "period", by: By = None,
) -> Summary:
    """The ``outcomes`` summary of `outcome_shares` (options checked)."""
    check_option("outcome_shares", "basis", basis, ("unit", "value"))
    return summarize_outcomes(p, by=by, period=period, view=view, function="outcome_shares")


def finish_outcome_shares(
    summary: Summary, *, basis: str = "unit", zero_division: float = math.nan, **_: object,
) -> OutcomeShares | GroupedResult[OutcomeShares]:
    """`outcome_shares` from its summary, with its warnings."""
    zero = check_zero_division("outcome_shares", zero_division)
    warn_left_out_of_window("outcome_shares", summary, stacklevel=4)
    if basis == "value":
        _warn_value_basis("outcome_shares", summary, stacklevel=5)
    a = summary.arrays["count" if basis == "unit" else "value"]
    closed_columns = [WON, LOST, NO_DECISION]
    closed = a[:, closed_columns].sum(axis=1)
    shares = divide(a[:, closed_columns], closed[:, None], zero)
    values = [OutcomeShares(won, lost, none) for won, lost, none in shares.tolist()]
    return result(summary, values, "outcome_shares")


