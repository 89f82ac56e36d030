"""Checks of Salesforce opportunities against their stages: stage names spelled two ways
(case or spaces), and ``IsClosed``/``IsWon`` flags that contradict the stage given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.stage import Outcome, Stage
from salesmetrics.errors import DataError
from salesmetrics.io._tables import Rows, Table, parse_flags, text_of

__all__ = ["check_flags", "check_spellings"]


def check_spellings(names: npt.NDArray[np.str_], first: npt.NDArray[np.intp], ids: Any,
                     rows: Rows) -> None:
    """`DataError` naming two stage names that differ only in case or surrounding spaces
    (``"Prospecting"`` and ``"prospecting"``), which would become two stages: a stage name
    must match exactly, as in `Pipeline.from_columns`."""
    keys = np.char.lower(np.char.strip(names))
    _, where_first, count = np.unique(keys, return_index=True, return_counts=True)
    if (count == 1).all():
        return
    k = int(where_first[np.flatnonzero(count > 1)[0]])
    other = int(np.flatnonzero(keys == keys[k])[1])
    spelled = " and ".join(
        f"{str(names[i])!r} ({rows.where(str(ids[int(first[i])]), int(first[i]))[:-2]})"
        for i in (k, other))
    raise DataError(
        f"read_salesforce(): stage names {spelled} differ only in case or spaces, so they "
        "would be two stages; a stage name must match exactly (Salesforce's picklist has one "
        "spelling): correct the export, or map one spelling to the other before loading"
    )


def check_flags(table: Table, process: Sequence[Stage], ids: Any, rows: Rows) -> None:
    """`DataError` naming the first deal whose ``IsClosed`` or ``IsWon`` contradicts its
    stage in ``stages=`` (a lost deal in a won stage would count as won); blank flags and
    stages not in the process (an error later) are not checked."""
    names = [n for n in ("IsClosed", "IsWon") if n in table]
    if not names:
        return
    outcome = {s.name: s.outcome for s in process}
    keys, inverse = np.unique(text_of(table["StageName"]), return_inverse=True)
    codes = np.array([int(outcome.get(k, -1)) for k in keys.tolist()], int)[inverse.ravel()]
    expected = {"IsClosed": codes > int(Outcome.OPEN), "IsWon": codes == int(Outcome.WON)}
    bad = np.zeros(len(ids), bool)
    flags = {}
    for name in names:
        given = parse_flags(table[name], field=name, ids=ids, rows=rows)
        blank = parse_flags(table[name], field=name, ids=ids, rows=rows, missing=True) & ~given
        flags[name] = given
        bad |= (codes >= 0) & ~blank & (given != expected[name])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        stage = str(keys[inverse.ravel()[row]])
        said = " and ".join(f"{n}={str(bool(flags[n][row])).lower()}" for n in names)
        raise DataError(
            f"read_salesforce(): {rows.where(str(ids[row]), row)}{said} "
            f"contradict{'s' * (len(names) == 1)} "
            f"its stage {stage!r}, which is {Outcome(codes[row]).name.lower().replace('_', ' ')} "
            f"in stages=...; correct the deal's stage or flags, or the stage's IsClosed/IsWon"
        )
