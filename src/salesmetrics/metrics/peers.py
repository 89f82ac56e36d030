"""Peer-relative scores: each rep's velocity levers as percentile ranks, and an overall score."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_number, format_rate
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import DataError, OptionError
from salesmetrics.metrics._common import called_by
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summary import normalize_by
from salesmetrics.metrics.velocity import Velocity, sales_velocity

__all__ = ["LEVERS", "PeerScore", "peer_scores"]

#: The four levers of the velocity equation, in its order; ``cycle_days`` is better shorter.
LEVERS = ("opportunities", "average_deal_value", "win_rate", "cycle_days")


@attrs.frozen
class PeerScore:
    """One rep's (or team's) levers as percentile ranks among peers, and the overall score."""

    #: Percentile rank of the opportunities N among peers [fraction; 1 is the best, 0 the
    #: worst, ties share the mean of their ranks]; nan if the lever is undefined.
    opportunities: float
    #: Percentile rank of the average deal value V [fraction].
    average_deal_value: float
    #: Percentile rank of the win rate W [fraction].
    win_rate: float
    #: Percentile rank of the cycle length L, shorter ranking higher [fraction].
    cycle_days: float
    #: Weighted geometric mean of the lever ratios to the peers' median (their mean where the
    #: median is 0; cycle inverted): 1 is the median rep, 1.2 is 20 % better per lever
    #: [ratio]; 0 with no win (when the win rate is weighted); nan when a weighted lever is
    #: undefined.
    overall: float
    #: The levers themselves (`sales_velocity`).
    velocity: Velocity = attrs.field(repr=False, eq=False)

    def _record(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (*LEVERS, "overall")}

    def _cells(self) -> list[tuple[str, str]]:
        return [*((k, format_rate(getattr(self, k), 0)) for k in LEVERS),
                ("overall", format_number(self.overall, 2))]


def _percentile_ranks(values: npt.NDArray[np.float64], higher_is_better: bool
                      ) -> npt.NDArray[np.float64]:
    """Mid-rank percentile among the finite values: (below + (equal − 1) ÷ 2) ÷ (n − 1), so
    the best is 1, the worst 0, ties share; nan where the value is nan; 0.5 for a lone peer."""
    x = values if higher_is_better else -values
    ok = np.isfinite(x)
    out = np.full(len(x), np.nan)
    v = x[ok]
    n = len(v)
    if n == 0:
        return out
    ordered = np.sort(v)
    below = np.searchsorted(ordered, v, side="left")
    equal = np.searchsorted(ordered, v, side="right") - below
    out[ok] = 0.5 if n == 1 else (below + (equal - 1) / 2) / (n - 1)
    return out


def _references(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per lever, the peers' median over the defined values, else (N, V, W with a median of 0)
    their mean; the cycle's median floored at one day. nan where no peer has the lever
    defined."""
    out = np.full(values.shape[1], math.nan)
    for j, column in enumerate(values.T):
        defined = column[np.isfinite(column)]
        if len(defined):
            median = float(np.median(defined))
            out[j] = (max(median, 1.0) if j == 3 else median if median != 0
                      else float(np.mean(defined)))
    return out


def _ratios(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each lever over its reference (`_references`), the cycle inverted and both its terms
    floored at one day: finite wherever the lever is defined. A lever at 0 for every peer
    (reference 0) is 1 for all."""
    ref = _references(values)
    ratios = np.empty_like(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(3):
            ratios[:, j] = values[:, j] / ref[j] if ref[j] != 0 else np.where(
                np.isfinite(values[:, j]), 1.0, math.nan)
        ratios[:, 3] = ref[3] / np.maximum(values[:, 3], 1.0)
    return ratios


def _weights(weights: object) -> npt.NDArray[np.float64]:
    if weights is None:
        return np.full(4, 0.25)
    if not isinstance(weights, Mapping) or set(weights) - set(LEVERS):
        raise OptionError(f"peer_scores(): weights must map levers ({', '.join(LEVERS)}) to "
                          f"weights >= 0, got {weights!r}")
    w = np.array([float(weights.get(k, 0.0)) for k in LEVERS])
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise OptionError(f"peer_scores(): weights must be finite, >= 0 and not all 0, got "
                          f"{dict(weights)!r}")
    out: npt.NDArray[np.float64] = w / w.sum()
    return out


def peer_scores(
    p: Pipeline, *, period: PeriodLike, by: str | Sequence[str] = "owner",
    weights: Mapping[str, float] | None = None,
) -> GroupedResult[PeerScore]:
    r"""Peer-relative scores: each group's velocity levers ranked among its peers.

    For each rep (``by="owner"``) or team, the four levers of `sales_velocity` in the period
    (opportunities *N*, average deal value *V*, win rate *W*, cycle length *L*) each as a
    percentile rank among the peers, and an overall score, the weighted geometric mean of the
    lever ratios to the peers' median, the cycle inverted:

    $$
    \text{overall} = \Bigl(\frac{N}{\tilde N}\Bigr)^{w_N} \Bigl(\frac{V}{\tilde V}\Bigr)^{w_V}
    \Bigl(\frac{W}{\tilde W}\Bigr)^{w_W} \Bigl(\frac{\tilde L}{L}\Bigr)^{w_L}
    $$

    With equal weights (the default, ¼ each) it is the fourth root of the rep's velocity
    $NVW/L$ over that of a "median rep" $\tilde N \tilde V \tilde W / \tilde L$: the velocity
    equation multiplies the levers, so ratios, not ranks or sums, are what combine. A rep twice
    the median on one lever and at the median on the others scores $2^{1/4} \approx 1.19$.

    Parameters
    ----------
    p
        The pipeline.
    period
        The period (a `Period` or a label): the levers are those of `sales_velocity` with
        that period (deals in play, and deals closed in it).
    by
        The peers: ``"owner"`` (default), ``"team"``, any field(s).
    weights
        Lever → weight (normalized to sum 1), e.g. ``{"win_rate": 2, "cycle_days": 1,
        "opportunities": 1, "average_deal_value": 1}``; None: equal.

    Returns
    -------
    GroupedResult
        Per group a `PeerScore`: the four percentile ranks [fraction, 1 is best], ``overall``
        [ratio to the median rep] and ``velocity`` (the levers).

    Notes
    -----
    Percentile ranks are mid-ranks, (peers below + (peers equal − 1) ÷ 2) ÷ (peers − 1), over
    the peers whose lever is defined. Each lever's reference ($\tilde N$, $\tilde V$,
    $\tilde W$, $\tilde L$) is the median over the peers with the lever defined. When the
    median of $N$, $V$ or $W$ is 0 (say, one winner among three reps: the median win rate is
    0) the reference is their mean instead, so the ratios stay finite; a lever at 0 for every
    peer is a ratio of 1 for all. Cycles come from day-granular dates, so in the cycle ratio
    both $L$ and $\tilde L$ count at least one day (a deal won the day it was created took
    "under a day"): the cycle ratio is always finite, even with a median cycle of 0.

    With the win rate weighted (the default), a rep who won nothing scores 0 overall (its
    velocity is 0). A lever of weight 0 plays no part at all: with ``weights={"opportunities":
    1}`` a rep with no win scores its opportunities ratio. A rep whose weighted lever is
    undefined (no decided deal; no win for $V$ and $L$) scores nan. The warnings are those
    of `sales_velocity`.

    References
    ----------
    1. HubSpot, "Sales velocity": the four levers.
    2. Salesforce, "Rep scorecards": ranking reps against their peers.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, peer_scores
    >>> p = Pipeline.from_deals([
    ...     Deal(i, a, "Closed won", created="2024-01-01", close_date=c, owner=o)
    ...     for i, (a, c, o) in enumerate([(10_000, "2024-01-31", "ana"),
    ...                                    (20_000, "2024-03-01", "bo"),
    ...                                    (10_000, "2024-03-01", "cy")])])
    >>> s = peer_scores(p, period="2024-Q1")
    >>> s["bo"].average_deal_value, s["ana"].cycle_days, s["cy"].overall
    (1.0, 1.0, 1.0)
    >>> round(s["bo"].overall, 4)                  # 2 × V at the median L: 2 ** (1/4)
    1.1892
    """
    w = _weights(weights)
    if not normalize_by("peer_scores", by):
        raise OptionError("peer_scores(): by must name the peers' field, e.g. by='owner'")
    if period is None:
        raise OptionError("peer_scores(): period is required, e.g. period='2024-Q4'")
    with called_by("peer_scores"):
        levers = sales_velocity(p, period=period, by=by)
    if not isinstance(levers, GroupedResult):  # pragma: no cover - by is checked above
        raise DataError("peer_scores(): expected levers per group")
    keys = list(levers)
    values = np.array([[float(getattr(v, k)) for k in LEVERS] for v in levers.values()],
                      dtype=np.float64).reshape(len(keys), 4)
    ranks = np.column_stack([_percentile_ranks(values[:, j], j != 3) for j in range(4)]) \
        if keys else np.empty((0, 4))
    ratios = _ratios(values)
    used = ratios[:, w > 0]  # a lever of weight 0 plays no part, even undefined
    with np.errstate(divide="ignore"):
        logs = np.where(used > 0, np.log(np.where(used > 0, used, 1.0)), -np.inf)
    # row by row, not `@` (BLAS's path, and the last digit, depend on the number of peers)
    overall = np.exp((logs * w[w > 0]).sum(axis=1)) if len(keys) else np.empty(0)
    overall[~np.isfinite(used).all(axis=1)] = math.nan
    if w[2] > 0:  # W = 0: nothing won, velocity 0 (only when the win rate plays a part)
        overall[values[:, 2] == 0] = 0.0
    rows = [PeerScore(float(ranks[i, 0]), float(ranks[i, 1]), float(ranks[i, 2]),
                      float(ranks[i, 3]), float(overall[i]), v)
            for i, v in enumerate(levers.values())]
    return GroupedResult(levers.by, keys, rows, name="peer_scores")
