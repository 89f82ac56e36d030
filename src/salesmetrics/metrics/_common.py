"""What every public metric shares: argument checks and turning a summary into a result."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.period import Period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import DataQualityWarning, DataTypeError, OptionError, SalesMetricsError
from salesmetrics.metrics._grouped import GroupedResult, Unit
from salesmetrics.metrics._summary import Summary

__all__ = [
    "Remembered",
    "called_by",
    "check_bool",
    "check_pipeline",
    "check_zero_division",
    "divide",
    "plural",
    "result",
    "total",
    "warn",
    "warn_left_out_of_cycle",
    "warn_left_out_of_window",
    "warn_missing_amounts",
    "warn_never_stale",
    "warn_no_close_date",
    "warn_no_created_date",
    "warn_zeroed_losses",
]

T = TypeVar("T")

#: The warnings raised so far by the public call being remembered (`Remembered`), else None.
_CAUGHT: ContextVar[list[tuple[str, type[Warning]]] | None] = ContextVar(
    "salesmetrics_caught", default=None)


#: Inside a public metric that calls others (`called_by`): how many public calls deep, and the
#: name of the outermost one, which their warnings take.
_OUTER: ContextVar[tuple[int, str | None]] = ContextVar("salesmetrics_outer", default=(0, None))


def warn(message: str, category: type[Warning], stacklevel: int) -> None:
    """`warnings.warn` (``stacklevel`` counted from the caller of this function), noted for
    the public call being remembered so that a repeat call raises it again (`Remembered`).
    Every warning of a remembered metric goes through here. Within `called_by`, the warning
    names the metric the user called and points at the user's line."""
    depth, outer = _OUTER.get()
    if outer is not None:
        name, sep, rest = message.partition("(): ")
        if sep and name.isidentifier():
            message = f"{outer}(){sep[2:]}{rest}"
    caught = _CAUGHT.get()
    if caught is not None:
        caught.append((message, category))
    warnings.warn(message, category, stacklevel=stacklevel + 1 + depth)


class called_by:  # noqa: N801 (used as a context manager, like a function)
    """Within ``with called_by("pipeline_coverage"):``, the public metrics called (won revenue,
    pipeline value, ...) raise their warnings under that name and at the line that called it,
    one frame further out per level, and they neither read nor keep remembered results (the
    outer metric is remembered, with the warnings as raised). A context variable, so safe
    under threads, unlike `warnings.catch_warnings`."""

    __slots__ = ("_frames", "_function", "_token")

    def __init__(self, function: str, frames: int = 1) -> None:
        self._function = function
        self._frames = frames  # 1 where the public metric calls the other one itself

    def __enter__(self) -> None:
        depth, outer = _OUTER.get()
        self._token = _OUTER.set((depth + self._frames, outer or self._function))

    def __exit__(self, *_: object) -> None:
        _OUTER.reset(self._token)


#: Up to this many values, `total` adds them as Python ints.
_FEW = 64


def total(values: npt.NDArray[np.integer[Any]]) -> int:
    """The sum of an integer array of tallies (a summary's counts or minor units), as an int:
    in Python for a few values (a numpy reduction costs about 1 µs whatever the size, a
    summary of one pipeline's groups often has ten values), else in numpy."""
    if values.size <= _FEW:
        return sum(values.ravel().tolist())
    return int(values.sum())


def check_pipeline(function: str, p: object) -> Pipeline:
    if not isinstance(p, Pipeline):
        raise DataTypeError(f"{function}(): expected a Pipeline as first argument, got {type(p)!r}")
    return p


def check_zero_division(
    function: str, zero_division: object, *, low: float = 0.0, high: float = 1.0
) -> float:
    """``zero_division`` as a float: nan, or a number in ``[low, high]`` (the metric's range, so
    that the fallback value is never outside what the metric documents)."""
    if type(zero_division) is float and (
            zero_division != zero_division or low <= zero_division <= high):
        return zero_division  # the common case, checked in one step
    if (
        isinstance(zero_division, (bool, np.bool_))
        or not isinstance(zero_division, (int, float, np.integer, np.floating))
        or not (math.isnan(zero_division) or low <= zero_division <= high)
    ):
        upper = "" if math.isinf(high) else f" to {high:g}"
        raise OptionError(
            f"{function}(): zero_division must be nan or a number from {low:g}{upper}, "
            f"got {zero_division!r}"
        )
    return float(zero_division)


def plural(n: int, one: str, many: str | None = None) -> str:
    """``"1 deal"``, ``"2,473 deals"``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


_AMOUNT_FIX = (
    "map the CRM's amount column (columns={'amount': ...}) or fill the amounts in the CRM; to "
    "measure only deals with an amount, use p.filter(~p.amount_missing)"
)


def warn_missing_amounts(
    function: str, missing: int, total: int, *, deals: str = "deals",
    effect: str = "counted as 0", stacklevel: int = 3,
) -> None:
    """Warn (`DataQualityWarning`) that ``missing`` of the ``total`` deals that a value metric
    adds up have no amount, saying what the metric did with them (``effect``) and the fix.

    ``deals`` names the deals, plural (``"open deals"``, ``"deals in the value win rate"``).
    Nothing happens when ``missing`` is 0, so metrics call it with counts from the tallies they
    already have (``count - valued`` of a summary).
    ``stacklevel=3`` points at the caller of a public metric that calls this directly.
    """
    if not missing:
        return
    one = deals.replace("deals", "deal", 1)
    if missing == total:
        head = (f"the 1 {one} has no amount" if total == 1
                else f"none of the {total:,} {deals} has an amount")
    else:
        head = f"{missing:,} of the {total:,} {deals} {'has' if missing == 1 else 'have'} no amount"
    warn(
        f"{function}(): {head}, {effect}. Fix: {_AMOUNT_FIX}",
        DataQualityWarning,
        stacklevel,
    )


def warn_left_out_of_cycle(
    function: str, negative: int, unknown: int, *, deals: str = "deal",
    lead: str = "left out", total: int | None = None, stacklevel: int = 3,
) -> None:
    """Warn (`DataQualityWarning`) that closed deals are left out of a cycle length: ``unknown``
    without a created date, ``negative`` closed before they were created, with the fix for each.

    ``deals`` names one deal (``"won deal"``), ``lead`` starts the sentence after the function
    name (``"the cycle length L leaves out"``), and ``total``, when given, is the number of
    ``deals`` the cycle was taken over (``", of 12 won deals"``). Nothing happens when both
    counts are 0. ``stacklevel=3`` points at the caller of a public metric that calls this
    directly.
    """
    if not negative and not unknown:
        return
    reasons, fix = [], []
    if negative:
        reasons.append(f"{plural(negative, deals)} whose close date is before "
                       f"{'its' if negative == 1 else 'their'} created date")
    if unknown:
        reasons.append(f"{plural(unknown, deals)} without a created date")
        fix.append("map the created column (columns={'created': ...}) or fill it in the CRM")
    if negative:
        fix.append("fix the dates in the CRM")
    of = "" if total is None else f", of {plural(total, deals)}"
    warn(
        f"{function}(): {lead} {' and '.join(reasons)}{of}; to count them, {' and '.join(fix)}",
        DataQualityWarning,
        stacklevel,
    )


def _agree(n: int, one: str, many: str) -> str:
    """``one`` for a single deal, else ``many`` (``"has"``/``"have"``, ``"it"``/``"they"``)."""
    return one if n == 1 else many


_CREATED_FIX = ("fill in their created dates in the CRM, or map the created column "
                "(columns={'created': ...})")


def warn_no_close_date(
    function: str, n: int, *, effect: str = "the total leaves {them} out", stacklevel: int = 3
) -> None:
    """Warn that ``n`` open deals have no expected close date, so that a ``period=`` (which
    selects open deals by it) leaves them out; ``n`` is the ``no_close`` count of a summary's
    ``outside``. ``effect`` says what that does to the result (``{them}`` becomes "it" or
    "them"). Nothing happens when ``n`` is 0.
    """
    if not n:
        return
    effect = effect.format(them=_agree(n, "it", "them"))
    warn(
        f"{function}(): {plural(n, 'open deal')} {_agree(n, 'has', 'have')} no expected close "
        f"date and {_agree(n, 'is', 'are')} not in any period, so {effect}. Fix: fill in their "
        "close dates in the CRM, or map the close-date column (columns={'close_date': ...}); "
        "without period=, every open deal counts",
        DataQualityWarning,
        stacklevel,
    )


def warn_no_created_date(
    function: str, n: int, *, why: str = "view='cohort' takes the deals created in the period",
    instead: str = "view='period' selects the deals by close date instead", stacklevel: int = 3,
) -> None:
    """Warn that ``n`` deals have no created date, so that no cohort (no period's deals by
    created date) holds them; ``n`` is the ``no_created`` count of a summary's ``outside``.
    ``why`` says which option selects by created date, ``instead`` the alternative. Nothing
    happens when ``n`` is 0."""
    if not n:
        return
    warn(
        f"{function}(): {plural(n, 'deal')} {_agree(n, 'has', 'have')} no created date and "
        f"{_agree(n, 'is', 'are')} in no cohort ({why}), so {_agree(n, 'it is', 'they are')} "
        f"left out. Fix: {_CREATED_FIX}; {instead}",
        DataQualityWarning,
        stacklevel,
    )


def warn_never_stale(function: str, n: int, *, stacklevel: int = 3) -> None:
    """Warn that ``n`` open deals in the window have no created date, so that ``stale_after``
    never counts them as lost (the ``never_stale`` tally). Nothing happens when ``n`` is 0."""
    if not n:
        return
    warn(
        f"{function}(): {plural(n, 'open deal')} {_agree(n, 'has', 'have')} no created date and "
        f"never {_agree(n, 'goes', 'go')} stale, so stale_after does not count "
        f"{_agree(n, 'it', 'them')} as lost. Fix: {_CREATED_FIX}; open_deals='lost' "
        "counts every open deal as lost",
        DataQualityWarning,
        stacklevel,
    )


def warn_left_out_of_window(
    function: str, summary: Summary, *, open_deals: str = "exclude",
    open_counted: bool = False, stacklevel: int = 3,
) -> None:
    """The warnings of an ``outcomes``, ``velocity`` or ``reached`` summary about deals that the
    window or ``stale_after`` leaves out for want of a date: deals in no cohort (with
    ``view="cohort"`` and a period); where the result counts open deals (``open_counted``),
    open deals in no period (no expected close date; with ``view="period"`` and a period); and,
    with ``stale_after`` unless ``open_deals="lost"`` already counts every open deal, open deals
    that never go stale. ``stacklevel=3`` points at the caller of a public metric that calls
    this directly."""
    if summary.outside:
        warn_no_created_date(function, summary.outside.get("no_created", 0),
                             stacklevel=stacklevel + 1)
        if open_counted:
            warn_no_close_date(function, summary.outside.get("no_close", 0),
                               effect="the result leaves {them} out", stacklevel=stacklevel + 1)
    if open_deals != "lost" and "never_stale" in summary.arrays:
        warn_never_stale(function, total(summary.arrays["never_stale"]),
                         stacklevel=stacklevel + 1)


def warn_zeroed_losses(
    function: str, lost_valued: int, lost_value: int, won_value: int, *, stacklevel: int = 3
) -> None:
    """Warn when every lost deal (lost or no decision) with an amount has amount 0 while some
    won deal has one: a value-based win rate is then 1.0 wherever something was won.

    CRMs that zero a deal's amount when it is lost (the Maven export does) produce this.
    ``lost_valued`` counts the lost deals with an amount, ``lost_value`` and ``won_value`` are
    the sums of their amounts [minor units].
    """
    if not lost_valued or lost_value or not won_value:
        return
    head = ("the 1 lost deal has amount 0" if lost_valued == 1
            else f"all {lost_valued:,} lost deals have amount 0")
    warn(
        f"{function}(): {head}, so the value win rate is 1.0 wherever a deal was won: the CRM "
        "probably sets a deal's amount to 0 when it is lost. Fix: load the amount each lost deal "
        "had before it was lost (see 'Lost deals with amount 0' in the definitions guide), or use "
        "basis='unit'",
        DataQualityWarning,
        stacklevel,
    )


def check_bool(function: str, name: str, value: object,
               error: type[SalesMetricsError] = DataTypeError) -> bool:
    """``value`` as a bool; ``error`` (`DataTypeError`, or the class an option raised before,
    `OptionError` for ``time_in_stage``'s ``include_open``) naming ``function``, the option
    and the value unless it is True or False (a numpy bool included). ``1`` and ``0`` are
    refused: an option that reads them as True and False would also read ``2`` as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{function}(): {name} must be True or False, got {value!r}")
    return bool(value)


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
    if zero_division == zero_division and np.count_nonzero(zero):  # not nan, some zero den.
        out[np.broadcast_to(zero, out.shape)] = zero_division
    return out


def result(
    summary: Summary, values: list[T] | npt.NDArray[Any], name: str,
    convert: Callable[[Any], T] | None = None, *, unit: Unit = "number",
    currency: str | None = None,
) -> T | GroupedResult[T]:
    """A scalar for an ungrouped summary, else a `GroupedResult` over its keys (``unit`` and
    ``currency`` say how it prints)."""
    items: list[Any] = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if convert is not None:
        items = [convert(v) for v in items]
    if not summary.by:
        return items[0]  # type: ignore[no-any-return]
    keys: list[Hashable] = list(summary.keys)
    return GroupedResult(summary.by, keys, items, name=name, unit=unit, currency=currency)


class _NoKeyError(Exception):
    """An argument with no stable, hashable spelling: the call is not remembered."""


def _spelling(value: object) -> Hashable:
    """``value`` as part of a memo key: two arguments with one spelling give the same result.
    Only exact built-in types (and `Period`) qualify; the type is part of the key wherever
    values of two types compare equal (``1 == 1.0 == True``, ``-0.0 == 0.0``)."""
    kind = type(value)
    if value is None or kind is str:
        return value
    if kind is int or kind is bool or kind is dt.date:
        return (kind, value)
    if isinstance(value, float) and kind is float:
        return (float, value.hex())
    if isinstance(value, (tuple, list)) and (kind is tuple or kind is list):
        if all(type(item) is str for item in value):
            return (kind, tuple(value))
        raise _NoKeyError
    if isinstance(value, Period) and kind is Period:
        return (Period, value.start, value.end, value.kind, value.calendar)
    raise _NoKeyError


#: The most groups × values a remembered result may hold (larger ones are recomputed).
_MAX_REMEMBERED = 10_000
_MISSING: Any = object()


class Remembered(Generic[T]):
    """A public metric's result, remembered by its pipeline under the call's arguments.

    A pipeline never changes and the results are immutable (floats, `GroupedResult`, frozen
    result classes), so a repeat call with the same arguments returns the first call's result
    and raises the same warnings again, in the same order, at the caller's line::

        memo = Remembered(p, "win_rate", by, period, ...)
        if memo.found:
            return memo.replay()
        with memo:
            out = ...  # the metric, whose warnings go through `warn`
        return memo.keep(out)

    Calls whose arguments have no stable spelling (a dict of probabilities, numpy scalars)
    are not remembered; neither are calls that raise, nor results of more than
    `_MAX_REMEMBERED` values. Safe under threads: each thread notes its own warnings
    (a `ContextVar`), and the pipeline's memo is locked.
    """

    __slots__ = ("_caught", "_key", "_outer", "_p", "_token", "found")

    def __init__(self, p: object, function: str, *arguments: object) -> None:
        self._key: tuple[Hashable, ...] | None = None
        self.found: tuple[T, tuple[tuple[str, type[Warning]], ...]] | None = None
        if not isinstance(p, Pipeline) or _OUTER.get()[0]:  # called by another metric
            return
        spelled: list[Hashable] = ["result", function]
        try:
            for a in arguments:  # None and str spell themselves (most arguments): no call
                spelled.append(a if a is None or type(a) is str else _spelling(a))
        except _NoKeyError:
            return
        self._p = p
        self._key = key = tuple(spelled)
        hit = p._recall(key, _MISSING)
        if hit is not _MISSING:
            self.found = hit

    def replay(self) -> T:
        """The remembered result, raising its warnings again (at the line that called the
        public metric that calls this)."""
        assert self.found is not None
        out, warned = self.found
        outer = _CAUGHT.get()
        if outer is not None:
            outer.extend(warned)
        for message, category in warned:
            warnings.warn(message, category, stacklevel=3)
        return out

    def __enter__(self) -> Remembered[T]:
        self._caught: list[tuple[str, type[Warning]]] = []
        self._outer = _CAUGHT.get()
        self._token = _CAUGHT.set(self._caught)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _CAUGHT.reset(self._token)
        if kind is not None:
            self._key = None
        if self._outer is not None:
            self._outer.extend(self._caught)

    def keep(self, out: T) -> T:
        """``out``, remembered (with the warnings raised while computing it) if it may be."""
        if self._key is not None and _size(out) <= _MAX_REMEMBERED:
            self._p._remember(self._key, (out, tuple(self._caught)))
        return out


def _size(out: object) -> int:
    """How many values a result holds (groups, times the values of its first group)."""
    if not isinstance(out, GroupedResult) or not out._data:
        return 1  # a float or a result class (`Velocity`, `OutcomeShares`)
    return len(out._data) * _size(next(iter(out._data.values())))
