"""Forecast categories: the cumulative roll-ups (closed, commit, best case, open pipeline) that
Salesforce's forecasts show, from each deal's category or its stage's."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, overload

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics._kernels import SumOverflowError, group_sum
from salesmetrics._render import format_money, html_table, text_table
from salesmetrics.domain.period import PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import FORECAST_CATEGORIES, OPEN, WON, forecast_category_name
from salesmetrics.errors import (
    AmountError,
    DataError,
    DataQualityWarning,
    DataTypeError,
    OptionError,
    choices,
)
from salesmetrics.metrics._common import (
    check_pipeline,
    plural,
    result,
    warn_missing_amounts,
    warn_no_close_date,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summarize import summarize_outcomes
from salesmetrics.metrics._summary import resolve_period
from salesmetrics.metrics.forecast import _positions
from salesmetrics.metrics.options import By

__all__ = ["ROLLUPS", "ForecastRollup", "forecast_rollup"]

_FUNCTION = "forecast_rollup"
#: The roll-ups of a `ForecastRollup`, from the most to the least certain.
ROLLUPS = ("closed", "commit", "best_case", "open_pipeline")
PIPELINE, BEST_CASE, COMMIT, CLOSED, OMITTED = range(5)  # positions in FORECAST_CATEGORIES


@attrs.frozen
class ForecastRollup:
    """The forecast roll-ups of a period, as Salesforce's forecasts show them [currency].

    Each is cumulative: ``commit`` includes ``closed``, ``best_case`` includes ``commit``;
    ``open_pipeline`` is the open deals of every category but Omitted.
    """

    #: Won in the period [currency], whatever the deals' categories.
    closed: float
    #: Commit = open Commit deals + closed [currency].
    commit: float
    #: Best Case = open Best Case + Commit deals + closed [currency].
    best_case: float
    #: Open pipeline = open Pipeline + Best Case + Commit deals [currency].
    open_pipeline: float
    #: The currency code, or None.
    currency: str | None = None

    def _record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ROLLUPS}

    def to_dict(self) -> dict[str, Any]:
        """The roll-ups and the currency as a plain dict."""
        return {**self._record(), "currency": self.currency}

    def to_pandas(self) -> Any:
        """A pandas Series of the four roll-ups, indexed by name."""
        import pandas as pd

        return pd.Series(self._record(), name="forecast_rollup", dtype="float64")

    def _cells(self) -> list[tuple[str, str]]:
        return [(k, format_money(v, self.currency)) for k, v in self._record().items()]

    def __repr__(self) -> str:
        rows = [[k, v] for k, v in self._cells()]
        return "\n".join(["ForecastRollup", *text_table(None, rows, align=["left", "right"])])

    def _repr_html_(self) -> str:
        return html_table(["roll-up", "amount"], [[k, v] for k, v in self._cells()],
                          align=["left", "right"])


def _check_renames(categories: object) -> Mapping[str, str] | None:
    if categories is None:
        return None
    if not isinstance(categories, Mapping):
        raise DataTypeError(f"{_FUNCTION}(): categories must be a mapping of the CRM's value to "
                            f"a forecast category, got {categories!r}")
    for key, value in categories.items():
        if forecast_category_name(value) is None:
            raise OptionError(
                f"{_FUNCTION}(): categories[{key!r}] is {value!r}, not a forecast category; "
                f"valid categories are {choices(FORECAST_CATEGORIES)}")
    return categories


def deal_categories(
    p: Pipeline, field: str, renames: Mapping[str, str] | None, function: str = _FUNCTION
) -> npt.NDArray[np.intp]:
    """Each deal's forecast category, as a position in `FORECAST_CATEGORIES`: its own label in
    ``field`` (renamed by ``renames``), else its stage's; -1 where neither has one.

    A label that is no forecast category is a `DataError` naming it, with how many deals have
    it and the valid ones. Without the field (when it is the default, ``forecast_category``),
    every deal takes its stage's.
    """
    index = {name: i for i, name in enumerate(FORECAST_CATEGORIES)}
    by_stage = np.array([index.get(s.forecast_category, -1)  # type: ignore[arg-type]
                         for s in p.stages], dtype=np.intp)
    from_stage = by_stage[p.stage_codes]
    if not isinstance(field, str):
        raise DataTypeError(f"{function}(): category_field must be a field name, got {field!r}")
    if field == "forecast_category" and field not in p.fields:
        return from_stage
    labels = p.labels(field)
    names = [forecast_category_name(c, renames) for c in labels.categories.tolist()]
    lookup = np.array([-1 if n is None else index[n] for n in names], dtype=np.intp)
    counts = np.bincount(labels.codes, minlength=len(names))
    unknown = [(c, int(k)) for c, n, k in zip(labels.categories.tolist(), names, counts.tolist(),
                                              strict=True) if n is None and k and c is not None]
    if unknown:
        listed = ", ".join(f"{c!r} ({plural(k, 'deal')})" for c, k in unknown)
        raise DataError(
            f"{function}(): field {field!r} holds values that are not forecast categories: "
            f"{listed}; valid categories are {choices(FORECAST_CATEGORIES)}. Rename the CRM's "
            f"own values with categories=, e.g. categories={{{unknown[0][0]!r}: 'Best Case'}}")
    own = lookup[labels.codes]
    return np.where(own >= 0, own, from_stage)


@overload
def forecast_rollup(
    p: Pipeline, *, period: PeriodLike, by: None = None, category_field: str = ...,
    categories: Mapping[str, str] | None = ...,
) -> ForecastRollup: ...
@overload
def forecast_rollup(
    p: Pipeline, *, period: PeriodLike, by: str | Sequence[str], category_field: str = ...,
    categories: Mapping[str, str] | None = ...,
) -> GroupedResult[ForecastRollup]: ...
@overload
def forecast_rollup(
    p: Pipeline, *, period: PeriodLike, by: By = ..., category_field: str = ...,
    categories: Mapping[str, str] | None = ...,
) -> ForecastRollup | GroupedResult[ForecastRollup]: ...
def forecast_rollup(
    p: Pipeline,
    *,
    period: PeriodLike,
    by: By = None,
    category_field: str = "forecast_category",
    categories: Mapping[str, str] | None = None,
) -> ForecastRollup | GroupedResult[ForecastRollup]:
    r"""The forecast roll-ups of a period by forecast category, as Salesforce shows them
    [currency].

    With $W$ the revenue won in the period and $S_c$ the amounts of the open deals expected to
    close in it whose forecast category is $c$:

    $$
    \text{closed} = W, \quad
    \text{commit} = S_\text{Commit} + W, \quad
    \text{best\_case} = S_\text{Best Case} + S_\text{Commit} + W,
    $$
    $$
    \text{open\_pipeline} = S_\text{Pipeline} + S_\text{Best Case} + S_\text{Commit}.
    $$

    A won deal counts only under ``closed``, whatever its label; lost and no-decision deals
    count nowhere, and Omitted deals never. A deal without a category of its own takes its
    stage's (`Stage.forecast_category`).

    Parameters
    ----------
    p
        The pipeline, with a forecast-category field (``columns={"forecast_category":
        "ForecastCategoryName"}``; `read_salesforce` and `read_hubspot` map their own).
    period
        The period (a `Period` or a label such as ``"2024-Q4"``): deals won in it, and open
        deals expected to close in it.
    by
        Field name(s) to group by, e.g. ``"owner"``: one `ForecastRollup` per group.
    category_field
        The field holding each deal's category: Salesforce's names (Pipeline, Best Case,
        Commit, Closed, Omitted), in any case and with ``_`` or no space (``BEST_CASE``,
        ``BestCase``).
    categories
        Renames a CRM's own values to those names first, e.g. ``{"Most likely": "Best Case",
        "Upside": "Pipeline"}``.

    Returns
    -------
    ForecastRollup or GroupedResult
        ``closed``, ``commit``, ``best_case`` and ``open_pipeline`` [major currency units];
        per group with ``by``.

    Notes
    -----
    An open deal with neither a category nor a stage category counts as Pipeline, and an open
    deal labelled Closed (which is not won) counts nowhere: each with a `DataQualityWarning`
    giving the count. Deals without an amount count 0, and open deals without an expected close
    date are in no period, with a `DataQualityWarning` giving their count. Sums are exact in
    minor units.

    References
    ----------
    1. Salesforce Help, "Forecast Categories" and "Cumulative Forecast Rollups".

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, forecast_rollup
    >>> def deal(i, amount, stage, category=None):
    ...     return Deal(i, amount, stage, close_date="2024-11-15",
    ...                 fields={"forecast_category": category})
    >>> p = Pipeline.from_deals([
    ...     deal("A", 1_000, "Closed won", "Commit"),      # won: closed only
    ...     deal("B", 2_000, "Negotiation", "Commit"),
    ...     deal("C", 4_000, "Proposal", "Best Case"),
    ...     deal("D", 8_000, "Meeting", "Pipeline"),
    ...     deal("E", 16_000, "Meeting", "Omitted"),       # never counted
    ...     deal("F", 32_000, "Closed lost", "Commit"),    # counts nowhere
    ... ])
    >>> r = forecast_rollup(p, period="2024-Q4")
    >>> r.closed, r.commit, r.best_case, r.open_pipeline
    (1000.0, 3000.0, 7000.0, 14000.0)
    """
    check_pipeline(_FUNCTION, p)
    if period is None:
        raise OptionError(f"{_FUNCTION}(): period is required, e.g. period='2024-Q4'")
    renames = _check_renames(categories)
    closed = summarize_outcomes(p, by=by, period=period, function=_FUNCTION)
    won = closed.arrays["count"][:, WON]
    warn_missing_amounts(_FUNCTION, int(won.sum() - closed.arrays["valued"][:, WON].sum()),
                         int(won.sum()), deals="won deals",
                         effect="counted as 0, so the roll-ups are understated")
    chosen = resolve_period(_FUNCTION, period)
    assert chosen is not None  # summarize_outcomes has checked it
    is_open = p.outcome_codes == OPEN
    warn_no_close_date(_FUNCTION, int((is_open & np.isnat(p.close_date)).sum()),
                       effect="the roll-ups leave {them} out")
    category = deal_categories(p, category_field, renames)
    rows = np.flatnonzero(is_open & chosen.contains(p.close_date))
    cat = category.take(rows)
    _warn_categories(cat, p, rows)
    cat = np.where(cat < 0, PIPELINE, cat)
    n = len(closed.keys)
    where = _positions(p, by, rows, closed.keys)
    try:
        sums = group_sum(where * 5 + cat, n * 5, p.amount_minor.take(rows)).reshape(n, 5)
    except SumOverflowError:
        raise AmountError(f"{_FUNCTION}(): a roll-up is past the largest exact total, "
                          "2**63 - 1 minor units") from None
    minor, currency = p.minor_unit, p.currency
    won_value = closed.arrays["value"][:, WON].astype(np.float64)
    commit = sums[:, COMMIT] + won_value
    best = sums[:, BEST_CASE] + commit
    open_total = sums[:, PIPELINE] + sums[:, BEST_CASE] + sums[:, COMMIT]
    values = [ForecastRollup(float(a) / minor, float(b) / minor, float(c) / minor,
                             float(d) / minor, currency=currency)
              for a, b, c, d in zip(won_value, commit, best, open_total, strict=True)]
    return result(closed, values, _FUNCTION, unit="money", currency=currency)


def _warn_categories(cat: npt.NDArray[np.intp], p: Pipeline, rows: npt.NDArray[np.intp]) -> None:
    """Warnings for the open deals of the period: without any category, labelled Closed, or
    without an amount."""
    none, closed = int((cat < 0).sum()), int((cat == CLOSED).sum())
    if none:
        one = none == 1
        warnings.warn(
            f"{_FUNCTION}(): {plural(none, 'open deal')} of the period "
            f"{'has' if one else 'have'} no forecast category, neither "
            f"{'its' if one else 'their'} own nor {'its' if one else 'their'} stage's, and "
            f"{'counts' if one else 'count'} as Pipeline. Fix: map the CRM's category "
            "(columns={'forecast_category': 'ForecastCategoryName'}) or give the stages one "
            "(Stage(..., forecast_category='Commit'))",
            DataQualityWarning, stacklevel=3)
    if closed:
        one = closed == 1
        warnings.warn(
            f"{_FUNCTION}(): {plural(closed, 'open deal')} of the period "
            f"{'is' if one else 'are'} labelled Closed but {'is' if one else 'are'} not won, "
            f"and {'counts' if one else 'count'} in no roll-up. Fix: correct "
            f"{'its' if one else 'their'} stage or category in the CRM",
            DataQualityWarning, stacklevel=3)
    counted = cat != OMITTED
    if p.has_missing_amounts:
        missing = int(p.amount_missing.take(rows)[counted].sum())
        warn_missing_amounts(_FUNCTION, missing, int(counted.sum()), deals="open deals",
                             effect="counted as 0, so the roll-ups are understated",
                             stacklevel=4)
