"""The forecast as a distribution: the revenue won in a period, with the risk a single number
hides (ten deals at 10 % are not one signed contract)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_money, format_rate, html_table, text_table
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN, WON
from salesmetrics.errors import DataTypeError, OptionError, check_option
from salesmetrics.metrics._common import result, warn_missing_amounts
from salesmetrics.metrics._distribution import (
    exact_distribution,
    normal_at_least,
    normal_distribution,
    normal_quantile,
    simulated_distribution,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_open, summarize_outcomes
from salesmetrics.metrics._summary import grouping, normalize_by, resolve_period
from salesmetrics.metrics.options import By
from salesmetrics.metrics.pipeline_totals import _warn_open, finalize_weighted, stage_probabilities

__all__ = ["Forecast", "ForecastMethod", "forecast"]

#: How `forecast` builds the distribution.
ForecastMethod: TypeAlias = Literal["exact", "normal", "simulate"]
METHODS: tuple[ForecastMethod, ...] = ("exact", "normal", "simulate")

_FUNCTION = "forecast"
FloatArray = npt.NDArray[np.float64]


class Forecast:
    r"""The distribution of the revenue won in a period [major currency units].

    Attributes
    ----------
    won
        Revenue already won in the period [currency].
    mean
        Expected revenue, ``won`` + the weighted pipeline of the period [currency]
        (analytic, whatever the method).
    std
        Standard deviation, $\sqrt{\sum_i a_i^2 p_i (1 - p_i)}$ over the open deals
        [currency] (analytic, whatever the method).
    values, probabilities
        The distribution itself: ascending values [currency] and their probabilities, which
        add up to 1 (for the normal method, a grid of 401 points, each with its cell's
        probability; for a simulation, the distinct simulated totals and their shares).
    method
        ``"exact"``, ``"normal"`` or ``"simulate"``.
    resolution
        With ``"exact"``, the grid width the open amounts were rounded to [currency]: one
        minor unit (or a common divisor of the amounts) means the distribution is exact;
        None for the other methods.
    deals
        The open deals counted: expected to close in the period.
    currency
        The currency code, or None.
    """

    __slots__ = ("_high", "_low", "currency", "deals", "mean", "method", "probabilities",
                 "resolution", "std", "values", "won")

    def __init__(
        self, *, won: float, mean: float, std: float, values: FloatArray,
        probabilities: FloatArray, method: ForecastMethod, deals: int,
        resolution: float | None = None, currency: str | None = None,
        support: tuple[float, float] | None = None,
    ) -> None:
        self.won = won
        self.mean = mean
        self.std = std
        self.values = values
        self.probabilities = probabilities
        self.method = method
        self.deals = deals
        self.resolution = resolution
        self.currency = currency
        low, high = support if support is not None else (values[0], values[-1])
        self._low, self._high = float(low), float(high)

    def quantile(self, q: float | Sequence[float]) -> Any:
        """The smallest revenue whose cumulative probability is at least ``q`` [currency].

        ``q`` is a fraction in [0, 1], or a sequence of them (a numpy array is returned). The
        normal approximation is held within the possible revenue (``won`` plus the certain
        deals, to ``won`` plus every open deal).
        """
        qs = np.asarray(q, dtype=np.float64)
        if qs.ndim > 1 or not np.all((qs >= 0) & (qs <= 1)):
            raise OptionError(f"Forecast.quantile(): q must be a fraction in [0, 1] or a "
                              f"sequence of them, got {q!r}")
        flat = np.atleast_1d(qs)
        if self.method == "normal":
            out = np.array([normal_quantile(self.mean, self.std, x) for x in flat.tolist()])
            out = np.clip(out, self._low, self._high)
        else:
            cdf = np.cumsum(self.probabilities)
            at = np.searchsorted(cdf, flat - 1e-12, side="left")
            out = self.values[np.minimum(at, len(self.values) - 1)]
        return float(out[0]) if qs.ndim == 0 else out

    def probability_at_least(self, x: float) -> float:
        """P(revenue ≥ ``x``) [fraction]; 1 at or below the least possible revenue."""
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or math.isnan(x):
            raise DataTypeError(f"Forecast.probability_at_least(): x must be a number, got {x!r}")
        if x <= self._low:
            return 1.0
        if x > self._high:
            return 0.0
        if self.method == "normal":
            return normal_at_least(self.mean, self.std, float(x))
        tail = float(self.probabilities[np.searchsorted(self.values, x, side="left"):].sum())
        return min(tail, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """The attributes as plain Python (``values`` and ``probabilities`` as lists)."""
        return {"won": self.won, "mean": self.mean, "std": self.std, "method": self.method,
                "deals": self.deals, "resolution": self.resolution, "currency": self.currency,
                "values": self.values.tolist(), "probabilities": self.probabilities.tolist()}

    def to_pandas(self) -> Any:
        """A pandas DataFrame of the distribution: columns ``value`` and ``probability``."""
        import pandas as pd

        return pd.DataFrame({"value": self.values, "probability": self.probabilities})

    def _record(self) -> dict[str, Any]:
        """The row of a grouped result: the moments and three quantiles."""
        p10, p50, p90 = self.quantile([0.1, 0.5, 0.9]).tolist()
        return {"won": self.won, "mean": self.mean, "std": self.std, "p10": p10, "p50": p50,
                "p90": p90}

    def _cells(self) -> list[tuple[str, str]]:
        return [(k, format_money(v, self.currency)) for k, v in self._record().items()]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Forecast):
            return NotImplemented
        return (self.to_dict() == other.to_dict())

    __hash__ = None  # type: ignore[assignment]

    def _title(self) -> str:
        return (f"forecast ({self.method}, {self.deals:,} open deals): mean "
                f"{format_money(self.mean, self.currency)}, std "
                f"{format_money(self.std, self.currency)}, won "
                f"{format_money(self.won, self.currency)}")

    def _table(self) -> tuple[list[str], list[list[str]]]:
        qs = [0.1, 0.25, 0.5, 0.75, 0.9]
        rows = [[format_rate(q, 0), format_money(v, self.currency)]
                for q, v in zip(qs, self.quantile(qs).tolist(), strict=True)]
        return ["quantile", "revenue"], rows

    def __repr__(self) -> str:
        header, rows = self._table()
        return "\n".join([self._title(), *text_table(header, rows, align=["left", "right"])])

    def _repr_html_(self) -> str:
        import html

        header, rows = self._table()
        return (f"<p><b>{html.escape(self._title())}</b></p>"
                f"{html_table(header, rows, align=['left', 'right'])}")


def _check_draws(draws: object, seed: object) -> int:
    if (isinstance(draws, (bool, np.bool_)) or not isinstance(draws, (int, np.integer))
            or draws < 1):
        raise OptionError(f"{_FUNCTION}(): draws must be a whole number >= 1, got {draws!r}")
    if not (seed is None or isinstance(seed, np.random.Generator)
            or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0)):
        raise DataTypeError(f"{_FUNCTION}(): seed must be None, a whole number >= 0 or a "
                            f"numpy Generator, got {seed!r}")
    return int(draws)


@overload
def forecast(
    p: Pipeline, *, period: PeriodLike, probabilities: Mapping[str, float] | None = ...,
    method: ForecastMethod = ..., draws: int = ..., seed: int | np.random.Generator | None = ...,
    by: None = None,
) -> Forecast: ...
@overload
def forecast(
    p: Pipeline, *, period: PeriodLike, probabilities: Mapping[str, float] | None = ...,
    method: ForecastMethod = ..., draws: int = ..., seed: int | np.random.Generator | None = ...,
    by: str | Sequence[str],
) -> GroupedResult[Forecast]: ...
@overload
def forecast(
    p: Pipeline, *, period: PeriodLike, probabilities: Mapping[str, float] | None = ...,
    method: ForecastMethod = ..., draws: int = ..., seed: int | np.random.Generator | None = ...,
    by: By = ...,
) -> Forecast | GroupedResult[Forecast]: ...
def forecast(
    p: Pipeline,
    *,
    period: PeriodLike,
    probabilities: Mapping[str, float] | None = None,
    method: ForecastMethod = "exact",
    draws: int = 100_000,
    seed: int | np.random.Generator | None = None,
    by: By = None,
) -> Forecast | GroupedResult[Forecast]:
    r"""The revenue won in a period, as a distribution: will we hit the number? [currency]

    $$
    R = W + \sum_{i \in \text{open}} a_i B_i, \qquad B_i \sim \text{Bernoulli}(p_i)
    \text{ independent}
    $$

    where $W$ is the revenue already won in the period, the sum runs over the open deals whose
    expected close date falls in it, $a_i$ is a deal's amount and $p_i$ its own probability if
    it has one, else its stage's from ``probabilities=`` when given, else its stage's
    configured one, exactly as `weighted_pipeline` does. So

    $$
    \operatorname{E}[R] = W + \sum_i a_i p_i, \qquad
    \operatorname{sd}[R] = \sqrt{\textstyle\sum_i a_i^2 \, p_i (1 - p_i)}.
    $$

    **The deals are independent**: one deal's outcome says nothing about another's. Deals that
    win or slip together (one buyer, one budget, one economy) make the true distribution wider
    than this one.

    Parameters
    ----------
    p
        The pipeline.
    period
        The period (a `Period` or a label such as ``"2024-Q4"``): deals won in it count as
        won, open deals expected to close in it as the uncertain part.
    probabilities
        ``{stage name: probability}`` replacing the stages' configured probabilities, e.g. the
        measured ones of `historical_probabilities`; deals' own probabilities still take
        precedence.
    method
        ``"exact"`` (the default): the exact distribution, a convolution over the amounts in
        minor units. When the open total exceeds 2²⁰ grid points (of one minor unit, or of a
        common divisor of the amounts), the amounts are rounded to a grid of width
        $\delta = \lceil \sum_i a_i / 2^{20} \rceil$ minor units (``Forecast.resolution``):
        each deal's amount is then off by at most $\delta / 2$, so every value of the
        distribution by at most $n\delta/2$ for the $n$ uncertain deals (about
        $\sqrt{n/12}\,\delta$ typically, as the roundings cancel). Outcomes less likely than
        10⁻¹² are dropped. ``"normal"``: the normal approximation $N(\operatorname{E}[R],
        \operatorname{sd}[R]^2)$ in closed form, held within the possible revenue; good with
        many deals of similar size, poor with a few large ones. ``"simulate"``: Monte Carlo
        with ``draws`` draws, reproducible with ``seed``.
    draws
        Draws of the simulation.
    seed
        Seed of the simulation (a whole number or a numpy `Generator`); None draws a new one.
    by
        Field name(s) to group by: one `Forecast` per group.

    Returns
    -------
    Forecast or GroupedResult
        The distribution, with ``won``, ``mean``, ``std``, ``quantile(q)``,
        ``probability_at_least(x)``, ``values`` and ``probabilities``; per group with ``by``.

    Notes
    -----
    Deals without an amount count 0, with a `DataQualityWarning` giving their count; open deals
    without an expected close date are in no period and left out, with a `DataQualityWarning`.
    The exact method multiplies the deals' generating polynomials $1 - p_i + p_i z^{a_i/\delta}$
    in a tree with real FFTs: 10,000 open deals take a fraction of a second.

    References
    ----------
    1. Y. H. Wang, "On the number of successes in independent trials", Statistica Sinica 3
       (1993): the Poisson binomial distribution.
    2. Salesforce Help, "Forecast Categories": the single-number roll-ups this complements.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, forecast
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 10_000, "Proposal", close_date="2024-11-15", probability=0.5),
    ...     Deal("B", 20_000, "Negotiation", close_date="2024-12-01", probability=0.25),
    ...     Deal("C", 5_000, "Closed won", close_date="2024-10-10"),
    ... ])
    >>> f = forecast(p, period="2024-Q4")
    >>> f.won, f.mean
    (5000.0, 15000.0)
    >>> f.values.tolist()
    [5000.0, 15000.0, 25000.0, 35000.0]
    >>> f.probability_at_least(25_000), f.quantile(0.5)
    (0.25, 15000.0)
    """
    if period is None:
        raise OptionError(f"{_FUNCTION}(): period is required: the forecast is of the revenue "
                          "won in a period, e.g. period='2024-Q4'")
    check_option(_FUNCTION, "method", method, METHODS)
    draws = _check_draws(draws, seed)
    opened = summarize_open(p, by=by, period=period, function=_FUNCTION)
    probs = stage_probabilities(_FUNCTION, opened.context[0], p.stage_probabilities,
                                probabilities)
    _warn_open(_FUNCTION, opened)
    closed = summarize_outcomes(p, by=by, period=period, function=_FUNCTION)
    won = closed.arrays["count"][:, WON]
    warn_missing_amounts(_FUNCTION, int(won.sum() - closed.arrays["valued"][:, WON].sum()),
                         int(won.sum()), deals="won deals",
                         effect="counted as 0, so the forecast is understated")
    minor, currency = p.minor_unit, p.currency
    weighted = finalize_weighted(opened, probs)
    expected: dict[Hashable, float] = (dict(weighted) if isinstance(weighted, GroupedResult)
                                       else {None: weighted})
    # The open deals of the period, one row each: amount [minor units], probability, group.
    chosen = resolve_period(_FUNCTION, period)
    assert chosen is not None  # summarize_open has checked it
    rows = np.flatnonzero((p.outcome_codes == OPEN) & chosen.contains(p.close_date))
    amounts = p.amount_minor.take(rows)
    own = p.probability.take(rows)
    chance = np.where(np.isnan(own), probs[p.stage_codes.take(rows)], own)
    where = _positions(p, by, rows, closed.keys)
    order = np.argsort(where, kind="stable")
    bounds = np.searchsorted(where[order], np.arange(len(closed.keys) + 1))
    rng = np.random.default_rng(seed) if method == "simulate" else None  # one stream for all
    forecasts = []
    for i, key in enumerate(closed.keys):  # one pass per group, not per deal
        mine = order[bounds[i]:bounds[i + 1]]
        forecasts.append(_one(amounts[mine], chance[mine], int(closed.arrays["value"][i, WON]),
                              expected.get(key, 0.0), method, draws, rng, minor, currency))
    return result(closed, forecasts, _FUNCTION, unit="money", currency=currency)


def _positions(p: Pipeline, by: By, rows: npt.NDArray[np.int64],
               keys: tuple[Any, ...]) -> npt.NDArray[np.intp]:
    """For each of ``rows``, the position of its group in ``keys``."""
    g = grouping(p, normalize_by(_FUNCTION, by))
    if g.keys is None:
        return np.zeros(len(rows), dtype=np.intp)
    codes, inverse = np.unique(g.keys.take(rows), return_inverse=True)
    at = {key: i for i, key in enumerate(keys)}
    index = np.array([at[label] for label in g.decode(codes)], dtype=np.intp)
    return index[inverse.reshape(-1)] if len(rows) else np.zeros(0, dtype=np.intp)


def _one(amounts: npt.NDArray[np.int64], chance: FloatArray, won_minor: int, expected: float,
         method: ForecastMethod, draws: int, rng: np.random.Generator | None,
         minor: int, currency: str | None) -> Forecast:
    """The forecast of one group: its open deals' amounts [minor units] and probabilities, its
    won revenue [minor units] and its weighted pipeline [currency]."""
    won = won_minor / minor
    std = math.sqrt(float(np.sum(amounts.astype(np.float64) ** 2 * chance * (1 - chance))))
    std /= minor
    certain = float(amounts[chance >= 1].sum())
    low = (won_minor + certain) / minor
    high = (won_minor + float(amounts[chance > 0].sum())) / minor
    common = {"won": won, "mean": won + expected, "std": std, "method": method,
              "deals": len(amounts), "currency": currency}
    if method == "exact":
        values, probs, delta = exact_distribution(amounts, chance)
        return Forecast(values=(won_minor + values) / minor, probabilities=probs,
                        resolution=delta / minor, **common)  # type: ignore[arg-type]
    if method == "normal":
        values, probs = normal_distribution(won + expected, std, low, high)
        return Forecast(values=values, probabilities=probs, support=(low, high),
                        **common)  # type: ignore[arg-type]
    values, probs = simulated_distribution(amounts, chance, draws, rng)
    return Forecast(values=(won_minor + values) / minor, probabilities=probs,
                    **common)  # type: ignore[arg-type]
