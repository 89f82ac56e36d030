"""The pipeline review: open and weighted pipeline, win rates, conversion, velocity and cycle
length, as plain text (`pipeline_review`) or one self-contained HTML page with the charts
embedded (`pipeline_review_html`). With a target for the period, it also says whether the period
will hit it: coverage, the pipeline each stage must hold, and P(≥ target) from the forecast.
With an older snapshot (``since=``), it says what changed since; it ends with the hygiene findings.

What would make a number misleading is said in the report, not hidden behind it: missing amounts
show as "no amounts" (never as 0), and every `DataQualityWarning` that the metrics raise becomes a
line of its "Data quality" section instead of a warning printed at the user. Rendering leaves the
caller's global state alone (matplotlib's backend, pyplot's figures, rcParams).

Cells print as every result of the package prints (`salesmetrics._render`): money in whole
units with thousands separators and the currency, rates as percentages with one decimal, days
with one decimal, ``n/a`` where there is no value, ``(none)`` for the group of deals without a
label; the report says so under its title.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import io
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import attrs
import numpy as np

from salesmetrics._render import (
    MISSING,
    NO_LABEL,
    format_days,
    format_label,
    format_money,
    format_number,
    format_rate,
    format_times,
    html_table,
    text_table,
)
from salesmetrics.domain.period import Period, PeriodLike, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import DataQualityWarning, OptionError
from salesmetrics.metrics import (
    conversion_from_stage,
    forecast,
    funnel_counts,
    pipeline_changes,
    pipeline_coverage,
    pipeline_value,
    required_pipeline,
    sales_cycle_length,
    sales_velocity,
    velocity_attribution,
    weighted_pipeline,
    win_rate,
)
from salesmetrics.metrics.velocity import Velocity

__all__ = ["pipeline_review", "pipeline_review_html"]


@attrs.frozen
class Section:
    """One table of the review."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    #: One-line remarks shown under the table (a section without a header is only these).
    notes: tuple[str, ...] = ()
    #: Columns' alignment (default: the first left, the others right).
    align: tuple[Literal["left", "right"], ...] | None = None


NO_AMOUNTS = "no amounts"


_FUNCTION_PREFIX = re.compile(r"((?:\w+\(\), )*\w+\(\)): (.*)")


def _add_line(found: list[str], line: str) -> None:
    """Add ``line`` to ``found`` unless it is there; ``f(): text`` joins ``g(): text`` as
    ``g(), f(): text`` (the same finding of several metrics is said once)."""
    if line in found:
        return
    match = _FUNCTION_PREFIX.fullmatch(line)
    if match:
        for i, other in enumerate(found):
            seen = _FUNCTION_PREFIX.fullmatch(other)
            if seen and seen.group(2) == match.group(2):
                if match.group(1) not in seen.group(1).split(", "):
                    found[i] = f"{seen.group(1)}, {match.group(1)}: {match.group(2)}"
                return
    found.append(line)


@contextlib.contextmanager
def _data_quality(found: list[str]) -> Iterator[None]:
    """Collect the `DataQualityWarning` messages raised inside, one line each and each once, into
    ``found``; other warnings go on to the caller's filters unchanged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        yield
    for item in caught:
        if issubclass(item.category, DataQualityWarning):
            _add_line(found, " ".join(str(item.message).split()))
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno,
                                   source=item.source)


#: Decimals of the rates (percentages) and of the money (major units) in the review.
RATE_DIGITS, MONEY_DIGITS = 1, 0


def _money(value: float, currency: str | None) -> str:
    return format_money(value, currency, digits=MONEY_DIGITS)


def _pct(value: float) -> str:
    return format_rate(value, RATE_DIGITS)


def _days(value: float) -> str:
    return format_days(value)


def _count(value: int) -> str:
    return format_number(int(value))


def _title(p: Pipeline, period: Period | None) -> str:
    deals = "deal" if len(p) == 1 else "deals"
    text = f"Pipeline review — {period.label if period else 'all time'} — {_count(len(p))} {deals}"
    return text + (f", {p.currency}" if p.currency else "")


def _legend(p: Pipeline) -> str:
    """How the review prints its numbers (the precision of rates and money), under its title."""
    money = f"whole {p.currency}" if p.currency else "whole units of the amounts"
    return (f"Rates are percentages to {RATE_DIGITS} decimal; money in {money}; days to 1 "
            f"decimal; {MISSING} where there is no value; {NO_LABEL} for deals without a label.")


def review_sections(
    p: Pipeline, *, period: PeriodLike | None = None, by: str | None = None,
    target: float | None = None, since: Pipeline | None = None,
) -> list[Section]:
    """The review's tables, computed once for either rendering; the last one is "Data quality"
    when a metric warned."""
    chosen = _checked(period, target)
    found: list[str] = []
    with _data_quality(found):
        sections = _sections(p, chosen, by, target, since)
    return sections + _quality_section(found)


def _checked(period: PeriodLike | None, target: float | None) -> Period | None:
    """The period; a target needs one (it is a target *for* a period)."""
    if target is not None and period is None:
        raise OptionError("pipeline_review(): target needs a period, e.g. "
                          "target=1_200_000, period='2024-Q4'")
    return None if period is None else as_period(period)


def _quality_section(found: Sequence[str]) -> list[Section]:
    return [Section("Data quality", (), (), tuple(found))] if found else []


def _open_pipeline(p: Pipeline, chosen: Period | None) -> Section:
    """Open and weighted pipeline by open stage; a stage whose open deals all lack an amount
    shows "no amounts", not 0."""
    cur = p.currency
    open_by_stage = pipeline_value(p, by="stage", period=chosen)
    weighted_by_stage = weighted_pipeline(p, by="stage", period=chosen)
    in_window = p.open if chosen is None else p.open.closing_in(chosen)
    n_stages = len(p.stages)
    deals = np.bincount(in_window.stage_codes, minlength=n_stages)
    missing = np.bincount(in_window.stage_codes[in_window.amount_missing], minlength=n_stages)

    def cells(n: int, n_missing: int, open_: float, weighted: float) -> tuple[str, str]:
        if n and n_missing == n:
            return NO_AMOUNTS, NO_AMOUNTS
        return _money(open_, cur), _money(weighted, cur)

    rows = [(s, *cells(int(deals[k]), int(missing[k]), open_by_stage.get(s, 0.0),
                       weighted_by_stage.get(s, 0.0)))
            for k, s in enumerate(p.open_stage_names)]
    total, total_missing = int(deals.sum()), int(missing.sum())
    rows.append(("Total", *cells(total, total_missing, sum(open_by_stage.values()),
                                 sum(weighted_by_stage.values()))))
    notes = (f"{_count(total_missing)} of {_count(total)} open deals have no amount and are not "
             "in these totals",) if total_missing else ()
    return Section(
        "Open pipeline by stage" + (" (expected to close in the period)" if chosen else ""),
        ("stage", "open", "weighted"), tuple(rows), notes)


def _target_sections(p: Pipeline, chosen: Period, target: float) -> list[Section]:
    """Will the period hit the target: coverage and P(≥ target) (`pipeline_coverage`,
    `forecast`), and the open value each stage must hold (`required_pipeline`)."""
    cur = p.currency
    cov = pipeline_coverage(p, target=target, period=chosen)
    f = forecast(p, period=chosen)
    low, mid, high = f.quantile([0.1, 0.5, 0.9]).tolist()
    rows = (
        ("target", _money(cov.target, cur)),
        ("won", _money(cov.won, cur)),
        ("remaining to win", _money(cov.remaining, cur)),
        ("open, expected to close in the period", _money(cov.open_value, cur)),
        ("coverage = open ÷ remaining", format_times(cov.ratio)),
        ("coverage needed = 1 ÷ win rate", format_times(cov.required_ratio)),
        ("forecast: mean", _money(f.mean, cur)),
        ("forecast: 10 % quantile", _money(low, cur)),
        ("forecast: median", _money(mid, cur)),
        ("forecast: 90 % quantile", _money(high, cur)),
        ("P(≥ target)", _pct(f.probability_at_least(cov.target))),
    )
    need = required_pipeline(p, target=target, period=chosen)
    stages = tuple(
        (s, format_times(r.factor), *(_money(x, cur) for x in (r.required, r.held, r.gap)))
        for s, r in need.items()
    )
    before = f"measured on the deals closed before {chosen.label}"
    return [
        Section(f"Will {chosen.label} hit the target?", ("", "value"), rows, (
            *(("the target is already won",) if cov.remaining == 0 else ()),
            f"coverage needed: win rate by value {before}",
            "forecast: won + each open deal expected to close in the period, won with its own "
            "probability (else its stage's), deals independent")),
        Section("Pipeline each stage must hold to close the gap alone",
                ("stage", "factor", "required", "held", "gap"), stages, (
                    f"factor = 1 ÷ conversion to win from the stage, {before}; "
                    "gap = held − required, negative is a shortfall",)),
    ]


def _sections(
    p: Pipeline, chosen: Period | None, by: str | None, target: float | None = None,
    since: Pipeline | None = None,
) -> list[Section]:
    from salesmetrics._report_changes import change_sections, hygiene_sections

    cur = p.currency
    no_amounts = len(p) > 0 and bool(p.amount_missing.all())

    def money(value: float, currency: str | None = cur) -> str:
        return NO_AMOUNTS if no_amounts else _money(value, currency)

    def value_pct(value: float) -> str:
        return NO_AMOUNTS if no_amounts else _pct(value)

    sections = [_open_pipeline(p, chosen)]
    if since is not None:
        sections += change_sections(p, since, chosen)
    if chosen is not None and target is not None:
        sections += _target_sections(p, chosen, target)

    wr_rows = [("all", _pct(win_rate(p, period=chosen)),
                value_pct(win_rate(p, period=chosen, basis="value")))]
    if by:
        unit = win_rate(p, period=chosen, by=by)
        value = win_rate(p, period=chosen, by=by, basis="value")
        wr_rows += [(format_label(k), _pct(unit[k]), value_pct(value[k])) for k in unit]
    sections.append(Section("Win rate (closed deals; no decision counts as lost)",
                            (by or "", "unit", "value"), tuple(wr_rows)))

    # Closed deals only, as the title says: open deals have reached stages but have no outcome.
    conv = conversion_from_stage(p, period=chosen)
    closed = funnel_counts(p.closed, period=chosen)
    won = funnel_counts(p.won, period=chosen)
    sections.append(Section(
        "Conversion to win from each stage (closed deals that reached it)",
        ("stage", "reached", "won", "win rate"),
        tuple((str(s), _count(int(closed[s])), _count(int(won[s])), _pct(conv[s]))
              for s in conv)))

    v = sales_velocity(p, period=chosen)
    sections.append(Section("Sales velocity = N × V × W ÷ L", ("lever", "value"), (
        ("N opportunities", _count(v.opportunities)),
        ("V average won deal", money(v.average_deal_value)),
        ("W win rate", _pct(v.win_rate)),
        ("L cycle (won)", _days(v.cycle_days)),
        ("revenue per day", money(v.revenue_per_day)),
    )))

    if chosen is not None:
        sections.append(_attribution(p, chosen, v, money))

    sections.append(Section("Sales cycle, created → close", ("outcome", "mean", "median"), tuple(
        (o, _days(sales_cycle_length(p, outcome=o, period=chosen)),
         _days(sales_cycle_length(p, outcome=o, period=chosen, statistic="median")))
        for o in ("won", "lost"))))
    if by:
        per = sales_velocity(p, period=chosen, by=by)
        sections.append(Section(f"Velocity by {by}", (by, "N", "V", "W", "L", "per day"), tuple(
            (format_label(k), _count(x.opportunities), money(x.average_deal_value),
             _pct(x.win_rate), _days(x.cycle_days), money(x.revenue_per_day))
            for k, x in per.items())))
    return sections + hygiene_sections(p)


def _factor(value: float) -> str:
    return MISSING if value != value else f"×{format_number(value, 4)}"


def _velocity_in(p: Pipeline, period: Period) -> Velocity:
    """`sales_velocity` over ``period``, its data-quality warnings prefixed with the period (they
    are about other deals than those of the review's period)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        v = sales_velocity(p, period=period)
    for item in caught:
        if issubclass(item.category, DataQualityWarning):
            warnings.warn(f"baseline {period.label}: {item.message}", DataQualityWarning,
                          stacklevel=2)
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno,
                                   source=item.source)
    return v


def _attribution(
    p: Pipeline, chosen: Period, v: Velocity, money: Callable[[float], str]
) -> Section:
    """Which lever moved: the velocity of the period against the period before, each lever's
    factor and share of the log change (`velocity_attribution`)."""
    base = chosen.previous()
    a = velocity_attribution(_velocity_in(p, base), v)
    b, c = a.before, a.after
    rows = [
        ("N opportunities", _count(b.opportunities), _count(c.opportunities)),
        ("V average won deal", money(b.average_deal_value), money(c.average_deal_value)),
        ("W win rate", _pct(b.win_rate), _pct(c.win_rate)),
        ("L cycle (won)", _days(b.cycle_days), _days(c.cycle_days)),
    ]
    levers = ("opportunities", "average_deal_value", "win_rate", "cycle_days")
    table = [(*row, _factor(a.factors[k]), _pct(a.shares[k]))
             for row, k in zip(rows, levers, strict=True)]
    total = MISSING if any(x != x for x in a.shares.values()) else _pct(1.0)
    table.append(("revenue per day", money(b.revenue_per_day), money(c.revenue_per_day),
                  _factor(a.ratio), total))
    return Section(
        f"Which lever moved: velocity against {base.label} (share of the change, in logs)",
        ("lever", base.label, chosen.label, "factor", "share"), tuple(table),
        (a.reason,) if a.reason else ())


def _text_table(section: Section) -> list[str]:
    notes = [f"  - {note}" for note in section.notes]
    if not section.header:
        return [section.title, *notes]
    return [section.title, *text_table(section.header, section.rows, align=section.align),
            *notes]


def pipeline_review(
    p: Pipeline, *, period: PeriodLike | None = None, by: str | None = None,
    target: float | None = None, since: Pipeline | None = None,
) -> str:
    """The pipeline review as text: what ``python -m salesmetrics report`` prints.

    Parameters
    ----------
    p
        The pipeline.
    period
        Outcome metrics over deals closed in it, open pipeline over deals expected to close in it.
    by
        A field to break win rate and velocity down by (e.g. ``"owner"``).
    target
        The revenue target of the period [currency] (needs ``period``): the review then says
        whether the period will hit it, with `pipeline_coverage`, `required_pipeline` and
        P(≥ target) from `forecast`.
    since
        An older snapshot of the same CRM (say, last week's export): the review then says what
        changed since (`pipeline_changes`, and `slip_rate` with a period). Every review ends
        with the data-hygiene findings (`hygiene`, as of the latest date on record).

    Examples
    --------
    >>> from salesmetrics.datasets import sample_pipeline
    >>> print(pipeline_review(sample_pipeline(), period="2024-Q2").splitlines()[0])
    Pipeline review — 2024-Q2 — 2,000 deals, USD
    """
    chosen = _checked(period, target)
    lines = [_title(p, chosen), _legend(p)]
    for section in review_sections(p, period=chosen, by=by, target=target, since=since):
        lines += ["", *_text_table(section)]
    return "\n".join(lines)


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;
max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.4em 0}
th,td{padding:.25em .8em;border-bottom:1px solid #ddd}
th{background:#f3f5f9}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1em}
.charts img{width:100%;border:1px solid #eee}
.note{color:#666}
.quality li{color:#8a4b00}
"""


def _html_table(section: Section) -> str:
    title = f"<h2>{html.escape(section.title)}</h2>"
    if not section.header:
        items = "".join(f"<li>{html.escape(note)}</li>" for note in section.notes)
        return f"{title}<ul class='quality'>{items}</ul>"
    notes = "".join(f"<p class='note'>{html.escape(note)}</p>" for note in section.notes)
    return f"{title}{html_table(section.header, section.rows, align=section.align)}{notes}"


def _charts(
    p: Pipeline, period: Period | None, by: str | None, target: float | None = None,
    since: Pipeline | None = None,
) -> list[str]:
    """The review's figures as base64 PNG data URIs (empty without matplotlib).

    Each is drawn on a `matplotlib.figure.Figure` of its own, which pyplot does not know of: the
    caller's backend, current figure and open figures stay as they were.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return []

    from salesmetrics import plot

    group = by or ("owner" if "owner" in p.fields else None)
    figures: list[Callable[[Any], Any]] = [
        lambda ax: plot.pipeline_by_stage(p, period=period, ax=ax),
        lambda ax: plot.funnel(p, period=period, ax=ax),
        lambda ax: plot.win_rates(p, by=group, period=period, ax=ax),
        lambda ax: plot.velocity_levers(p, period=period, ax=ax),
        lambda ax: plot.cycle_length_distribution(p, period=period, ax=ax),
    ]
    if period is not None and target is not None:
        figures += [
            lambda ax: plot.forecast_distribution(p, period=period, target=target, ax=ax),
            lambda ax: plot.required_pipeline(p, target=target, period=period, ax=ax),
        ]
    if since is not None:
        figures.append(lambda ax: plot.waterfall(pipeline_changes(since, p, period=period), ax=ax))
    uris = []
    for draw in figures:
        fig = Figure(figsize=(7, 4), layout="constrained")
        draw(fig.add_subplot())
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        uris.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return uris


def pipeline_review_html(
    p: Pipeline, *, period: PeriodLike | None = None, by: str | None = None,
    target: float | None = None, since: Pipeline | None = None,
) -> str:
    """The pipeline review as one self-contained HTML page (charts embedded as PNG; no file or
    network access needed to view it). Charts need matplotlib (``salesmetrics[plot]``); without
    it the page has the tables only. The options are those of `pipeline_review`; with
    ``target``, the page also has the forecast distribution and the required pipeline charts,
    with ``since`` the waterfall.

    >>> from salesmetrics.datasets import sample_pipeline
    >>> page = pipeline_review_html(sample_pipeline(), period="2024-Q2")
    >>> page.startswith("<!DOCTYPE html>"), "Sales velocity" in page
    (True, True)
    """
    chosen = _checked(period, target)
    title = _title(p, chosen)
    found: list[str] = []
    with _data_quality(found):
        sections = _sections(p, chosen, by, target, since)
        charts = _charts(p, chosen, by, target, since)
    figures = ("<div class='charts'>" + "".join(f"<img alt='chart' src='{uri}'>" for uri in charts)
               + "</div>") if charts else (
        "<p class='note'>Install salesmetrics[plot] (matplotlib) for the charts.</p>")
    tables = "".join(_html_table(s) for s in sections + _quality_section(found))
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='note'>{html.escape(_legend(p))}</p>"
        f"{figures}{tables}"
        f"<p class='note'>Made by salesmetrics on {made}.</p></body></html>"
    )
