"""The tree reduction of partition summaries: ``split_every`` at a time, left to right.

Summaries add exactly (integer tallies, keys in the whole's order), so the shape of the tree
cannot change a result; it is fixed anyway (consecutive groups of ``split_every``), so that a
run can be repeated task for task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from salesmetrics.dask._adapter import add
from salesmetrics.errors import DataTypeError
from salesmetrics.metrics._summary import Summary

__all__ = ["DEFAULT_SPLIT_EVERY", "check_split_every", "merge", "tree_reduce"]

#: Summaries merged per task when ``split_every`` is None (dask's own default for reductions).
DEFAULT_SPLIT_EVERY = 8


def check_split_every(function: str, split_every: object) -> int:
    """``split_every`` as an int ≥ 2 (None: `DEFAULT_SPLIT_EVERY`), else `DataTypeError`."""
    if split_every is None:
        return DEFAULT_SPLIT_EVERY
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise DataTypeError(
            f"salesmetrics.dask.{function}(): split_every must be a whole number >= 2 (summaries "
            f"merged per task) or None for {DEFAULT_SPLIT_EVERY}, got {split_every!r}"
        )
    return split_every


def merge(*summaries: Summary | None) -> Summary | None:
    """The sum of the summaries, left to right; None (an empty partition) is the identity."""
    total: Summary | None = None
    for summary in summaries:
        if summary is not None:
            total = summary if total is None else add(total, summary)
    return total


def tree_reduce(parts: Sequence[Any], split_every: int) -> Any:
    """One delayed summary from delayed partition summaries: each level merges consecutive
    groups of ``split_every``, until one is left (None for no partition)."""
    from dask.delayed import delayed

    level = list(parts)
    if not level:
        return delayed(merge)()
    depth = 0
    while len(level) > 1:
        level = [delayed(merge)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
        depth += 1
    return level[0] if depth else delayed(merge)(level[0])
