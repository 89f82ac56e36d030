"""Lead metrics, where the pipeline holds leads: `lead_conversion` and `new_leads`.

A lead here is a deal row: its created date is when the lead came in, and winning it is
converting it. Lead conversion is the cohort win rate with open leads counted as not converted,
finalized by the one win-rate definition (`win_rate_terms`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Sequence
from typing import Literal, overload

import numpy as np

from salesmetrics.domain.period import Period, PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.metrics._activity_table import bucket_starts, buckets, check_freq
from salesmetrics.metrics._common import (
    check_pipeline,
    check_zero_division,
    divide,
    result,
    warn_left_out_of_window,
    warn_no_created_date,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_outcomes
from salesmetrics.metrics._summary import grouping, normalize_by, resolve_period
from salesmetrics.metrics.options import By
from salesmetrics.metrics.win_rates import win_rate_terms

__all__ = ["Freq", "lead_conversion", "new_leads"]

#: The sub-periods of ``freq=`` (as in the activity metrics): ISO weeks (Monday to Sunday),
#: calendar months, quarters.
Freq = Literal["week", "month", "quarter"]


@overload
def lead_conversion(
    p: Pipeline, *, period: PeriodLike | None = ..., by: None = None,
    zero_division: float = ...,
) -> float: ...
@overload
def lead_conversion(
    p: Pipeline, *, period: PeriodLike | None = ..., by: str | Sequence[str],
    zero_division: float = ...,
) -> GroupedResult[float]: ...
def lead_conversion(
    p: Pipeline, *, period: PeriodLike | None = None, by: By = None,
    zero_division: float = math.nan,
) -> float | GroupedResult[float]:
    r"""Lead conversion: the share of the leads created in a period that were won [fraction].

    $$
    \text{lead conversion} = \frac{n_\text{won}}{n_\text{leads created}}
    $$

    over the leads created in ``period`` (every lead without one). Open leads count as not
    converted, and so do lost and no-decision ones: it is `win_rate` with
    ``view="cohort"``, ``open_deals="lost"`` and ``no_decision="lost"``, the MQL-to-customer
    rate of marketing funnels (HubSpot's lifecycle-stage conversion, Salesforce's lead
    conversion rate).

    Parameters
    ----------
    p
        The pipeline, one row per lead.
    period
        The cohort: leads created in it (a `Period` or a label such as ``"2018-03"``).
    by
        Field name(s) to group by, e.g. the lead source or channel.
    zero_division
        The value for a group without leads: nan (default) or a number in [0, 1].

    Returns
    -------
    float or GroupedResult
        Lead conversion [fraction in 0..1]; per group with ``by``.

    Notes
    -----
    Recent cohorts have had less time to convert: their rate rises as their open leads close.
    Compare cohorts of the same age, or read `win_curve`. With a period, leads without a
    created date are in no cohort and left out, with a `DataQualityWarning`.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, lead_conversion
    >>> p = Pipeline.from_deals([
    ...     Deal("L1", None, "Closed won", created="2024-01-05", close_date="2024-02-01"),
    ...     Deal("L2", None, "Closed lost", created="2024-01-09", close_date="2024-02-01"),
    ...     Deal("L3", None, "Discovery", created="2024-01-20"),   # open: not converted
    ...     Deal("L4", None, "Closed won", created="2024-02-03", close_date="2024-03-01"),
    ... ])
    >>> lead_conversion(p, period="2024-01"), lead_conversion(p)
    (0.3333333333333333, 0.5)
    """
    zero = check_zero_division("lead_conversion", zero_division)
    summary = summarize_outcomes(p, by=by, period=period, view="cohort",
                                 function="lead_conversion")
    warn_left_out_of_window("lead_conversion", summary, open_deals="lost", open_counted=True)
    won, leads = win_rate_terms(summary.arrays, open_deals="lost", no_decision="lost")
    return result(summary, divide(won, leads, zero), "lead_conversion", unit="rate")


@overload
def new_leads(
    p: Pipeline, *, period: PeriodLike | None = ..., by: None = None, freq: None = None,
) -> int: ...
@overload
def new_leads(
    p: Pipeline, *, period: PeriodLike | None = ..., by: By = ..., freq: Freq | None = ...,
) -> int | GroupedResult[int]: ...
def new_leads(
    p: Pipeline, *, period: PeriodLike | None = None, by: By = None, freq: Freq | None = None,
) -> int | GroupedResult[int]:
    r"""New leads: how many leads were created [count], per group and per week, month…

    $$
    n = \#\{i : \text{created}_i \in \text{period}\}
    $$

    Parameters
    ----------
    p
        The pipeline, one row per lead.
    period
        Count the leads created in it; None: every lead (with ``freq``, from the first to the
        last created date).
    by
        Field name(s) to group by, e.g. the channel.
    freq
        ``"week"`` (ISO weeks, Monday to Sunday), ``"month"`` or ``"quarter"``:
        counts per such sub-period too, every one from the period's first to its last (zeros
        included); a week cut by the period's edge counts only its days inside.

    Returns
    -------
    int or GroupedResult
        The count; with ``by`` and/or ``freq``, a `GroupedResult` keyed by group, by
        sub-period label (``"2018-03"``), or by ``(group, label)`` tuples.
        ``.to_pandas().unstack()`` gives the table of groups × sub-periods.

    Notes
    -----
    With a period or ``freq``, leads without a created date are left out, with a
    `DataQualityWarning` giving their count; without either they count.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, new_leads
    >>> p = Pipeline.from_deals([
    ...     Deal(i, None, "Discovery", created=d, fields={"source": s})
    ...     for i, (d, s) in enumerate([
    ...         ("2024-01-05", "web"), ("2024-01-20", "ads"), ("2024-03-02", "web")])])
    >>> new_leads(p), new_leads(p, period="2024-Q1", by="source")["web"]
    (3, 2)
    >>> dict(new_leads(p, freq="month"))
    {'2024-01': 2, '2024-02': 0, '2024-03': 1}
    """
    check_pipeline("new_leads", p)
    fields = normalize_by("new_leads", by)
    chosen = resolve_period("new_leads", period)
    check_freq("new_leads", freq, allow_none=True)
    g = grouping(p, fields)
    created = p.created
    dated = ~np.isnat(created)
    if chosen is None and freq is None:
        mask = np.ones(len(p), dtype=bool)
    else:
        mask = chosen.contains(created) if chosen is not None else dated
        warn_no_created_date(
            "new_leads", int((~dated).sum()), why="new leads are counted by created date",
            instead="leave out period and freq to count every lead")
    group = np.zeros(len(p), dtype=np.intp) if g.keys is None else g.keys
    if freq is None:
        counts = np.bincount(group[mask], minlength=g.n)
        if not fields:
            return int(counts[0])
        present = np.flatnonzero(np.bincount(group, minlength=g.n))
        return GroupedResult(fields, g.decode(present), counts[present].tolist(),
                             name="new_leads", unit="count")
    chosen_dates = created[mask & dated]
    if chosen is None and len(chosen_dates):
        first, last = chosen_dates.min().item(), chosen_dates.max().item()
        chosen = Period(first, last + dt.timedelta(days=1))
    periods = buckets(chosen, freq) if chosen is not None else []
    starts = np.array([b.start for b in periods], dtype="datetime64[D]")
    bucket = np.searchsorted(starts, bucket_starts(chosen_dates, freq))
    width = len(periods)
    cells = np.bincount(group[mask & dated] * width + bucket,
                        minlength=g.n * width).reshape(g.n, width)
    labels = [b.label for b in periods]
    present = np.flatnonzero(np.bincount(group, minlength=g.n)) if fields else np.array([0])
    keys: list[Hashable] = []
    for label in g.decode(present) if fields else [None]:  # one per group, not per lead
        parts = list(label) if isinstance(label, tuple) else [label]
        keys.extend(tuple([*parts, b]) if fields else b for b in labels)
    return GroupedResult((*fields, freq), keys, cells[present].reshape(-1).tolist(),
                         name="new_leads", unit="count")
