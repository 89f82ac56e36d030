"""Measured stage probabilities: each open stage's win rate from closed deals, with its sample
size, optionally shrunk towards the configured probability (a Beta prior)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_money, format_number, format_rate
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import DataQualityWarning, OptionError, check_option
from salesmetrics.metrics._common import Remembered, plural, warn
from salesmetrics.metrics._reach_warnings import warn_unreached, warn_value
from salesmetrics.metrics._stage_table import StageTable
from salesmetrics.metrics._summarize import summarize_reached
from salesmetrics.metrics._summary import Summary
from salesmetrics.metrics.options import Basis

__all__ = ["StageProbabilities", "historical_probabilities"]

_FUNCTION = "historical_probabilities"


class StageProbabilities(StageTable[float]):
    r"""Measured probability to win from each open stage, with the evidence behind it.

    A read-only `Mapping` of open stage name → probability [fraction], in funnel order, so it
    plugs into ``weighted_pipeline(p, probabilities=...)``. Made by `historical_probabilities`.

    Attributes
    ----------
    n
        Per stage, the closed deals behind its rate [count]: 0 where the stage takes its
        configured probability for want of evidence.
    won, closed
        Per stage, the won and the closed deals that reached it [count] (with
        ``basis="value"``: their amounts [major currency units]).
    configured
        Per stage, the probability configured in the sales process [fraction].
    basis
        ``"unit"`` or ``"value"``.
    prior_strength
        The prior's weight *k* [pseudo-deals]; 0 for the raw rates.
    """

    __slots__ = ("basis", "closed", "configured", "currency", "n", "prior_strength",
                 "won")

    def __init__(self, names: tuple[str, ...], probability: npt.NDArray[np.float64],
                 won: npt.NDArray[Any], closed: npt.NDArray[Any], n: npt.NDArray[np.int64],
                 configured: npt.NDArray[np.float64], *, basis: str = "unit",
                 prior_strength: float = 0.0, currency: str | None = None) -> None:
        super().__init__(dict(zip(names, probability.tolist(), strict=True)))
        self.won: Mapping[str, float]
        self.closed: Mapping[str, float]
        self.n: Mapping[str, int]
        self.configured: Mapping[str, float]
        self.basis: str
        self.prior_strength: float
        self.currency: str | None
        self._set(won=MappingProxyType(dict(zip(names, won.tolist(), strict=True))),
                  closed=MappingProxyType(dict(zip(names, closed.tolist(), strict=True))),
                  n=MappingProxyType(dict(zip(names, n.tolist(), strict=True))),
                  configured=MappingProxyType(dict(zip(names, configured.tolist(), strict=True))),
                  basis=basis, prior_strength=prior_strength, currency=currency)

    def to_dict(self) -> dict[str, float]:
        """A plain dict of stage name → probability."""
        return dict(self._values)

    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by ``stage``, with columns ``probability``, ``won``,
        ``closed``, ``n`` and ``configured``."""
        import pandas as pd

        rows = [[self[s], self.won[s], self.closed[s], self.n[s], self.configured[s]]
                for s in self]
        return pd.DataFrame(rows, index=pd.Index(list(self), name="stage"),
                            columns=["probability", "won", "closed", "n", "configured"])

    def _title(self) -> str:
        basis = "" if self.basis == "unit" else ", by value"
        prior = ("" if not self.prior_strength else
                 f", shrunk towards the configured ones with a prior of "
                 f"{format_number(self.prior_strength)} pseudo-deals")
        return f"historical_probabilities by stage (from closed deals{basis}{prior})"

    def _table(self) -> tuple[list[str], list[list[str]]]:
        def amount(value: float) -> str:
            if self.basis == "unit":
                return format_number(value)
            return format_money(value, self.currency)

        header = ["stage", "probability", "configured", "won", "closed", "n"]
        rows = [[s, format_rate(self[s]), format_rate(self.configured[s]), amount(self.won[s]),
                 amount(self.closed[s]), format_number(self.n[s])] for s in self]
        return header, rows

def _check_prior(prior_strength: object, basis: str) -> float:
    """``prior_strength`` as a float: a finite number >= 0, and 0 with ``basis="value"``."""
    if (isinstance(prior_strength, (bool, np.bool_))
            or not isinstance(prior_strength, numbers.Real)
            or not math.isfinite(prior_strength) or prior_strength < 0):
        raise OptionError(
            f"{_FUNCTION}(): prior_strength must be a finite number >= 0 (0 for the raw rates, "
            f"k for a prior of k pseudo-deals), got {prior_strength!r}"
        )
    if prior_strength and basis != "unit":
        raise OptionError(
            f"{_FUNCTION}(): prior_strength={prior_strength!r} applies to basis='unit' only (a "
            f"prior counts pseudo-deals, not amounts); with basis={basis!r} it must be 0"
        )
    return float(prior_strength)


def finalize_probabilities(summary: Summary, configured: npt.NDArray[np.float64], *,
                           basis: str = "unit", prior_strength: float = 0.0) -> StageProbabilities:
    """The finalize step: rates from a ``reached`` summary (one group) and the open stages'
    configured probabilities, in funnel order."""
    counts = summary.arrays["count"][0]  # [stage, class (open, won, closed not won)]
    n = counts[:, 1] + counts[:, 2]
    if basis == "unit":
        won, closed = counts[:, 1], n
    else:
        value = summary.arrays["value"][0]
        unit = summary.context[2]  # minor units per major unit
        won, closed = value[:, 1] / unit, (value[:, 1] + value[:, 2]) / unit
    k = prior_strength
    # The configured probability, exactly, where no closed deal reached the stage.
    probability = np.divide(won + k * configured, closed + k, out=configured.copy(),
                            where=closed > 0)
    return StageProbabilities(summary.context[0], probability, won, closed, n, configured,
                              basis=basis, prior_strength=prior_strength,
                              currency=summary.context[4])


def historical_probabilities(
    p: Pipeline,
    *,
    period: PeriodLike | None = None,
    basis: Basis = "unit",
    prior_strength: float = 0,
) -> StageProbabilities:
    r"""Measured stage probabilities: from each open stage, the share of closed deals that won.

    $$
    \hat p_k = \frac{w_k + k_0\,c_k}{n_k + k_0}
    $$

    where $n_k$ closed deals reached stage *k*, $w_k$ of them won, $c_k$ is the stage's
    configured probability and $k_0$ is ``prior_strength``. With $k_0 = 0$ (default) this is
    the raw rate $w_k \div n_k$, exactly `conversion_from_stage` (the same tallies: reaching a
    later stage implies the earlier ones, a won deal reached every open stage, no decision
    counts as not won). With $k_0 > 0$ it is the mean of the Beta posterior of a
    $\mathrm{Beta}(k_0 c_k, k_0 (1 - c_k))$ prior, worth $k_0$ pseudo-deals at the configured
    probability: a stage with few closed deals stays near its configured probability, one with
    many moves to its measured rate. A stage no closed deal reached ($n_k = 0$) takes its
    configured probability, so the result always covers every open stage.

    Parameters
    ----------
    p
        The pipeline; "reached" comes from its stage history (load ``history=`` or
        ``stage_entered=``), else from each deal's current stage.
    period
        Which closed deals: those closed in the period (as `conversion_from_stage`); None for
        all of them.
    basis
        ``"unit"`` (deal counts) or ``"value"`` (amounts: the share of the closed value that
        won; a stage whose closed deals have no value takes its configured probability).
    prior_strength
        $k_0$ [pseudo-deals], a finite number >= 0; 0 for the raw rates. Only with
        ``basis="unit"``.

    Returns
    -------
    StageProbabilities
        Probability [fraction] keyed by open stage name in funnel order, with ``n``, ``won``,
        ``closed`` and ``configured`` per stage and `~StageProbabilities.to_pandas`. It plugs
        into ``weighted_pipeline(p, probabilities=...)``.

    Raises
    ------
    OptionError
        For a ``basis`` other than ``"unit"`` or ``"value"``, a ``prior_strength`` that is not
        a finite number >= 0, or a non-zero one with ``basis="value"``.

    Warns
    -----
    DataQualityWarning
        As `conversion_from_stage`: closed deals with no stage history (they count as reaching
        only the first stage), and with ``basis="value"`` closed deals without an amount or lost
        deals that all have amount 0, each with the count and the fix. And stages that no
        closed deal reached (in the period): they show their configured probability, which
        reads like a measured rate.

    See Also
    --------
    conversion_from_stage : the raw rates, grouped with ``by=``.
    weighted_pipeline : the open pipeline weighted by these probabilities.

    References
    ----------
    Gelman, A. et al., *Bayesian Data Analysis*, 3rd ed., section 2.4 (the beta-binomial
    model: the posterior mean as a weighted average of the prior mean and the sample rate).

    Examples
    --------
    Three closed deals reached Proposal and one of them won, so Proposal's measured rate is
    1/3; a prior of 3 pseudo-deals at the configured 60 % gives (1 + 3 × 0.6) ÷ (3 + 3):

    >>> from salesmetrics import Deal, Pipeline, historical_probabilities, weighted_pipeline
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 100, "Closed won", close_date="2024-03-01"),
    ...     Deal("B", 100, "Closed lost", close_date="2024-03-01", history=[
    ...         ("Proposal", "2024-02-01"), ("Closed lost", "2024-03-01")]),
    ...     Deal("C", 100, "Closed lost", close_date="2024-03-01", history=[
    ...         ("Proposal", "2024-02-01"), ("Closed lost", "2024-03-01")]),
    ...     Deal("D", 1000, "Proposal", close_date="2024-06-30"),
    ... ])
    >>> measured = historical_probabilities(p)
    >>> round(measured["Proposal"], 4), measured.n["Proposal"], measured.won["Proposal"]
    (0.3333, 3, 1)
    >>> round(historical_probabilities(p, prior_strength=3)["Proposal"], 4)
    0.4667
    >>> measured
    historical_probabilities by stage (from closed deals)
      stage            probability  configured  won  closed  n
      ---------------  -----------  ----------  ---  ------  -
      Initial contact       33.3 %       0.0 %    1       3  3
      Discovery             33.3 %      10.0 %    1       3  3
      Meeting               33.3 %      30.0 %    1       3  3
      Proposal              33.3 %      60.0 %    1       3  3
      Negotiation          100.0 %      80.0 %    1       1  1
    >>> round(weighted_pipeline(p, probabilities=measured), 2)
    333.33
    """
    memo: Remembered[StageProbabilities] = Remembered(p, _FUNCTION, period, basis,
                                                      prior_strength)
    if memo.found:
        return memo.replay()
    with memo:
        out = measure_probabilities(p, period=period, basis=basis, prior_strength=prior_strength)
        _warn_unmeasured(out, period)
    return memo.keep(out)


def measure_probabilities(
    p: Pipeline, *, period: PeriodLike | None = None, basis: Basis = "unit",
    prior_strength: float = 0, stacklevel: int = 4,
) -> StageProbabilities:
    """`historical_probabilities` without its warning about stages that no closed deal reached
    (`required_pipeline` gives those stages no factor, and says so itself); ``stacklevel``
    counts from the caller of this function's caller."""
    check_option(_FUNCTION, "basis", basis, ("unit", "value"))
    k = _check_prior(prior_strength, basis)
    summary = summarize_reached(p, period=period, function=_FUNCTION)
    warn_unreached(_FUNCTION, summary, stacklevel=stacklevel)
    if basis == "value":
        warn_value(_FUNCTION, summary, closed_only=True, stacklevel=stacklevel + 1)
    configured = p.stage_probabilities[: len(p.open_stage_names)].astype(np.float64)
    return finalize_probabilities(summary, configured, basis=basis, prior_strength=k)


def _warn_unmeasured(out: StageProbabilities, period: PeriodLike | None) -> None:
    """A stage no closed deal reached (no closed value, with ``basis="value"``) shows its
    configured probability: say so, since the table reads as measured rates."""
    empty = [stage for stage in out if not out.closed[stage]]
    if not empty:
        return
    where = "" if period is None else " in the period"
    what = "closed value" if out.basis == "value" else "closed deal"
    if len(empty) == len(out):
        head = f"no {what}{where} reached any stage, so every probability is the configured one"
    else:
        names = ", ".join(repr(s) for s in empty[:3]) + (", ..." if len(empty) > 3 else "")
        head = (f"{plural(len(empty), 'stage')} ({names}) had no {what}{where} and show "
                f"{'its' if len(empty) == 1 else 'their'} configured probability")
    warn(f"{_FUNCTION}(): {head}, not a measured rate. Fix: measure over more closed deals "
         "(a longer period, or period=None), or use prior_strength= to blend measured and "
         "configured rates where there are few", DataQualityWarning, 3)
