"""Distinct values of a long numpy ``<U`` column of few distinct strings (stages, owners), by
integer keys instead of string comparisons.

A ``<U`` array is an ``(n, width)`` matrix of uint32 code points. Packed into as few uint64 words
per value as the largest code point allows (8 per word for Latin-1 text, 4 below U+10000, else
2), each value becomes a short row of integers that is equal exactly when the strings are. One
word is the key itself; more are folded into one hash, which only finds the candidate category:
every value is then compared word by word with it, so the result is exact. The categories come
from a sample; values the sample missed are added and looked up again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["unique_inverse_text"]

IntArray = npt.NDArray[np.intp]
Words = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]
#: Values per block when packing and checking (small temporaries: fresh memory is slow).
_BLOCK = 1 << 16
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _per_word(values: npt.NDArray[np.str_]) -> int:
    """Code points per uint64 word that hold every code point of ``values`` exactly."""
    width = values.dtype.itemsize // 4
    top = int(values.view(np.uint32).max()) if width and len(values) else 0
    return 8 if top < 1 << 8 else 4 if top < 1 << 16 else 2


def _pack(values: npt.NDArray[np.str_], per_word: int) -> Words:
    """``(n, words)`` uint64: the code points of each value, ``per_word`` to a word, zero-padded
    (numpy strings have no trailing NULs, so equal rows are equal strings)."""
    n, width = len(values), values.dtype.itemsize // 4
    words = max(-(-width // per_word), 1)
    out = np.zeros((n, words * per_word), dtype=np.dtype(f"<u{8 // per_word}"))
    out[:, :width] = np.ascontiguousarray(values).view(np.uint32).reshape(n, width)
    return out.view(np.uint64).reshape(n, words)


def _fold(words: Words) -> npt.NDArray[np.uint64]:
    """One uint64 per row: the word itself, or a hash of several (only to find a candidate)."""
    key = words[:, 0].copy()
    for j in range(1, words.shape[1]):
        key *= _MULTIPLIER
        key ^= words[:, j]
    return key


def unique_inverse_text(
    values: npt.NDArray[np.str_],
) -> tuple[npt.NDArray[np.str_], IntArray] | None:
    """``np.unique(values, return_inverse=True)`` of a ``<U`` array, or None where this way does
    not apply (two categories with one hash: the caller sorts strings instead).

    One pass in blocks of `_BLOCK` values (pack, fold, look up, check), so that the only array
    as long as ``values`` is the codes."""
    values = np.ascontiguousarray(values)
    n = len(values)
    per_word = _per_word(values)
    categories = np.unique(values[:: max(n // 4096, 1)])
    for _ in range(2):
        table = _Table.of(categories, per_word)
        if table is None:
            return None
        codes = np.empty(n, dtype=np.intp)
        missed = []
        for lo in range(0, n, _BLOCK):
            block = values[lo:lo + _BLOCK]
            words = _pack(block, per_word)
            code, same = table.find(words, _fold(words))
            codes[lo:lo + _BLOCK] = code
            if not same.all():
                missed.append(lo + np.flatnonzero(~same))
        if not missed:
            return categories, codes
        categories = np.union1d(categories, np.unique(values[np.concatenate(missed)]))
    return None


class _Table:
    """The categories' packed words and folded keys, with a collision-free multiply-shift hash
    table of their keys (a few kB: the lookups stay in cache) or, failing one, the keys sorted
    for a binary search."""

    __slots__ = ("keys", "multiplier", "order", "shift", "slots", "sorted_keys", "words")

    def __init__(self, words: Words, keys: npt.NDArray[np.uint64]) -> None:
        self.words, self.keys = words, keys
        self.order = np.argsort(keys, kind="stable")
        self.sorted_keys = keys[self.order]
        self.slots: IntArray | None = None
        self.multiplier = self.shift = np.uint64(0)
        bits = min(max(8, 2 * len(keys).bit_length() + 1), 22)
        rng = np.random.default_rng(len(keys))  # fixed: the same table on every run
        for multiplier in rng.integers(1, 2**63, size=16, dtype=np.uint64) * 2 + 1:
            slot = (keys * multiplier) >> np.uint64(64 - bits)
            if len(np.unique(slot)) == len(keys):
                self.slots = np.full(1 << bits, -1, dtype=np.intp)
                self.slots[slot.astype(np.intp)] = np.arange(len(keys))
                self.multiplier, self.shift = multiplier, np.uint64(64 - bits)
                break

    @classmethod
    def of(cls, categories: npt.NDArray[np.str_], per_word: int) -> _Table | None:
        """The table of ``categories``, or None if two of them share a key."""
        words = _pack(categories, per_word)
        table = cls(words, _fold(words))
        if (table.sorted_keys[1:] == table.sorted_keys[:-1]).any():
            return None
        return table

    def find(self, words: Words, keys: npt.NDArray[np.uint64]) -> tuple[IntArray, BoolArray]:
        """(index of each value's candidate category, True where it is that category)."""
        if self.slots is not None:
            slot = keys * self.multiplier
            slot >>= self.shift
            code = self.slots[slot.astype(np.intp)]
            same = code >= 0
            np.maximum(code, 0, out=code)
        else:
            at = np.minimum(np.searchsorted(self.sorted_keys, keys), len(self.order) - 1)
            code = self.order[at]
            same = np.ones(len(keys), dtype=bool)
        same &= self.keys[code] == keys
        for j in range(1 if words.shape[1] > 1 else 0, words.shape[1]):  # a hash: check words
            same &= self.words[code, j] == words[:, j]
        return code, same
