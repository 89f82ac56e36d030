"""The checks and data-quality warnings of `pipeline_changes` and `slip_rate`: two snapshots
of one sales process and currency, deals without an amount or a close date, and ids that do not
match between the snapshots."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.period import Period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN
from salesmetrics.errors import CurrencyError, DataError, DataQualityWarning, DataTypeError
from salesmetrics.metrics._changes_kernel import DealMoves
from salesmetrics.metrics._common import (
    check_pipeline,
    plural,
    warn_missing_amounts,
    warn_no_close_date,
)

__all__ = ["check_pair", "warn_changes", "warn_few_matches"]

IntArray = npt.NDArray[np.intp]


def check_pair(function: str, before: object, after: object, *, probabilities: bool = False
                ) -> tuple[Pipeline, Pipeline]:
    """The two snapshots, checked to share a sales process and a currency; with
    ``probabilities``, the stages' probabilities too (the weighted values read them)."""
    b = check_pipeline(function, before)
    if not isinstance(after, Pipeline):
        raise DataTypeError(f"{function}(): expected a Pipeline as second argument (after), got "
                            f"{type(after)!r}")
    if b.stages != after.stages:
        def plain(p: Pipeline) -> list[tuple[str, object, object]]:
            return [(s.name, s.outcome, s.forecast_category) for s in p.stages]

        if plain(b) != plain(after):
            raise DataError(
                f"{function}(): before and after must be snapshots of the same sales process; "
                f"their stages differ: {list(b.stage_names)} and {list(after.stage_names)}")
        if probabilities:  # the stages differ only in probability
            stage = next(x for x, y in zip(b.stages, after.stages, strict=True) if x != y)
            other = after.stages[b.stages.index(stage)]
            raise DataError(
                f"{function}(): before and after give stage {stage.name!r} different "
                f"probabilities ({stage.probability:g} before, {other.probability:g} after), so "
                "the weighted values are not comparable; load both with the same stages "
                "(stages=), or compare unweighted (weighted=False)")
    if b.currency != after.currency:
        raise CurrencyError(
            f"{function}(): before and after must be in one currency, got {b.currency!r} and "
            f"{after.currency!r}; convert one of them first")
    return b, after


def warn_changes(function: str, before: Pipeline, after: Pipeline, m: DealMoves,
          period: Period | None) -> None:
    """Counted deals without an amount (they count 0) and, with a period, open deals without
    an expected close date (in no period), in either snapshot."""
    def missing(p: Pipeline, rows: IntArray, counted: npt.NDArray[np.bool_]) -> int:
        return int((counted & p.amount_missing[np.maximum(rows, 0)]).sum()) if len(p) else 0

    n_missing = missing(before, m.rows_b, m.counted_b) + missing(after, m.rows_a, m.counted_a)
    n_counted = int(m.counted_b.sum() + m.counted_a.sum())
    warn_missing_amounts(function, n_missing, n_counted, deals="open deals counted in the two "
                         "snapshots", effect="counted as 0, so their movements are understated",
                         stacklevel=4)
    if period is not None:
        n = sum(int(((p.outcome_codes == OPEN) & np.isnat(p.close_date)).sum())
                for p in (before, after))
        warn_no_close_date(function, n, effect="the waterfall leaves {them} out", stacklevel=4)


def warn_few_matches(function: str, before: Pipeline, after: Pipeline, m: DealMoves) -> None:
    """Both snapshots have deals but under half of the smaller one's ids are in the other:
    most likely the ids are spelled differently ("1" and "001", "a " and "a", 15- and 18-
    character Salesforce ids), and every deal shows as removed and re-added."""
    matched = int(((m.rows_b >= 0) & (m.rows_a >= 0)).sum())
    gone = before.ids[m.rows_b[(m.rows_b >= 0) & (m.rows_a < 0)][:1]].tolist()
    fresh = after.ids[m.rows_a[(m.rows_a >= 0) & (m.rows_b < 0)][:1]].tolist()
    _warn_ids(function, matched, min(len(before), len(after)), gone, fresh)


def warn_few_ids(function: str, before: Pipeline, after: Pipeline, in_after: IntArray,
                 only_after: IntArray) -> None:
    """`warn_few_matches` from `match_ids(before.ids, after.ids)`: ``in_after`` (each before
    row's row in after, -1 if absent) and ``only_after`` (after's rows found in no before row)."""
    gone = before.ids[np.flatnonzero(in_after < 0)[:1]].tolist()
    fresh = after.ids[only_after[:1]].tolist()
    _warn_ids(function, int((in_after >= 0).sum()), min(len(before), len(after)), gone, fresh,
              stacklevel=4)


def _warn_ids(function: str, matched: int, smaller: int, gone: list[Any], fresh: list[Any],
              stacklevel: int = 4) -> None:
    if not smaller or 2 * matched >= smaller:
        return
    example = (f" (e.g. {gone[0]!r} only in before, {fresh[0]!r} only in after)"
               if len(gone) and len(fresh) else "")
    warnings.warn(
        f"{function}(): only {matched:,} of the {plural(smaller, 'deal')} of the smaller "
        f"snapshot {'has its id' if smaller == 1 else 'have their ids'} in the other"
        f"{example}, so the rest show as removed and new. Fix: check that both snapshots "
        "spell the deal ids the same way (leading zeros, spaces, case, 15- or 18-character "
        "Salesforce ids) and load them with the same id column", DataQualityWarning,
        stacklevel=stacklevel)
