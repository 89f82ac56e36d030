"""Pipeline health: data hygiene findings (`hygiene`) and how concentrated the open value is
(`concentration`)."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, overload

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import group_sum
from salesmetrics._render import (
    format_money,
    format_number,
    format_rate,
    html_table,
    is_missing,
    text_table,
)
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN
from salesmetrics.errors import DataQualityWarning, OptionError
from salesmetrics.metrics._common import (
    check_pipeline,
    divide,
    plural,
    warn_missing_amounts,
    warn_no_close_date,
)
from salesmetrics.metrics._findings import HYGIENE_CODES, HygieneFindings
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summary import as_of_date, grouping, normalize_by, resolve_period
from salesmetrics.metrics.options import By
from salesmetrics.metrics.stage_time import last_change

__all__ = ["BANDS", "HYGIENE_CODES", "Band", "Concentration", "HygieneFindings", "check_count",
           "concentration", "hygiene"]

IntArray = npt.NDArray[np.intp]

def check_count(function: str, name: str, value: object, unit: str = "") -> int:
    """``value`` as an int >= 1 (``unit`` such as ``" [days]"`` for the message), else
    `OptionError`."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
            or int(value) < 1):
        raise OptionError(f"{function}(): {name} must be a whole number >= 1{unit}, "
                          f"got {value!r}")
    return int(value)


def check_fraction(function: str, name: str, value: object) -> float:
    """``value`` as a float in [0, 1], else `OptionError`."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not 0 <= float(value) <= 1):
        raise OptionError(f"{function}(): {name} must be a fraction in [0, 1] (0.2 for 20 "
                          f"points), got {value!r}")
    return float(value)


def hygiene(
    p: Pipeline, *, as_of: Any, stalled_after: int = 30, probability_tolerance: float = 0.2,
) -> HygieneFindings:
    r"""Data-quality findings on a given day, one row per deal and reason.

    Reasons (``code``), checked on every deal of ``p``:

    - ``past_due``: open, with an expected close date before ``as_of``;
    - ``stalled``: open, and ``as_of − last change >= stalled_after`` [days], where the last
      change is the deal's last stage-history event on or before ``as_of``, else (no history)
      its created date;
    - ``missing_amount``: no amount;
    - ``missing_close_date``: no close date (expected, for an open deal);
    - ``missing_owner``: no ``owner`` label (only checked when the pipeline has an ``owner``
      field);
    - ``probability_mismatch``: open, with its own probability $q$ and
      $|q - q_\text{stage}| > \text{probability\_tolerance}$, compared exactly in whole parts
      per billion (so a difference of exactly the tolerance is never a finding, whatever
      rounding the float subtraction would add: 80 % vs 60 % and 50 % vs 30 % alike);
    - ``future_close``: closed, with a close date after ``as_of``.

    This is the "integrity of data" factor of pipeline health: a forecast that reads past-due
    close dates, stalled deals or a rep's 90 % on a discovery call is off before any metric runs.

    Parameters
    ----------
    p
        The pipeline.
    as_of
        The day the findings are about (a date or ``"2024-12-31"``); required, since "past due"
        and "stalled" depend on it. ``p.latest_date`` is the day of an export.
    stalled_after
        Days without a stage change after which an open deal is stalled [days], a whole number
        >= 1 (default 30, the usual "no movement in a month" of pipeline reviews; HubSpot and
        Salesforce stalled-deal views are set per team).
    probability_tolerance
        How far a deal's own probability may be from its stage's before it is a finding
        [fraction, 0 to 1] (default 0.2: 20 points, so 90 % on a 10 % stage is flagged, 40 %
        on a 30 % stage is not). Deals using their stage's probability are never flagged.

    Returns
    -------
    HygieneFindings
        The findings (columns ``id``, ``code``, ``message``; `HygieneFindings.to_pandas`),
        ``counts`` per code and ``by_owner`` per owner.

    Warns
    -----
    DataQualityWarning
        Open deals with neither a created date nor a stage-history event on or before
        ``as_of`` have no "last change", so they cannot be ``stalled``: they get no such
        finding (no code stands for "unknown"; the other checks still run), and the warning
        gives their count and the fix.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, hygiene
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 100, "Proposal", created="2024-01-02", close_date="2024-02-01",
    ...          owner="ana"),
    ...     Deal("B", None, "Closed won", created="2024-01-05", close_date="2024-03-20",
    ...          owner="bo")])
    >>> h = hygiene(p, as_of="2024-03-01")
    >>> h.to_pandas().values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['A', 'past_due', 'open, expected to close on 2024-02-01, 29 days ago'],
     ['A', 'stalled', 'open, no stage change for 59 days (since 2024-01-02)'],
     ['B', 'missing_amount', 'no amount'],
     ['B', 'future_close', 'closed, but its close date 2024-03-20 is after 2024-03-01']]
    >>> dict(h.by_owner)
    {'ana': 2, 'bo': 2}
    """
    function = "hygiene"
    check_pipeline(function, p)
    if as_of is None:
        raise OptionError(f"{function}(): as_of is required (hygiene is about a given day), "
                          "got None; give a date such as '2024-12-31', or p.latest_date")
    day = as_of_date(as_of, p)
    stalled_days = check_count(function, "stalled_after", stalled_after, " [days]")
    tolerance = check_fraction(function, "probability_tolerance", probability_tolerance)

    is_open = p.outcome_codes == OPEN
    close = p.close_date.astype("datetime64[D]")
    no_close = np.isnat(close)
    close_days = (day - close).astype(np.int64)  # garbage where NaT: masked below
    last = last_change(p, day)
    idle = (day - last).astype(np.int64)
    unknown = int((is_open & np.isnat(last)).sum())
    if unknown:
        warnings.warn(
            f"{function}(): {plural(unknown, 'open deal')} {'has' if unknown == 1 else 'have'} "
            f"neither a created date nor a stage-history event on or before {day}, so "
            f"{'it' if unknown == 1 else 'they'} cannot be checked for 'stalled'. Fix: fill in "
            "the created dates in the CRM (or map the column: columns={'created': ...}), or "
            "load the stage history with history=", DataQualityWarning, stacklevel=2)
    stage_prob = p.stage_probabilities[p.stage_codes]
    own = p.probability
    has_owner_field = "owner" in p.fields
    owner = p.labels("owner") if has_owner_field else None
    missing_owner = (np.zeros(len(p), dtype=bool) if owner is None
                     else np.isin(owner.codes, [k for k, c in enumerate(owner.categories)
                                                if is_missing(c)]))
    masks = [
        is_open & ~no_close & (close < day),
        is_open & ~np.isnat(last) & (last <= day) & (idle >= stalled_days),
        p.amount_missing,
        no_close,
        missing_owner,
        is_open & ~np.isnan(own) & _far(own, stage_prob, tolerance),
        ~is_open & ~no_close & (close > day),
    ]
    rows = np.concatenate([np.flatnonzero(m) for m in masks]).astype(np.intp)
    code = np.concatenate([np.full(int(m.sum()), k, dtype=np.intp) for k, m in enumerate(masks)])
    order = np.lexsort((code, rows))
    rows, code = rows[order], code[order]
    stalled = code == HYGIENE_CODES.index("stalled")
    detail = {
        "date": np.where(stalled, last[rows], close[rows]),
        "days": np.where(stalled, idle[rows], close_days[rows]),
        "open": is_open[rows],
        "prob": np.nan_to_num(own[rows]),
        "stage_prob": stage_prob[rows],
        "stage": np.asarray(p.stage_names, dtype=object)[p.stage_codes[rows]],
    }
    return HygieneFindings(as_of=day, ids=p.ids[rows], rows=rows, code=code, detail=detail,
                           owner=_per_owner(p, rows, owner is not None))


def _ppb(x: npt.NDArray[np.float64] | float) -> npt.NDArray[np.int64]:
    """Probabilities as whole parts per billion (nan as 0; masked by the caller)."""
    return np.rint(np.nan_to_num(np.asarray(x, dtype=np.float64)) * 1e9).astype(np.int64)


def _far(own: npt.NDArray[np.float64], stage: npt.NDArray[np.float64],
         tolerance: float) -> npt.NDArray[np.bool_]:
    """``|own − stage| > tolerance``, compared exactly in whole parts per billion, so that
    0.8 vs 0.6 and 0.5 vs 0.3 (both 20 points) are treated alike: the float difference
    ``0.8 − 0.6`` is 0.20000000000000007, ``0.5 − 0.3`` is 0.2."""
    far: npt.NDArray[np.bool_] = np.abs(_ppb(own) - _ppb(stage)) > _ppb(tolerance)
    return far


def _per_owner(p: Pipeline, rows: IntArray, has_owner: bool) -> GroupedResult[int]:
    """Findings per owner label (only owners with findings), in the label order."""
    if not has_owner:
        keys: list[Hashable] = [None] if len(rows) else []
        return GroupedResult(("owner",), keys, [len(rows)] * len(keys), name="findings",
                             unit="count")
    labels = p.labels("owner")
    n = np.bincount(labels.codes[rows], minlength=len(labels.categories))
    found = np.flatnonzero(n)
    return GroupedResult(("owner",), labels.categories[found].tolist(), n[found].tolist(),
                         name="findings", unit="count")


# -- concentration ------------------------------------------------------------------------------
#: The three bands of `concentration`, from the largest deals.
BANDS: tuple[str, ...] = ("rocks", "stones", "pebbles")


@attrs.frozen
class Band:
    """The deals of one band: their value [currency] and how many."""

    value: float
    count: int


@attrs.frozen
class Concentration:
    """How much of the open value rests on a few deals.

    ``top_share = Σ(top largest) ÷ total``; ``hhi = Σ sᵢ²`` with ``sᵢ = aᵢ ÷ total`` (from
    ``1/n`` when all ``n`` deals are equal, to 1 when one deal is everything); ``bands``: the
    value and count of the rocks (share above the high threshold), stones and pebbles (share
    below the low one).
    """

    #: Open value [currency].
    total: float
    #: Open deals with an amount.
    deals: int
    #: How many of the largest deals `top_share` is over.
    top: int
    #: Share of the total in the ``top`` largest deals [fraction]; nan when the total is 0.
    top_share: float
    #: Herfindahl index of the deal shares, Σ sᵢ² [fraction]; nan when the total is 0.
    hhi: float
    #: ``"rocks"``, ``"stones"`` and ``"pebbles"`` → `Band`.
    bands: dict[str, Band] = attrs.field(eq=True, hash=False)
    #: ISO code of the currency, for display.
    currency: str | None = attrs.field(default=None, repr=False)

    def _record(self) -> dict[str, float]:
        out: dict[str, float] = {"total": self.total, "deals": self.deals,
                                 "top_share": self.top_share, "hhi": self.hhi}
        for name, band in self.bands.items():
            out[f"{name}_value"], out[f"{name}_count"] = band.value, band.count
        return out

    def _cells(self) -> list[tuple[str, str]]:
        cells = [("total", format_money(self.total, self.currency)),
                 ("deals", format_number(self.deals)),
                 (f"top {self.top} share", format_rate(self.top_share)),
                 ("hhi", format_number(round(self.hhi, 4)))]
        for name, band in self.bands.items():
            cells.append((name, f"{format_money(band.value, self.currency)} "
                                f"({plural(band.count, 'deal')})"))
        return cells

    def to_dict(self) -> dict[str, float]:
        """A flat dict: total, deals, top_share, hhi, then each band's value and count."""
        return self._record()

    def to_pandas(self) -> Any:
        """A pandas Series of `to_dict`."""
        import pandas as pd

        return pd.Series(self._record(), name="concentration")

    def __repr__(self) -> str:
        return "\n".join(["concentration", *text_table(None, [list(c) for c in self._cells()])])

    def _repr_html_(self) -> str:
        return html_table(None, [list(c) for c in self._cells()])


def _warn_zero_total(function: str, deals: int, groups: int, by: tuple[str, ...]) -> None:
    """Open deals whose (group's) open value is 0: no shares, so nan and empty bands."""
    if not deals:
        return
    where = (f" in {plural(groups, 'group')} of {', '.join(by)}" if by else "")
    warnings.warn(
        f"{function}(): the open value is 0{where} over {plural(deals, 'open deal')} (every "
        f"amount is 0), so no deal has a share: top_share and hhi are nan and no deal is in a "
        "band. Fix: fill in the amounts of the open deals in the CRM",
        DataQualityWarning, stacklevel=3)


def _check_thresholds(function: str, thresholds: object) -> tuple[float, float]:
    if (not isinstance(thresholds, (tuple, list)) or len(thresholds) != 2
            or any(isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Real)
                   or not math.isfinite(t) for t in thresholds)
            or not 0 <= thresholds[1] <= thresholds[0] <= 1):
        raise OptionError(f"{function}(): thresholds must be two fractions (rock, pebble) with "
                          f"1 >= rock >= pebble >= 0, such as (0.10, 0.01), got {thresholds!r}")
    return float(thresholds[0]), float(thresholds[1])


@overload
def concentration(p: Pipeline, *, top: int = ..., by: None = None,
                  period: PeriodLike | None = ...,
                  thresholds: tuple[float, float] = ...) -> Concentration: ...
@overload
def concentration(p: Pipeline, *, top: int = ..., by: str | Sequence[str],
                  period: PeriodLike | None = ...,
                  thresholds: tuple[float, float] = ...) -> GroupedResult[Concentration]: ...
@overload
def concentration(p: Pipeline, *, top: int = ..., by: By = ..., period: PeriodLike | None = ...,
                  thresholds: tuple[float, float] = ...
                  ) -> Concentration | GroupedResult[Concentration]: ...
def concentration(
    p: Pipeline, *, top: int = 5, by: By = None, period: PeriodLike | None = None,
    thresholds: tuple[float, float] = (0.10, 0.01),
) -> Concentration | GroupedResult[Concentration]:
    r"""How concentrated the open pipeline is: the share of its largest deals, and the
    Herfindahl index of deal shares.

    With $a_i$ the amounts of the $n$ open deals and $A = \sum_i a_i$:

    $$
    \text{top\_share} = \frac{\sum_{i \in \text{top}} a_i}{A}, \qquad
    \text{hhi} = \sum_i s_i^2, \quad s_i = \frac{a_i}{A}
    $$

    ``hhi`` is $1/n$ when the deals are equal and 1 when one deal is the whole pipeline;
    $1/\text{hhi}$ is the "effective number of deals". The bands split the deals by share:
    rocks above ``thresholds[0]``, pebbles below ``thresholds[1]``, stones between (both
    bounds included), "rocks, stones and pebbles" as pipeline reviews call them, so that a
    quarter resting on two big deals is visible.

    Parameters
    ----------
    p
        The pipeline.
    top
        How many of the largest deals `top_share` adds up, a whole number >= 1 (default 5).
    by
        Field name(s) to group by: shares are then of each group's total.
    period
        Only open deals expected to close in it (as `pipeline_value`).
    thresholds
        (rock, pebble) shares [fraction], default (0.10, 0.01): above 10 %, 1 % to 10 %,
        below 1 % of the total.

    Returns
    -------
    Concentration or GroupedResult
        ``total`` [currency], ``deals``, ``top_share`` and ``hhi`` [fraction] (nan when the
        total is 0), ``bands``. When the total is 0 (no open deal, or only deals of amount 0)
        no deal has a share, so no deal is in any band: every band has value 0 and count 0,
        while ``deals`` still counts the open deals.

    Warns
    -----
    DataQualityWarning
        Open deals without an amount are left out, with their count; with ``period``, open
        deals without an expected close date are in no period, with their count; open deals
        whose (group's) open value is 0, with their count.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, concentration
    >>> p = Pipeline.from_deals([Deal(i, a, "Proposal") for i, a in
    ...                          enumerate([600, 300, 50, 30, 20])])
    >>> c = concentration(p, top=2)
    >>> c.top_share, round(c.hhi, 4), c.bands["rocks"].count, c.bands["pebbles"].count
    (0.9, 0.4538, 2, 0)
    """
    function = "concentration"
    check_pipeline(function, p)
    n_top = check_count(function, "top", top)
    rock, pebble = _check_thresholds(function, thresholds)
    g = grouping(p, normalize_by(function, by))
    chosen = resolve_period(function, period)
    is_open = p.outcome_codes == OPEN
    if chosen is not None:
        warn_no_close_date(function, int((is_open & np.isnat(p.close_date)).sum()))
        is_open &= chosen.contains(p.close_date)
    missing = int((is_open & p.amount_missing).sum())
    warn_missing_amounts(function, missing, int(is_open.sum()), deals="open deals",
                         effect="left out of the shares")
    rows = np.flatnonzero(is_open & ~p.amount_missing)
    keys = np.zeros(len(rows), dtype=np.intp) if g.keys is None else g.keys[rows]
    amount = p.amount_minor[rows]
    order = np.lexsort((-amount, keys))  # by group, largest first
    keys, amount = keys[order], amount[order]
    total = group_sum(keys, g.n, amount)
    counts = np.bincount(keys, minlength=g.n)
    rank = np.arange(len(keys)) - np.repeat(np.cumsum(counts) - counts, counts)
    top_sum = group_sum(keys[rank < n_top], g.n, amount[rank < n_top])
    share = divide(amount, total[keys], math.nan)
    hhi = np.bincount(keys, weights=share**2, minlength=g.n).astype(np.float64)
    band = np.where(share > rock, 0, np.where(share < pebble, 2, 1))
    shared = total[keys] != 0  # with a zero total no deal has a share, so no band
    cell = keys[shared] * 3 + band[shared]
    band_value = group_sum(cell, 3 * g.n, amount[shared]).reshape(g.n, 3) / p.minor_unit
    band_count = np.bincount(cell, minlength=3 * g.n).reshape(g.n, 3)
    top_share = divide(top_sum, total, math.nan)
    hhi[total == 0] = math.nan
    _warn_zero_total(function, int(counts[total == 0].sum()), int(((total == 0)
                                                                  & (counts > 0)).sum()), g.by)

    def one(k: int) -> Concentration:
        return Concentration(
            total=float(total[k] / p.minor_unit), deals=int(counts[k]), top=n_top,
            top_share=float(top_share[k]), hhi=float(hhi[k]),
            bands={name: Band(float(band_value[k, b]), int(band_count[k, b]))
                   for b, name in enumerate(BANDS)}, currency=p.currency)

    if not g.by:
        return one(0)
    present = np.flatnonzero(np.bincount(g.keys[is_open] if g.keys is not None else [],
                                         minlength=g.n))
    return GroupedResult(g.by, g.decode(present), [one(int(k)) for k in present],
                         name=function)
