"""The review's weekly sections: what changed since an older snapshot (`pipeline_changes`,
`slip_rate`) and the data-hygiene findings (`hygiene`). Used by `salesmetrics.report`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesmetrics._render import format_money, format_number, format_rate
from salesmetrics.domain.period import Period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.metrics import hygiene, pipeline_changes, slip_rate

if TYPE_CHECKING:
    from salesmetrics.report import Section

__all__ = ["change_sections", "hygiene_sections"]

#: How many deals and findings the review lists.
SHOWN = 5


def _money(value: float, currency: str | None) -> str:
    return format_money(value, currency, digits=0)


def change_sections(p: Pipeline, since: Pipeline, chosen: Period | None) -> list[Section]:
    """"What changed": the waterfall from ``since`` to ``p`` and the largest changed deals."""
    from salesmetrics.report import Section

    cur = p.currency
    c = pipeline_changes(since, p, period=chosen)
    rows = [("start (older snapshot)", _money(c.start, cur)),
            *((name, _money(value, cur)) for name, value in c.totals.items()),
            ("end (this snapshot)", _money(c.end, cur))]
    moved = [f"{s} {n}" for s, n in c.advanced.items() if n]
    back = [f"{s} {n}" for s, n in c.regressed.items() if n]
    notes = [f"{format_number(len(c.deals))} deals changed; start + movements = end, exactly",
             f"advanced a stage, from: {', '.join(moved) or 'none'}; regressed, from: "
             f"{', '.join(back) or 'none'}"]
    if chosen is not None:
        notes.append(f"slip rate: {format_rate(slip_rate(since, p, period=chosen))} of the deals "
                     f"expected in {chosen.label} were not closed in it (pushed out, still open "
                     "or removed)")
    scope = f", open deals expected to close in {chosen.label}" if chosen else ", open deals"
    sections = [Section(f"What changed since the older snapshot{scope}", ("movement", "value"),
                        tuple(rows), tuple(notes))]
    deals = c.deals
    if len(deals):
        size = np.abs(deals.after - deals.before)
        top = np.argsort(-size, kind="stable")[:SHOWN]
        movements = deals.movements
        sections.append(Section(
            "Largest changes", ("deal", "movements", "before", "after"),
            tuple((str(deals.ids[i]), ", ".join(movements[i]), _money(deals.before[i], cur),
                   _money(deals.after[i], cur)) for i in top),
            align=("left", "left", "right", "right")))
    return sections


def hygiene_sections(p: Pipeline) -> list[Section]:
    """"Hygiene": findings per code and the first few, as of the latest date on record."""
    from salesmetrics.report import Section

    day = p.latest_date
    if np.isnat(day):
        return []
    h = hygiene(p, as_of=day)
    counts = tuple((code, format_number(n)) for code, n in h.counts.items() if n)
    found = "finding" if len(h) == 1 else "findings"
    deals = "deal" if h.n_deals == 1 else "deals"
    notes = (f"{format_number(len(h))} {found} on {format_number(h.n_deals)} {deals}, as of "
             f"{day} (the latest date on record); stalled: no stage change for 30 days",)
    sections = [Section("Hygiene: data-quality findings", ("code", "findings"), counts, notes)]
    if len(h):
        sections.append(Section(
            "The finding" if len(h) == 1 else f"First {min(SHOWN, len(h))} findings",
            ("deal", "code", "message"),
            tuple((str(h.ids[i]), str(h.codes[i]), str(h.messages[i]))
                  for i in range(min(SHOWN, len(h)))), align=("left", "left", "left")))
    return sections
