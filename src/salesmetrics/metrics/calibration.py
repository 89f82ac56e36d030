"""Calibration: do the stage probabilities tell the truth? The deals open on a past date, the
probability of the stage each was in then, and how they ended."""

from __future__ import annotations

import datetime as dt
import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_number, format_rate, html_table, text_table
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN, WON
from salesmetrics.errors import (
    DataError,
    DataQualityWarning,
    DataTypeError,
    OptionError,
)
from salesmetrics.metrics._common import check_pipeline, divide, plural
from salesmetrics.metrics._summary import as_of_date
from salesmetrics.metrics.pipeline_totals import stage_probabilities

__all__ = ["Calibration", "calibration"]

_FUNCTION = "calibration"
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Calibration:
    r"""How well stage probabilities predicted the outcome of the deals open on a past date.

    One row per stage (or per probability bin), in funnel (or probability) order, for the
    rows with at least one deal:

    - ``predicted``: the mean probability the deals of the row were given [fraction];
    - ``observed``: the share of them that won [fraction];
    - ``won`` and ``count``: how many won, and how many there are [deals].

    A well calibrated process has ``observed`` close to ``predicted`` on every row (the
    diagonal of a reliability diagram, `salesmetrics.plot.calibration`).

    Attributes
    ----------
    as_of
        The date whose open deals are compared with how they ended.
    by
        ``"stage"`` (a row per stage) or ``"probability"`` (a row per probability bin).
    labels
        The rows: stage names, or bins such as ``"20–40 %"``.
    predicted, observed, won, count
        Per row, as above (numpy arrays).
    lower, upper
        With bins, each bin's edges [fraction] (a bin holds ``lower <= p < upper``, the last
        one also ``p = upper``); None by stage.
    brier
        The Brier score, $\frac{1}{n}\sum_i (p_i - y_i)^2$ over the ``n`` deals compared
        [squared fraction, 0 best]; nan when no deal open on ``as_of`` has closed since.
    n
        How many deals are compared: open on ``as_of``, closed since.
    still_open
        Deals open on ``as_of`` and still open today, left out (their outcome is not known).
    unrecorded
        Deals open on ``as_of`` and closed since with no open stage on record, left out (their
        stage on ``as_of`` is not known).
    """

    __slots__ = ("as_of", "brier", "by", "count", "labels", "lower", "n", "observed",
                 "predicted", "still_open", "unrecorded", "upper", "won")

    def __init__(
        self, *, as_of: dt.date, by: Literal["stage", "probability"], labels: tuple[str, ...],
        predicted: FloatArray, observed: FloatArray, won: IntArray, count: IntArray,
        brier: float, still_open: int, unrecorded: int = 0,
        lower: FloatArray | None = None, upper: FloatArray | None = None,
    ) -> None:
        self.as_of = as_of
        self.by = by
        self.labels = labels
        self.predicted = predicted
        self.observed = observed
        self.won = won
        self.count = count
        self.brier = brier
        self.n = int(count.sum())
        self.still_open = still_open
        self.unrecorded = unrecorded
        self.lower = lower
        self.upper = upper

    def __len__(self) -> int:
        """The number of rows."""
        return len(self.labels)

    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by ``stage`` (or ``bin``), with columns ``predicted``,
        ``observed``, ``won`` and ``count`` (and, with bins, ``lower`` and ``upper``)."""
        import pandas as pd

        columns: dict[str, Any] = {"predicted": self.predicted, "observed": self.observed,
                                   "won": self.won, "count": self.count}
        if self.lower is not None and self.upper is not None:
            columns |= {"lower": self.lower, "upper": self.upper}
        name = "stage" if self.by == "stage" else "bin"
        return pd.DataFrame(columns, index=pd.Index(list(self.labels), name=name))

    def _title(self) -> str:
        score = "n/a" if math.isnan(self.brier) else format_number(self.brier, 4)
        return (f"calibration of the deals open on {self.as_of.isoformat()}: "
                f"{plural(self.n, 'deal')} closed since, Brier score {score}")

    def _left_out(self) -> str:
        left = [f"{plural(self.still_open, 'deal')} still open"]
        if self.unrecorded:
            left.append(f"{plural(self.unrecorded, 'deal')} with no stage on record")
        return f"left out: {', '.join(left)}"

    def _table(self) -> tuple[list[str], list[list[str]]]:
        header = ["stage" if self.by == "stage" else "probability", "predicted", "observed",
                  "won", "count"]
        rows = [[label, format_rate(p), format_rate(o), format_number(int(w)),
                 format_number(int(c))]
                for label, p, o, w, c in zip(self.labels, self.predicted.tolist(),
                                             self.observed.tolist(), self.won, self.count,
                                             strict=True)]
        return header, rows

    def __repr__(self) -> str:
        header, rows = self._table()
        table = text_table(header, rows) if rows else []
        return "\n".join([self._title(), *table, f"  {self._left_out()}"])

    def _repr_html_(self) -> str:
        import html

        header, rows = self._table()
        table = html_table(header, rows) if rows else ""
        return (f"<p><b>{html.escape(self._title())}</b></p>{table}"
                f"<p>{html.escape(self._left_out())}</p>")


def _probabilities(p: Pipeline, probabilities: Mapping[str, float] | None) -> FloatArray:
    """Each stage's probability: the configured ones, replaced by ``probabilities`` (checked
    as `weighted_pipeline` checks them)."""
    return stage_probabilities(_FUNCTION, p.stage_names, p.stage_probabilities, probabilities)


def _edges(bins: object) -> FloatArray:
    """``bins`` as bin edges on [0, 1]: ``k`` equal-width bins, or the edges given."""
    if isinstance(bins, numbers.Integral) and not isinstance(bins, (bool, np.bool_)):
        if int(bins) < 1:
            raise OptionError(f"{_FUNCTION}(): bins must be a number of bins >= 1 or a sequence "
                              f"of edges from 0 to 1, got {bins!r}")
        return np.linspace(0.0, 1.0, int(bins) + 1)
    if isinstance(bins, (str, bytes)) or not isinstance(bins, (Sequence, np.ndarray)):
        raise DataTypeError(f"{_FUNCTION}(): bins must be a number of bins or a sequence of edges "
                            f"from 0 to 1 such as [0, 0.25, 0.5, 1], got {bins!r}")
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        edges = np.array([np.nan])
    if (edges.ndim != 1 or len(edges) < 2 or not np.isfinite(edges).all()
            or edges[0] != 0 or edges[-1] != 1 or not (np.diff(edges) > 0).all()):
        raise OptionError(f"{_FUNCTION}(): bins as edges must be increasing numbers from 0 to 1, "
                          f"at least two, such as [0, 0.25, 0.5, 1], got {bins!r}")
    return edges


def _bin_label(lower: float, upper: float) -> str:
    return f"{format_number(lower * 100)}–{format_number(upper * 100)} %"


def _warn_unrecorded(n: int) -> None:
    if n:
        warnings.warn(
            f"{_FUNCTION}(): {plural(n, 'deal')} open on as_of and closed since "
            f"{'has' if n == 1 else 'have'} no open stage on record (no stage history, or one "
            "that starts with the closing), so the stage on as_of is not known; left out. Load "
            "the full stage history (history= or stage_entered=) to count them",
            DataQualityWarning,
            stacklevel=3,
        )


def calibration(
    p: Pipeline,
    *,
    as_of: dt.date | dt.datetime | str | np.datetime64,
    probabilities: Mapping[str, float] | None = None,
    bins: int | Sequence[float] | None = None,
) -> Calibration:
    r"""Calibration of the stage probabilities: what they predicted on a past date, and what
    happened.

    Take the deals open on ``as_of``, each in the stage it was in then (rebuilt from the stage
    history by `Pipeline.as_of`), and of them those that have closed since. Deal $i$ was given
    $p_i$, the probability of its stage on ``as_of``, and its outcome is $y_i = 1$ if it is won
    today, else 0 (lost or no decision). Per stage (or per bin of $p_i$):

    $$
    \text{predicted} = \frac{1}{n_r}\sum_{i \in r} p_i, \qquad
    \text{observed} = \frac{1}{n_r}\sum_{i \in r} y_i,
    $$

    and over all $n$ deals compared, the Brier score

    $$
    B = \frac{1}{n}\sum_{i} (p_i - y_i)^2
    $$

    [squared fraction]: 0 for perfect foresight, 0.25 for saying 50 % to every deal. Stages
    whose observed share is far from their predicted one, on enough deals, are where the
    stage percentages do not tell the truth.

    Parameters
    ----------
    p
        The pipeline, with its stage history (``history=`` or ``stage_entered=``).
    as_of
        The past date: a date, datetime, ``numpy.datetime64`` or ISO string. Required: pick
        one far enough back that most of its open deals have closed since.
    probabilities
        ``{stage name: probability}`` replacing the stages' configured probabilities (e.g.
        `historical_probabilities`), checked as in `weighted_pipeline`. Default: the configured
        ones. Deal-level probability overrides are left out: their history is not kept, and
        today's value can leak the outcome.
    bins
        None for a row per open stage; an int *k* for *k* equal-width bins of $p_i$ on [0, 1];
        or a sequence of increasing edges from 0 to 1. A bin holds $\text{lower} \le p_i <
        \text{upper}$, the last one also $p_i = 1$.

    Returns
    -------
    Calibration
        The rows with at least one deal (``predicted``, ``observed`` [fractions], ``won``,
        ``count`` [deals]), ``brier``, ``n``, and the deals left out: ``still_open`` (open on
        ``as_of`` and still open today) and ``unrecorded``. With no deal to compare, no rows
        and a nan Brier score (never an error).

    Raises
    ------
    DataError
        Without a stage history: a stage on a past date cannot be known without one. An
        ``as_of`` that is not a date.
    OptionError
        ``bins`` that are not a count >= 1 or increasing edges from 0 to 1.
    UnknownStageError
        ``probabilities`` naming a stage the process does not have.

    Warns
    -----
    DataQualityWarning
        Deals open on ``as_of`` and closed since with no open stage on record (their stage on
        ``as_of`` is not known): they are left out, with their count and the fix.

    See Also
    --------
    historical_probabilities : measured stage probabilities to compare with.
    salesmetrics.plot.calibration : the reliability diagram.

    References
    ----------
    1. G. W. Brier, "Verification of forecasts expressed in terms of probability", Monthly
       Weather Review 78 (1950) 1–3.
    2. A. H. Murphy and R. L. Winkler, "Reliability of subjective probability forecasts of
       precipitation and temperature", Applied Statistics 26 (1977) 41–47 (the reliability
       diagram).

    Examples
    --------
    On March 31, A and B were in Proposal (60 %), C and D in Meeting (30 %) and E in Meeting;
    F did not exist and G had closed. A and C have won since, B and D lost, E is still open:

    >>> from salesmetrics import Deal, Pipeline, calibration
    >>> def deal(id, stage, created, close, *history):
    ...     return Deal(id, 100, stage, created=created, close_date=close, history=history)
    >>> p = Pipeline.from_deals([
    ...     deal("A", "Closed won", "2024-01-05", "2024-04-20", ("Meeting", "2024-01-05"),
    ...          ("Proposal", "2024-03-01"), ("Closed won", "2024-04-20")),
    ...     deal("B", "Closed lost", "2024-01-10", "2024-05-01", ("Meeting", "2024-01-10"),
    ...          ("Proposal", "2024-02-15"), ("Closed lost", "2024-05-01")),
    ...     deal("C", "Closed won", "2024-02-01", "2024-04-10", ("Meeting", "2024-02-01")),
    ...     deal("D", "Closed lost", "2024-02-10", "2024-04-05", ("Meeting", "2024-02-10")),
    ...     deal("E", "Proposal", "2024-03-01", "2024-06-30", ("Meeting", "2024-03-01")),
    ...     deal("F", "Closed won", "2024-04-10", "2024-05-01"),
    ...     deal("G", "Closed lost", "2024-01-01", "2024-03-15"),
    ... ])
    >>> c = calibration(p, as_of="2024-03-31")
    >>> c.brier  # ((0.6 - 1)² + 0.6² + (0.3 - 1)² + 0.3²) / 4
    0.275
    >>> c
    calibration of the deals open on 2024-03-31: 4 deals closed since, Brier score 0.2750
      stage     predicted  observed  won  count
      --------  ---------  --------  ---  -----
      Meeting      30.0 %    50.0 %    1      2
      Proposal     60.0 %    50.0 %    1      2
      left out: 1 deal still open
    >>> calibration(p, as_of="2024-03-31", probabilities={"Meeting": 0.5}).brier
    0.255
    """
    p = check_pipeline(_FUNCTION, p)
    if as_of is None:
        raise OptionError(f"{_FUNCTION}(): as_of is required: the past date whose open deals to "
                          "compare with how they ended, e.g. as_of='2024-01-01'")
    day = as_of_date(as_of, p)
    probs = _probabilities(p, probabilities)
    edges = None if bins is None else _edges(bins)
    if p.history is None:
        raise DataError(
            f"{_FUNCTION}(): the pipeline has no stage history, and the stage each deal was in on "
            "as_of cannot be known without one; load it with history= (a table of id, stage "
            "and date, one row per stage entered) or stage_entered= (one date column per stage)"
        )
    past = p.as_of(day)
    present = np.isin(p.ids, past.ids)  # as_of keeps the deals' order
    today = p.outcome_codes[present]
    open_then = past.outcome_codes == OPEN
    closed_now = today != OPEN
    unrecorded = open_then & closed_now & (p.reached_mask()[present] == 0)
    compared = open_then & closed_now & ~unrecorded
    _warn_unrecorded(int(unrecorded.sum()))

    stage = past.stage_codes[compared]
    predicted = probs[stage]
    won = (today[compared] == WON).astype(np.float64)
    brier = float(np.mean((predicted - won) ** 2)) if len(won) else math.nan
    common = dict(as_of=day.item(), brier=brier,
                  still_open=int((open_then & ~closed_now).sum()),
                  unrecorded=int(unrecorded.sum()))
    if edges is None:
        width = len(probs)
        count = np.bincount(stage, minlength=width)
        wins = np.bincount(stage, weights=won, minlength=width)
        rows = np.flatnonzero(count)
        return Calibration(
            by="stage", labels=tuple(p.stage_names[k] for k in rows.tolist()),
            predicted=probs[rows], observed=divide(wins[rows], count[rows], math.nan),
            won=wins[rows].astype(np.int64), count=count[rows].astype(np.int64),
            **common,  # type: ignore[arg-type]
        )
    n_bins = len(edges) - 1
    where = np.minimum(np.searchsorted(edges, predicted, side="right") - 1, n_bins - 1)
    count = np.bincount(where, minlength=n_bins)
    wins = np.bincount(where, weights=won, minlength=n_bins)
    total = np.bincount(where, weights=predicted, minlength=n_bins)
    rows = np.flatnonzero(count)
    lower, upper = edges[:-1][rows], edges[1:][rows]
    return Calibration(
        by="probability",
        labels=tuple(_bin_label(lo, hi) for lo, hi in zip(lower.tolist(), upper.tolist(),
                                                           strict=True)),
        predicted=total[rows] / count[rows], observed=divide(wins[rows], count[rows], math.nan),
        won=wins[rows].astype(np.int64), count=count[rows].astype(np.int64),
        lower=lower, upper=upper, **common,  # type: ignore[arg-type]
    )
