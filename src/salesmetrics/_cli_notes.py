"""The data-quality notes of ``python -m salesmetrics report`` in the command's terms.

The metrics' notes name the fixes of the Python API (``columns={'amount': ...}``, ``history=``);
the command line rewrites them to the option that does it (``--column amount=COLUMN``,
``--history FILE``), or says that only the Python API can.
"""

from __future__ import annotations

import html
import re

__all__ = ["for_the_command_line", "html_notes", "text_notes"]

#: The metrics' note on a missing stage history, and its fix on the command line: without a
#: history, the options that load one; with one, that these deals are missing from it.
_HISTORY_FIX = (r"Fix: load the stage history with history= on Pipeline\.from_columns or read_csv, "
                r"or, where the export has one date column per stage, stage_entered=\{[^}]*\}")
_LOAD_HISTORY = ("Fix: load the stage history with --history FILE (a CSV of id, stage and date, "
                 "one row per stage entered) or, where the CSV has one date column per stage, "
                 "--stage-entered STAGE=COLUMN (repeatable)")
_COMPLETE_HISTORY = ("Fix: add these deals' stage changes to the --history file (or their dates "
                     "to the --stage-entered columns)")
_HISTORY_OPTIONS = "--history FILE or --stage-entered STAGE=COLUMN"
#: The metrics' data-quality notes name the fixes of the Python API; on the command line, the
#: review says the option that does it, or that only the Python API can.
_CLI_FIXES: tuple[tuple[str, str], ...] = (
    (r", or use skipped='implied'", ", or, in Python, use skipped='implied'"),
    (r"\bhistory= \(a table of id, stage,? (and )?date[^)]*\) or stage_entered= \([^)]*\)",
     "--history FILE (a CSV of id, stage and date, one row per stage entered) or "
     "--stage-entered STAGE=COLUMN (one date column per stage)"),
    (r"\bhistory= or stage_entered=", _HISTORY_OPTIONS),
    (r"\(history=\)", f"({_HISTORY_OPTIONS})"),
    (r"\bwith history=(?= |$)", f"with {_HISTORY_OPTIONS}"),
    (r"columns=\{'(\w+)': '([^']*)'\}", r"--column \1=\2"),
    (r"columns=\{'(\w+)': \.\.\.\}", r"--column \1=COLUMN"),
    (r"\bwithout period=", "without --period"),
    (r"\buse p\.filter\(", "in Python use p.filter("),
    (r"\bpass currency=\s*\(e\.g\. currency='(\w+)'", r"pass --currency (e.g. --currency \1"),
    (r"\bpass currency=", "pass --currency"),
)


def for_the_command_line(note: str, *, history: bool = False) -> str:
    """A data-quality note with the fixes a command-line user can apply (``history``: the
    command loaded a stage history)."""
    note = re.sub(_HISTORY_FIX, _COMPLETE_HISTORY if history else _LOAD_HISTORY, note)
    for pattern, replacement in _CLI_FIXES:
        note = re.sub(pattern, replacement, note)
    if re.search(r"\bhistory=", note):
        note += f" (on the command line: {_HISTORY_OPTIONS})"
    return note


def text_notes(review: str, *, history: bool = False) -> str:
    """The text review with its "Data quality" notes (the last section) for the command line."""
    head, title, notes = review.rpartition("\nData quality\n")
    if not title:
        return review
    lines = [for_the_command_line(line, history=history) if line.startswith("  - ") else line
             for line in notes.split("\n")]
    return head + title + "\n".join(lines)


def html_notes(page: str, *, history: bool = False) -> str:
    """The HTML review with its data-quality notes (``<ul class='quality'>``) for the command
    line."""
    def note(match: re.Match[str]) -> str:
        text = for_the_command_line(html.unescape(match[1]), history=history)
        return f"<li>{html.escape(text)}</li>"

    def items(match: re.Match[str]) -> str:
        return re.sub(r"<li>(.*?)</li>", note, match[0])

    return re.sub(r"<ul class='quality'>.*?</ul>", items, page)
