"""Retention and renewal: `renewal_rate` (renewals won) and `logo_retention` (accounts kept)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import overload

import numpy as np

from salesmetrics.domain.columns import Labels
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import WON
from salesmetrics.errors import DataQualityWarning, OptionError, SalesMetricsError, choices
from salesmetrics.metrics._common import (
    check_pipeline,
    check_zero_division,
    divide,
    plural,
    result,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_outcomes
from salesmetrics.metrics._summary import resolve_period
from salesmetrics.metrics.options import By
from salesmetrics.metrics.win_rates import win_rate_terms

__all__ = ["logo_retention", "renewal_rate"]


def _labels(function: str, p: Pipeline, field: str, option: str) -> Labels:
    try:
        return p.labels(field)
    except SalesMetricsError as error:
        raise type(error)(f"{function}(): {option}={field!r}: {error}") from None


@overload
def renewal_rate(
    p: Pipeline, *, period: PeriodLike | None, by: None = None, type_field: str = ...,
    renewal: object = ..., zero_division: float = ...,
) -> float: ...
@overload
def renewal_rate(
    p: Pipeline, *, period: PeriodLike | None, by: str | Sequence[str], type_field: str = ...,
    renewal: object = ..., zero_division: float = ...,
) -> GroupedResult[float]: ...
def renewal_rate(
    p: Pipeline,
    *,
    period: PeriodLike | None,
    by: By = None,
    type_field: str = "type",
    renewal: object = "renewal",
    zero_division: float = math.nan,
) -> float | GroupedResult[float]:
    r"""Renewal rate: the share of the renewals closed in a period that were won [fraction].

    $$
    \text{renewal rate} = \frac{n_\text{renewals won}}{n_\text{renewals won} +
    n_\text{renewals lost} + n_\text{renewals closed with no decision}}
    $$

    over the deals whose ``type_field`` is ``renewal`` and whose close date is in ``period``:
    a renewal lost or closed without a decision is not renewed (the *gross* renewal rate by
    count of SaaS and subscription businesses; Salesforce's Opportunity Type "Existing
    Business", HubSpot's deal type "existingbusiness"). Open renewals are not counted.

    Parameters
    ----------
    p
        The pipeline, with a label field marking new business or renewal.
    period
        The period (a `Period` or a label); None: every closed renewal.
    by
        Field name(s) to group by.
    type_field
        The field that marks the deal type (default ``"type"``).
    renewal
        The label of a renewal in it (default ``"renewal"``), e.g. ``"Existing Business"``.
    zero_division
        The value where no renewal closed: nan (default) or a number in [0, 1].

    Returns
    -------
    float or GroupedResult
        Renewal rate [fraction in 0..1]; per group with ``by``.

    Notes
    -----
    When no deal carries the label ``renewal``, a `DataQualityWarning` lists the labels that
    ``type_field`` holds (the label is usually spelled otherwise).

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, renewal_rate
    >>> p = Pipeline.from_deals([
    ...     Deal(i, 1_000, s, close_date="2024-05-01", fields={"type": t})
    ...     for i, (s, t) in enumerate([("Closed won", "renewal"), ("Closed won", "renewal"),
    ...                                 ("Closed lost", "renewal"), ("Closed lost", "new")])])
    >>> round(renewal_rate(p, period="2024-Q2"), 4)           # 2 of the 3 renewals
    0.6667
    """
    check_pipeline("renewal_rate", p)
    zero = check_zero_division("renewal_rate", zero_division)
    labels = _labels("renewal_rate", p, type_field, "type_field")
    known = [i for i, c in enumerate(labels.categories.tolist()) if c == renewal]
    if not known:
        warnings.warn(
            f"renewal_rate(): no deal has {type_field} {renewal!r}, so there is no renewal; "
            f"the labels of {type_field!r} are {choices(labels.categories.tolist())}. Fix: "
            "pass renewal= the label your CRM uses", DataQualityWarning, stacklevel=2)
    renewals = p.filter(np.isin(labels.codes, known))
    summary = summarize_outcomes(renewals, by=by, period=period, view="period",
                                 function="renewal_rate")
    won, closed = win_rate_terms(summary.arrays, open_deals="exclude", no_decision="lost")
    return result(summary, divide(won, closed, zero), "renewal_rate", unit="rate")


def logo_retention(
    p: Pipeline, *, period: PeriodLike, account_field: str = "account",
    zero_division: float = math.nan,
) -> float:
    r"""Logo retention: the share of last period's customer accounts that bought again [fraction].

    $$
    \text{logo retention} = \frac{|A_{t-1} \cap A_t|}{|A_{t-1}|}
    $$

    with $A_t$ the accounts with a deal won (close date) in ``period`` and $A_{t-1}$ those with
    one won in the period before (`Period.previous`: the previous quarter of a quarter). It
    counts customers ("logos"), not revenue: the measure that net revenue retention
    complements (e.g. Gainsight's and ChartMogul's "logo retention").

    Parameters
    ----------
    p
        The pipeline, with a label field naming each deal's account.
    period
        The period (a `Period` or a label such as ``"2024-Q4"``).
    account_field
        The field that names the account (default ``"account"``).
    zero_division
        The value where no account won a deal in the previous period: nan (default) or a
        number in [0, 1].

    Returns
    -------
    float
        Logo retention [fraction in 0..1].

    Notes
    -----
    Won deals without an account in either period are left out, with a `DataQualityWarning`
    giving their count. It suits businesses where customers buy every period (renewals,
    re-orders); with annual contracts, compare a period with the same period a year earlier.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, logo_retention
    >>> p = Pipeline.from_deals([
    ...     Deal(i, 1_000, "Closed won", close_date=d, fields={"account": a})
    ...     for i, (d, a) in enumerate([("2024-02-01", "Acme"), ("2024-03-01", "Bolt"),
    ...                                 ("2024-05-01", "Acme"), ("2024-06-01", "Core")])])
    >>> logo_retention(p, period="2024-Q2")       # Acme kept, Bolt lost: 1 of 2
    0.5
    """
    check_pipeline("logo_retention", p)
    zero = check_zero_division("logo_retention", zero_division)
    chosen = resolve_period("logo_retention", period)
    if chosen is None:
        raise OptionError("logo_retention(): period is required, e.g. period='2024-Q4'")
    labels = _labels("logo_retention", p, account_field, "account_field")
    won = p.outcome_codes == WON
    before = won & chosen.previous().contains(p.close_date)
    now = won & chosen.contains(p.close_date)
    missing = np.array([c is None for c in labels.categories.tolist()], dtype=bool)
    no_account = missing[labels.codes]
    left_out = int(((before | now) & no_account).sum())
    if left_out:
        warnings.warn(
            f"logo_retention(): {plural(left_out, 'won deal')} in the two periods "
            f"{'has' if left_out == 1 else 'have'} no {account_field} and "
            f"{'is' if left_out == 1 else 'are'} left out. Fix: fill in {account_field!r}",
            DataQualityWarning, stacklevel=2)
    n = len(labels.categories)
    had = np.bincount(labels.codes[before & ~no_account], minlength=n) > 0
    has = np.bincount(labels.codes[now & ~no_account], minlength=n) > 0
    return float(divide(np.array([(had & has).sum()]), np.array([had.sum()]), zero)[0])
