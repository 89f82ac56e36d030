"""Load-time checks of dates that cannot be right although each one is a valid date."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import numpy.typing as npt

from salesmetrics.errors import DataQualityWarning, user_stacklevel, where

__all__ = ["warn_future_close_dates"]


def warn_future_close_dates(
    close_date: npt.NDArray[np.datetime64], closed: npt.NDArray[np.bool_],
    ids: npt.NDArray[np.generic],
) -> None:
    """A `DataQualityWarning` for closed deals whose close date is after today: a deal cannot
    have been won or lost on a day still to come, so such a date (``2099-02-01`` for
    ``2024-02-01``) is a typo. Left alone it would move `Pipeline.latest_date`, the default
    ``as_of`` of every age-based metric, and the cycle lengths.

    The clock decides only whether to warn, never a result. A day of slack covers time zones.
    (Comparing with the other dates of the export instead would flag real deals of an export
    filtered by created date whose cycle is longer than a year.)
    """
    if not closed.any():
        return
    tomorrow = np.datetime64(dt.date.today(), "D") + np.timedelta64(1, "D")
    late = close_date[closed]
    if not (late > tomorrow).any():  # the usual case: one comparison (NaT compares False)
        return
    rows = np.flatnonzero(closed & (close_date > tomorrow))
    row = int(rows[0])
    count = len(rows)
    warnings.warn(
        f"close_date: {count:,} closed {'deal closes' if count == 1 else 'deals close'} after "
        f"today ({tomorrow - np.timedelta64(1, 'D')}), the first "
        f"{where(ids[row].item(), row).rstrip(': ')} on {close_date[row]}: a deal cannot have "
        "been won or lost on a day still to come. Such a date moves Pipeline.latest_date (the "
        "default as_of of every age-based metric) and the cycle lengths. Fix: correct the close "
        "date in the CRM (a typo'd year?) or leave the deal out",
        DataQualityWarning, stacklevel=user_stacklevel(),
    )
