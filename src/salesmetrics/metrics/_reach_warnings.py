"""The data-quality warnings of the conversion metrics (a ``reached`` summary): closed deals
with no record of the stages they reached, and those of a value basis."""

from __future__ import annotations

from salesmetrics.errors import DataQualityWarning
from salesmetrics.metrics._common import (
    plural,
    total,
    warn,
    warn_left_out_of_window,
    warn_missing_amounts,
    warn_zeroed_losses,
)
from salesmetrics.metrics._summary import Summary

__all__ = ["warn_unreached", "warn_value"]

# What assuming "reached only the first stage" does to each metric: for closed deals not won,
# for won deals (under skipped="visited"), and for both.
_UNREACHED_EFFECT = {
    "conversion_from_stage": (
        "conversion from every later stage is overstated",
        "conversion from every later stage is understated",
        "every later stage leaves them out (the deals not won overstate its conversion, the won "
        "ones understate it)",
    ),
    "stage_conversion": (
        "conversion from the first stage is understated and from later ones overstated",
        "conversion from every stage is understated",
        "conversion from the first stage is understated, and from later ones overstated by the "
        "deals not won and understated by the won ones",
    ),
    "funnel_counts": ("every later stage's count is understated",) * 3,
    "historical_probabilities": (
        "the measured probability of every later stage is overstated",
        "the measured probability of every later stage is understated",
        "every later stage leaves them out (the deals not won overstate its measured probability, "
        "the won ones understate it)",
    ),
}
#: The metrics of a ``reached`` summary that count open deals (the others: closed deals only).
_COUNTS_OPEN = ("funnel_counts", "stage_conversion")


def warn_unreached(function: str, summary: Summary, stacklevel: int = 3) -> None:
    """Warn about the closed deals with no record of the stages they reached (the
    ``unrecorded`` and ``unrecorded_won`` tallies of a ``reached`` summary): the reach rules
    count them as having reached only the first stage. A won deal counts under
    ``skipped="visited"`` only: under ``"implied"`` it reached every open stage, history or
    not. Then the warnings of the window (`warn_left_out_of_window`): deals in no cohort and,
    for the metrics that count open deals, open deals in no period."""
    warn_left_out_of_window(function, summary, open_counted=function in _COUNTS_OPEN,
                            stacklevel=stacklevel + 1)
    lost = total(summary.arrays["unrecorded"])
    won = total(summary.arrays["unrecorded_won"]) if summary.context[3] == "visited" else 0
    if not lost and not won:
        return
    n = lost + won
    if lost and won:
        who = (f"{plural(lost, 'closed deal')} that {'was' if lost == 1 else 'were'} not won and "
               f"{plural(won, 'won deal')} have")
    elif lost:
        who = (f"{plural(lost, 'closed deal')} that "
               f"{'was not won has' if n == 1 else 'were not won have'}")
    else:
        who = f"{plural(won, 'won deal')} {'has' if n == 1 else 'have'}"
    it, counts = ("it", "counts") if n == 1 else ("they", "count")
    effect = _UNREACHED_EFFECT[function][2 if lost and won else 1 if won else 0]
    implied = (", or use skipped='implied', under which a won deal reached every open stage"
               if won else "")
    warn(
        f"{function}(): {who} no record of the stages {it} reached (no stage history), so {it} "
        f"{counts} as having reached only the first stage, {summary.context[0][0]!r}: "
        f"{effect}. Fix: load the stage history with history= on Pipeline.from_columns or "
        "read_csv, or, where the export has one date column per stage, "
        f"stage_entered={{'Engaging': 'engage_date', ...}}{implied}",
        DataQualityWarning,
        stacklevel,
    )


def warn_value(function: str, summary: Summary, *, closed_only: bool,
                stacklevel: int = 4) -> None:
    """Warnings of a value basis, from the ``reached`` summary: deals in the window (closed
    ones only, for rates) without an amount (they count 0), and (for rates) lost deals that all
    have amount 0."""
    a = summary.arrays
    classes = slice(1, None) if closed_only else slice(None)
    total = int(a["classes"][:, classes].sum())
    warn_missing_amounts(function, total - int(a["classes_valued"][:, classes].sum()), total,
                         deals="closed deals" if closed_only else "deals",
                         effect="counted as 0", stacklevel=stacklevel)
    if function == "funnel_counts":
        return
    warn_zeroed_losses(function, int(a["classes_valued"][:, 2].sum()),
                       int(a["value"][:, :, 2].sum()), int(a["won_value"].sum()),
                       stacklevel=stacklevel)
