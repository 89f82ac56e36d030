"""Pipeline health: data hygiene findings (`hygiene`) and how concentrated the open value is
(`concentration`)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable
from typing import Any

import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_number, html_table, is_missing, text_table
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN
from salesmetrics.errors import OptionError
from salesmetrics.metrics._common import check_pipeline
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summary import as_of_date

__all__ = ["HYGIENE_CODES", "HygieneFindings", "check_days", "hygiene"]

IntArray = npt.NDArray[np.intp]

#: The reason codes of `hygiene`, in the order findings of one deal are listed.
HYGIENE_CODES: tuple[str, ...] = (
    "past_due", "stalled", "missing_amount", "missing_close_date", "missing_owner",
    "probability_mismatch", "future_close",
)
_SHOWN = 10  # findings printed by repr


def check_days(function: str, name: str, value: object) -> int:
    """``value`` as an int >= 1 [days], else `OptionError`."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
            or int(value) < 1):
        raise OptionError(f"{function}(): {name} must be a whole number of days >= 1, "
                          f"got {value!r}")
    return int(value)


def check_fraction(function: str, name: str, value: object) -> float:
    """``value`` as a float in [0, 1], else `OptionError`."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not 0 <= float(value) <= 1):
        raise OptionError(f"{function}(): {name} must be a fraction in [0, 1] (0.2 for 20 "
                          f"points), got {value!r}")
    return float(value)


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


def _last_change(p: Pipeline, day: np.datetime64) -> npt.NDArray[np.datetime64]:
    """Each deal's last stage-history event on or before ``day``, else its created date."""
    last = p.created.astype("datetime64[D]").copy()
    history = p.history
    if history is not None and len(history):
        keep = history.dates <= day
        rows, dates = history.rows[keep], history.dates[keep]
        if len(rows):  # events are sorted by (row, date): a deal's last event ends its run
            ends = np.flatnonzero(np.append(rows[1:] != rows[:-1], True))
            last[rows[ends]] = dates[ends]
    return last


def hygiene(
    p: Pipeline, *, as_of: Any, stalled_after: int = 30, probability_tolerance: float = 0.2,
) -> HygieneFindings:
    r"""Data-quality findings on a given day, one row per deal and reason.

    Reasons (``code``), checked on every deal of ``p``:

    - ``past_due``: open, with an expected close date before ``as_of``;
    - ``stalled``: open, and ``as_of − last change >= stalled_after`` [days], where the last
      change is the deal's last stage-history event on or before ``as_of``, else (no history)
      its created date;
    - ``missing_amount``: no amount;
    - ``missing_close_date``: no close date (expected, for an open deal);
    - ``missing_owner``: no ``owner`` label (only checked when the pipeline has an ``owner``
      field);
    - ``probability_mismatch``: open, with its own probability $q$ and
      $|q - q_\text{stage}| > \text{probability\_tolerance}$;
    - ``future_close``: closed, with a close date after ``as_of``.

    This is the "integrity of data" factor of pipeline health: a forecast that reads past-due
    close dates, stalled deals or a rep's 90 % on a discovery call is off before any metric runs.

    Parameters
    ----------
    p
        The pipeline.
    as_of
        The day the findings are about (a date or ``"2024-12-31"``); required, since "past due"
        and "stalled" depend on it. ``p.latest_date`` is the day of an export.
    stalled_after
        Days without a stage change after which an open deal is stalled [days], a whole number
        >= 1 (default 30, the usual "no movement in a month" of pipeline reviews; HubSpot and
        Salesforce stalled-deal views are set per team).
    probability_tolerance
        How far a deal's own probability may be from its stage's before it is a finding
        [fraction, 0 to 1] (default 0.2: 20 points, so 90 % on a 10 % stage is flagged, 40 %
        on a 30 % stage is not). Deals using their stage's probability are never flagged.

    Returns
    -------
    HygieneFindings
        The findings (columns ``id``, ``code``, ``message``; `HygieneFindings.to_pandas`),
        ``counts`` per code and ``by_owner`` per owner.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, hygiene
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 100, "Proposal", created="2024-01-02", close_date="2024-02-01",
    ...          owner="ana"),
    ...     Deal("B", None, "Closed won", created="2024-01-05", close_date="2024-03-20",
    ...          owner="bo")])
    >>> h = hygiene(p, as_of="2024-03-01")
    >>> h.to_pandas().values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['A', 'past_due', 'open, expected to close on 2024-02-01, 29 days ago'],
     ['A', 'stalled', 'open, no stage change for 59 days (since 2024-01-02)'],
     ['B', 'missing_amount', 'no amount'],
     ['B', 'future_close', 'closed, but its close date 2024-03-20 is after 2024-03-01']]
    >>> dict(h.by_owner)
    {'ana': 2, 'bo': 2}
    """
    function = "hygiene"
    check_pipeline(function, p)
    if as_of is None:
        raise OptionError(f"{function}(): as_of is required (hygiene is about a given day), "
                          "got None; give a date such as '2024-12-31', or p.latest_date")
    day = as_of_date(as_of, p)
    stalled_days = check_days(function, "stalled_after", stalled_after)
    tolerance = check_fraction(function, "probability_tolerance", probability_tolerance)

    is_open = p.outcome_codes == OPEN
    close = p.close_date.astype("datetime64[D]")
    no_close = np.isnat(close)
    close_days = (day - close).astype(np.int64)  # garbage where NaT: masked below
    last = _last_change(p, day)
    idle = (day - last).astype(np.int64)
    stage_prob = p.stage_probabilities[p.stage_codes]
    own = p.probability
    has_owner_field = "owner" in p.fields
    owner = p.labels("owner") if has_owner_field else None
    missing_owner = (np.zeros(len(p), dtype=bool) if owner is None
                     else np.isin(owner.codes, [k for k, c in enumerate(owner.categories)
                                                if is_missing(c)]))
    masks = [
        is_open & ~no_close & (close < day),
        is_open & ~np.isnat(last) & (last <= day) & (idle >= stalled_days),
        p.amount_missing,
        no_close,
        missing_owner,
        is_open & ~np.isnan(own) & (np.abs(np.nan_to_num(own) - stage_prob) > tolerance),
        ~is_open & ~no_close & (close > day),
    ]
    rows = np.concatenate([np.flatnonzero(m) for m in masks]).astype(np.intp)
    code = np.concatenate([np.full(int(m.sum()), k, dtype=np.intp) for k, m in enumerate(masks)])
    order = np.lexsort((code, rows))
    rows, code = rows[order], code[order]
    stalled = code == HYGIENE_CODES.index("stalled")
    detail = {
        "date": np.where(stalled, last[rows], close[rows]),
        "days": np.where(stalled, idle[rows], close_days[rows]),
        "open": is_open[rows],
        "prob": np.nan_to_num(own[rows]),
        "stage_prob": stage_prob[rows],
        "stage": np.asarray(p.stage_names, dtype=object)[p.stage_codes[rows]],
    }
    return HygieneFindings(as_of=day, ids=p.ids[rows], rows=rows, code=code, detail=detail,
                           owner=_per_owner(p, rows, owner is not None))


def _per_owner(p: Pipeline, rows: IntArray, has_owner: bool) -> GroupedResult[int]:
    """Findings per owner label (only owners with findings), in the label order."""
    if not has_owner:
        keys: list[Hashable] = [None] if len(rows) else []
        return GroupedResult(("owner",), keys, [len(rows)] * len(keys), name="findings",
                             unit="count")
    labels = p.labels("owner")
    n = np.bincount(labels.codes[rows], minlength=len(labels.categories))
    found = np.flatnonzero(n)
    return GroupedResult(("owner",), labels.categories[found].tolist(), n[found].tolist(),
                         name="findings", unit="count")
