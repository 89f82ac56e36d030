"""Load-time checks of dates that cannot be right although each one is a valid date."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._date_formats import user_stacklevel
from salesmetrics.errors import DataQualityWarning, where

if TYPE_CHECKING:
    from salesmetrics.domain.history import StageHistory

__all__ = ["FAR_CLOSE_DAYS", "warn_far_close_dates"]

#: A closed deal's close date more than this many days after every other date on record warns.
FAR_CLOSE_DAYS = 366


def warn_far_close_dates(
    created: npt.NDArray[np.datetime64],
    close_date: npt.NDArray[np.datetime64],
    closed: npt.NDArray[np.bool_],
    events: StageHistory | None,
    n_open: int,
    ids: npt.NDArray[np.generic],
) -> None:
    """A `DataQualityWarning` for closed deals whose close date is implausibly far after the
    other dates on record: more than `FAR_CLOSE_DAYS` days after both the latest created date and
    the latest stage-history date of an open stage.

    A closed deal closed before the export was made, and an active CRM creates deals until the
    export day, so such a date (``2099-02-01`` among 2024 dates) is a typo. Left alone it would
    move `Pipeline.latest_date`, the default ``as_of`` of every age-based metric, and the cycle
    lengths. Checked only for closed deals that have a created date themselves (a record as
    complete as the ones it is compared with; tiny hand-made pipelines often mix deals with and
    without one); the history's entries into closed stages are left out of the comparison,
    since they repeat the close dates.
    """
    # The usual case in a few calls on int64 views (NaT is the smallest int64, so max skips
    # it): no closed deal closes that far after the latest created date, whatever else holds.
    if not closed.any():
        return
    day = np.dtype("datetime64[D]")
    if created.dtype == day and close_date.dtype == day:
        nat = np.iinfo(np.int64).min
        newest = int(created.view(np.int64).max()) if len(created) else nat
        if newest == nat or int(close_date.view(np.int64)[closed].max()) <= (
                newest + FAR_CLOSE_DAYS):
            return
    has_created = ~np.isnat(created)
    latest = created[has_created].max()
    if events is not None and len(events):
        open_dates = events.dates[(events.stages < n_open) & ~np.isnat(events.dates)]
        if len(open_dates):
            latest = max(latest, open_dates.max())
    far = closed & has_created & (close_date > latest + np.timedelta64(FAR_CLOSE_DAYS, "D"))
    if not far.any():
        return
    rows = np.flatnonzero(far)
    row = int(rows[0])
    count = len(rows)
    warnings.warn(
        f"close_date: {count:,} closed {'deal closes' if count == 1 else 'deals close'} "
        f"more than {FAR_CLOSE_DAYS} days after the latest created and stage-history date on "
        f"record ({latest}), the first {where(ids[row].item(), row).rstrip(': ')} on "
        f"{close_date[row]}. Such a date moves Pipeline.latest_date (the default as_of of every "
        "age-based metric) and the cycle lengths. Fix: correct the close date in the CRM (a "
        "typo'd year?) or leave the deal out",
        DataQualityWarning, stacklevel=user_stacklevel(),
    )
