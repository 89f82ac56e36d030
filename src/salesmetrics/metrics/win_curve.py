"""Win curves: the probability that a deal is won by a given age, open deals censored."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from salesmetrics._render import MISSING, format_number, format_rate, html_table
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN, WON
from salesmetrics.errors import OptionError
from salesmetrics.metrics._common import check_pipeline, warn_left_out_of_cycle
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summary import as_of_date, grouping, normalize_by
from salesmetrics.metrics._tallies import cycle_day_span
from salesmetrics.metrics.options import By

__all__ = ["WinCurve", "win_curve"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Outcome of a deal in the estimate: still open on ``as_of`` (censored), won, or closed
#: without a win (lost or no decision: the competing outcome).
_CENSORED, _WIN, _OTHER = 0, 1, 2


def _frozen(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.flags.writeable = False
    return array


class WinCurve:
    r"""The probability that a deal is won by each age [fraction], from `win_curve`.

    Arrays, one entry per age at which some deal closed (and age 0 first):

    - `days`: the ages [days since created], increasing, starting at 0;
    - `probability`: $\hat F(t)$, the estimated probability of a win by that age;
    - `lower`, `upper`: the pointwise confidence band at level ``1 − alpha``, within [0, 1];
    - `at_risk`: deals at risk just before that age (not closed and not censored earlier);
    - `won_at`, `lost_at`: deals won, and closed without a win, at that age.

    Totals over the deals of the estimate: `n`, `won`, `lost` (lost and no decision) and
    `open` (censored on ``as_of``). The curve is a step function; `at` reads it at any age.
    `final` is its last value, the long-run win rate. Equality compares every array (nan
    equals nan). With no closed deal the curve is flat at 0 and its repr says that nothing
    could be estimated yet (``WinCurve(no deal closed yet, …)``).
    """

    __slots__ = ("_arrays", "alpha", "as_of", "lost", "max_days", "n", "open", "won")

    _NAMES = ("days", "probability", "lower", "upper", "at_risk", "won_at", "lost_at")

    def __init__(
        self, arrays: dict[str, npt.NDArray[Any]], *, n: int, won: int, lost: int, open: int,
        alpha: float, as_of: dt.date | None, max_days: int | None,
    ) -> None:
        self._arrays = {name: _frozen(arrays[name]) for name in self._NAMES}
        #: Deals in the estimate [count].
        self.n = n
        #: Deals in the estimate that were won [count] (at any age, even past ``max_days``).
        self.won = won
        #: Deals in the estimate closed without a win: lost or no decision [count].
        self.lost = lost
        #: Deals in the estimate open on ``as_of``: censored at their age on that day [count].
        self.open = open
        #: 1 − the confidence level of the band.
        self.alpha = alpha
        #: The day open deals are censored on (None for a pipeline without dates).
        self.as_of = as_of
        #: The last age the curve covers [days], or None for every age on record.
        self.max_days = max_days

    @property
    def days(self) -> IntArray:
        """Ages [days since created] where the curve or its band may step, from 0."""
        return self._arrays["days"]

    @property
    def probability(self) -> FloatArray:
        """Probability that a deal is won by each age in `days` [fraction]; nan if no deal."""
        return self._arrays["probability"]

    @property
    def lower(self) -> FloatArray:
        """Lower end of the pointwise confidence band [fraction]."""
        return self._arrays["lower"]

    @property
    def upper(self) -> FloatArray:
        """Upper end of the pointwise confidence band [fraction]."""
        return self._arrays["upper"]

    @property
    def at_risk(self) -> IntArray:
        """Deals still at risk (neither closed nor censored) just before each age [count]."""
        return self._arrays["at_risk"]

    @property
    def won_at(self) -> IntArray:
        """Deals won at each age [count]."""
        return self._arrays["won_at"]

    @property
    def lost_at(self) -> IntArray:
        """Deals closed without a win (lost or no decision) at each age [count]."""
        return self._arrays["lost_at"]

    @property
    def final(self) -> float:
        """The curve's last value [fraction]: the long-run win rate (nan if no deal)."""
        return float(self.probability[-1])

    def at(self, days: Any) -> Any:
        """The curve at age(s) ``days`` [days since created]: a float for a scalar, else an
        array of the same shape.

        A step function, right-continuous: the value at the largest age in `days` that is at
        most ``days``. 0 before age 0 (no deal is won before it exists); nan past
        ``max_days`` (the curve was cut there), for a nan age, and everywhere when no deal
        is in the estimate. Past the last age on record it stays at `final`.
        """
        t = np.asarray(days, dtype=np.float64)
        i = np.searchsorted(self.days, t, side="right") - 1
        out = np.where(i < 0, 0.0, self.probability[np.maximum(i, 0)])
        unknown = np.isnan(t)
        if self.max_days is not None:
            unknown |= t > self.max_days
        out = np.where(unknown | (self.n == 0), np.nan, out)
        return float(out) if out.ndim == 0 else out

    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by ``days``, with columns ``probability``, ``lower``,
        ``upper``, ``at_risk``, ``won`` and ``lost`` (deals won and lost at that age)."""
        import pandas as pd

        a = self._arrays
        return pd.DataFrame(
            {"probability": a["probability"], "lower": a["lower"], "upper": a["upper"],
             "at_risk": a["at_risk"], "won": a["won_at"], "lost": a["lost_at"]},
            index=pd.Index(a["days"], name="days"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WinCurve):
            return NotImplemented
        return (
            (self.n, self.won, self.lost, self.open, self.alpha, self.as_of, self.max_days)
            == (other.n, other.won, other.lost, other.open, other.alpha, other.as_of,
                other.max_days)
            and all(np.array_equal(self._arrays[k], other._arrays[k], equal_nan=True)
                    for k in self._NAMES)
        )

    __hash__ = None  # type: ignore[assignment]

    def _record(self) -> dict[str, Any]:
        """One flat row (the final value and band, the last age, the counts): the columns of
        a grouped result's frame."""
        return {"probability": self.final, "lower": float(self.lower[-1]),
                "upper": float(self.upper[-1]), "last_day": int(self.days[-1]), "n": self.n,
                "won": self.won, "lost": self.lost, "open": self.open}

    def _cells(self) -> list[tuple[str, str]]:
        """As printed in a `GroupedResult`: the final value, its band, the last age, counts."""
        return [
            ("won by end", format_rate(self.final)),
            ("band", self._band(-1)),
            ("last day", format_number(int(self.days[-1]))),
            ("deals", format_number(self.n)),
            ("won", format_number(self.won)),
            ("lost", format_number(self.lost)),
            ("open", format_number(self.open)),
        ]

    def _band(self, i: int) -> str:
        if math.isnan(self.lower[i]):
            return MISSING
        return f"{format_rate(self.lower[i])} – {format_rate(self.upper[i])}"

    def __repr__(self) -> str:
        level = format_number(round((1 - self.alpha) * 100, 6))
        deals = (f"{format_number(self.n)} {'deal' if self.n == 1 else 'deals'}: "
                 f"{format_number(self.won)} won, {format_number(self.lost)} lost, "
                 f"{format_number(self.open)} open (censored)")
        if self.n == 0:
            return f"WinCurve({MISSING}: no deals)"
        if self.won + self.lost == 0:  # nothing closed: the curve is flat at 0, not a finding
            return f"WinCurve(no deal closed yet, nothing to estimate; {deals})"
        return (
            f"WinCurve({format_rate(self.final)} won by day {format_number(int(self.days[-1]))}"
            f", {level} % band {self._band(-1)}; {deals})"
        )

    def _repr_html_(self) -> str:
        return html_table(None, self._cells())


def _estimate(
    time: IntArray, status: npt.NDArray[np.intp], z: float, max_days: int | None
) -> dict[str, npt.NDArray[Any]]:
    """The Aalen–Johansen curve of ``status == _WIN`` and its band, from each deal's age at
    its close or censoring (``time``, >= 0) and outcome (``status``)."""
    n = len(time)
    if n == 0:
        nan = np.array([np.nan])
        zero = np.zeros(1, np.int64)
        return {"days": zero, "probability": nan, "lower": nan.copy(), "upper": nan.copy(),
                "at_risk": zero.copy(), "won_at": zero.copy(), "lost_at": zero.copy()}
    ages, index = np.unique(time, return_inverse=True)
    index = index.reshape(-1)
    m = len(ages)
    won = np.bincount(index[status == _WIN], minlength=m)
    lost = np.bincount(index[status == _OTHER], minlength=m)
    leaving = np.bincount(index, minlength=m)
    # At risk at an age: every deal whose close or censoring age is that age or later (a deal
    # censored at t counts at t, as in Kaplan–Meier).
    at_risk = n - np.concatenate([[0], np.cumsum(leaving)[:-1]])
    # The ages where some deal closed, and age 0 (where the curve starts, with or without a
    # close: every deal is at risk there).
    rows = ((won + lost) > 0) | (ages == 0)
    ages, won, lost, at_risk = ages[rows], won[rows], lost[rows], at_risk[rows]
    if not len(ages) or ages[0] != 0:
        ages, won, lost, at_risk = np.r_[0, ages], np.r_[0, won], np.r_[0, lost], np.r_[n, at_risk]
    r = at_risk.astype(np.float64)
    d = (won + lost).astype(np.float64)
    w = won.astype(np.float64)
    survival = np.cumprod(1.0 - d / r)  # Kaplan–Meier: no close of any kind by the age
    before = np.r_[1.0, survival[:-1]]  # S(t−), just before each age
    f = np.cumsum(before * w / r)
    # Delta-method variance: for each age t_k, summed over ages t_j <= t_k,
    #   (F_k − F_j)² a_j + b_j − 2 (F_k − F_j) c_j, expanded into cumulative sums.
    remaining = r - d
    a = np.divide(d, r * remaining, out=np.zeros_like(r), where=remaining > 0)
    b = before**2 * w * (r - w) / r**3
    c = before * w / r**2
    first = f**2 * np.cumsum(a) - 2 * f * np.cumsum(f * a) + np.cumsum(f**2 * a)
    third = f * np.cumsum(c) - np.cumsum(f * c)
    variance = np.maximum(first + np.cumsum(b) - 2 * third, 0.0)
    half = z * np.sqrt(variance)
    out: dict[str, npt.NDArray[Any]] = {
        "days": ages.astype(np.int64), "probability": np.minimum(f, 1.0),
        "lower": np.clip(f - half, 0.0, 1.0), "upper": np.clip(f + half, 0.0, 1.0),
        "at_risk": at_risk.astype(np.int64), "won_at": won.astype(np.int64),
        "lost_at": lost.astype(np.int64),
    }
    if max_days is not None:
        keep = int(np.searchsorted(out["days"], max_days, side="right"))
        out = {k: v[:keep] for k, v in out.items()}
    return out


def _check_options(function: str, alpha: object, max_days: object) -> None:
    if (isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, (int, float, np.floating))
            or not 0 < alpha < 1):
        raise OptionError(
            f"{function}(): alpha must be a number between 0 and 1 (exclusive), such as 0.05 "
            f"for a 95 % band, got {alpha!r}"
        )
    if max_days is not None and (
        isinstance(max_days, (bool, np.bool_)) or not isinstance(max_days, (int, np.integer))
        or max_days < 0
    ):
        raise OptionError(
            f"{function}(): max_days must be a whole number of days >= 0, or None for every "
            f"age on record, got {max_days!r}"
        )


@overload
def win_curve(
    p: Pipeline, *, by: None = None, as_of: dt.date | str | None = ...,
    max_days: int | None = ..., alpha: float = ...,
) -> WinCurve: ...
@overload
def win_curve(
    p: Pipeline, *, by: str | Sequence[str], as_of: dt.date | str | None = ...,
    max_days: int | None = ..., alpha: float = ...,
) -> GroupedResult[WinCurve]: ...
@overload
def win_curve(
    p: Pipeline, *, by: By = ..., as_of: dt.date | str | None = ...,
    max_days: int | None = ..., alpha: float = ...,
) -> WinCurve | GroupedResult[WinCurve]: ...
def win_curve(
    p: Pipeline,
    *,
    by: By = None,
    as_of: dt.date | str | None = None,
    max_days: int | None = None,
    alpha: float = 0.05,
) -> WinCurve | GroupedResult[WinCurve]:
    r"""Win curve: the probability that a deal is won by each age, open deals censored.

    Won, and closed without a win (lost or no decision), are competing outcomes; a deal still
    open on ``as_of`` is *censored* at its age that day: it counts as at risk up to that age
    and says nothing after. The curve is the Aalen–Johansen estimate of the cumulative
    incidence of a win. At each age $t_j$ [days since created] at which some deal closed, with
    $n_j$ deals at risk (closed or censored at $t_j$ or later), $w_j$ won and $d_j$ closed
    in all at $t_j$:

    $$
    \hat S(t) = \prod_{t_j \le t} \Bigl(1 - \frac{d_j}{n_j}\Bigr), \qquad
    \hat F(t) = \sum_{t_j \le t} \hat S(t_{j-1}) \, \frac{w_j}{n_j}
    $$

    $\hat S$ is the Kaplan–Meier probability that a deal is still open at age *t* and
    $\hat F$ the probability that it is won by then [fraction]. With no open deal, $\hat F$
    ends at won ÷ closed, the closed-only win rate; open deals pull it neither to 0 (as
    counting them lost does) nor away from slow deals (as leaving them out does).

    The band is pointwise, $\hat F(t) \pm z_{1-\alpha/2} \sqrt{\widehat{\operatorname{Var}}}$
    clipped to [0, 1], with the delta-method (Greenwood-type) variance of Dinse & Larson
    (as in Collett, and lifelines' ``AalenJohansenFitter``):

    $$
    \widehat{\operatorname{Var}}\,\hat F(t) = \sum_{t_j \le t} \Bigl[
      (\hat F(t) - \hat F(t_j))^2 \frac{d_j}{n_j (n_j - d_j)}
      + \hat S(t_{j-1})^2 \frac{w_j (n_j - w_j)}{n_j^3}
      - 2 (\hat F(t) - \hat F(t_j)) \hat S(t_{j-1}) \frac{w_j}{n_j^2} \Bigr]
    $$

    (the first term is 0 where $n_j = d_j$). Tied ages are handled exactly: whole days tie
    often, so nothing is jittered.

    Parameters
    ----------
    p
        The pipeline.
    by
        Field name(s) to group by: one curve per group.
    as_of
        The day open deals are censored on (a date or ISO string); default the latest date on
        record (`Pipeline.latest_date`), so that no result depends on the clock. The curve is
        the one known that day: a deal closed after ``as_of`` counts as open on it, and a deal
        created after it is left out.
    max_days
        The last age the curve covers [days]; None (default) for every age on record. Ages
        past it are cut off (the estimate up to it does not change).
    alpha
        1 − the confidence level of the band: 0.05 (default) for a 95 % band.

    Returns
    -------
    WinCurve or GroupedResult
        The curve (`WinCurve`: ``days``, ``probability``, ``lower``, ``upper``, ``at(days)``,
        ``to_pandas()``); with ``by=``, a `GroupedResult` of curves, one per group with a
        deal (its ``to_pandas()`` has a row per group: the final value, its band and the
        counts). A curve without a deal is ``[0]`` days with probability nan.

    Warns
    -----
    DataQualityWarning
        Deals without a created date (their age is unknown) and closed deals whose close date
        is before their created date (loaded with ``allow_close_before_created=True``) are left
        out, with how many of each and the fix.

    Notes
    -----
    Ages are whole days between calendar dates: a closed deal's is close date − created
    (as `cycle_days`), an open deal's ``as_of`` − created. Deals created after ``as_of`` did
    not exist yet on that day and are left out without a warning (this happens only with an
    ``as_of`` before the latest date on record).

    References
    ----------
    O. O. Aalen and S. Johansen, "An empirical transition matrix for non-homogeneous Markov
    chains based on censored observations", *Scandinavian Journal of Statistics* 5 (1978).
    G. E. Dinse and M. G. Larson, "A note on semi-Markov models for partially censored
    data", *Biometrika* 73 (1986). D. Collett, *Modelling Survival Data in Medical Research*,
    3rd ed. (2015), ch. 12 (competing risks).

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, win_curve
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-11"),
    ...     Deal("B", 100, "Closed lost", created="2024-01-01", close_date="2024-01-21"),
    ...     Deal("C", 100, "Negotiation", created="2024-01-25"),
    ...     Deal("D", 100, "Closed won", created="2024-01-01", close_date="2024-02-10")])
    >>> curve = win_curve(p, as_of="2024-02-15")
    >>> curve.days.tolist(), curve.probability.round(4).tolist()
    ([0, 10, 20, 40], [0.0, 0.25, 0.25, 0.75])
    >>> curve.at([5, 30, 100]).tolist()
    [0.0, 0.25, 0.75]

    C, open and 21 days old on ``as_of``, is censored there: D, won at 40 days, is the only
    deal still at risk then. The closed-only win rate is 2 ÷ 3, "open counts as lost" 2 ÷ 4.
    """
    from statistics import NormalDist  # here, not at import: statistics loads random

    function = "win_curve"
    check_pipeline(function, p)
    _check_options(function, alpha, max_days)
    g = grouping(p, normalize_by(function, by))
    day = as_of_date(as_of, p)
    outcome = p.outcome_codes
    created = p.created
    closed = (outcome != OPEN) & (p.close_date <= day)  # closed on as_of
    # Age at close (as cycle_days) or at censoring on as_of; NaT (no created date, or a
    # pipeline without dates) becomes the most negative int64.
    end = np.where(closed, p.close_date, day)
    age = cycle_day_span(end, created)
    unknown = np.isnat(created)
    born = ~unknown & (created <= day)  # existed on as_of (NaT compares False)
    negative = int((born & closed & (age < 0)).sum())
    warn_left_out_of_cycle(function, negative, int(unknown.sum()))
    counted = born & (age >= 0)
    status = np.where(closed, np.where(outcome == WON, _WIN, _OTHER), _CENSORED)
    z = NormalDist().inv_cdf(1 - float(alpha) / 2)
    as_of_day = None if np.isnat(day) else day.astype(dt.date)
    options = {"alpha": float(alpha), "as_of": as_of_day, "max_days": max_days}

    def curve(rows: npt.NDArray[Any]) -> WinCurve:
        s = status[rows]
        return WinCurve(_estimate(age[rows], s, z, max_days), n=len(s),
                        won=int((s == _WIN).sum()), lost=int((s == _OTHER).sum()),
                        open=int((s == _CENSORED).sum()), **options)  # type: ignore[arg-type]

    if g.keys is None:
        return curve(counted)
    codes = np.flatnonzero(np.bincount(g.keys, minlength=g.n))
    order = np.argsort(g.keys, kind="stable")
    starts = np.searchsorted(g.keys[order], codes[1:])
    curves = [curve(rows[counted[rows]]) for rows in np.split(order, starts)] if len(codes) else []
    return GroupedResult(g.by, g.decode(codes), curves, name=function)
