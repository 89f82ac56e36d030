"""`HygieneFindings`: the table of `hygiene` findings, its counts and how it prints."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_number, html_table, text_table
from salesmetrics.metrics._grouped import GroupedResult

__all__ = ["HYGIENE_CODES", "HygieneFindings"]

IntArray = npt.NDArray[np.intp]

#: The reason codes of `hygiene`, in the order findings of one deal are listed.
HYGIENE_CODES: tuple[str, ...] = (
    "past_due", "stalled", "missing_amount", "missing_close_date", "missing_owner",
    "probability_mismatch", "future_close",
)
_SHOWN = 10  # findings printed by repr



def _days_text(days: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    return np.char.add(days.astype(str), np.where(days == 1, " day", " days"))


def _date_text(dates: npt.NDArray[np.datetime64]) -> npt.NDArray[Any]:
    return np.datetime_as_string(dates.astype("datetime64[D]"), unit="D")


class HygieneFindings:
    """Data-quality findings of a pipeline on a given day, one per (deal, reason).

    A table with columns ``id``, ``code`` (one of `HYGIENE_CODES`) and ``message`` (readable,
    with the dates and days behind it); `counts` per code and `by_owner` per owner.
    Findings are in the pipeline's row order, and within a deal in the order of the codes.
    """

    __slots__ = ("_code", "_detail", "_ids", "_messages", "_owner", "_rows", "as_of")

    def __init__(
        self, *, as_of: np.datetime64, ids: npt.NDArray[Any], rows: IntArray, code: IntArray,
        detail: dict[str, npt.NDArray[Any]], owner: GroupedResult[int],
    ) -> None:
        #: The day the findings are about [datetime64[D]].
        self.as_of = as_of
        self._ids = ids
        self._rows = rows
        self._code = code
        self._detail = detail  # per finding: the numbers its message states
        self._owner = owner
        self._messages: npt.NDArray[Any] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def ids(self) -> npt.NDArray[Any]:
        """Deal id of each finding."""
        return self._ids

    @property
    def rows(self) -> IntArray:
        """Row of the deal of each finding, in the pipeline."""
        return self._rows

    @property
    def codes(self) -> npt.NDArray[Any]:
        """Reason code of each finding (one of `HYGIENE_CODES`)."""
        return np.asarray(HYGIENE_CODES, dtype=object)[self._code]

    @property
    def messages(self) -> npt.NDArray[Any]:
        """A readable message per finding (built once, vectorized per code)."""
        if self._messages is None:
            self._messages = self._build_messages()
        return self._messages

    @property
    def counts(self) -> dict[str, int]:
        """Number of findings per code, every code included (0 where none), in code order."""
        n = np.bincount(self._code, minlength=len(HYGIENE_CODES))
        return {code: int(n[k]) for k, code in enumerate(HYGIENE_CODES)}

    @property
    def by_owner(self) -> GroupedResult[int]:
        """Number of findings per owner (a deal with two findings counts twice); owners
        without a finding are left out, ``None`` is the deals without an owner."""
        return self._owner

    @property
    def n_deals(self) -> int:
        """Number of distinct deals with at least one finding."""
        return len(np.unique(self._rows))

    def _build_messages(self) -> npt.NDArray[Any]:
        d = self._detail
        out = np.empty(len(self), dtype=object)
        texts: dict[str, Any] = {
            "past_due": lambda k: np.char.add(np.char.add(
                "open, expected to close on ", _date_text(d["date"][k])),
                np.char.add(", ", np.char.add(_days_text(d["days"][k]), " ago"))),
            "stalled": lambda k: np.char.add(np.char.add(
                "open, no stage change for ", _days_text(d["days"][k])),
                np.char.add(" (since ", np.char.add(_date_text(d["date"][k]), ")"))),
            "missing_amount": lambda k: np.full(len(k), "no amount"),
            "missing_close_date": lambda k: np.where(
                d["open"][k], "open, no expected close date", "closed, no close date"),
            "missing_owner": lambda k: np.full(len(k), "no owner"),
            "probability_mismatch": lambda k: np.char.add(np.char.add(
                np.char.add("probability ", np.char.mod("%.0f %%", 100 * d["prob"][k])),
                np.char.add(" but its stage's is ",
                            np.char.mod("%.0f %%", 100 * d["stage_prob"][k]))),
                np.char.add(" in stage ", d["stage"][k].astype(str))),
            "future_close": lambda k: np.char.add(np.char.add(
                "closed, but its close date ", _date_text(d["date"][k])),
                np.char.add(" is after ", str(self.as_of))),
        }
        for c, code in enumerate(HYGIENE_CODES):  # a loop over the codes, not the findings
            k = np.flatnonzero(self._code == c)
            if len(k):
                out[k] = texts[code](k).astype(object)
        return out

    def to_pandas(self) -> Any:
        """A DataFrame with columns ``id``, ``code`` and ``message``, one row per finding."""
        import pandas as pd

        return pd.DataFrame({"id": self._ids, "code": self.codes, "message": self.messages})

    def _head(self) -> str:
        return (f"hygiene as of {self.as_of}: {len(self):,} finding{'s' if len(self) != 1 else ''}"
                f" on {self.n_deals:,} deal{'s' if self.n_deals != 1 else ''}")

    def _findings_cells(self) -> list[list[str]]:
        shown = min(_SHOWN, len(self))
        codes, messages = self.codes[:shown], self.messages[:shown]
        return [[str(self._ids[i]), str(codes[i]), str(messages[i])] for i in range(shown)]

    def __repr__(self) -> str:
        counts = [[code, format_number(n)] for code, n in self.counts.items() if n]
        lines = [self._head()]
        if len(self):
            lines += text_table(["code", "findings"], counts)
            lines += text_table(["id", "code", "message"], self._findings_cells(),
                                align=["left", "left", "left"])
        if len(self) > _SHOWN:
            lines.append(f"  … and {len(self) - _SHOWN:,} more (to_pandas() lists them all)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        counts = [[code, format_number(n)] for code, n in self.counts.items() if n]
        parts = [f"<p><b>{html.escape(self._head())}</b></p>"]
        if len(self):
            parts.append(html_table(["code", "findings"], counts))
            parts.append(html_table(["id", "code", "message"], self._findings_cells(),
                                    align=["left", "left", "left"]))
        return "".join(parts)
