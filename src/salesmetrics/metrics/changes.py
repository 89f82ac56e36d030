"""What changed between two snapshots of a pipeline: the waterfall from last week's open value to
this week's (`pipeline_changes`), and the share of the deals expected in a period that slipped
(`slip_rate`)."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from typing import Any, overload

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_money, format_number, html_table, text_table
from salesmetrics.domain.period import Period, PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN
from salesmetrics.errors import (
    DataError,
    DataQualityWarning,
    check_option,
)
from salesmetrics.metrics._changed_deals import ALL_MOVES, ChangedDeals
from salesmetrics.metrics._changes_checks import (
    check_pair,
    warn_changes,
    warn_few_ids,
    warn_few_matches,
)
from salesmetrics.metrics._changes_kernel import (
    DECREASED,
    FX,
    INCREASED,
    MOVED_IN,
    MOVED_OUT,
    REWEIGHTED,
    DealMoves,
    converted,
    group_keys,
    match_ids,
    moves,
    signed_sums,
    weighted_sums,
)
from salesmetrics.metrics._common import (
    check_bool,
    divide,
    plural,
    warn_missing_amounts,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summary import normalize_by, resolve_period
from salesmetrics.metrics.coverage import the_period
from salesmetrics.metrics.options import BASES, Basis, By
from salesmetrics.metrics.pipeline_totals import stage_probabilities

__all__ = ["ChangedDeals", "PipelineChanges", "pipeline_changes", "slip_rate"]

IntArray = npt.NDArray[np.intp]
K = len(ALL_MOVES)


@attrs.frozen(repr=False, eq=False)
class PipelineChanges:
    """The open pipeline's value in two snapshots and the movements between them.

    ``start + sum(totals.values()) == end``: exactly in minor units (``start_minor``,
    ``totals_minor``, ``end_minor`` are integers) for open values, to rounding (1e-9 relative)
    with ``weighted=True``. See `pipeline_changes`.
    """

    #: Open (or weighted) value of the deals counted in ``before`` [currency].
    start: float
    #: The same in ``after`` [currency].
    end: float
    #: Movement → signed value [currency], in the attribution order (outflows negative).
    totals: Mapping[str, float]
    #: One row per changed deal (`ChangedDeals`, with ``to_pandas()``).
    deals: ChangedDeals
    #: Open stage → deals that left it for a later open stage (open in both, counted in one).
    advanced: Mapping[str, int]
    #: Open stage → deals that left it for an earlier open stage.
    regressed: Mapping[str, int]
    #: True for weighted values (amount × probability).
    weighted: bool = False
    #: ``start``, ``end`` and ``totals`` in minor units (int, or float when weighted).
    start_minor: float = 0
    end_minor: float = 0
    totals_minor: Mapping[str, float] = attrs.field(factory=dict)
    #: ISO code of the currency, for display; the period's label, if any.
    currency: str | None = None
    period: str | None = None

    def _cells(self) -> list[tuple[str, str]]:
        money = [("start", self.start), *self.totals.items(), ("end", self.end)]
        return [(name, format_money(value, self.currency)) for name, value in money]

    def to_dict(self) -> dict[str, float]:
        """``start``, each movement and ``end`` [currency], in waterfall order."""
        return {"start": self.start, **self.totals, "end": self.end}

    def to_pandas(self) -> Any:
        """A pandas Series: start, the movements in order, end [currency]."""
        import pandas as pd

        return pd.Series(self.to_dict(), name="pipeline_changes")

    def _title(self) -> str:
        what = "weighted pipeline" if self.weighted else "open pipeline"
        scope = f", expected to close in {self.period}" if self.period else ""
        return f"Pipeline changes ({what}{scope}): {len(self.deals):,} deals changed"

    def _stage_lines(self) -> list[str]:
        def part(counts: Mapping[str, int]) -> str:
            shown = [f"{s} {format_number(n)}" for s, n in counts.items() if n]
            return ", ".join(shown) if shown else "none"

        return [f"advanced a stage, from: {part(self.advanced)}",
                f"regressed a stage, from: {part(self.regressed)}"]

    def __repr__(self) -> str:
        rows = [[name, cell] for name, cell in self._cells()]
        lines = [self._title(), *text_table(None, rows)]
        return "\n".join(lines + [f"  {line}" for line in self._stage_lines()])

    def _repr_html_(self) -> str:
        import html

        notes = "".join(f"<p>{html.escape(line)}</p>" for line in self._stage_lines())
        return (f"<p><b>{html.escape(self._title())}</b></p>{html_table(None, self._cells())}"
                f"{notes}")


def _ids(before: Pipeline, after: Pipeline, m: DealMoves, deals: IntArray) -> npt.NDArray[Any]:
    """The ids of the laid-out ``deals``."""
    ids_b, ids_a = before.ids, after.ids
    if ids_b.dtype.kind != ids_a.dtype.kind:
        ids_b, ids_a = ids_b.astype(str), ids_a.astype(str)
    rb, ra = m.rows_b[deals], m.rows_a[deals]
    if not len(ids_b):
        return ids_a[ra]
    if not len(ids_a):
        return ids_b[rb]
    return np.where(rb >= 0, ids_b[np.maximum(rb, 0)], ids_a[np.maximum(ra, 0)])


def _events(m: DealMoves, gb: IntArray, ga: IntArray, grouped: bool
            ) -> tuple[IntArray, IntArray, IntArray, npt.NDArray[Any]]:
    """Every movement as an event: (deal, group, movement code, signed value [minor units])."""
    home = np.where(m.rows_a >= 0, ga, gb)  # a deal's movements are in its group after
    moved = ((m.rows_b >= 0) & (m.rows_a >= 0) & (gb != ga) & m.counted_b if grouped
             else np.zeros(len(gb), dtype=bool))
    size_code = np.where(m.exchanged, FX, np.where(m.delta > 0, INCREASED, DECREASED))
    parts = [
        (m.primary >= 0, home, m.primary.astype(np.intp), m.primary_value),
        (m.resized, ga, size_code, m.delta),
        (m.reweighed, ga, np.full(len(gb), REWEIGHTED), m.reweight),
        (moved, gb, np.full(len(gb), MOVED_OUT), -m.start),
        (moved, ga, np.full(len(gb), MOVED_IN), m.start),
    ]
    deals = [np.flatnonzero(mask) for mask, *_ in parts]
    return (np.concatenate(deals),
            np.concatenate([g[d] for d, (_, g, _, _) in zip(deals, parts, strict=True)]),
            np.concatenate([c[d] for d, (_, _, c, _) in zip(deals, parts, strict=True)]),
            np.concatenate([v[d] for d, (_, _, _, v) in zip(deals, parts, strict=True)]))


def _assemble(
    before: Pipeline, after: Pipeline, m: DealMoves, by: tuple[str, ...],
    probs: npt.NDArray[np.float64] | None, period: Period | None,
) -> list[tuple[Hashable, PipelineChanges]]:
    """One `PipelineChanges` per group (a single one without ``by``); ``probs``, the stages'
    probabilities, for weighted values."""
    weighted = probs is not None
    if by:
        gb, ga, names = group_keys(before, after, by, m.rows_b, m.rows_a)
    else:
        gb = np.where(m.rows_b >= 0, 0, -1).astype(np.intp)
        ga = np.where(m.rows_a >= 0, 0, -1).astype(np.intp)
        names = [None]
    n = len(names)
    deal, group, code, value = _events(m, gb, ga, bool(by))
    totals = signed_sums(group * K + code, n * K, value).reshape(n, K)
    if probs is not None:  # as weighted_pipeline sums them, so that start and end equal it
        start = weighted_sums(before, m.rows_b[m.counted_b], gb[m.counted_b], n, probs)
        end = weighted_sums(after, m.rows_a[m.counted_a], ga[m.counted_a], n, probs)
    else:
        start = signed_sums(gb[m.counted_b], n, m.start[m.counted_b])
        end = signed_sums(ga[m.counted_a], n, m.end[m.counted_a])
    open_names = before.open_stage_names
    ns = len(open_names)
    moving = m.stage_b >= 0
    key = ga[moving] * ns + m.stage_b[moving]
    up = np.bincount(key[m.stage_a[moving] > m.stage_b[moving]], minlength=n * ns).reshape(n, ns)
    down = np.bincount(key[m.stage_a[moving] < m.stage_b[moving]],
                       minlength=n * ns).reshape(n, ns)
    fx = converted(before) and converted(after)
    keep = [k for k, name in enumerate(ALL_MOVES)
            if (weighted or k != REWEIGHTED) and (fx or k != FX) and (by or k < MOVED_IN)]
    scale = before.minor_unit
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n + 1))
    out = []
    for g, name in enumerate(names):
        events = order[bounds[g]:bounds[g + 1]]
        rows, inverse = np.unique(deal[events], return_inverse=True)
        table = ChangedDeals(
            _ids(before, after, m, rows), np.where(gb[rows] == g, m.start[rows], 0),
            np.where(ga[rows] == g, m.end[rows], 0), inverse.reshape(-1), code[events],
            value[events], scale=scale, currency=before.currency)
        minor = {ALL_MOVES[k]: _number(totals[g, k]) for k in keep}
        out.append((name, PipelineChanges(
            start=_number(start[g]) / scale, end=_number(end[g]) / scale,
            totals={k: v / scale for k, v in minor.items()}, deals=table,
            advanced={s: int(up[g, i]) for i, s in enumerate(open_names)},
            regressed={s: int(down[g, i]) for i, s in enumerate(open_names)},
            weighted=weighted, start_minor=_number(start[g]), end_minor=_number(end[g]),
            totals_minor=minor, currency=before.currency,
            period=None if period is None else period.label)))
    return out


def _number(x: Any) -> Any:
    """A numpy scalar as a Python int or float."""
    return x.item() if hasattr(x, "item") else x


@overload
def pipeline_changes(
    before: Pipeline, after: Pipeline, *, period: PeriodLike | None = ..., by: None = None,
    weighted: bool = ...,
) -> PipelineChanges: ...
@overload
def pipeline_changes(
    before: Pipeline, after: Pipeline, *, period: PeriodLike | None = ...,
    by: str | tuple[str, ...] | list[str], weighted: bool = ...,
) -> GroupedResult[PipelineChanges]: ...
@overload
def pipeline_changes(
    before: Pipeline, after: Pipeline, *, period: PeriodLike | None = ..., by: By = ...,
    weighted: bool = ...,
) -> PipelineChanges | GroupedResult[PipelineChanges]: ...
def pipeline_changes(
    before: Pipeline,
    after: Pipeline,
    *,
    period: PeriodLike | None = None,
    by: By = None,
    weighted: bool = False,
) -> PipelineChanges | GroupedResult[PipelineChanges]:
    r"""What changed between two snapshots of a pipeline: the waterfall from one open value to
    the next, deal by deal.

    $$
    V_\text{end} = V_\text{start} + \sum_{m} T_m
    $$

    where $V$ is the open value of the deals *counted* in a snapshot (open, and with
    ``period``, expected to close in it) [currency] and $T_m$ the signed total of movement $m$.
    The snapshots are joined on deal id (one sort and a binary search; no Python per deal).
    Each deal's change $v_\text{after} - v_\text{before}$ is split into movements, in this fixed
    attribution order:

    ========== ==============================================================================
    new        absent before, counted after: $+v_\text{after}$
    won        counted before, won after: $-v_\text{before}$
    lost       counted before, lost or closed without a decision after: $-v_\text{before}$
    removed    counted before, absent after (deleted or merged, not closed): $-v_\text{before}$
    pulled_in  open in both, its close date moved into the period: $+v_\text{before}$ (its old
               value; a change of amount follows as increased or decreased)
    pushed_out open in both, its close date moved out of the period: $-v_\text{before}$ (what
               changed outside the period is not attributed)
    increased  counted after and open before, amount up: $+(a_\text{after} - a_\text{before})
               \cdot p_\text{before}$
    decreased  the same, amount down (negative)
    fx         snapshots converted with ``rates=``: the same, for a deal whose own amount and
               currency did not change, so only its exchange rate moved it (a new rate, or a
               close date that picks another one)
    reweighted ``weighted=True`` only: stage or own probability changed:
               $a_\text{after} (p_\text{after} - p_\text{before})$
    reopened   closed before, counted after: $+v_\text{after}$
    ========== ==============================================================================

    with $a$ the amount, $p$ the probability (1 unweighted) and $v = a\,p$. A deal can carry
    several movements: one that was pulled into the period and grew is ``pulled_in`` at its old
    value, then ``increased`` by the difference (and ``reweighted`` if its stage changed too).
    Every deal's movements add up to its own change, so the waterfall reconciles.

    Parameters
    ----------
    before, after
        Two snapshots of the same CRM (same stages and currency), e.g. last week's export and
        this week's, or ``p.as_of(d1)`` and ``p.as_of(d2)`` of one export with stage history.
    period
        Count only the open deals expected to close in it (a `Period` or a label such as
        ``"2024-Q4"``): a close date moved across its edge is ``pulled_in`` or ``pushed_out``.
        None (default): every open deal counts, and nothing is pulled in or pushed out.
    by
        Field name(s) to group by, e.g. ``"owner"``: a `PipelineChanges` per group, with two
        more movements, ``moved_in`` and ``moved_out``, for deals whose group changed (say,
        reassigned to another owner): the deal's value before leaves its old group and enters
        the new one, where its other movements then apply. Every group reconciles, and the
        groups' totals add up to the whole (``moved_in`` and ``moved_out`` cancel out).
    weighted
        True or False (default). Values weighted by the probability to close, as
        `weighted_pipeline` computes them: the deal's own probability if it has one, else its
        stage's.

    Returns
    -------
    PipelineChanges or GroupedResult
        ``start``, ``end`` and ``totals`` [major currency units] (``reweighted`` only with
        ``weighted=True``; ``moved_in``, ``moved_out`` only with ``by``); ``deals`` (one row per
        changed deal, ``to_pandas()``); ``advanced`` and ``regressed``: per open stage, the deals
        open in both snapshots (counted in one) that left it for a later or an earlier open stage.

    Warns
    -----
    DataQualityWarning
        For counted deals without an amount (they count 0, so their movements are
        understated); with ``period``, for open deals without an expected close date (in no
        period, left out); and for two non-empty snapshots where under half of the smaller
        one's ids are found in the other (ids spelled differently: ``"1"`` and ``"001"``, 15-
        and 18-character Salesforce ids), as every deal would show as removed and new.

    Notes
    -----
    ``start`` equals `pipeline_value` (or `weighted_pipeline`, to the bit: summed the same
    way) of ``before`` for the same period, and ``end`` that of ``after``. Sums are exact in
    integer minor units (``start_minor + sum(totals_minor.values()) == end_minor``); weighted
    values are floats and reconcile to rounding. ``fx`` appears in ``totals`` only when both
    snapshots were converted with ``rates=``. The stages must be the same in both; with
    ``weighted=True`` their probabilities too. Revenue platforms call this the pipeline
    waterfall or "pipeline movement"; Salesforce's historical trending reports and HubSpot's
    deal change history show the same per deal.

    References
    ----------
    1. Salesforce Help, "Historical Trend Reporting".
    2. Clari, "Pipeline waterfall / pipeline flow" (the inflows and outflows of a forecast).

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, pipeline_changes
    >>> before = Pipeline.from_deals([
    ...     Deal("A", 100, "Proposal"), Deal("B", 50, "Meeting"), Deal("C", 30, "Meeting")])
    >>> after = Pipeline.from_deals([
    ...     Deal("A", 100, "Closed won", close_date="2024-03-01"),
    ...     Deal("B", 80, "Proposal"), Deal("D", 20, "Meeting")])
    >>> c = pipeline_changes(before, after)     # 180 → 100: +20 new, −100 won, −30 removed, +30
    >>> c.start, c.end, c.totals["won"], c.totals["increased"], c.totals["removed"]
    (180.0, 100.0, -100.0, 30.0, -30.0)
    >>> c.advanced["Meeting"]
    1
    """
    function = "pipeline_changes"
    check_bool(function, "weighted", weighted)
    before, after = check_pair(function, before, after, probabilities=bool(weighted))
    chosen = resolve_period(function, period)
    fields = normalize_by(function, by)
    for name in fields:  # an unknown field is a DataError naming the valid ones and the side
        for side, p in (("before", before), ("after", after)):
            try:
                p.labels(name)
            except DataError as error:
                raise DataError(f"{function}(): by={name!r} is missing from {side}: "
                                f"{error}") from None
    probs = (stage_probabilities(function, before.stage_names, before.stage_probabilities, None)
             if weighted else None)
    m = moves(before, after, chosen, bool(weighted), probs)
    warn_changes(function, before, after, m, chosen)
    warn_few_matches(function, before, after, m)
    parts = _assemble(before, after, m, fields, probs, chosen)
    if not fields:
        return parts[0][1]
    return GroupedResult(fields, [k for k, _ in parts], [v for _, v in parts],
                         name=function, unit="money", currency=before.currency)


def slip_rate(
    before: Pipeline, after: Pipeline, *, period: PeriodLike, basis: Basis = "unit"
) -> float:
    r"""Slip rate: the share of the deals expected to close in a period that did not close by
    its end.

    $$
    s = \frac{\#\{i \in E : i \text{ not won or lost by the end of } P
        \text{ in } \textit{after}\}}{\# E}
    $$

    where $E$ is the set of deals open in ``before`` with an expected close date in the period
    $P$. A deal of $E$ slipped when ``after`` does not show it won or lost (or closed without
    a decision) with a close date before $P$'s end: pushed out, still open, or removed. A deal
    closed earlier than expected, even before $P$ began, did not slip.

    Parameters
    ----------
    before, after
        Two snapshots of the same CRM; ``after`` is typically taken at or after the period's end.
    period
        The period (a `Period` or a label such as ``"2024-Q4"``); required.
    basis
        ``"unit"`` (default) counts deals; ``"value"`` weighs them by their amount in ``before``.

    Returns
    -------
    float
        The slip rate [fraction]; nan when no deal was expected in the period.

    Warns
    -----
    DataQualityWarning
        For two non-empty snapshots where under half of the smaller one's ids are found in
        the other (ids spelled differently), as every expected deal would seem to slip; with
        ``basis="value"``, for expected deals without an amount (counted as 0) and for
        expected deals whose amounts add up to 0 (the value slip rate is nan).

    Notes
    -----
    The complement of the forecast's "close rate of commit"; sales leaders watch it per week
    in the pipeline review (Clari and Gong call these deals *slipped*). With
    ``basis="value"``, deals without an amount count 0, and if the expected deals' amounts
    add up to 0, the value slip rate is nan. A deal of $E$ without a close date in ``after``
    is open there (a closed deal always has one), so it slipped.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, slip_rate
    >>> before = Pipeline.from_deals([
    ...     Deal("A", 100, "Proposal", close_date="2024-03-10"),
    ...     Deal("B", 300, "Proposal", close_date="2024-03-20")])
    >>> after = Pipeline.from_deals([
    ...     Deal("A", 100, "Closed won", close_date="2024-03-12"),
    ...     Deal("B", 300, "Proposal", close_date="2024-04-15")])  # pushed out
    >>> slip_rate(before, after, period="2024-Q1"), slip_rate(before, after, period="2024-Q1",
    ...                                                          basis="value")
    (0.5, 0.75)
    """
    function = "slip_rate"
    before, after = check_pair(function, before, after)
    chosen = the_period(function, period)
    check_option(function, "basis", basis, BASES)
    in_after, only_after = match_ids(before.ids, after.ids)  # one join, for both uses
    warn_few_ids(function, before, after, in_after, only_after)
    expected = np.flatnonzero((before.outcome_codes == OPEN)
                              & chosen.contains(before.close_date))
    rows = in_after[expected]
    found = rows >= 0
    closed = np.zeros(len(expected), dtype=bool)
    there = rows[found]
    when = after.close_date[there]
    closed[found] = ((after.outcome_codes[there] != OPEN)
                     & (when < np.datetime64(chosen.end, "D")))  # NaT compares False
    if basis == "unit":
        return float(divide(np.array((~closed).sum()), np.array(len(expected)), np.nan))
    amount = before.amount_minor[expected]
    warn_missing_amounts(function, int(before.amount_missing[expected].sum()), len(expected),
                         deals="deals expected in the period",
                         effect="counted as 0 in the value slip rate")
    slipped = int(amount[~closed].sum(dtype=np.int64))
    total = int(amount.sum(dtype=np.int64))
    if len(expected) and not total:
        warnings.warn(
            f"{function}(): the {plural(len(expected), 'deal')} expected in {chosen.label} "
            f"{'has an amount' if len(expected) == 1 else 'add up to an amount'} of 0 in "
            "before, so the value slip rate is undefined (nan). "
            "Fix: fill in their amounts, or use basis='unit'", DataQualityWarning,
            stacklevel=2)
    return float(divide(np.array(slipped), np.array(total), np.nan))
