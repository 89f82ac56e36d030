"""From activities to deals and back: measured activity ratios (`activity_ratios`), and the
activity a revenue target needs (`required_activity`, over the reverse funnel of `plan`)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping
from types import MappingProxyType
from typing import Any, overload

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_number, text_table
from salesmetrics.domain.activity import ACTIVITY_KINDS, Activities
from salesmetrics.domain.period import Period, PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import Outcome
from salesmetrics.errors import DataQualityWarning, DataTypeError, OptionError
from salesmetrics.metrics._common import check_pipeline, divide, warn_no_created_date
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._stage_table import StageTable
from salesmetrics.metrics._summary import normalize_by, resolve_period
from salesmetrics.metrics.activity_kpis import check_activities
from salesmetrics.metrics.planning import Plan, plan

__all__ = ["ActivityRatios", "RequiredActivity", "activity_ratios", "required_activity"]

IntArray = npt.NDArray[np.intp]
#: Working days in a week, for `RequiredActivity.per_day`.
WORKING_DAYS = 5


def _frozen(values: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(values))


@attrs.frozen
class ActivityRatios:
    """Measured ratios between activities and deals, for one group [count, ratio]."""

    #: Deals created in the period [count].
    opportunities: int
    #: Deals won with a close date in the period [count].
    wins: int
    #: Kind → activities dated in the period [count].
    activities: Mapping[str, int] = attrs.field(converter=_frozen)
    #: Kind → activities ÷ opportunities [activities per opportunity].
    per_opportunity: Mapping[str, float] = attrs.field(converter=_frozen)
    #: Kind → activities ÷ wins [activities per win].
    per_win: Mapping[str, float] = attrs.field(converter=_frozen)
    #: Kind → activities on the won deals (joined on ``deal_id``, any date) ÷ wins
    #: [activities per won deal].
    per_won_deal: Mapping[str, float] = attrs.field(converter=_frozen)
    #: All activities ÷ opportunities [activities per opportunity].
    activities_per_opportunity: float
    #: Meetings ÷ proposals [meetings per proposal].
    meetings_per_proposal: float
    #: Proposals ÷ wins [proposals per win].
    proposals_per_win: float

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (mappings as dicts)."""
        return {k: dict(v) if isinstance(v, Mapping) else v for k, v in attrs.asdict(
            self, recurse=False).items()}

    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by ``kind``: ``activities``, ``per_opportunity``,
        ``per_win`` and ``per_won_deal``."""
        import pandas as pd

        kinds = list(self.activities)
        return pd.DataFrame({
            "activities": [self.activities[k] for k in kinds],
            "per_opportunity": [self.per_opportunity[k] for k in kinds],
            "per_win": [self.per_win[k] for k in kinds],
            "per_won_deal": [self.per_won_deal[k] for k in kinds],
        }, index=pd.Index(kinds, name="kind"))

    def _cells(self) -> list[tuple[str, str]]:
        return [("opportunities", format_number(self.opportunities)),
                ("wins", format_number(self.wins)),
                ("per opportunity", format_number(round(self.activities_per_opportunity, 2))),
                ("meetings/proposal", format_number(round(self.meetings_per_proposal, 2))),
                ("proposals/win", format_number(round(self.proposals_per_win, 2)))]

    def __repr__(self) -> str:
        head = ", ".join(f"{k} {v}" for k, v in self._cells())
        rows = [[k, format_number(self.activities[k]), _two(self.per_opportunity[k]),
                 _two(self.per_win[k]), _two(self.per_won_deal[k])] for k in self.activities]
        return "\n".join([f"ActivityRatios: {head}", *text_table(
            ["kind", "activities", "per_opportunity", "per_win", "per_won_deal"], rows)])


def _two(value: float) -> str:
    return format_number(value, 2)


def _kind_order(a: Activities) -> list[str]:
    """The kinds of the ratios: the standard ones always (0 when absent), then custom ones."""
    return [*ACTIVITY_KINDS, *(k for k in a.kinds if k not in ACTIVITY_KINDS)]


def deal_rows(a: Activities, p: Pipeline, function: str) -> IntArray:
    """Each activity's row in ``p`` by its ``deal_id`` (-1 without one or when ``p`` lacks it):
    a lookup over the distinct deal ids (a sort and a binary search, no loop per activity).
    Warns when deal ids are not in ``p``."""
    cats = a.categories("deal_id")
    present = np.array([c is not None for c in cats.tolist()], dtype=bool)
    row_of = np.full(len(cats), -1, dtype=np.intp)
    ids = p.ids
    if present.any() and len(ids):
        wanted: npt.NDArray[Any] | None
        try:
            wanted = cats[present].astype(ids.dtype if ids.dtype.kind == "U" else np.int64)
        except (TypeError, ValueError, OverflowError):
            wanted = None
        if wanted is not None:
            order = np.argsort(ids, kind="stable")
            pos = np.minimum(np.searchsorted(ids[order], wanted), len(ids) - 1)
            hit = ids[order][pos] == wanted
            row_of[np.flatnonzero(present)] = np.where(hit, order[pos], -1)
    rows = row_of[a.codes("deal_id")]
    lost = int((present[a.codes("deal_id")] & (rows < 0)).sum())
    if lost:
        warnings.warn(
            f"{function}(): {lost:,} "
            f"{'activities carry deal ids' if lost > 1 else 'activity carries a deal id'} "
            "that the pipeline does not have; they count by their dates but join no deal. "
            "Fix: load the same CRM export's deals (or the same id column) into the pipeline",
            DataQualityWarning, stacklevel=3)
    return rows


@overload
def activity_ratios(
    a: Activities, p: Pipeline, *, period: PeriodLike | None = ..., by: None = ...,
) -> ActivityRatios: ...
@overload
def activity_ratios(
    a: Activities, p: Pipeline, *, period: PeriodLike | None = ..., by: str = ...,
) -> GroupedResult[ActivityRatios]: ...
def activity_ratios(
    a: Activities,
    p: Pipeline,
    *,
    period: PeriodLike | None = None,
    by: str | None = None,
) -> ActivityRatios | GroupedResult[ActivityRatios]:
    r"""Measured ratios between activities and deals: activities per opportunity created,
    meetings per proposal, proposals per win, and activities per won deal.

    $$
    \text{per opportunity}_k = \frac{A_k}{O}, \quad \text{per win}_k = \frac{A_k}{W}, \quad
    \text{meetings per proposal} = \frac{A_\text{meeting}}{A_\text{proposal}}, \quad
    \text{per won deal}_k = \frac{A^{\text{won}}_k}{W}
    $$

    where $A_k$ counts the activities of kind *k* dated in the period, $O$ the deals created in
    it, $W$ the deals won with a close date in it, and $A^{\text{won}}_k$ the activities of kind
    *k* (any date) whose ``deal_id`` is one of those won deals. Undefined ratios are nan.

    Parameters
    ----------
    a
        The activities.
    p
        The pipeline whose deals the activities' ``deal_id`` refer to.
    period
        The period measured (a `Period` or a label); default all dates.
    by
        A field that both ``a`` and ``p`` have (``"owner"``, ``"team"``): activities group by
        their own label, deals by theirs, and the activities on won deals ($A^{\text{won}}_k$,
        "the touches a won deal took") by the won deal's label, whoever logged them (a
        colleague's call on ana's won deal counts in ana's ``per_won_deal``). Default None:
        one result.

    Returns
    -------
    ActivityRatios or GroupedResult
        Counts and ratios (the standard kinds always, then custom ones).

    Warns
    -----
    DataQualityWarning
        For activities whose deal id is not in ``p``; for deals without a created date (no
        opportunity count holds them), with their count.

    Notes
    -----
    Sales-engagement tools (Outreach, Salesloft) and the "activity funnel" of sales management
    (e.g. Pipedrive's "activities to deals" reports) use these ratios to set activity targets.

    Examples
    --------
    >>> from salesmetrics import Activities, Activity, Deal, Pipeline, activity_ratios
    >>> p = Pipeline.from_deals([
    ...     Deal("D-1", 100, "Closed won", created="2024-10-01", close_date="2024-10-20"),
    ...     Deal("D-2", 100, "Proposal", created="2024-10-02"),
    ... ])
    >>> a = Activities.from_records([
    ...     Activity("T-1", "call", "ana", "2024-09-25"),
    ...     Activity("T-2", "call", "ana", "2024-10-03", deal_id="D-1"),
    ...     Activity("T-3", "meeting", "ana", "2024-10-05", deal_id="D-1"),
    ...     Activity("T-4", "meeting", "ana", "2024-10-06", deal_id="D-2"),
    ...     Activity("T-5", "proposal", "ana", "2024-10-08", deal_id="D-1"),
    ... ])
    >>> r = activity_ratios(a, p, period="2024-10")
    >>> r.opportunities, r.wins, r.per_opportunity["call"], r.meetings_per_proposal
    (2, 1, 0.5, 2.0)
    >>> r.per_won_deal["call"], r.proposals_per_win    # T-1 has no deal: not the won deal's
    (1.0, 1.0)
    """
    function = "activity_ratios"
    check_activities(function, a)
    check_pipeline(function, p)
    chosen = resolve_period(function, period)
    fields = normalize_by(function, by)
    if len(fields) > 1:
        raise DataTypeError(f"{function}(): by must be one field name or None, got {by!r}")
    kinds = _kind_order(a)
    kind_of = np.array([kinds.index(k) for k in a.kinds], dtype=np.intp)[a.codes("kind")]
    nk = len(kinds)
    if fields:
        field = fields[0]
        a_cats, p_cats = a.categories(field).tolist(), p.categories(field).tolist()
        keys: list[Hashable] = list(dict.fromkeys([*p_cats, *a_cats]))
        keys = sorted((k for k in keys if k is not None), key=str) + (
            [None] if None in keys else [])
        a_group = np.array([keys.index(c) for c in a_cats], dtype=np.intp)[a.codes(field)]
        p_group = np.array([keys.index(c) for c in p_cats], dtype=np.intp)[p.codes(field)]
    else:
        keys = [None]
        a_group, p_group = np.zeros(len(a), np.intp), np.zeros(len(p), np.intp)
    ng = len(keys)
    a_in = np.ones(len(a), bool) if chosen is None else chosen.contains(a.dates)
    created_in = ~np.isnat(p.created) if chosen is None else chosen.contains(p.created)
    warn_no_created_date(
        function, int(np.isnat(p.created).sum()),
        why="opportunities are the deals created in the period",
        instead="their wins and the activities on them still count")
    won = p.outcome_codes == Outcome.WON
    won_in = won & (~np.isnat(p.close_date) if chosen is None else chosen.contains(p.close_date))
    counts = np.bincount(a_group[a_in] * nk + kind_of[a_in], minlength=ng * nk).reshape(ng, nk)
    opportunities = np.bincount(p_group[created_in], minlength=ng)
    wins = np.bincount(p_group[won_in], minlength=ng)
    rows = deal_rows(a, p, function)
    on_won = rows >= 0
    on_won[on_won] = won_in[rows[on_won]]
    joined = np.bincount(p_group[rows[on_won]] * nk + kind_of[on_won],
                         minlength=ng * nk).reshape(ng, nk)
    nan = math.nan
    per_opp = divide(counts, opportunities[:, None], nan)
    per_win = divide(counts, wins[:, None], nan)
    per_won = divide(joined, wins[:, None], nan)
    meeting, proposal = kinds.index("meeting"), kinds.index("proposal")
    total = divide(counts.sum(axis=1), opportunities, nan)
    mpp = divide(counts[:, meeting], counts[:, proposal], nan)
    ppw = divide(counts[:, proposal], wins, nan)
    results = [ActivityRatios(
        opportunities=int(opportunities[g]), wins=int(wins[g]),
        activities=dict(zip(kinds, counts[g].tolist(), strict=True)),
        per_opportunity=dict(zip(kinds, per_opp[g].tolist(), strict=True)),
        per_win=dict(zip(kinds, per_win[g].tolist(), strict=True)),
        per_won_deal=dict(zip(kinds, per_won[g].tolist(), strict=True)),
        activities_per_opportunity=float(total[g]), meetings_per_proposal=float(mpp[g]),
        proposals_per_win=float(ppw[g])) for g in range(ng)]  # one per group
    if not fields:
        return results[0]
    return GroupedResult(fields, keys, results, name=function)


class RequiredActivity(StageTable[float]):
    """The activity a target needs: a read-only mapping of kind → activities per week
    [activities per week]. Made by `required_activity`.

    Attributes
    ----------
    per_period
        Kind → activities over the plan's weeks [count].
    per_day
        Kind → activities per working day (per week ÷ 5) [count per day].
    per_opportunity
        Kind → activities per opportunity created, measured before the period [ratio].
    opportunities_needed
        Deals that must be created (enter the first stage) in the period [deals].
    plan
        The reverse funnel (`plan`) the opportunities come from.
    """

    __slots__ = ("opportunities_needed", "per_day", "per_opportunity", "per_period", "plan")

    def __init__(self, per_period: Mapping[str, float], per_opportunity: Mapping[str, float],
                 opportunities_needed: float, funnel: Plan) -> None:
        weeks = funnel.weeks
        super().__init__({k: v / weeks for k, v in per_period.items()})
        self.per_period = _frozen(per_period)
        self.per_day = _frozen({k: v / WORKING_DAYS for k, v in self._values.items()})
        self.per_opportunity = _frozen(per_opportunity)
        self.opportunities_needed = opportunities_needed
        self.plan = funnel

    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by ``kind``: ``per_opportunity``, ``per_period``,
        ``per_week`` and ``per_day``."""
        import pandas as pd

        kinds = list(self)
        return pd.DataFrame({
            "per_opportunity": [self.per_opportunity[k] for k in kinds],
            "per_period": [self.per_period[k] for k in kinds],
            "per_week": [self[k] for k in kinds],
            "per_day": [self.per_day[k] for k in kinds],
        }, index=pd.Index(kinds, name="kind"))

    def _title(self) -> str:
        return (f"required_activity: {format_number(self.plan.wins_needed, 1)} wins need "
                f"{format_number(self.opportunities_needed, 1)} opportunities over "
                f"{format_number(round(self.plan.weeks, 2))} weeks")

    def _table(self) -> tuple[list[str], list[list[str]]]:
        header = ["kind", "per_opportunity", "per_period", "per_week", "per_day"]
        return header, [[k, _two(self.per_opportunity[k]), format_number(self.per_period[k], 1),
                         format_number(self[k], 1), format_number(self.per_day[k], 1)]
                        for k in self]


def required_activity(
    p: Pipeline,
    a: Activities,
    *,
    target: float,
    period: PeriodLike,
    weeks: float | None = None,
) -> RequiredActivity:
    r"""The activity of each kind per week that a revenue target needs, from measured ratios.

    $$
    \text{per week}_k = \frac{n_1 \times A_k / O}{\text{weeks}}
    $$

    where $n_1$ is the number of deals that must enter the first stage in the period, from the
    reverse funnel of `plan` (target − won, ÷ average deal, ÷ stage conversions), and $A_k / O$
    the activities of kind *k* per opportunity created (`activity_ratios`), both measured on
    the history before the period starts: activities dated from the first activity on record
    to the period's start, and the deals created in that window. The result is linear in the
    revenue still to win, max(target − won, 0).

    Parameters
    ----------
    p
        The pipeline (rates, deal size and won revenue, as in `plan`).
    a
        The activities (ratios measured before ``period``).
    target
        The revenue target of the period [major currency units], >= 0.
    period
        The period (a `Period` or a label such as ``"2025-Q1"``).
    weeks
        The weeks over which the activity is spread [weeks]; default the period's.

    Returns
    -------
    RequiredActivity
        Kind → activities per week, with ``per_period``, ``per_day``, ``per_opportunity``,
        ``opportunities_needed`` and the ``plan``.

    Warns
    -----
    DataQualityWarning
        When no activity is dated before the period (every count is nan); and those of `plan`.

    References
    ----------
    The "activity-based selling" or "reverse-engineered quota" of sales planning, e.g. Aaron
    Ross and Marylou Tyler, *Predictable Revenue* (2011).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> p, a = sm.datasets.sample_pipeline(), sm.datasets.sample_activities()
    >>> r = sm.required_activity(p, a, target=1_700_000, period="2025-Q1")
    >>> round(r.opportunities_needed), round(r["call"]), round(r["proposal"], 1)
    (256, 108, 7.2)
    """
    function = "required_activity"
    check_activities(function, a)
    check_pipeline(function, p)
    chosen = resolve_period(function, period)
    if chosen is None:
        raise OptionError(f"{function}(): period is required, e.g. period='2025-Q1'")
    funnel = plan(p, target=target, period=chosen, weeks=weeks)
    before = a.dates < np.datetime64(chosen.start, "D")
    if before.any():
        window = Period(a.dates[before].min().item(), chosen.start)
        per_opportunity = dict(activity_ratios(a, p, period=window).per_opportunity)
    else:
        warnings.warn(
            f"{function}(): no activity is dated before {chosen.start}, so the activities per "
            "opportunity and every count are nan. Fix: load the activity history",
            DataQualityWarning, stacklevel=2)
        per_opportunity = {k: math.nan for k in _kind_order(a)}
    first = next(iter(funnel), None)
    needed = math.nan if first is None else float(funnel[first])
    per_period = {k: needed * v for k, v in per_opportunity.items()}
    return RequiredActivity(per_period, per_opportunity, needed, funnel)
