"""Time in stage and the age of open deals, from the stage history.

A *visit* is a deal's stay in an open stage: from the stage-history event that entered it to the
deal's next event (for a closed deal whose history has no closing event, to its close date; for
the current stage of an open deal, to ``as_of``). The events are sorted by (deal, date) once,
when the history loads, so the visits are one ``np.diff``-like step over them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import DayCounts
from salesmetrics._render import format_days, format_number, html_table, text_table
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN
from salesmetrics.errors import DataError, DataQualityWarning, OptionError, check_option
from salesmetrics.metrics._common import check_bool, check_pipeline, divide, plural
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._stage_table import StageTable
from salesmetrics.metrics._summary import as_of_date, grouping, normalize_by
from salesmetrics.metrics.cycle import check_statistic, warn_fraction_percentile
from salesmetrics.metrics.options import DEAL_OUTCOMES, OUTCOME_CODES, By, DealOutcome, Statistic

__all__ = ["REENTRIES", "DealAges", "Reentry", "StageTimes", "deal_age", "last_change",
           "time_in_stage"]

IntArray = npt.NDArray[np.intp]
#: How repeated visits of a deal to one stage count: all of them added up, or the last one.
Reentry: TypeAlias = Literal["cumulative", "latest"]
REENTRIES: tuple[Reentry, ...] = ("cumulative", "latest")
_SHOWN = 10


class StageTimes(StageTable[float]):
    """Days in each open stage [days], in funnel order (nan where no deal entered the stage),
    with the number of deals each value is over (`deals`)."""

    __slots__ = ("deals", "statistic")

    def __init__(self, values: Mapping[str, float], deals: Mapping[str, int],
                 statistic: str | float) -> None:
        super().__init__(values)
        #: Deals counted per stage (those with a visit to it).
        self.deals: dict[str, int] = dict(deals)
        #: The statistic: ``"mean"``, ``"median"`` or a percentile.
        self.statistic = statistic

    def _title(self) -> str:
        stat = self.statistic if isinstance(self.statistic, str) else (
            f"p{format_number(self.statistic)}")
        return f"time_in_stage ({stat})"

    def _table(self) -> tuple[list[str], list[list[str]]]:
        return ["stage", "days", "deals"], [[s, format_days(v), format_number(self.deals[s])]
                                            for s, v in self.items()]

    def _cells(self) -> list[tuple[str, str]]:
        return [(s, format_days(v)) for s, v in self.items()]

    def _record(self) -> dict[str, float]:
        return dict(self)

    def to_dict(self) -> dict[str, float]:
        """A plain dict stage → days."""
        return dict(self)

    def to_pandas(self) -> Any:
        """A DataFrame indexed by stage: ``days`` and ``deals``."""
        import pandas as pd

        return pd.DataFrame({"days": list(self.values()), "deals": list(self.deals.values())},
                            index=pd.Index(list(self), name="stage"))


def _history_of(function: str, p: Pipeline) -> Any:
    if p.history is None:
        raise DataError(
            f"{function}() needs the stage history, and this pipeline has none; load it with "
            "history= (a table of id, stage, date) or stage_entered= (a date column per stage)"
        )
    return p.history


def _visits(
    p: Pipeline, day: np.datetime64, include_open: bool, deals: npt.NDArray[np.bool_],
) -> tuple[IntArray, IntArray, npt.NDArray[np.int64], int]:
    """Deal row, open stage and length [days] of every visit of the ``deals`` (a mask), and
    how many finished visits end before they start (left out).

    Events after ``day`` (as_of) are ignored: a visit entered after it is not counted, and a
    visit still running on it (its next event, or its close date, after ``day``; or the current
    stage of an open deal) is unfinished: left out, or with ``include_open`` ended at ``day``."""
    h = p.history
    assert h is not None
    rows, stages = h.rows, h.stages
    start = h.dates.astype("datetime64[D]").astype(np.int64)
    if len(rows) > 1 and not bool(np.all((rows[1:] > rows[:-1]) | (
            (rows[1:] == rows[:-1]) & (start[1:] >= start[:-1])))):
        order = np.lexsort((start, rows))  # a hand-built history; loaded ones are sorted
        rows, stages, start = rows[order], stages[order], start[order]
    has_next = np.zeros(len(rows), dtype=bool)
    has_next[:-1] = rows[1:] == rows[:-1]
    end = np.zeros(len(rows), dtype=np.int64)
    end[:-1] = start[1:]
    is_open = p.outcome_codes[rows] == OPEN
    close = p.close_date.astype("datetime64[D]")[rows]
    last_closed = ~has_next & ~is_open
    end[last_closed] = close[last_closed].astype(np.int64)
    current = ~has_next & is_open & (stages == p.stage_codes[rows])
    known = has_next | (last_closed & ~np.isnat(close))
    if not np.isnat(day):  # events after as_of are ignored: later visits, and later ends
        d = np.int64(day.astype(np.int64))
        entered = start <= d
        current = entered & (current | (known & (end > d)))  # unfinished on as_of
        known &= entered & ~current
        end[current] = d
        if include_open:
            known |= current
    keep = known & (stages < p.n_open_stages) & deals[rows]
    length = end - start
    finished = keep & ~current
    backwards = int((finished & (length < 0)).sum())
    keep &= length >= 0
    return rows[keep], stages[keep], length[keep], backwards


def _per_deal(rows: IntArray, stages: IntArray, days: npt.NDArray[np.int64], n_open: int,
              reentry: str) -> tuple[IntArray, IntArray, npt.NDArray[np.int64]]:
    """One value per (deal, stage) visited: the visits added up, or the last one."""
    key = rows.astype(np.int64) * n_open + stages
    if reentry == "cumulative":
        unique, inverse = np.unique(key, return_inverse=True)
        total = np.bincount(inverse.reshape(-1), weights=days, minlength=len(unique))
        values = np.rint(total).astype(np.int64)
    else:
        order = np.argsort(key, kind="stable")  # visits of one (deal, stage) stay in date order
        sorted_key = key[order]
        last = np.ones(len(sorted_key), dtype=bool)
        last[:-1] = sorted_key[1:] != sorted_key[:-1]
        unique, values = sorted_key[last], days[order][last]
    deal, stage = np.divmod(unique, n_open)
    return deal.astype(np.intp), stage.astype(np.intp), values


@overload
def time_in_stage(
    p: Pipeline, *, statistic: Statistic = ..., outcome: DealOutcome | None = ..., by: None = None,
    reentry: Reentry = ..., include_open: bool = ..., as_of: Any = ...,
) -> StageTimes: ...
@overload
def time_in_stage(
    p: Pipeline, *, statistic: Statistic = ..., outcome: DealOutcome | None = ...,
    by: str | Sequence[str], reentry: Reentry = ..., include_open: bool = ..., as_of: Any = ...,
) -> GroupedResult[StageTimes]: ...
@overload
def time_in_stage(
    p: Pipeline, *, statistic: Statistic = ..., outcome: DealOutcome | None = ..., by: By = ...,
    reentry: Reentry = ..., include_open: bool = ..., as_of: Any = ...,
) -> StageTimes | GroupedResult[StageTimes]: ...
def time_in_stage(
    p: Pipeline,
    *,
    statistic: Statistic = "mean",
    outcome: DealOutcome | None = None,
    by: By = None,
    reentry: Reentry = "cumulative",
    include_open: bool = False,
    as_of: Any = None,
) -> StageTimes | GroupedResult[StageTimes]:
    r"""Days spent in each open stage, from the stage history [days].

    A visit to stage $k$ lasts from the event that entered $k$ to the deal's next event
    (a closed deal's last visit ends on its close date when its history has no closing event).
    Per deal $i$ that entered $k$, $t_{ik}$ is the sum of its visits (``"cumulative"``) or the
    last one (``"latest"``), and

    $$
    T_k = \operatorname{stat}_{i \text{ entered } k}\; t_{ik}
    $$

    Parameters
    ----------
    p
        The pipeline, with its stage history (``history=`` or ``stage_entered=``).
    statistic
        ``"mean"`` (default), ``"median"`` or a percentile in [0, 100], as in
        `sales_cycle_length` (exact, from sparse day counts; ``0.9`` warns, as there).
    outcome
        Which deals: None (default: all), ``"won"``, ``"lost"`` (lost and no decision),
        ``"closed"`` or ``"open"``. ``"won"`` answers "how long do deals we win sit in
        Proposal?", the view of Salesforce's stage-duration reports.
    by
        Field name(s) to group by; a `GroupedResult` of `StageTimes`, one per group with a deal
        of ``outcome``.
    reentry
        ``"cumulative"`` (default: every visit of a deal to a stage added up, HubSpot's
        "cumulative time in stage") or ``"latest"`` (only its last visit, HubSpot's "latest
        time in stage").
    include_open
        False (default): the current, unfinished visit of an open deal is left out (its earlier
        visits count). True: it counts up to ``as_of``.
    as_of
        The day the history is read up to (default: `Pipeline.latest_date`, on or after every
        event, so nothing is cut). Events after it are ignored: a stage entered after ``as_of``
        is not counted, and a visit still running on ``as_of`` (its next event, or the close
        date that ends it, comes later; or it is the current stage of an open deal) is
        unfinished on that day, like a current visit: left out, or, with
        ``include_open=True``, counted up to ``as_of``. The visits are then those of
        ``p.as_of(as_of)``; ``outcome=`` still reads each deal's outcome in ``p`` (use
        ``time_in_stage(p.as_of(d), as_of=d)`` for the outcomes as they stood on ``d``).

    Returns
    -------
    StageTimes or GroupedResult
        Open stage name → days [days], nan where no deal of ``outcome`` visited the stage;
        ``deals`` gives the count behind each value.

    Raises
    ------
    DataError
        When the pipeline has no stage history (no number could be measured).

    Warns
    -----
    DataQualityWarning
        When finished visits end before they start (a close date before the deal's last stage
        change): they are left out, with their count.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, time_in_stage
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 100, "Closed won", created="2024-01-01", close_date="2024-01-31",
    ...          history=[("Initial contact", "2024-01-01"), ("Proposal", "2024-01-11"),
    ...                   ("Closed won", "2024-01-31")])])
    >>> t = time_in_stage(p)
    >>> t["Initial contact"], t["Proposal"]
    (10.0, 20.0)
    """
    function = "time_in_stage"
    check_pipeline(function, p)
    stat = check_statistic(function, statistic)
    warn_fraction_percentile(function, stat, 3)
    if outcome is not None:
        check_option(function, "outcome", outcome, DEAL_OUTCOMES)
    check_option(function, "reentry", reentry, REENTRIES)
    check_bool(function, "include_open", include_open, OptionError)
    day = as_of_date(as_of, p)
    _history_of(function, p)
    fields = normalize_by(function, by)
    g = grouping(p, fields)
    deals = (np.ones(len(p), dtype=bool) if outcome is None
             else np.isin(p.outcome_codes, OUTCOME_CODES[outcome]))
    rows, stages, days, backwards = _visits(p, day, bool(include_open), deals)
    if backwards:
        warnings.warn(
            f"{function}(): left out {plural(backwards, 'visit')} that "
            f"{'ends' if backwards == 1 else 'end'} before it starts (a close date before the "
            "deal's last stage change). Fix the close dates or the history dates in the CRM",
            DataQualityWarning, stacklevel=2,
        )
    n_open = p.n_open_stages
    deal, stage, value = _per_deal(rows, stages, days, n_open, reentry)
    group = np.zeros(len(deal), dtype=np.intp) if g.keys is None else g.keys[deal]
    cell = group * n_open + stage
    counts = np.bincount(cell, minlength=g.n * n_open).reshape(g.n, n_open)
    if stat == "mean":
        sums = np.bincount(cell, weights=value, minlength=g.n * n_open).reshape(g.n, n_open)
        table = divide(sums, counts, math.nan)
    else:
        q = 50.0 if stat == "median" else float(stat)
        hist = DayCounts.tally(g.n, n_open, cell, value)
        table = np.column_stack([hist.combine([k]).percentile(q) for k in range(n_open)]
                                ) if n_open else np.zeros((g.n, 0))
    names = p.open_stage_names

    def times(row: int) -> StageTimes:
        return StageTimes(dict(zip(names, table[row].tolist(), strict=True)),
                          dict(zip(names, counts[row].tolist(), strict=True)), stat)

    if not fields:
        return times(0)
    present = np.flatnonzero(np.bincount(g.keys[deals] if g.keys is not None else [],
                                         minlength=g.n))
    keys: list[Hashable] = g.decode(present)
    return GroupedResult(fields, keys, [times(int(r)) for r in present], name=function,
                         unit="days")


def last_change(p: Pipeline, day: np.datetime64) -> npt.NDArray[np.datetime64]:
    """Each deal's last stage-history event on or before ``day``, else its created date
    [datetime64[D]]."""
    last = p.created.astype("datetime64[D]").copy()
    history = p.history
    if history is not None and len(history) and not np.isnat(day):
        keep = history.dates <= day
        rows, dates = history.rows[keep], history.dates[keep]
        if len(rows):  # events are sorted by (row, date): a deal's last event ends its run
            ends = np.flatnonzero(np.append(rows[1:] != rows[:-1], True))
            last[rows[ends]] = dates[ends]
    return last


class DealAges:
    """Per open deal: days since it was created and days in its current stage [days].

    Columns ``id``, ``stage``, ``age`` and ``days_in_stage`` (`to_pandas`); `mean_by_stage`
    gives their means per open stage.
    """

    __slots__ = ("_stage_codes", "_stages", "age", "as_of", "days_in_stage", "ids", "stage")

    def __init__(self, *, as_of: np.datetime64, ids: npt.NDArray[Any],
                 stage_codes: IntArray, stages: tuple[str, ...],
                 age: npt.NDArray[np.float64], days_in_stage: npt.NDArray[np.float64]) -> None:
        #: The day ages are counted to [datetime64[D]].
        self.as_of = as_of
        #: The open deals' ids.
        self.ids = ids
        #: Days since created [days], nan without a created date.
        self.age = age
        #: Days since the deal's last stage change, else since created [days].
        self.days_in_stage = days_in_stage
        self._stage_codes = stage_codes
        self._stages = stages
        #: Each deal's current stage.
        self.stage = np.asarray(stages, dtype=object)[stage_codes]

    def __len__(self) -> int:
        return len(self.ids)

    def mean_by_stage(self) -> dict[str, tuple[int, float, float]]:
        """Per open stage: (deals, mean age, mean days in stage) [days]; nan where no deal.

        Deals whose value is unknown (nan) are left out of that mean."""
        n = len(self._stages)
        out = {}
        counts = np.bincount(self._stage_codes, minlength=n)
        means = []
        for values in (self.age, self.days_in_stage):
            known = ~np.isnan(values)
            s = np.bincount(self._stage_codes[known], weights=values[known], minlength=n)
            c = np.bincount(self._stage_codes[known], minlength=n)
            means.append(divide(s, c, math.nan))
        for k, name in enumerate(self._stages):
            out[name] = (int(counts[k]), float(means[0][k]), float(means[1][k]))
        return out

    def to_pandas(self) -> Any:
        """A DataFrame: ``id``, ``stage``, ``age``, ``days_in_stage`` [days], one row per deal."""
        import pandas as pd

        return pd.DataFrame({"id": self.ids, "stage": self.stage, "age": self.age,
                             "days_in_stage": self.days_in_stage})

    def _table(self) -> tuple[list[str], list[list[str]]]:
        rows = [[s, format_number(n), format_days(a), format_days(d)]
                for s, (n, a, d) in self.mean_by_stage().items()]
        return ["stage", "deals", "mean age", "mean days in stage"], rows

    def __repr__(self) -> str:
        header, rows = self._table()
        when = (f"as of {self.as_of}" if not np.isnat(self.as_of)
                else "with no date on record to count ages to (give as_of=)")
        return "\n".join([f"deal_age {when}: {plural(len(self), 'open deal')}",
                          *text_table(header, rows)])

    def _repr_html_(self) -> str:
        header, rows = self._table()
        return html_table(header, rows)


def deal_age(p: Pipeline, *, as_of: Any = None) -> DealAges:
    r"""Age of each open deal and days in its current stage [days].

    $$
    \text{age}_i = \text{as\_of} - \text{created}_i, \qquad
    \text{days\_in\_stage}_i = \text{as\_of} - \text{last change}_i
    $$

    where the last change is the deal's last stage-history event on or before ``as_of``, else
    its created date (as `hygiene` counts ``stalled``). Deals created after ``as_of`` are left
    out; a deal without a created date has nan age.

    Parameters
    ----------
    p
        The pipeline.
    as_of
        The day ages are counted to (default: `Pipeline.latest_date`).

    Returns
    -------
    DealAges
        One row per open deal (``to_pandas()``), and ``mean_by_stage()``.

    Warns
    -----
    DataQualityWarning
        When the pipeline has no stage history: days in stage are then counted from creation.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, deal_age
    >>> p = Pipeline.from_deals([Deal("A", 100, "Proposal", created="2024-01-01",
    ...                               history=[("Proposal", "2024-01-21")])])
    >>> a = deal_age(p, as_of="2024-01-31")
    >>> a.age.tolist(), a.days_in_stage.tolist()
    ([30.0], [10.0])
    """
    function = "deal_age"
    check_pipeline(function, p)
    day = as_of_date(as_of, p)
    if p.history is None and len(p):
        warnings.warn(
            f"{function}(): the pipeline has no stage history, so days in stage are counted "
            "from each deal's created date. Fix: load the history with history= or "
            "stage_entered=", DataQualityWarning, stacklevel=2)
    created = p.created.astype("datetime64[D]")
    keep = (p.outcome_codes == OPEN) & ~(created > day)
    rows = np.flatnonzero(keep)
    last = last_change(p, day)[rows]

    def days_to(dates: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
        out = (day - dates).astype(np.float64)  # NaT → nan
        out[np.isnat(dates)] = math.nan
        return out

    return DealAges(as_of=day, ids=p.ids[rows], stage_codes=p.stage_codes[rows],
                    stages=p.open_stage_names, age=days_to(created[rows]),
                    days_in_stage=days_to(last))
