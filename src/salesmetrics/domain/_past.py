"""The pipeline on a past date, rebuilt from the stage history (`PipelinePast`, a base of
`Pipeline`, with `Pipeline.as_of`).

Every step is a vectorized pass over the deals or the events: the history is sorted by deal row
then date, so the events a deal entered on or before a date are a prefix of its own events, and
its last one is found from the per-deal counts, with no Python loop per deal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import readonly
from salesmetrics.domain.dates import to_date
from salesmetrics.domain.history import StageHistory
from salesmetrics.domain.stage import OPEN, process_facts
from salesmetrics.errors import DataError, DataTypeError, SalesMetricsError

if TYPE_CHECKING:
    from salesmetrics.domain.pipeline import Pipeline

__all__ = ["PastState", "PipelinePast", "past_day", "state_on"]

IntArray = npt.NDArray[np.intp]
DateArray = npt.NDArray[np.datetime64]

NO_HISTORY = (
    "Pipeline.as_of(): the pipeline has no stage history, and a deal's stage on a past date "
    "cannot be known without one; load the history with history= (a table of id, stage and "
    "date, one row per stage entered) or stage_entered= (one date column per stage, e.g. "
    "HubSpot's 'Date entered' columns) in Pipeline.from_columns, read_csv or a CRM adapter"
)


def past_day(date: object, *, function: str = "Pipeline.as_of()", field: str = "date"
             ) -> np.datetime64:
    """``date`` (anything `dates.to_date` accepts) as a day [datetime64[D]]; a missing or
    unreadable value is a `DataError`, a value of another type a `DataTypeError`, both naming
    ``field``."""
    try:
        day = to_date(date, field=field)
    except DataTypeError:
        raise DataTypeError(f"{function}: {field} must be a date such as '2024-06-30', got "
                            f"{date!r}") from None
    except (SalesMetricsError, ValueError, OverflowError):
        day = None
    if day is None:
        raise DataError(f"{function}: {field} must be a date such as '2024-06-30', got {date!r}")
    return np.datetime64(day, "D")


class PastState(NamedTuple):
    """The deals of a pipeline as they stood on a day (see `state_on`)."""

    #: Rows of the deals that existed on the day [intp], ascending.
    rows: IntArray
    #: Their stage on the day [intp, index into the stages].
    stages: IntArray
    #: Their close dates [datetime64[D]]: today's, except as `PipelinePast.as_of` says.
    close_date: DateArray
    #: Their events entered on or before the day, rows renumbered over ``rows``.
    history: StageHistory


def state_on(p: Pipeline, day: np.datetime64) -> PastState:
    """Which deals existed on ``day``, their stage then and their history up to it (the rules
    are those of `PipelinePast.as_of`). Vectorized: per-deal counts and one gather."""
    events = p.history
    if events is None:
        raise DataError(NO_HISTORY)
    n = len(p)
    facts = process_facts(p.stages)
    closed_stage = facts.outcomes != OPEN
    current = p.stage_codes
    closed_now = closed_stage[current]
    rows, codes, dates = events.rows, events.stages, events.dates

    counts = np.bincount(rows, minlength=n)
    first = np.cumsum(counts) - counts  # index of each deal's first event
    by_day = dates <= day  # a prefix of each deal's events (sorted by date within a deal)
    entered = np.bincount(rows[by_day], minlength=n)
    has_event = entered > 0
    last = np.where(has_event, first + entered - 1, 0)
    last_stage = codes[last] if len(codes) else np.zeros(n, np.intp)
    last_date = dates[last] if len(dates) else np.full(n, np.datetime64("NaT", "D"))

    # A closed deal with no closing event on record: its close date stands for that event (it
    # comes after the deal's other events of the same day).
    recorded_close = np.bincount(rows[closed_stage[codes]], minlength=n) > 0
    stand_in = closed_now & ~recorded_close & (p.close_date <= day)
    stand_in &= ~has_event | (p.close_date >= last_date)

    # Before its first event on record a deal is in its first stage: that of its first event, or
    # its current stage for a deal without events. One whose first known stage is closed, but
    # that had not closed by the day, was open in a stage not on record: the first stage.
    first_stage = np.where(counts > 0, codes[np.minimum(first, max(len(codes) - 1, 0))],
                           current) if len(codes) else current.copy()
    first_stage = np.where(closed_stage[first_stage], 0, first_stage)
    stage = np.where(stand_in, current, np.where(has_event, last_stage, first_stage))

    created = p.created
    # A deal without a created date is absent only while all its events (the stand-in closing
    # event included) are still to come: one without any is present on every date.
    no_events = (counts == 0) & ~closed_now
    present = np.where(np.isnat(created), has_event | stand_in | no_events, created <= day)
    keep = np.flatnonzero(present)

    # A deal closed on the day has a close date on or before it: today's, unless that is missing
    # or later (a deal reopened since, or dated late), then the day it entered its closed stage.
    close = p.close_date.copy()
    closed_then = closed_stage[stage] & ~stand_in & ((close > day) | np.isnat(close))
    close[closed_then] = last_date[closed_then]

    in_past = by_day & present[rows]
    renumber = np.cumsum(present, dtype=np.intp) - 1
    history = StageHistory(readonly(renumber[rows[in_past]]), readonly(codes[in_past]),
                           readonly(dates[in_past]))
    return PastState(keep, stage[keep].astype(np.intp, copy=False), close[keep], history)


class PipelinePast:
    """`Pipeline.as_of` (a base class of `Pipeline`, so that the rebuilding lives here)."""

    __slots__ = ()

    def as_of(self, date: object) -> Pipeline:
        """The pipeline as it stood on a past ``date``, rebuilt from the stage history.

        - **Which deals.** Deals created after ``date`` are absent. A deal without a created
          date is absent only while all its events are still to come: it is present once it
          has a stage-history event on or before ``date`` (or, closed without a closing event,
          a close date on or before it, which stands for that event), and on every date if it
          has no events at all (an open deal without history).
        - **Stage.** Each deal's stage is the last one it entered on or before ``date``. If it
          entered none by then, it is in its first stage: the stage of its first event on
          record, or its current stage if it has no events. If that first known stage is a
          closed one (the deal had not closed yet), the stage it was in is not on record and it
          is put in the first stage of the process.
        - **Closed.** A deal is closed on ``date`` only if it entered a closed stage on or before
          it; for a closed deal with no closing event in the history, its close date counts as
          that event (on its day, after the deal's other events of that day; events recorded
          after it, if any, follow it as the history says). The outcome is
          that of the stage: a deal lost on ``date`` and won since is lost on ``date``, and a
          deal closed then and reopened since is closed.
        - **Today's values.** Amounts, close dates, probability overrides and label fields
          (owner…) are today's: the history of those fields is not in the stage history. The
          one exception: a deal closed on ``date`` whose close date today is missing or after
          ``date`` takes the day it entered its closed stage.
        - **History.** The result keeps the events on or before ``date``.

        A date on or after `latest_date` gives each deal the stage of its last event, which
        is its current one where the history is complete.

        Parameters
        ----------
        date
            The day: a date, datetime, ``numpy.datetime64`` or ISO string, as the data's dates.

        Returns
        -------
        Pipeline
            The deals that existed on ``date``, in their order, with their stage then.

        Raises
        ------
        DataError
            If the pipeline has no stage history (load one with ``history=`` or
            ``stage_entered=``), or ``date`` is missing or not a date.

        Examples
        --------
        >>> from salesmetrics import Deal, Pipeline
        >>> p = Pipeline.from_deals([
        ...     Deal("A", 100, "Closed won", created="2024-01-02", close_date="2024-03-01",
        ...          owner="ana", history=[("Meeting", "2024-01-02"), ("Proposal", "2024-02-01")]),
        ...     Deal("B", 50, "Proposal", created="2024-03-10", owner="bo"),
        ... ])
        >>> p.as_of("2024-02-15")  # B did not exist yet; A was in Proposal
        Pipeline(1 deal: 1 open, 0 won, 0 lost, 0 no decision; fields: owner; history: 2 events)
        >>> p.as_of("2024-02-15").deal("A").stage, p.as_of("2024-03-01").deal("A").stage
        ('Proposal', 'Closed won')
        """
        p = cast("Pipeline", self)
        state = state_on(p, past_day(date))
        return p._rows(state.rows, state.history, state.stages, state.close_date)
