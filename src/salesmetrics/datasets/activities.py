"""A synthetic activity log that goes with `sample_pipeline`: the same owners, teams and deal ids.

Generated from a fixed seed when first asked for (never at import) and cached. Everything is
vectorized: the loop runs over the dozen kinds of step below, each drawing its counts for every
stage-history event at once.

What is in it:

- prospecting before each deal was created: outreach emails and calls in the three weeks
  before, without a deal id (no deal existed yet);
- on the deal, when it enters a stage: a discovery call, meetings, the proposal sent (and now
  and then a revised one), negotiation calls, and follow-up emails throughout, with its deal id;
- on a closed deal, nothing after its close date: the spread after a stage event stops at the
  close date, and a stage entered after it (a late history entry) brings no activity, so a
  meeting or proposal is only on a deal that reached that stage before it closed;
- owners differ in how much they do (``_HUSTLE``), dates never pass ``SAMPLE_AS_OF``;
- weekly targets per owner in `SAMPLE_ACTIVITY_TARGETS`.
"""

from __future__ import annotations

import functools

import numpy as np

from salesmetrics.datasets.sample import SAMPLE_AS_OF, sample_pipeline
from salesmetrics.domain.activity import Activities
from salesmetrics.domain.stage import OPEN

__all__ = ["SAMPLE_ACTIVITY_TARGETS", "sample_activities"]

_SEED = (20240601, 11)
#: Per stage entered (code in the sample's stages; 0 is creation) and kind: the mean count and
#: the days after the event over which they spread (negative: before it, for prospecting).
_STEPS = (
    (0, "email", 6.0, -21), (0, "call", 4.0, -21), (0, "follow_up", 1.0, 5),
    (1, "call", 1.0, 4), (1, "follow_up", 1.0, 6),
    (2, "meeting", 1.2, 5), (2, "follow_up", 1.0, 6),
    (3, "proposal", 1.0, 3), (3, "follow_up", 1.5, 6), (3, "call", 0.5, 6),
    (4, "call", 1.0, 6), (4, "meeting", 0.5, 6), (4, "follow_up", 1.0, 6),
)  # fmt: skip
#: How much each owner does, relative to the mean (the sample's owners, in its order).
_HUSTLE = {
    "Ava Patel": 1.1, "Ben Okafor": 0.9, "Chloe Martin": 1.0, "Diego Santos": 0.8,
    "Elena Rossi": 1.2, "Farid Haddad": 1.0, "Grace Kim": 0.9, "Hugo Weber": 1.0,
    "Ines Duarte": 1.3, "Jonas Berg": 1.1, "Kira Novak": 0.7, "Liam Byrne": 1.0,
}  # fmt: skip

SAMPLE_ACTIVITY_TARGETS: dict[str, int] = {
    "email": 8, "call": 8, "follow_up": 5, "meeting": 2, "proposal": 1,
}  # fmt: skip
"""Weekly activity targets per owner [activities per owner per ISO week], for
`activity_vs_target`: about what an owner of the sample does in an average week."""


@functools.lru_cache(maxsize=1)
def sample_activities() -> Activities:
    """The bundled sample activity log (deterministic; see the module docstring).

    Returns
    -------
    Activities
        About 30,000 activities of the five standard kinds, with ``owner``, ``deal_id`` (None
        for prospecting) and a ``team`` field, consistent with `sample_pipeline`.

    Examples
    --------
    >>> from salesmetrics.datasets import sample_activities, sample_pipeline
    >>> a = sample_activities()
    >>> a.kinds
    ('email', 'call', 'follow_up', 'meeting', 'proposal')
    >>> linked = a.categories("deal_id")[a.codes("deal_id")]
    >>> set(linked[linked != None]) <= set(sample_pipeline().ids)  # noqa: E711
    True
    """
    p = sample_pipeline()
    history = p.history
    assert history is not None
    rng = np.random.default_rng(_SEED)
    owner_codes, owners = p.codes("owner"), p.categories("owner")
    hustle = np.array([_HUSTLE.get(str(o), 1.0) for o in owners.tolist()])[owner_codes]
    as_of = np.datetime64(SAMPLE_AS_OF, "D")
    close = p.close_date.astype("datetime64[D]")
    closed = (p.outcome_codes != OPEN) & ~np.isnat(close)
    event_dates = history.dates.astype("datetime64[D]")
    rows, kinds, dates, linked = [], [], [], []
    for stage, kind, mean, spread in _STEPS:  # a dozen steps, each over every event at once
        events = np.flatnonzero(history.stages == stage)
        deal = history.rows[events]
        if spread >= 0:  # on the deal: only stages reached by its close, and never after it
            reached = ~closed[deal] | (event_dates[events] <= close[deal])
            events, deal = events[reached], deal[reached]
            room = np.where(closed[deal], (close[deal] - event_dates[events]).astype(np.int64),
                            spread)
            high = np.minimum(spread, room)
        else:
            high = np.full(len(events), -spread)
        counts = rng.poisson(mean * hustle[deal])
        at = np.repeat(event_dates[events], counts)
        days = rng.integers(0, np.repeat(high, counts) + 1)
        day = at + (-days - 1 if spread < 0 else days).astype("timedelta64[D]")
        keep = day <= as_of
        rows.append(np.repeat(deal, counts)[keep])
        kinds.append(np.full(int(keep.sum()), kind, dtype=object))
        dates.append(day[keep])
        linked.append(np.full(int(keep.sum()), spread >= 0))
    row, kind_col, date = np.concatenate(rows), np.concatenate(kinds), np.concatenate(dates)
    on_deal = np.concatenate(linked)
    order = np.lexsort((row, date))
    row, kind_col, date, on_deal = row[order], kind_col[order], date[order], on_deal[order]
    deal_ids = np.where(on_deal, p.ids[row].astype(object), None)
    data = {
        "id": np.char.add("ACT-", np.char.zfill(np.arange(1, len(row) + 1).astype(str), 6)),
        "kind": kind_col,
        "owner": p.labels("owner").decoded()[row],
        "date": date,
        "deal_id": deal_ids,
        "team": p.labels("team").decoded()[row],
    }
    return Activities.from_columns(data, columns={"team": "team"})
