"""Two snapshots of the bundled sample a week apart, for the weekly pipeline review.

Both are rebuilt from the sample's stage history with `Pipeline.as_of`: ``after`` on
`SNAPSHOT_AFTER` (Friday 2024-12-20, the last day a deal was created), less a few deals deleted
in the CRM during the week; ``before`` a week earlier, on `SNAPSHOT_BEFORE` (2024-12-13): deals
created during the week are absent from it, and deals won, lost or advanced during the week are
still open in their earlier stage. ``before`` is then given the values that the stage history does
not keep, as a rep would have had them a week ago:

- **slipped**: about 10 % of the deals open in both had an earlier expected close date (by 2 to 8
  weeks), and have been pushed out since; about 3 % had a later one and were pulled in;
- **resized**: about 8 % of them had another amount (70 % to 130 % of today's, in whole tens);
- **removed**: about 1 % of the deals open a week ago were deleted during the week.

Deterministic (a fixed seed) and vectorized over deals.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

from salesmetrics.datasets.sample import sample_pipeline
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN

__all__ = ["SNAPSHOT_AFTER", "SNAPSHOT_BEFORE", "sample_snapshots"]

#: The days of the two snapshots, a week apart.
SNAPSHOT_AFTER = dt.date(2024, 12, 20)
SNAPSHOT_BEFORE = SNAPSHOT_AFTER - dt.timedelta(days=7)
_SEED = 20241224


@functools.lru_cache(maxsize=1)
def sample_snapshots() -> tuple[Pipeline, Pipeline]:
    """The bundled sample as it stood on 2024-12-13 and on 2024-12-20 (see the module docs).

    Returns
    -------
    tuple of Pipeline
        ``(before, after)``: the same CRM a week apart, over `SAMPLE_STAGES`, in USD.

    Examples
    --------
    >>> import warnings
    >>> from salesmetrics import pipeline_changes
    >>> before, after = sample_snapshots()
    >>> with warnings.catch_warnings(action="ignore"):  # the sample's deals without an amount
    ...     c = pipeline_changes(before, after)
    >>> c.start_minor + sum(c.totals_minor.values()) == c.end_minor
    True
    """
    rng = np.random.default_rng(_SEED)
    now = sample_pipeline().as_of(np.datetime64(SNAPSHOT_AFTER))
    removed = rng.random(len(now)) < 0.01
    removed &= now.outcome_codes == OPEN  # deleted from the CRM during the week (open a week ago)
    past = now.as_of(np.datetime64(SNAPSHOT_BEFORE))
    removed &= np.isin(now.ids, past.ids)
    after = now.filter(~removed)

    columns = past.to_columns()
    for name in ("currency", "original_amount", "original_currency"):
        columns.pop(name, None)
    n = len(past)
    both_open = (past.outcome_codes == OPEN) & np.isin(past.ids, after.ids[after.outcome_codes
                                                                           == OPEN])
    close = columns["close_date"].copy()
    draw = rng.random(n)
    slipped = both_open & ~np.isnat(close) & (draw < 0.10)
    pulled = both_open & ~np.isnat(close) & (draw >= 0.10) & (draw < 0.13)
    weeks = rng.integers(2, 9, n).astype("timedelta64[W]").astype("timedelta64[D]")
    earlier = np.maximum(close - weeks, columns["created"])  # never before the deal's creation
    close[slipped] = earlier[slipped]
    close[pulled] = close[pulled] + weeks[pulled]
    columns["close_date"] = close

    amount = columns["amount"].copy()
    resized = both_open & ~np.isnan(amount) & (rng.random(n) < 0.08)
    factor = rng.uniform(0.7, 1.3, n)
    amount[resized] = np.maximum(np.round(amount[resized] * factor[resized], -1), 10.0)
    columns["amount"] = amount
    before = Pipeline.from_columns(
        columns, past.stages, currency=past.currency, history=past.history_columns(),
        columns={k: k for k in columns},
    )
    return before, after
