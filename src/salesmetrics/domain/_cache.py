"""What a pipeline remembers.

A pipeline's columns never change, so whatever is computed from them can be kept: per-row facts
(one value per deal: the outcomes, the reached stages), whole-pipeline facts (whether the amounts
are small enough for float64 kernels, the latest date on record) and memoized metric results
(`PipelineCache.memo`). Chunked kernels read slices of the columns and of the per-row facts
(`metrics/_chunked.py`), never a cache of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["PipelineCache"]

T = TypeVar("T")

#: Guards every change to a pipeline's cache, and every walk over it, across threads. One lock for
#: all pipelines: each hold is a dict operation (computations run outside it), and a pipeline
#: stays picklable.
_LOCK = threading.Lock()
_ABSENT = object()
#: How many memoized results a pipeline keeps (the most recent).
MEMO_SIZE = 32


class PipelineCache(dict[str, Any]):
    """A pipeline's remembered facts by key, plus its memo under ``"memo"``.

    Safe under threads by construction: every change, and every walk over it, holds one lock;
    computations run outside it, so at worst two threads compute the same value and the first
    one stored is the one every caller gets.
    """

    __slots__ = ()

    def fact(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``key``."""
        found: T | None = self.get(key)
        if found is not None:
            return found
        value = compute()
        with _LOCK:
            kept: T = self.setdefault(key, value)
        return kept

    def remember(self, key: Hashable, value: Any) -> None:
        """Memoize ``value`` under ``key`` (keeping the `MEMO_SIZE` most recent), unless a
        result is already there (the first one stored is the one every caller gets)."""
        memo: dict[Hashable, Any] = self.fact("memo", dict)
        with _LOCK:
            if key not in memo:
                while len(memo) >= MEMO_SIZE:
                    del memo[next(iter(memo))]
                memo[key] = value

    def memo(
        self, key: Hashable, compute: Callable[[], T], keep: Callable[[T], bool] | None = None
    ) -> T:
        """``compute()``, remembered under ``key``; keeps the `MEMO_SIZE` most recent results
        for which ``keep`` (if given) is true."""
        memo: dict[Hashable, Any] = self.fact("memo", dict)
        found = memo.get(key, _ABSENT)
        if found is not _ABSENT:
            result: T = found
            return result
        value = compute()
        if keep is not None and not keep(value):
            return value
        with _LOCK:
            while len(memo) >= MEMO_SIZE:
                del memo[next(iter(memo))]
            memo[key] = value
        return value
