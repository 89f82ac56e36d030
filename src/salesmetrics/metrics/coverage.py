"""Will we hit the number: pipeline coverage of what remains of a target, and the pipeline each
stage must hold to reach it, both against the conversion measured before the period."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping
from typing import Any, overload

import attrs
import numpy as np

from salesmetrics._render import format_money, format_times, html_table
from salesmetrics.domain.period import Period, PeriodLike
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import OPEN
from salesmetrics.errors import DataQualityWarning, DataTypeError, OptionError, check_option
from salesmetrics.metrics._common import (
    Remembered,
    called_by,
    check_pipeline,
    check_zero_division,
    divide,
    plural,
    warn,
)
from salesmetrics.metrics._grouped import GroupedResult
from salesmetrics.metrics._stage_table import StageTable
from salesmetrics.metrics._summarize import summarize_closed_before
from salesmetrics.metrics._summary import Summary, resolve_period
from salesmetrics.metrics.options import BASES, Basis, By
from salesmetrics.metrics.pipeline_totals import pipeline_value, won_revenue
from salesmetrics.metrics.probabilities import StageProbabilities, measure_probabilities
from salesmetrics.metrics.win_rates import finish_win_rate, win_rate

__all__ = [
    "Coverage",
    "RequiredPipeline",
    "StageRequirement",
    "check_amount",
    "closed_before",
    "pipeline_coverage",
    "required_pipeline",
    "the_period",
]


def check_amount(function: str, name: str, value: object, *, positive: bool = False) -> float:
    """``value`` as a float: a finite number >= 0 (> 0 with ``positive``), else `OptionError`."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0 or (positive and value == 0)):
        bound = "> 0" if positive else ">= 0"
        raise OptionError(f"{function}(): {name} must be a finite number {bound}, got {value!r}")
    return float(value)


def the_period(function: str, period: object) -> Period:
    """``period`` (required) as a `Period`."""
    chosen = resolve_period(function, period)
    if chosen is None:
        raise OptionError(f"{function}(): period is required (a Period or a label such as "
                          "'2024-Q4'), got None")
    return chosen


def closed_before(p: Pipeline, period: Period) -> Pipeline:
    """The deals of ``p`` closed (won, lost or no decision) before ``period`` starts: the
    history that the conversion rates behind a plan for the period are measured on."""
    return p.filter((p.outcome_codes != OPEN) & (p.close_date < np.datetime64(period.start, "D")))


def _closed_win_rate(summary: Summary, basis: str) -> float | GroupedResult[float]:
    """`win_rate` of the deals closed before (its warnings point where `win_rate`'s would)."""
    return finish_win_rate(summary, basis=basis)


@attrs.frozen
class Coverage:
    """Pipeline coverage of a target in a period, and the coverage the history says it needs.

    ``ratio = open_value ÷ remaining``, against ``required_ratio = 1 ÷ historical win rate``:
    the pipeline covers what remains when ``ratio >= required_ratio``.
    """

    #: The target for the period [currency].
    target: float
    #: Won in the period [currency].
    won: float
    #: max(target − won, 0) [currency].
    remaining: float
    #: Open deals whose expected close date is in the period [currency].
    open_value: float
    #: open_value ÷ remaining [×]; ``zero_division`` (nan) when nothing remains.
    ratio: float
    #: 1 ÷ the win rate of the deals closed before the period [×]; nan if none won.
    required_ratio: float
    #: ISO code of the currency, for display.
    currency: str | None = attrs.field(default=None, repr=False)

    def _record(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in attrs.fields(Coverage)[:6]}

    def _cells(self) -> list[tuple[str, str]]:
        money = [(n, format_money(getattr(self, n), self.currency))
                 for n in ("target", "won", "remaining", "open_value")]
        return [*money, ("ratio", format_times(self.ratio)),
                ("required_ratio", format_times(self.required_ratio))]

    def to_dict(self) -> dict[str, float]:
        """A plain dict of the six numbers."""
        return self._record()

    def to_pandas(self) -> Any:
        """A pandas Series of the six numbers."""
        import pandas as pd

        return pd.Series(self._record(), name="pipeline_coverage")

    def __repr__(self) -> str:
        c = dict(self._cells())
        return (f"Coverage(ratio={c['ratio']} (open_value {c['open_value']} ÷ remaining "
                f"{c['remaining']} = target {c['target']} − won {c['won']}), "
                f"required_ratio={c['required_ratio']})")

    def _repr_html_(self) -> str:
        return html_table(None, self._cells())


def _check_targets(function: str, target: object, by: By) -> float | dict[Hashable, float]:
    """A number without ``by``, a mapping group → number with it."""
    if by is None:
        if isinstance(target, Mapping):
            raise OptionError(f"{function}(): target is a mapping of group to target, which "
                              "needs by= (the field it is keyed by); without by=, give a number")
        return check_amount(function, "target", target)
    if not isinstance(target, Mapping):
        raise DataTypeError(f"{function}(): with by={by!r}, target must be a mapping of group to "
                            f"target, got {target!r}")
    return {k: check_amount(function, f"target[{k!r}]", v) for k, v in target.items()}


def _lookup(values: float | GroupedResult[float], key: Hashable, default: float) -> float:
    if isinstance(values, GroupedResult):
        return float(values.get(key, default))
    return float(values)


@overload
def pipeline_coverage(
    p: Pipeline, *, target: float, period: PeriodLike, by: None = None, basis: Basis = ...,
    zero_division: float = ...,
) -> Coverage: ...
@overload
def pipeline_coverage(
    p: Pipeline, *, target: Mapping[Any, float], period: PeriodLike, by: str | tuple[str, ...],
    basis: Basis = ..., zero_division: float = ...,
) -> GroupedResult[Coverage]: ...
@overload
def pipeline_coverage(
    p: Pipeline, *, target: float | Mapping[Any, float], period: PeriodLike, by: By = ...,
    basis: Basis = ..., zero_division: float = ...,
) -> Coverage | GroupedResult[Coverage]: ...
def pipeline_coverage(
    p: Pipeline,
    *,
    target: float | Mapping[Any, float],
    period: PeriodLike,
    by: By = None,
    basis: Basis = "value",
    zero_division: float = math.nan,
) -> Coverage | GroupedResult[Coverage]:
    r"""Pipeline coverage: the open pipeline of the period against what remains of the target.

    $$
    \text{remaining} = \max(T - R, 0), \qquad
    \text{ratio} = \frac{V}{\text{remaining}}, \qquad
    \text{required\_ratio} = \frac{1}{w_\text{before}}
    $$

    where $T$ is the target, $R$ the revenue won in the period (`won_revenue`), $V$ the open
    deals whose expected close date is in the period (`pipeline_value`) and $w_\text{before}$
    the `win_rate` on ``basis`` of the deals closed before the period starts. At the historical
    win rate, the open pipeline brings in $V \cdot w$, so it covers what remains when
    ``ratio >= required_ratio``: the "3× coverage" rule of thumb, measured instead of assumed.

    Parameters
    ----------
    p
        The pipeline.
    target
        The target for the period [major currency units], a finite number >= 0; with ``by``,
        a mapping group → target, and every group in it appears in the result (a group
        without deals has won and open value 0).
    period
        The period (a `Period` or a label such as ``"2024-Q4"``).
    by
        Field name(s) to group by; the win rate is then measured per group.
    basis
        ``"value"`` (default: the dollar win rate, since coverage is of money) or ``"unit"``.
    zero_division
        The ``ratio`` when nothing remains (won >= target): nan (default) or a number >= 0.

    Returns
    -------
    Coverage or GroupedResult
        ``target``, ``won``, ``remaining``, ``open_value`` [major currency units], ``ratio``
        and ``required_ratio`` [×]; per group of the target mapping with ``by``.

    Raises
    ------
    OptionError
        For a target that is not a finite number >= 0 (or a mapping without ``by``), an
        unknown ``basis``, a bad ``zero_division`` or no period.

    Warns
    -----
    DataQualityWarning
        When no deal closed before the period was won (the required ratio is nan), or, with
        ``by``, when groups with won or open value in the period have no target (left out);
        and those of `won_revenue`, `pipeline_value` and `win_rate`.

    References
    ----------
    Pipeline coverage ratio: Salesforce, "What is pipeline coverage?"; Clari and InsightSquared
    define it as open pipeline ÷ remaining quota, with the win rate setting the ratio needed.

    Examples
    --------
    Before 2024-Q2, deals worth 400 were won of 1,000 closed (a 40 % value win rate), so 2.5×
    coverage is needed; in the quarter 300 is won, 500 of the 800 target remains and 1,500 is
    open, a ratio of 3.0×:

    >>> from salesmetrics import Deal, Pipeline, pipeline_coverage
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 400, "Closed won", close_date="2024-02-01"),
    ...     Deal("B", 600, "Closed lost", close_date="2024-03-01"),
    ...     Deal("C", 300, "Closed won", close_date="2024-04-15"),
    ...     Deal("D", 1_500, "Proposal", close_date="2024-05-31"),
    ... ])
    >>> c = pipeline_coverage(p, target=800, period="2024-Q2")
    >>> c.remaining, c.open_value, c.ratio, c.required_ratio
    (500.0, 1500.0, 3.0, 2.5)
    >>> c
    Coverage(ratio=3× (open_value 1,500.00 ÷ remaining 500.00 = target 800.00 − won 300.00), required_ratio=2.5×)
    """  # noqa: E501
    function = "pipeline_coverage"
    memo: Remembered[Coverage | GroupedResult[Coverage]] = Remembered(
        p, function, *_target_key(target), period, by, basis, zero_division)
    if memo.found:
        return memo.replay()
    with memo:
        check_pipeline(function, p)
        chosen = the_period(function, period)
        targets = _check_targets(function, target, by)
        check_option(function, "basis", basis, BASES)
        zero = check_zero_division(function, zero_division, high=math.inf)
        with called_by(function):
            won = won_revenue(p, by=by, period=chosen)
            held = pipeline_value(p, by=by, period=chosen)
            closed = summarize_closed_before(p, chosen, by)  # None unless p is small
            rate = (win_rate(closed_before(p, chosen), basis=basis, by=by) if closed is None
                    else _closed_win_rate(closed, basis))
        keys: list[Hashable] = list(targets) if isinstance(targets, dict) else [None]
        goal = np.array(list(targets.values()) if isinstance(targets, dict) else [targets])
        r = np.array([_lookup(won, k, 0.0) for k in keys])
        v = np.array([_lookup(held, k, 0.0) for k in keys])
        w = np.array([_lookup(rate, k, math.nan) for k in keys])
        remaining = np.maximum(goal - r, 0.0)
        ratio = divide(v, remaining, zero)
        required = divide(np.ones_like(w), w, math.nan)
        _warn_coverage(function, chosen, by, keys, won, held, int(np.isnan(required).sum()))
        items = [Coverage(t, x, m, o, c, q, currency=p.currency) for t, x, m, o, c, q in
                 zip(goal.tolist(), r.tolist(), remaining.tolist(), v.tolist(), ratio.tolist(),
                     required.tolist(), strict=True)]
        out: Coverage | GroupedResult[Coverage] = items[0]
        if by is not None:
            fields = (by,) if isinstance(by, str) else tuple(by)
            out = GroupedResult(fields, keys, items, name=function)
    return memo.keep(out)


def _target_key(target: object) -> tuple[str, object]:
    """``target`` as two memo arguments (`Remembered`): ``("number", target)``, or, for a dict
    of exact str/int keys (tuples of them with several ``by`` fields) and exact int/float
    amounts, ``("mapping", its items spelled in order)``: the result's order. Any other
    mapping spells as itself, which is not remembered (computed every time)."""
    if type(target) is not dict:
        return "number", target
    items = []
    for key, amount in target.items():
        if (any(type(k) not in (str, int) for k in (key if type(key) is tuple else (key,)))
                or type(amount) not in (int, float)):
            return "number", target
        items.append((key, amount.hex() if type(amount) is float else amount))
    return "mapping", repr(items)


def _warn_coverage(function: str, period: Period, by: By, keys: list[Hashable],
                   won: float | GroupedResult[float], held: float | GroupedResult[float],
                   no_rate: int) -> None:
    if no_rate:
        which = "" if by is None else f" in {plural(no_rate, 'group')}"
        warn(
            f"{function}(): no deal closed before {period.start} was won{which}, so the win "
            "rate is 0 or unknown and required_ratio is nan. Fix: load more history (deals "
            "closed before the period), or group by a coarser field",
            DataQualityWarning, 3)
    if by is None:
        return
    assert isinstance(won, GroupedResult) and isinstance(held, GroupedResult)
    known = set(keys)
    missing = {k for src in (won, held) for k, v in src.items() if v and k not in known}
    if missing:
        warn(
            f"{function}(): {plural(len(missing), 'group')} with won or open value in "
            f"{period.label} {'has' if len(missing) == 1 else 'have'} no target and "
            f"{'is' if len(missing) == 1 else 'are'} left out: "
            f"{sorted(map(repr, missing))[:5]}. Fix: add them to target",
            DataQualityWarning, 3)


@attrs.frozen
class StageRequirement:
    """One open stage's row of `required_pipeline` (major currency units)."""

    #: 1 ÷ the conversion to win from the stage, before the period [×]; nan if none won.
    factor: float
    #: (target − won) × factor: the open value the stage must hold [currency].
    required: float
    #: Open value in the stage closing in the period [currency].
    held: float
    #: held − required; negative is a shortfall [currency].
    gap: float


class RequiredPipeline(StageTable[StageRequirement]):
    """The pipeline each open stage must hold to reach a target: a read-only mapping of open
    stage name → `StageRequirement` (``factor``, ``required``, ``held``, ``gap``), in funnel
    order. Made by `required_pipeline`.

    Attributes
    ----------
    target, won, remaining
        The target, won in the period, and max(target − won, 0) [major currency units].
    probabilities
        The conversion to win measured before the period (`StageProbabilities`): the evidence
        behind the factors.
    period, currency
        The period, and the currency code.
    """

    __slots__ = ("currency", "period", "probabilities", "remaining", "target", "won")

    def __init__(self, rows: Mapping[str, StageRequirement], *, target: float, won: float,
                 remaining: float, probabilities: StageProbabilities, period: Period,
                 currency: str | None) -> None:
        super().__init__(rows)
        self.target, self.won, self.remaining = target, won, remaining
        self.probabilities, self.period, self.currency = probabilities, period, currency

    def to_dict(self) -> dict[str, dict[str, float]]:
        """A plain dict of stage → dict of ``factor``, ``required``, ``held``, ``gap``."""
        return {s: attrs.asdict(row) for s, row in self._values.items()}

    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by ``stage``, with columns ``factor``, ``required``,
        ``held`` and ``gap``."""
        import pandas as pd

        return pd.DataFrame.from_dict(self.to_dict(), orient="index").rename_axis("stage")

    def _title(self) -> str:
        def money(value: float) -> str:
            return format_money(value, self.currency)

        return (f"required_pipeline for {self.period.label}: target {money(self.target)} − won "
                f"{money(self.won)} = {money(self.remaining)} to win")

    def _table(self) -> tuple[list[str], list[list[str]]]:
        header = ["stage", "factor", "required", "held", "gap"]
        rows = [[s, format_times(r.factor), *(format_money(v, self.currency)
                                        for v in (r.required, r.held, r.gap))]
                for s, r in self._values.items()]
        return header, rows

def required_pipeline(
    p: Pipeline, *, target: float, period: PeriodLike, basis: Basis = "value"
) -> RequiredPipeline:
    r"""The open value each stage must hold to reach the target, against what it holds.

    $$
    f_k = \frac{1}{c_k}, \qquad \text{required}_k = \max(T - R, 0)\, f_k, \qquad
    \text{gap}_k = \text{held}_k - \text{required}_k
    $$

    where $c_k$ is the conversion to win from stage *k* (`historical_probabilities` on
    ``basis``) over the deals closed before the period starts, $T$ the target, $R$ the revenue
    won in the period and $\text{held}_k$ the open value in stage *k* whose expected close date
    is in the period. $f_k$ is Dealmaker's *pipeline value factor*: the pipeline a stage needs
    for each unit of revenue still to win. Each row answers on its own: "if all the remaining
    revenue had to come from this stage, does it hold enough?". A negative gap is a shortfall.

    Parameters
    ----------
    p
        The pipeline, with its stage history (``history=``) for the conversion rates.
    target
        The target for the period [major currency units], a finite number >= 0.
    period
        The period (a `Period` or a label such as ``"2024-Q4"``).
    basis
        ``"value"`` (default: value conversion, since the requirement is money) or ``"unit"``.

    Returns
    -------
    RequiredPipeline
        Open stage → `StageRequirement` (``factor`` [×], ``required``, ``held``, ``gap``
        [major currency units]), with the evidence in ``probabilities``.

    Warns
    -----
    DataQualityWarning
        For stages whose deals closed before the period never won (or that none reached):
        their factor, required and gap are nan. And those of `historical_probabilities`,
        `won_revenue` and `pipeline_value`.

    References
    ----------
    Dealmaker (Membrain), "Pipeline value factor": required pipeline per stage as the target
    divided by the stage's historical conversion to win.

    Examples
    --------
    Before 2024-Q2 two deals reached Proposal and one (of 400, out of 1,000 closed) won, so
    from Proposal (and every earlier stage) the value conversion is 40 % and the factor 2.5;
    both reached Negotiation, so it is the same there. 500 of the 800 target remains, so each
    stage needs 1,250; Proposal holds 1,500:

    >>> from salesmetrics import Deal, Pipeline, required_pipeline
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 400, "Closed won", close_date="2024-02-01"),
    ...     Deal("B", 600, "Closed lost", close_date="2024-03-01", history=[
    ...         ("Negotiation", "2024-02-15"), ("Closed lost", "2024-03-01")]),
    ...     Deal("C", 300, "Closed won", close_date="2024-04-15"),
    ...     Deal("D", 1_500, "Proposal", close_date="2024-05-31"),
    ... ])
    >>> r = required_pipeline(p, target=800, period="2024-Q2")
    >>> r["Proposal"]
    StageRequirement(factor=2.5, required=1250.0, held=1500.0, gap=250.0)
    >>> r
    required_pipeline for 2024-Q2: target 800.00 − won 300.00 = 500.00 to win
      stage            factor  required      held        gap
      ---------------  ------  --------  --------  ---------
      Initial contact    2.5×  1,250.00      0.00  -1,250.00
      Discovery          2.5×  1,250.00      0.00  -1,250.00
      Meeting            2.5×  1,250.00      0.00  -1,250.00
      Proposal           2.5×  1,250.00  1,500.00     250.00
      Negotiation        2.5×  1,250.00      0.00  -1,250.00
    """
    function = "required_pipeline"
    memo: Remembered[RequiredPipeline] = Remembered(p, function, target, period, basis)
    if memo.found:
        return memo.replay()
    with memo:
        check_pipeline(function, p)
        chosen = the_period(function, period)
        goal = check_amount(function, "target", target)
        check_option(function, "basis", basis, BASES)
        with called_by(function, frames=0):  # its warnings point at the caller already
            measured = measure_probabilities(closed_before(p, chosen), basis=basis)
        stages = list(measured)
        won_before = np.array([measured.won[s] for s in stages], dtype=np.float64)
        rate = np.array([measured[s] for s in stages], dtype=np.float64)
        factor = np.where(won_before > 0, divide(np.ones_like(rate), rate, math.nan), math.nan)
        never = [s for s, f in zip(stages, factor, strict=True) if f != f]
        _warn_never_won(function, chosen, never)
        with called_by(function):
            won = float(won_revenue(p, period=chosen))
            by_stage = pipeline_value(p, by="stage", period=chosen)
        held = np.array([by_stage.get(s, 0.0) for s in stages], dtype=np.float64)
        remaining = max(goal - won, 0.0)
        required = remaining * factor
        rows = {s: StageRequirement(*v) for s, *v in
                zip(stages, factor.tolist(), required.tolist(), held.tolist(),
                    (held - required).tolist(), strict=True)}
        out = RequiredPipeline(rows, target=goal, won=won, remaining=remaining,
                               probabilities=measured, period=chosen, currency=p.currency)
    return memo.keep(out)


def _warn_never_won(function: str, period: Period, stages: list[str]) -> None:
    if not stages:
        return
    warn(
        f"{function}(): of the deals closed before {period.start}, none that reached "
        f"{', '.join(map(repr, stages))} was won, so {'its' if len(stages) == 1 else 'their'} "
        "conversion to win is 0 or unmeasured and factor, required and gap are nan. Fix: load "
        "more history (deals closed before the period) and the stage history (history=)",
        DataQualityWarning, 3)
