"""Quota: attainment per rep (or team) against a quota, and how accurate past forecasts were."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from typing import Any, overload

import attrs
import numpy as np

from salesmetrics._render import format_label, format_money, format_number, format_rate, text_table
from salesmetrics.domain.period import Period, PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.quotas import Quota, check_currency
from salesmetrics.errors import (
    DataError,
    DataQualityWarning,
    DataTypeError,
    OptionError,
    SalesMetricsError,
)
from salesmetrics.metrics._common import called_by, check_pipeline, plural
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._summary import as_of_date, normalize_by, resolve_period
from salesmetrics.metrics.forecast import forecast
from salesmetrics.metrics.options import By
from salesmetrics.metrics.pipeline_totals import won_revenue

__all__ = [
    "ForecastAccuracy", "QuotaAttainment", "forecast_accuracy", "quota_attainment", "quota_minor",
]

_QUOTA = "quota_attainment"
_ACCURACY = "forecast_accuracy"


@attrs.frozen
class QuotaAttainment:
    """One group's quota attainment in a period [currency, fraction]."""

    #: The quota [currency]; nan for a group with deals but no quota.
    quota: float
    #: Revenue won in the period [currency].
    won: float
    #: won ÷ quota [fraction]; nan without a quota (or a quota of 0).
    attainment: float
    #: won − quota [currency]; negative is short of quota.
    gap: float
    #: Won projected linearly to the period's end [currency]; nan unless the period is in
    #: progress.
    pace: float
    #: won + the expected revenue of the open deals of the period, i.e. `Forecast.mean`
    #: [currency]; nan unless the period is in progress.
    projected: float
    #: The currency code, or None.
    currency: str | None = None

    def _record(self) -> dict[str, Any]:
        return {k: getattr(self, k)
                for k in ("quota", "won", "attainment", "gap", "pace", "projected")}

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return attrs.asdict(self)

    def to_pandas(self) -> Any:
        """A pandas Series of the numbers, indexed by name."""
        import pandas as pd

        return pd.Series(self._record(), name=_QUOTA, dtype="float64")

    def _cells(self) -> list[tuple[str, str]]:
        return [(k, format_rate(v) if k == "attainment" else format_money(v, self.currency))
                for k, v in self._record().items()]

    def __repr__(self) -> str:
        return "\n".join(["QuotaAttainment",
                          *text_table(None, [list(c) for c in self._cells()],
                                      align=["left", "right"])])


def _amount(function: str, what: str, value: object) -> float:
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0):
        raise DataError(f"{function}(): {what} must be a finite number >= 0, got {value!r}")
    return float(value)


def _quota_table(function: str, quotas: Quota, p: Pipeline, period: Period,
                 fields: tuple[str, ...]) -> dict[Hashable, int]:
    """A `Quota` table's quotas inside ``period`` per group [int minor units]."""
    check_currency(function, quotas, p.currency)
    if len(fields) > 1:
        raise OptionError(f"{function}(): a Quota table rolls up by one field, got by={fields!r}")
    if quotas.scale != p.minor_unit:
        raise OptionError(f"{function}(): the quotas have {quotas.scale} minor units per unit "
                          f"and the pipeline {p.minor_unit}; give both the same currency")
    try:
        table = quotas.amounts_minor(period, by=fields[0] if fields else "owner", pipeline=p)
    except SalesMetricsError as error:
        raise type(error)(f"{function}(): {error}") from None
    if not table:
        _warn_no_quota_rows(function, quotas, period)
    else:
        _warn_partial_cover(function, quotas, period)
    return table if fields else {None: sum(table.values())}


def _days_covered(quotas: Quota, period: Period) -> dict[Hashable, int]:
    """Owner → days of ``period`` their quota rows cover, for owners with a row inside it.

    An owner's quota periods never overlap (`Quota.from_columns` refuses it) and a row that
    straddles ``period`` is refused by `Quota.amounts_minor` first, so the days add up."""
    covered: dict[Hashable, int] = {}
    for owner, when in zip(quotas.owners, quotas.periods, strict=True):  # per quota row
        if when.start >= period.start and when.end <= period.end:
            covered[owner] = covered.get(owner, 0) + when.days
    return covered


def _warn_partial_cover(function: str, quotas: Quota, period: Period) -> None:
    """Owners whose quota rows inside ``period`` cover only part of it: their quota is the
    sum of those rows, so it is understated (three months of a quarter, two given)."""
    short = [(owner, days) for owner, days in _days_covered(quotas, period).items()
             if days < period.days]
    if short:
        owner, days = short[0]
        warnings.warn(
            f"{function}(): {plural(len(short), 'owner')} "
            f"{'has' if len(short) == 1 else 'have'} quota rows covering only part of "
            f"{period.label}, so {'its' if len(short) == 1 else 'their'} quota is understated "
            f"and attainment overstated; the first, {owner!r}, has rows for {days} of the "
            f"{period.days} days. "
            f"Fix: add the missing quota rows, or ask for the period the rows cover",
            DataQualityWarning, stacklevel=4)


def _warn_no_quota_rows(function: str, quotas: Quota, period: Period) -> None:
    """A `Quota` table with no row inside ``period``: every quota is missing."""
    held = sorted(set(quotas.periods), key=lambda q: (q.start, q.end))
    have = (f"its quota periods are {', '.join(q.label for q in held)}" if held
            else "it has no rows")
    warnings.warn(
        f"{function}(): the Quota table has no row in {period.label} ({have}), so no group "
        f"has a quota there. Fix: ask for a period the table covers, or add the quotas of "
        f"{period.label} to the table", DataQualityWarning, stacklevel=4)


def quota_minor(
    function: str, quotas: object, *, p: Pipeline, period: Period, fields: tuple[str, ...],
) -> dict[Hashable, int]:
    """Group → quota [int minor units, half to even] from what ``quotas=`` accepts: a
    `Quota` table, a mapping group → amount, or (without ``by``) one amount."""
    if isinstance(quotas, Quota):
        return _quota_table(function, quotas, p, period, fields)
    if fields:
        if not isinstance(quotas, Mapping):
            by = fields[0] if len(fields) == 1 else list(fields)
            raise DataTypeError(f"{function}(): quotas must be a Quota or a mapping of {by!r} "
                                f"label to quota, got {quotas!r}")
        given = {k: _amount(function, f"quotas[{k!r}]", v) for k, v in quotas.items()}
    else:
        given = {None: _amount(function, "quotas", quotas)}
    return {k: round(Fraction(repr(v)) * p.minor_unit) for k, v in given.items()}


@overload
def quota_attainment(
    p: Pipeline, *, quotas: float, period: PeriodLike, by: None, as_of: object = ...,
) -> QuotaAttainment: ...
@overload
def quota_attainment(
    p: Pipeline, *, quotas: Mapping[Hashable, float] | Quota, period: PeriodLike,
    by: str | Sequence[str] = ..., as_of: object = ...,
) -> GroupedResult[QuotaAttainment]: ...
def quota_attainment(
    p: Pipeline,
    *,
    quotas: Mapping[Hashable, float] | Quota | float,
    period: PeriodLike,
    by: By = "owner",
    as_of: object = None,
) -> QuotaAttainment | GroupedResult[QuotaAttainment]:
    r"""Quota attainment per group (by default per owner) in a period [currency, fraction].

    With $Q$ a group's quota, $W$ its revenue won in the period, $d$ the days of the period
    and $e$ the days elapsed, from its start to ``as_of`` included:

    $$
    \text{attainment} = \frac{W}{Q}, \qquad \text{gap} = W - Q, \qquad
    \text{pace} = W \times \frac{d}{e}, \qquad
    \text{projected} = W + \sum_{i \in \text{open}} a_i p_i
    $$

    where the sum runs over the group's open deals expected to close in the period: projected
    is the mean of `forecast`, won plus the weighted pipeline of the period.

    Parameters
    ----------
    p
        The pipeline.
    quotas
        Group → quota [currency], e.g. ``{"ana": 300_000, "bo": 250_000}`` (with ``by=`` several
        fields, tuples of labels); with ``by=None``, one number. Or a `Quota` table: its quotas
        inside ``period`` per owner, or rolled up by ``by`` (``"team"``: the sum of the team's
        owners'). Every group in it appears in the result, even with no deals; groups with
        deals but no quota follow, with a nan quota. A `Quota` table rolls up by one field
        only (``"owner"``, one of its label columns, or one pipeline field): ``by=`` several
        fields with a table is an `OptionError`; for quotas per several fields give a mapping
        with tuple keys. Its currency's minor unit must be the pipeline's.
    period
        The period (a `Period` or a label such as ``"2024-Q4"``).
    by
        Field name(s) the quotas are per (default ``"owner"``).
    as_of
        The day the data is as of, for ``pace`` and ``projected`` (default the latest date on
        record, `Pipeline.latest_date`). Only a period in progress (start ≤ as_of < end) has
        them; for a period over or not begun they are nan. An earlier day measures the
        pipeline as it stood then (`Pipeline.as_of`, which needs a stage history): deals won
        after it count as open.

    Returns
    -------
    QuotaAttainment or GroupedResult
        ``quota``, ``won``, ``attainment``, ``gap``, ``pace`` and ``projected`` per group.

    Warns
    -----
    DataQualityWarning
        A `Quota` table with no row inside ``period`` (so every quota is nan), naming the
        period and the quota periods the table holds; owners whose quota rows cover only part
        of ``period`` (October and November of a quarter: the quota is understated), with
        their count, the first and the days covered; groups with a quota of 0 (attainment
        nan); and those of `won_revenue` and `forecast`, under this function's name.

    Notes
    -----
    A quota of 0 has a nan attainment (never inf), with a warning. Pace assumes revenue comes
    in evenly over the period, which it rarely does at quarter's end: read it beside
    ``projected``.

    References
    ----------
    1. Salesforce Help, "Quotas in Collaborative Forecasts": quota attainment.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline, quota_attainment
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 60_000, "Closed won", created="2024-10-01", close_date="2024-11-15",
    ...          owner="ana"),
    ...     Deal("B", 50_000, "Proposal", created="2024-10-01", close_date="2024-12-20",
    ...          owner="ana"),                                  # 60 %: 30,000 expected
    ... ])
    >>> r = quota_attainment(p, quotas={"ana": 100_000, "bo": 80_000}, period="2024-Q4")
    >>> r["ana"].attainment, r["ana"].gap, r["ana"].projected
    (0.6, -40000.0, 90000.0)
    >>> round(r["ana"].pace)                    # 60,000 in 46 of the quarter's 92 days
    120000
    >>> r["bo"].won, r["bo"].attainment
    (0.0, 0.0)
    """
    check_pipeline(_QUOTA, p)
    fields = normalize_by(_QUOTA, by)
    chosen = resolve_period(_QUOTA, period)
    if chosen is None:
        raise OptionError(f"{_QUOTA}(): period is required, e.g. period='2024-Q4'")
    if isinstance(quotas, Quota):
        quota = {k: v / p.minor_unit
                 for k, v in _quota_table(_QUOTA, quotas, p, chosen, fields).items()}
    elif fields:
        if not isinstance(quotas, Mapping):
            raise DataTypeError(f"{_QUOTA}(): quotas must be a mapping of {by!r} label to "
                                f"quota, got {quotas!r}")
        quota = {k: _amount(_QUOTA, f"quotas[{k!r}]", v) for k, v in quotas.items()}
    else:
        quota = {None: _amount(_QUOTA, "quotas", quotas)}
    day = as_of_date(as_of, p)
    if not np.isnat(day) and day < p.latest_date:
        # What was won after ``as_of`` was not known then: the pipeline as it stood that day.
        if p.history is None:
            raise OptionError(
                f"{_QUOTA}(): as_of {day} is before the latest date on record "
                f"({p.latest_date}), and without a stage history the pipeline on that day cannot "
                "be rebuilt; load one (history= or stage_entered=) or leave as_of out"
            )
        p = p.as_of(day.item())
    start, end = np.datetime64(chosen.start, "D"), np.datetime64(chosen.end, "D")
    running = not np.isnat(day) and start <= day < end
    projected: dict[Hashable, float] = {}
    share = math.nan
    if running:
        with called_by(_QUOTA):
            forecasts = forecast(p, period=chosen, by=by, method="normal")
        per_group = forecasts if isinstance(forecasts, GroupedResult) else {None: forecasts}
        won = {k: f.won for k, f in per_group.items()}
        projected = {k: f.mean for k, f in per_group.items()}
        share = chosen.days / float((day - start).astype(int) + 1)
    else:
        with called_by(_QUOTA):
            totals = won_revenue(p, period=chosen, by=by)
        won = dict(totals) if isinstance(totals, GroupedResult) else {None: totals}
    zero = [k for k, q in quota.items() if q == 0]
    if zero:
        warnings.warn(
            f"{_QUOTA}(): {plural(len(zero), 'group')} with a quota of 0 "
            f"({', '.join(format_label(k) for k in zero[:5])}{'…' if len(zero) > 5 else ''}): "
            "attainment is undefined there and left nan (gap is the won revenue). Fix: check "
            "those quotas", DataQualityWarning, stacklevel=2)
    keys = [*quota, *(k for k in won if k not in quota)]
    nan = math.nan
    rows: list[QuotaAttainment] = []
    for key in keys:  # one row per group, not per deal
        q, w = quota.get(key, nan), won.get(key, 0.0)
        rows.append(QuotaAttainment(
            quota=q, won=w, attainment=w / q if q else nan, gap=w - q,
            pace=w * share if running else nan,
            projected=projected.get(key, w) if running else nan, currency=p.currency))
    if not fields:
        return rows[0]
    return GroupedResult(fields, keys, rows, name=_QUOTA, unit="money", currency=p.currency)


@attrs.frozen
class ForecastAccuracy:
    """How close forecasts came to the actuals, period by period [fraction]."""

    #: The forecasts, one per period [currency].
    forecast: tuple[float, ...]
    #: The actuals, one per period [currency].
    actual: tuple[float, ...]
    #: Per period, 1 − |F − A| ÷ A [fraction; 1 is exact, negative past a 100 % miss]; nan
    #: where A = 0.
    accuracy: tuple[float, ...]
    #: Mean absolute percentage error, the mean of |F − A| ÷ A over periods with A ≠ 0
    #: [fraction]; nan if there are none.
    mape: float
    #: Σ(F − A) ÷ ΣA [fraction]: positive is over-forecasting; nan if ΣA = 0.
    bias: float

    def _record(self) -> dict[str, Any]:
        return {"mape": self.mape, "bias": self.bias, "periods": len(self.actual)}

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (sequences as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(self).items()}

    def to_pandas(self) -> Any:
        """A pandas DataFrame, one row per period: ``forecast``, ``actual``, ``accuracy``."""
        import pandas as pd

        return pd.DataFrame({"forecast": self.forecast, "actual": self.actual,
                             "accuracy": self.accuracy})

    def _cells(self) -> list[tuple[str, str]]:
        return [("mape", format_rate(self.mape)), ("bias", format_rate(self.bias)),
                ("periods", format_number(len(self.actual)))]

    def __repr__(self) -> str:
        head = ", ".join(f"{k} {v}" for k, v in self._cells())
        rows = [[format_number(i), format_number(f), format_number(a), format_rate(x)]
                for i, (f, a, x) in enumerate(zip(self.forecast, self.actual, self.accuracy,
                                                   strict=True))]
        return "\n".join([f"ForecastAccuracy: {head}",
                          *text_table(["period", "forecast", "actual", "accuracy"], rows)])


def _values(what: str, values: object) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A sequence of numbers (or of `Forecast`, whose mean is the forecast) as floats."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence | np.ndarray):
        raise DataTypeError(f"{_ACCURACY}(): {what} must be a sequence of numbers, one per "
                            f"period, got {values!r}")
    items = [getattr(v, "mean", v) if not isinstance(v, numbers.Real) else v for v in values]
    for i, v in enumerate(items):
        if (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)
                or not math.isfinite(v)):
            raise DataError(f"{_ACCURACY}(): {what}[{i}] must be a finite number, got {v!r}")
    return np.array(items, dtype=np.float64)


def _accuracy(forecast: object, actual: object, label: str = "") -> tuple[ForecastAccuracy, int]:
    f, a = _values(f"forecast{label}", forecast), _values(f"actual{label}", actual)
    if len(f) != len(a):
        raise DataError(f"{_ACCURACY}(): forecast{label} has {len(f)} periods and actual{label} "
                        f"{len(a)}; give one forecast per actual")
    if (a < 0).any():
        i = int(np.flatnonzero(a < 0)[0])
        raise DataError(f"{_ACCURACY}(): actual{label}[{i}] is {float(a[i])!r}; actuals are "
                        "revenue, >= 0")
    zero = a == 0
    safe = np.where(zero, 1.0, a)
    error = np.where(zero, np.nan, np.abs(f - a) / safe)
    mape = float(error[~zero].mean()) if (~zero).any() else math.nan
    total = float(a.sum())
    bias = float((f - a).sum() / total) if total else math.nan
    return ForecastAccuracy(tuple(f.tolist()), tuple(a.tolist()), tuple((1 - error).tolist()),
                            mape, bias), int(zero.sum())


@overload
def forecast_accuracy(forecast: Sequence[Any], actual: Sequence[Any]) -> ForecastAccuracy: ...
@overload
def forecast_accuracy(
    forecast: Mapping[Hashable, Sequence[Any]], actual: Mapping[Hashable, Sequence[Any]]
) -> GroupedResult[ForecastAccuracy]: ...
def forecast_accuracy(
    forecast: Sequence[Any] | Mapping[Hashable, Sequence[Any]],
    actual: Sequence[Any] | Mapping[Hashable, Sequence[Any]],
) -> ForecastAccuracy | GroupedResult[ForecastAccuracy]:
    r"""How accurate past forecasts were: per-period accuracy, MAPE and bias [fraction].

    With $F_t$ the forecast and $A_t$ the actual of period $t$:

    $$
    \text{accuracy}_t = 1 - \frac{|F_t - A_t|}{A_t}, \qquad
    \text{MAPE} = \frac{1}{n}\sum_{t: A_t \neq 0} \frac{|F_t - A_t|}{A_t}, \qquad
    \text{bias} = \frac{\sum_t (F_t - A_t)}{\sum_t A_t}
    $$

    Parameters
    ----------
    forecast
        The forecasts, one per period [currency]: numbers, or `Forecast` results (their mean);
        or a mapping group → such a sequence.
    actual
        The actuals, one per period [currency, >= 0], in the same order; or a mapping with the
        same groups.

    Returns
    -------
    ForecastAccuracy or GroupedResult
        ``accuracy`` (a tuple, one per period), ``mape`` and ``bias``; per group for mappings.

    Notes
    -----
    A period whose actual is 0 has no relative error: it is left out of accuracy (nan) and
    MAPE, with a `DataQualityWarning` giving how many; bias still counts its forecast. A
    positive bias is over-forecasting (sandbagging shows as a negative one).

    References
    ----------
    1. R. J. Hyndman and A. B. Koehler, "Another look at measures of forecast accuracy",
       International Journal of Forecasting 22 (2006).

    Examples
    --------
    >>> from salesmetrics import forecast_accuracy
    >>> r = forecast_accuracy([110, 80, 100], [100, 100, 100])
    >>> [round(x, 2) for x in r.accuracy], round(r.mape, 4), round(r.bias, 4)
    ([0.9, 0.8, 1.0], 0.1, -0.0333)
    """
    if isinstance(forecast, Mapping) or isinstance(actual, Mapping):
        if not (isinstance(forecast, Mapping) and isinstance(actual, Mapping)):
            raise DataTypeError(f"{_ACCURACY}(): give two sequences or two mappings of group to "
                                "sequence, not one of each")
        if set(forecast) != set(actual):
            missing = [k for k in [*forecast, *actual] if k not in forecast or k not in actual]
            raise DataError(f"{_ACCURACY}(): forecast and actual must have the same groups; "
                            f"{missing[0]!r} is in only one of them")
        parts = [_accuracy(forecast[k], actual[k], f"[{k!r}]") for k in forecast]
        zeros = sum(z for _, z in parts)
        out: ForecastAccuracy | GroupedResult[ForecastAccuracy] = GroupedResult(
            ("group",), list(forecast), [r for r, _ in parts], name=_ACCURACY, unit="rate")
    else:
        out, zeros = _accuracy(forecast, actual)
    if zeros:
        warnings.warn(
            f"{_ACCURACY}(): {plural(zeros, 'period')} with an actual of 0 "
            f"{'has' if zeros == 1 else 'have'} no relative error and "
            f"{'is' if zeros == 1 else 'are'} left out of accuracy and MAPE (bias still counts "
            "the forecast). Fix: check that "
            "those actuals are complete, or compare absolute errors for them",
            DataQualityWarning, stacklevel=2)
    return out
