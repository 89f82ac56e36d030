"""What every public metric shares: argument checks and turning a summary into a result."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import DataTypeError, OptionError
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summary import Summary

__all__ = ["check_pipeline", "check_zero_division", "divide", "result"]

T = TypeVar("T")


def check_pipeline(function: str, p: object) -> Pipeline:
    if not isinstance(p, Pipeline):
        raise DataTypeError(f"{function}(): expected a Pipeline as first argument, got {type(p)!r}")
    return p


def check_zero_division(function: str, zero_division: object) -> float:
    if isinstance(zero_division, bool) or not isinstance(zero_division, (int, float)):
        raise OptionError(
            f"{function}(): zero_division must be a number or nan, got {zero_division!r}"
        )
    return float(zero_division)


def divide(
    numerator: npt.NDArray[Any], denominator: npt.NDArray[Any], zero_division: float
) -> npt.NDArray[np.float64]:
    """``numerator / denominator``, with ``zero_division`` where the denominator is 0.

    Never inf and never a warning: zero denominators become nan before dividing.
    """
    den = np.array(denominator, dtype=np.float64)
    zero = den == 0
    den[zero] = np.nan
    out: npt.NDArray[np.float64] = np.asarray(numerator / den, dtype=np.float64)
    if zero_division == zero_division and zero.any():  # not nan, and some zero denominator
        out[np.broadcast_to(zero, out.shape)] = zero_division
    return out


def result(
    summary: Summary, values: list[T] | npt.NDArray[Any], name: str,
    convert: Callable[[Any], T] | None = None,
) -> T | GroupedResult[T]:
    """A scalar for an ungrouped summary, else a `GroupedResult` over its keys."""
    items: list[Any] = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if convert is not None:
        items = [convert(v) for v in items]
    if not summary.by:
        return items[0]  # type: ignore[no-any-return]
    keys: list[Hashable] = list(summary.keys)
    return GroupedResult(summary.by, keys, items, name=name)
