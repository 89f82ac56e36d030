"""Comparing results exactly: every float by its bits, nan equal to nan, keys in order."""

from __future__ import annotations

import math
import warnings
from typing import Any

import attrs
import numpy as np


def canon(value: Any) -> Any:
    """A result as nested tuples, every float as its exact bits (nan as 'nan')."""
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else float(value).hex()
    if isinstance(value, (bool, int, str, type(None), np.integer)):
        return value
    if attrs.has(type(value)):
        return (type(value).__name__,
                tuple((f.name, canon(getattr(value, f.name))) for f in attrs.fields(type(value))))
    if hasattr(value, "items"):
        return (type(value).__name__, tuple((k, canon(v)) for k, v in value.items()))
    if isinstance(value, (tuple, list)):
        return tuple(canon(v) for v in value)
    raise AssertionError(type(value))


def recorded(call: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, sorted(f"{w.category.__name__}: {w.message}" for w in caught)
