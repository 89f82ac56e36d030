"""Activity KPIs: how many activities of each kind, per owner and week, and against targets."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._activity_ingest import canonical_kind
from salesmetrics.domain.activity import Activities
from salesmetrics.domain.period import Period, PeriodLike
from salesmetrics.errors import DataError, DataQualityWarning, DataTypeError, OptionError
from salesmetrics.metrics._activity_table import (
    ActivityTable,
    bucket_period,
    bucket_starts,
    buckets,
    check_freq,
)
from salesmetrics.metrics._common import check_bool, divide, plural
from salesmetrics.metrics._summary import normalize_by, resolve_period

__all__ = ["activity_counts", "activity_vs_target", "check_activities", "group_codes"]

IntArray = npt.NDArray[np.intp]


def check_activities(function: str, a: object) -> Activities:
    """``a`` if it is `Activities`, else a `DataTypeError` saying how to build one."""
    if not isinstance(a, Activities):
        raise DataTypeError(
            f"{function}(): expected Activities (Activities.from_columns(...), from_records or "
            f"read_csv), got {type(a).__name__}"
        )
    return a


def group_codes(a: Activities, fields: Sequence[str]) -> tuple[IntArray, list[IntArray]]:
    """Dense group codes of the activities over ``fields`` (the combinations that occur, in the
    order of the fields' categories), and per field the category code of each group."""
    codes = np.zeros(len(a), dtype=np.int64)
    n = 1
    for name in fields:  # fold one field in at a time, renumbering so that keys never overflow
        lab = a.labels(name)
        codes = codes * max(len(lab.categories), 1) + lab.codes
        uniques, codes = np.unique(codes, return_inverse=True)
        codes, n = codes.reshape(-1).astype(np.int64), len(uniques)
    first = _first(codes, n if fields else int(len(codes) > 0))
    return codes.astype(np.intp), [a.codes(name)[first] for name in fields]


def _first(codes: npt.NDArray[np.int64], n: int) -> IntArray:
    """Row of the first occurrence of each code 0..n-1."""
    first = np.full(n, len(codes), dtype=np.intp)
    np.minimum.at(first, codes, np.arange(len(codes), dtype=np.intp))
    return first


def activity_counts(
    a: Activities,
    *,
    period: PeriodLike | None = None,
    by: str | Sequence[str] | None = ("owner", "kind"),
    freq: str | None = None,
) -> ActivityTable:
    r"""Activities counted per group, and per ISO week, month or quarter with ``freq=``.

    $$
    n_{g,t} = \#\{\text{activities } i : g_i = g,\ d_i \in t \cap \text{period}\}
    $$

    Parameters
    ----------
    a
        The activities.
    period
        Count only the activities dated in this period (a `Period` or a label such as
        ``"2024-Q4"``); default all.
    by
        Field(s) to group by (default owner and kind); any field of ``a`` (``"team"``,
        ``"deal_id"``…); None for one total.
    freq
        None (no time split), ``"week"`` (ISO weeks, Monday to Sunday, labelled ``2024-W41``),
        ``"month"`` or ``"quarter"`` (calendar).

    Returns
    -------
    ActivityTable
        One row per group and time bucket that has activities [count]: the ``by`` columns, the
        ``freq`` column (its label) and ``count``. The counts sum to the activities in the period.

    Notes
    -----
    Salesforce's activity reports and HubSpot's activity dashboards count the same way: one
    per logged task, call, email or meeting, by its date and owner.

    Examples
    --------
    >>> from salesmetrics import Activities, Activity, activity_counts
    >>> a = Activities.from_records([
    ...     Activity("T-1", "call", "ana", "2024-10-07"),
    ...     Activity("T-2", "call", "ana", "2024-10-08"),
    ...     Activity("T-3", "call", "ana", "2024-10-14"),
    ...     Activity("T-4", "email", "bo", "2024-10-08"),
    ... ])
    >>> activity_counts(a, by="owner", freq="week")
    activity_counts: 3 rows
      owner  week      count
      -----  --------  -----
      ana    2024-W41      2
      ana    2024-W42      1
      bo     2024-W41      1
    """
    function = "activity_counts"
    check_activities(function, a)
    fields = normalize_by(function, by)
    for name in fields:
        a.labels(name)  # an unknown field: DataError listing the fields
    chosen = resolve_period(function, period)
    step = check_freq(function, freq, allow_none=True)
    part = a if chosen is None else a.filter(chosen.contains(a.dates))
    codes, parts = group_codes(part, fields)
    n_groups = max(int(codes.max()) + 1, 1) if len(codes) else (0 if fields else 1)
    columns: dict[str, Any] = {}
    if step is None:
        counts = np.bincount(codes, minlength=n_groups).astype(np.int64)
        keep = np.flatnonzero(counts) if fields else np.arange(len(counts))
        for name, cat in zip(fields, parts, strict=True):
            columns[name] = part.categories(name)[cat[keep]]
        columns["count"] = counts[keep]
        return ActivityTable(function, fields, columns)
    starts = bucket_starts(part.dates, step)
    days = starts.astype(np.int64)
    uniques, inverse = np.unique(codes.astype(np.int64) * 2**32 + (days - days.min() if len(days)
                                                                  else days), return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=len(uniques)).astype(np.int64)
    first = _first(inverse.astype(np.int64), len(uniques))
    for name, cat in zip(fields, parts, strict=True):
        columns[name] = part.categories(name)[cat[codes[first]]]
    distinct = np.unique(starts[first])  # one label per bucket, not per row
    labels = np.array([bucket_period(s, step).label for s in distinct], dtype=object)
    columns[step] = labels[np.searchsorted(distinct, starts[first])]
    columns["count"] = counts
    return ActivityTable(function, (*fields, step), columns)


def _targets(function: str, targets: object) -> dict[str, float]:
    if not isinstance(targets, Mapping) or not targets:
        raise DataTypeError(f"{function}(): targets must be a non-empty mapping of kind → count "
                            f"per owner per freq period, e.g. {{'call': 50, 'meeting': 8}}, got "
                            f"{targets!r:.80}")
    out: dict[str, float] = {}
    given: dict[str, object] = {}  # canonical kind → the key it came from
    for kind, value in targets.items():
        if not isinstance(kind, str) or not kind.strip():
            raise DataTypeError(f"{function}(): targets keys must be activity kinds (str), got "
                                f"{kind!r}")
        if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
                or not math.isfinite(value) or value < 0):
            raise DataError(f"{function}(): targets[{kind!r}] must be a finite number >= 0 "
                            f"[activities], got {value!r}")
        canonical = canonical_kind(kind)
        if canonical in given:
            raise DataError(f"{function}(): targets has {given[canonical]!r} and {kind!r}, both "
                            f"the kind {canonical!r}; give one target per kind")
        given[canonical] = kind
        out[canonical] = float(value)
    return out


def _groups(function: str, a: Activities, field: str, owners: object,
            inside: npt.NDArray[np.bool_]) -> tuple[list[Hashable], npt.NDArray[np.float64]]:
    """The groups that get a target and the owners in each (1 for ``by="owner"``); by default
    a group's owners are those with an activity ``inside`` the period."""
    if owners is None:
        cats = a.categories(field).tolist()
        keys = [c for c in cats if c is not None]
        if field == "owner":
            return keys, np.ones(len(keys))
        pairs = np.unique(a.codes(field)[inside].astype(np.int64)
                          * (len(a.categories("owner")) + 1) + a.codes("owner")[inside])
        owner_none = [i for i, o in enumerate(a.categories("owner").tolist()) if o is None]
        pairs = pairs[~np.isin(pairs % (len(a.categories("owner")) + 1), owner_none)]
        size = np.bincount(pairs // (len(a.categories("owner")) + 1), minlength=len(cats))
        return keys, size[[i for i, c in enumerate(cats) if c is not None]].astype(np.float64)
    if field == "owner":
        if isinstance(owners, (str, bytes, Mapping)) or not isinstance(owners, Sequence):
            raise DataTypeError(f"{function}(): owners must be a list of owner names, got "
                                f"{owners!r:.80}")
        keys = list(dict.fromkeys(owners))
        return keys, np.ones(len(keys))
    if not isinstance(owners, Mapping):
        raise DataTypeError(f"{function}(): with by={field!r}, owners must be a mapping of "
                            f"{field} → list of its owners, got {owners!r:.80}")
    members_per_group: list[int] = []
    for group, members in owners.items():
        if isinstance(members, (str, bytes)) or not isinstance(members, Sequence):
            raise DataTypeError(f"{function}(): owners[{group!r}] must be a list of owners, got "
                                f"{members!r:.80}")
        members_per_group.append(len(set(members)))
    return list(owners), np.array(members_per_group, dtype=np.float64)


def activity_vs_target(
    a: Activities,
    *,
    targets: Mapping[str, float],
    period: PeriodLike,
    by: str = "owner",
    freq: str = "week",
    prorate: bool = False,
    owners: Sequence[str] | Mapping[Hashable, Sequence[str]] | None = None,
) -> ActivityTable:
    r"""Each owner's (or team's) activity of each kind against its target, per week.

    $$
    \text{target}_{g,k,t} = T_k \times m_g \times f_t, \qquad
    \text{attainment} = \frac{n_{g,k,t}}{\text{target}_{g,k,t}}, \qquad
    \text{gap} = n_{g,k,t} - \text{target}_{g,k,t}
    $$

    where $T_k$ is the target of kind *k* per owner per ``freq`` period, $m_g$ the owners in
    group *g* (1 per owner), $f_t = 1$, or with ``prorate=True`` the share of bucket *t*'s days
    inside ``period`` [fraction], and $n$ the count (`activity_counts`).

    Parameters
    ----------
    a
        The activities.
    targets
        Kind → activities expected per owner per ``freq`` period [count], e.g.
        ``{"call": 50, "meeting": 8}``; only these kinds appear. Kinds are read as activities'
        kinds are (``"Follow-up"`` is ``"follow_up"``): two keys naming one kind are an error.
    period
        The period (a `Period` or a label such as ``"2024-Q4"``); required.
    by
        ``"owner"`` (default) or another field of ``a`` such as ``"team"``.
    freq
        ``"week"`` (ISO weeks, Monday to Sunday, as `Period.week`), ``"month"`` or ``"quarter"``.
    prorate
        A bucket cut by the period's edge (the ISO week of 1 October holds September days) keeps
        the full target by default, as weekly activity dashboards show it; True scales its target
        by the share of its days in the period (and counts only the activities in the period
        either way).
    owners
        With ``by="owner"``: the owners to show, each even with no activity (default: every
        owner in ``a``). With another ``by``: group → its owners, e.g. ``{"SMB": ["ines",
        "jonas"]}``, the team's target being the per-owner target times their number
        (default: each group's owners seen in ``a`` in the period, i.e. the distinct named
        owners with an activity of any kind dated in ``period`` under that group; a group
        whose owners were active only outside the period has a target of 0, so attainment
        nan). Activities without an owner count in their group's ``count`` but add no owner
        to its size.

    Returns
    -------
    ActivityTable
        One row per group, kind of ``targets`` and bucket overlapping the period: ``count``,
        ``target``, ``attainment`` (nan where the target is 0, never inf) and ``gap``
        (negative is short).

    Raises
    ------
    DataError
        When two ``targets`` keys name the same kind (``"follow_up"`` and ``"Follow-up"``),
        naming both; or a target is not a finite number >= 0.

    Warns
    -----
    DataQualityWarning
        Activities in the period, of a target kind, with no ``by`` label (an owner of None
        with ``by="owner"``) belong to no row: they are left out, with their count and the fix.
        A target kind that no activity has (a typo such as ``"cals"``: custom kinds are
        allowed, so it is not an error), listing those kinds and the kinds the activities have.

    References
    ----------
    1. ISO 8601 week dates (Monday to Sunday, week 1 holds the first Thursday):
       https://en.wikipedia.org/wiki/ISO_week_date
    2. HubSpot, "Create and monitor goals" (goals per user or team, weekly, monthly or
       quarterly): https://knowledge.hubspot.com/forecast/create-and-monitor-goals
    3. Pipedrive, "Goals" (activity goals per user or team, per week or month):
       https://support.pipedrive.com/hc/en-us/articles/115004970429-Goals

    Examples
    --------
    A quarter that starts on a Tuesday: its first ISO week keeps the full target of 2 calls,
    or 6/7 of it prorated (2024-W40 runs from Monday 30 September):

    >>> from salesmetrics import Activities, Activity, activity_vs_target
    >>> a = Activities.from_records([
    ...     Activity("T-1", "call", "ana", "2024-09-30"),   # before the period: not counted
    ...     Activity("T-2", "call", "ana", "2024-10-01"),
    ...     Activity("T-3", "call", "ana", "2024-10-08"),
    ...     Activity("T-4", "call", "ana", "2024-10-09"),
    ... ])
    >>> t = activity_vs_target(a, targets={"call": 2}, period="2024-10", owners=["ana", "bo"])
    >>> t.to_pandas().head(2)
      owner  kind      week  count  target  attainment  gap
    0   ana  call  2024-W40      1     2.0         0.5 -1.0
    1   ana  call  2024-W41      2     2.0         1.0  0.0
    >>> t = activity_vs_target(a, targets={"call": 2}, period="2024-10", prorate=True)
    >>> target = t["target"].tolist()
    >>> round(target[0], 4), t["week"][-1], round(target[-1], 4)
    (1.7143, '2024-W44', 1.1429)
    """
    function = "activity_vs_target"
    check_activities(function, a)
    chosen = resolve_period(function, period)
    if chosen is None:
        raise OptionError(f"{function}(): period is required, e.g. period='2024-Q4'")
    step = check_freq(function, freq, allow_none=False)
    assert step is not None
    if not isinstance(by, str):
        raise DataTypeError(f"{function}(): by must be one field name such as 'owner' or "
                            f"'team', got {by!r}")
    check_bool(function, "prorate", prorate)
    a.labels(by)
    goal = _targets(function, targets)
    inside = chosen.contains(a.dates)
    keys, size = _groups(function, a, by, owners, inside)
    kinds = list(goal)
    spans = buckets(chosen, step)
    # Lookups from the activities' codes to the rows of the result (-1: not shown).
    group_of = _index_of(a.categories(by).tolist(), keys)[a.codes(by)]
    kind_of = _index_of(a.kinds, kinds)[a.codes("kind")]
    _warn_absent_kinds(function, a, kinds)
    starts = np.array([s.start for s in spans], dtype="datetime64[D]")
    bucket_of = np.searchsorted(starts, a.dates, side="right") - 1
    use = inside & (group_of >= 0) & (kind_of >= 0)
    unlabelled = [k for k, c in enumerate(a.categories(by).tolist()) if c is None]
    _warn_unlabelled(function, by, int((inside & (kind_of >= 0)
                                        & np.isin(a.codes(by), unlabelled)).sum()))
    ng, nk, nb = len(keys), len(kinds), len(spans)
    flat = (group_of[use] * nk + kind_of[use]) * nb + bucket_of[use]
    count = np.bincount(flat, minlength=ng * nk * nb).astype(np.int64)
    share = np.array([_overlap(s, chosen) / s.days for s in spans]) if prorate else np.ones(nb)
    target = (size[:, None, None] * np.array([goal[k] for k in kinds])[None, :, None]
              * share[None, None, :]).reshape(-1)
    key_col = np.empty(ng, dtype=object)
    key_col[:] = keys
    return ActivityTable(function, (by, "kind", step), {
        by: np.repeat(key_col, nk * nb),
        "kind": np.tile(np.repeat(np.array(kinds, dtype=object), nb), ng),
        step: np.tile(np.array([s.label for s in spans], dtype=object), ng * nk),
        "count": count,
        "target": target,
        "attainment": divide(count, target, math.nan),
        "gap": count - target,
    })


def _warn_absent_kinds(function: str, a: Activities, kinds: Sequence[str]) -> None:
    """Target kinds that no activity of ``a`` has (a typo such as ``"cals"``, or a kind the
    CRM names otherwise): their counts are 0 for everyone. An empty table has no kinds to
    mismatch: no warning."""
    if not len(a):
        return
    held = np.bincount(a.codes("kind"), minlength=len(a.kinds)) > 0
    present = [k for k, h in zip(a.kinds, held.tolist(), strict=True) if h]
    absent = [k for k in kinds if k not in present]
    if absent:
        n = len(absent)
        warnings.warn(
            f"{function}(): {plural(n, 'target kind')} "
            f"({', '.join(repr(k) for k in absent)}) {'has' if n == 1 else 'have'} no "
            f"activities at all, so {'its' if n == 1 else 'their'} count and attainment are 0 "
            f"for everyone; the activities' kinds are "
            f"{', '.join(repr(k) for k in present)}. "
            "Fix: spell the targets' kinds as the activities' (a typo?), or map the CRM's "
            "activity types to kinds", DataQualityWarning, stacklevel=3)


def _warn_unlabelled(function: str, by: str, n: int) -> None:
    """Activities in the period, of a target kind, with no ``by`` label: in no group."""
    if n:
        warnings.warn(
            f"{function}(): {plural(n, 'activity', 'activities')} in the period "
            f"{'has' if n == 1 else 'have'} no {by} and {'is' if n == 1 else 'are'} in no "
            f"{by}'s count, so "
            f"{'it is' if n == 1 else 'they are'} left out. Fix: fill in the {by} of the "
            f"activities in the CRM (or map the column: columns={{{by!r}: ...}})",
            DataQualityWarning, stacklevel=3)


def _index_of(values: Sequence[Hashable], wanted: Sequence[Hashable]) -> IntArray:
    """For each of ``values`` (a field's categories: few), its position in ``wanted`` or -1."""
    where = {w: i for i, w in enumerate(wanted)}
    return np.array([where.get(v, -1) for v in values], dtype=np.intp).reshape(-1)


def _overlap(bucket: Period, period: Period) -> int:
    return (min(bucket.end, period.end) - max(bucket.start, period.start)).days
