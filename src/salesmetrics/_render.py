"""The one text and HTML renderer of the package: how numbers, labels and tables are printed.

Every printed result (`GroupedResult`, `Velocity`, the pipeline's summary, the pipeline review)
formats its cells here, so that money, rates, days and missing values read the same everywhere:

- money: thousands separators, two decimals, then the currency code (``"USD 1,222,490.00"``);
- rates: percentages with one decimal by default (``"78.9 %"``);
- counts: thousands separators (``"2,473"``); other numbers in fixed notation, never a ``%g``
  exponent (``1.22249e+06``);
- a missing value (nan, None) is `MISSING`; the group of deals without a label is `NO_LABEL`,
  whether its key is None or nan.

It depends on nothing but the standard library, so every layer may use it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Literal

__all__ = [
    "MISSING",
    "NO_LABEL",
    "format_days",
    "format_label",
    "format_money",
    "format_number",
    "format_rate",
    "format_times",
    "html_table",
    "is_missing",
    "text_table",
]

#: How a missing value (nan, None) prints.
MISSING = "n/a"
#: How the group of deals without a label prints (its key is None; nan prints the same).
NO_LABEL = "(none)"

Align = Literal["left", "right"]


def is_missing(value: object) -> bool:
    """True for None and for a float nan (numpy's included)."""
    if value is None:
        return True
    try:
        return isinstance(value, numbers.Real) and math.isnan(value)
    except (TypeError, ValueError):
        return False


def format_money(value: float | None, currency: str | None = None, *, digits: int = 2) -> str:
    """Money in major units with thousands separators and the currency code first.

    >>> format_money(1222490, "USD"), format_money(-5.5, None), format_money(float("nan"), "EUR")
    ('USD 1,222,490.00', '-5.50', 'n/a')
    """
    if is_missing(value):
        return MISSING
    assert value is not None
    text = f"{float(value):,.{digits}f}"
    if text.lstrip("-").strip("0.,") == "":  # no "-0.00"
        text = text.lstrip("-")
    return f"{currency} {text}" if currency else text


def format_rate(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage with ``digits`` decimals.

    >>> format_rate(0.78912), format_rate(1), format_rate(None)
    ('78.9 %', '100.0 %', 'n/a')
    """
    if is_missing(value):
        return MISSING
    assert value is not None
    return f"{float(value) * 100:,.{digits}f} %"


def format_times(value: float | None) -> str:
    """A ratio such as a pipeline coverage, as a multiple.

    >>> format_times(3.254), format_times(float("nan"))
    ('3.25×', 'n/a')
    """
    if value is None or is_missing(value):
        return MISSING
    return f"{format_number(round(float(value), 2))}×"


def format_days(value: float | None, digits: int = 1) -> str:
    """A duration in days.

    >>> format_days(30), format_days(1)
    ('30.0 days', '1.0 days')
    """
    if is_missing(value):
        return MISSING
    assert value is not None
    return f"{float(value):,.{digits}f} days"


def format_number(value: object, digits: int | None = None) -> str:
    """A count or a plain number: integers with thousands separators; floats in fixed notation,
    with ``digits`` decimals, or (``digits=None``) as many as they need, up to 6, never an
    exponent. Anything else is ``str(value)``.

    >>> format_number(2473), format_number(1222490.5), format_number(0.25), format_number(3.0)
    ('2,473', '1,222,490.5', '0.25', '3')
    >>> format_number(1e20), format_number(float("nan")), format_number(0.5, 2)
    ('100,000,000,000,000,000,000', 'n/a', '0.50')
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    number = float(value)
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if digits is not None:
        return f"{number:,.{digits}f}"
    text = f"{number:,.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_label(value: object) -> str:
    """A group label: `NO_LABEL` for the group without one (None or nan), else the text.

    >>> format_label(None), format_label(float("nan")), format_label("EMEA"), format_label(2024)
    ('(none)', '(none)', 'EMEA', '2024')
    """
    if is_missing(value):
        return NO_LABEL
    if isinstance(value, tuple):
        return ", ".join(format_label(v) for v in value)
    return str(value)


def text_table(
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    *,
    align: Sequence[Align] | None = None,
    indent: int = 2,
    rule: bool = True,
) -> list[str]:
    """Lines of a plain-text table of already formatted cells.

    ``align`` gives each column's alignment (default: the first left, the others right);
    ``header=None`` prints no header (nor its rule). Multi-line cells are not supported.

    >>> print("\\n".join(text_table(["owner", "win rate"], [["ana", "50.0 %"], ["bo", "5.0 %"]])))
      owner  win rate
      -----  --------
      ana      50.0 %
      bo        5.0 %
    """
    table = ([list(header)] if header is not None else []) + [list(r) for r in rows]
    if not table:
        return []
    n = max(len(r) for r in table)
    table = [r + [""] * (n - len(r)) for r in table]
    widths = [max(len(r[i]) for r in table) for i in range(n)]
    aligns = list(align) if align is not None else ["left"] + ["right"] * (n - 1)

    def line(cells: Sequence[str]) -> str:
        parts = [c.ljust(w) if a == "left" else c.rjust(w)
                 for c, w, a in zip(cells, widths, aligns, strict=True)]
        return (" " * indent + "  ".join(parts)).rstrip()

    lines = [line(r) for r in table]
    if header is not None and rule:
        lines.insert(1, " " * indent + "  ".join("-" * w for w in widths))
    return lines


def html_table(
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    *,
    align: Sequence[Align] | None = None,
    raw: bool = False,
) -> str:
    """An HTML ``<table>`` of already formatted cells, escaped (unless ``raw``: cells that are
    HTML already). Columns aligned as in `text_table`.

    >>> html_table(["owner", "rate"], [["<b>", "50.0 %"]])
    "<table><thead><tr><th style='text-align:left'>owner</th><th style='text-align:right'>rate</th></tr></thead><tbody><tr><td style='text-align:left'>&lt;b&gt;</td><td style='text-align:right'>50.0 %</td></tr></tbody></table>"
    """  # noqa: E501
    import html  # here, not at import: html.entities takes 1 ms to load

    n = max([len(header or ())] + [len(r) for r in rows])
    aligns = list(align) if align is not None else ["left"] + ["right"] * (n - 1)

    def cell(tag: str, text: str, a: str) -> str:
        body = text if raw and tag == "td" else html.escape(text)
        return f"<{tag} style='text-align:{a}'>{body}</{tag}>"

    head = ""
    if header is not None:
        cells = "".join(cell("th", c, a) for c, a in zip(header, aligns, strict=False))
        head = f"<thead><tr>{cells}</tr></thead>"
    body = "".join("<tr>" + "".join(cell("td", c, a) for c, a in zip(r, aligns, strict=False))
                   + "</tr>" for r in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"
