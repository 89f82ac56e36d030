"""`check_bool`: a True/False option refuses anything else (``1``, ``"yes"``, None), so that
every metric's flags accept the same values."""

from __future__ import annotations

import numpy as np

from salesmetrics.errors import DataTypeError, SalesMetricsError

__all__ = ["check_bool"]


def check_bool(function: str, name: str, value: object,
               error: type[SalesMetricsError] = DataTypeError) -> bool:
    """``value`` as a bool; ``error`` (`DataTypeError`, or the class an option raised before,
    `OptionError` for ``time_in_stage``'s ``include_open``) naming ``function``, the option
    and the value unless it is True or False (a numpy bool included). ``1`` and ``0`` are
    refused: an option that reads them as True and False would also read ``2`` as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{function}(): {name} must be True or False, got {value!r}")
    return bool(value)
