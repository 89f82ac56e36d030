"""`ChangedDeals`: the per-deal rows behind a `PipelineChanges`, one per changed deal.

It holds the movements as events (deal, movement, value) and builds its table only when asked
(`ChangedDeals.to_pandas`, `ChangedDeals.movements`), so that diffing a million deals costs no
per-deal Python and no wide table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_money, text_table
from salesmetrics.metrics._changes_kernel import GROUP_MOVES, MOVEMENTS

__all__ = ["ALL_MOVES", "ChangedDeals"]

#: Every movement, the ten of the whole pipeline then the two of a group.
ALL_MOVES = MOVEMENTS + GROUP_MOVES


class ChangedDeals:
    """One row per changed deal: its id, the movements it carries, its value at the start and
    at the end [major currency units] (0 where it is not counted: absent, closed, or outside the
    period) and the signed value of each movement.

    A deal can carry several movements: a deal pulled into the period whose amount grew is
    ``pulled_in`` at its old value, then ``increased`` by the difference. Rows are in the order
    of the ``before`` snapshot, then the deals new in ``after``.
    """

    __slots__ = ("_after", "_before", "_codes", "_ids", "_scale", "_values", "currency")

    def __init__(
        self, ids: npt.NDArray[Any], before: npt.NDArray[Any], after: npt.NDArray[Any],
        rows: npt.NDArray[np.intp], codes: npt.NDArray[np.intp], values: npt.NDArray[Any],
        *, scale: int, currency: str | None,
    ) -> None:
        """``ids``, ``before``, ``after`` per changed deal [minor units]; the events as
        ``rows`` (index into them), movement ``codes`` (index into `ALL_MOVES`) and ``values``."""
        self._ids = ids
        self._before = before
        self._after = after
        self._codes = (rows, codes)
        self._values = values
        self._scale = scale
        self.currency = currency

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> npt.NDArray[Any]:
        """The changed deals' ids."""
        return self._ids

    @property
    def before(self) -> npt.NDArray[np.float64]:
        """Each deal's value counted at the start [major units]."""
        return np.asarray(self._before / self._scale, dtype=np.float64)

    @property
    def after(self) -> npt.NDArray[np.float64]:
        """Each deal's value counted at the end [major units]."""
        return np.asarray(self._after / self._scale, dtype=np.float64)

    def _matrix(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Signed value [major units] and presence of each movement, one column per movement."""
        rows, codes = self._codes
        shape = (len(self._ids), len(ALL_MOVES))
        values = np.zeros(shape)
        present = np.zeros(shape, dtype=bool)
        np.add.at(values, (rows, codes), self._values / self._scale)
        present[rows, codes] = True
        return values, present

    @property
    def movements(self) -> list[tuple[str, ...]]:
        """The movements each deal carries, in attribution order."""
        _, present = self._matrix()
        names = np.array(ALL_MOVES, dtype=object)
        return [tuple(names[row]) for row in present]

    def _joined(self, present: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
        """The movements of each deal as one text, e.g. ``"pulled_in, increased"`` (a loop over
        the twelve movements, not the deals)."""
        text = np.full(len(present), "", dtype=object)
        for k, name in enumerate(ALL_MOVES):
            sep = np.where(text == "", "", ", ")
            text = np.where(present[:, k], text + sep + name, text)
        return text

    def to_pandas(self) -> Any:
        """A DataFrame: ``id``, ``movements``, ``before``, ``after``, then one column per
        movement that occurs (signed value [major units], 0 where the deal has not that one)."""
        import pandas as pd

        values, present = self._matrix()
        frame: dict[str, Any] = {"id": self._ids, "movements": self._joined(present),
                                 "before": self.before, "after": self.after}
        for k, name in enumerate(ALL_MOVES):
            if present[:, k].any():
                frame[name] = values[:, k]
        return pd.DataFrame(frame)

    def __repr__(self) -> str:
        shown = 10
        _, present = self._matrix()
        text = self._joined(present[:shown])
        rows = [[str(self._ids[i]), str(text[i]), format_money(self.before[i]),
                 format_money(self.after[i])] for i in range(min(shown, len(self)))]
        more = [f"  … and {len(self) - shown:,} more"] if len(self) > shown else []
        head = f"ChangedDeals({len(self):,} deals{', ' + self.currency if self.currency else ''})"
        return "\n".join([head, *text_table(["id", "movements", "before", "after"], rows,
                                            align=["left", "left", "right", "right"]), *more])
