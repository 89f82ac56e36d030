"""The pipeline review: the weekly report of open and weighted pipeline, win rates, conversion,
velocity and cycle length, as plain text."""

from __future__ import annotations

import math
from collections.abc import Sequence

from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.metrics import (
    GroupedResult,
    Velocity,
    conversion_from_stage,
    funnel_counts,
    pipeline_value,
    sales_cycle_length,
    sales_velocity,
    weighted_pipeline,
    win_rate,
)

__all__ = ["pipeline_review"]


def _money(value: float, currency: str | None) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:,.0f}" + (f" {currency}" if currency else "")


def _pct(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1%}"


def _days(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f} d"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  " + "  ".join([first, *rest])
    return [line(header), "  " + "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def pipeline_review(
    p: Pipeline, *, period: PeriodLike | None = None, by: str | None = None
) -> str:
    """The pipeline review as text: what ``python -m salesmetrics report`` prints.

    Parameters
    ----------
    p
        The pipeline.
    period
        Outcome metrics over deals closed in it, open pipeline over deals expected to close in it.
    by
        A field to break win rate, velocity and cycle length down by (e.g. ``"owner"``).

    Examples
    --------
    >>> from salesmetrics.datasets import sample_pipeline
    >>> print(pipeline_review(sample_pipeline(), period="2024-Q2").splitlines()[0])
    Pipeline review — 2024-Q2 — 2,000 deals, USD
    """
    chosen = None if period is None else as_period(period)
    cur = p.currency
    title = f"Pipeline review — {chosen.label if chosen else 'all time'} — {len(p):,} deals"
    out = [title + (f", {cur}" if cur else ""), ""]

    open_by_stage = pipeline_value(p, by="stage", period=chosen)
    weighted_by_stage = weighted_pipeline(p, by="stage", period=chosen)
    assert isinstance(open_by_stage, GroupedResult) and isinstance(weighted_by_stage, GroupedResult)
    rows = [[str(s), _money(open_by_stage[s], cur), _money(weighted_by_stage[s], cur)]
            for s in open_by_stage]
    rows.append(["Total", _money(sum(open_by_stage.values()), cur),
                 _money(sum(weighted_by_stage.values()), cur)])
    out += ["Open pipeline by stage" + (" (expected to close in the period)" if chosen else "")]
    out += _table(["stage", "open", "weighted"], rows) + [""]

    out += ["Win rate (closed deals; no decision counts as lost)"]
    wr_rows = [["all", _pct(_f(win_rate(p, period=chosen))),
                _pct(_f(win_rate(p, period=chosen, basis="value")))]]
    if by:
        unit, value = win_rate(p, period=chosen, by=by), win_rate(p, period=chosen, by=by,
                                                                  basis="value")
        assert isinstance(unit, GroupedResult) and isinstance(value, GroupedResult)
        wr_rows += [[str(k), _pct(unit[k]), _pct(value[k])] for k in unit]
    out += _table([by or "", "unit", "value"], wr_rows) + [""]

    conv = conversion_from_stage(p, period=chosen)
    funnel = funnel_counts(p, period=chosen)
    out += ["Conversion to win from each stage (closed deals that reached it)"]
    out += _table(["stage", "reached", "win rate"],
                  [[str(s), f"{_f(funnel[s]):,.0f}", _pct(_f(conv[s]))] for s in conv]) + [""]

    velocity = sales_velocity(p, period=chosen)
    assert isinstance(velocity, Velocity)
    out += ["Sales velocity = N × V × W ÷ L"]
    out += _table(["lever", "value"], [
        ["N opportunities", f"{velocity.opportunities:,}"],
        ["V average won deal", _money(velocity.average_deal_value, cur)],
        ["W win rate", _pct(velocity.win_rate)],
        ["L cycle (won)", _days(velocity.cycle_days)],
        ["revenue per day", _money(velocity.revenue_per_day, cur)],
    ]) + [""]

    out += ["Sales cycle, created → close"]
    cyc_rows = [[o, _days(_f(sales_cycle_length(p, outcome=o, period=chosen))),
                 _days(_f(sales_cycle_length(p, outcome=o, period=chosen, statistic="median")))]
                for o in ("won", "lost")]
    out += _table(["outcome", "mean", "median"], cyc_rows)
    if by:
        per = sales_velocity(p, period=chosen, by=by)
        assert isinstance(per, GroupedResult)
        out += ["", f"Velocity by {by}"]
        out += _table([by, "N", "V", "W", "L", "per day"], [
            [str(k), f"{v.opportunities:,}", _money(v.average_deal_value, None),
             _pct(v.win_rate), _days(v.cycle_days), _money(v.revenue_per_day, None)]
            for k, v in per.items()
        ])
    return "\n".join(out)


def _f(value: object) -> float:
    assert isinstance(value, float)
    return value
