"""``python -m salesmetrics report [CSV …] [--period 2017-Q2] [--by owner] [--target 1200000]
[--since OLDER.csv]``: a pipeline review.

With ``--period``, the review also attributes the change in sales velocity since the period
before to its four levers (`velocity_attribution`). With ``--target`` (which needs ``--period``),
it says whether the period will hit the target: coverage, the pipeline each stage must hold, and
P(≥ target) from the forecast. With ``--since``, an older export of the same CRM (read with
the same options), it says what changed since: the waterfall of `pipeline_changes`. Every review
lists the data-hygiene findings.

Bad input (an option, a file, its columns or stages) gives one line on stderr, starting
``error:``, and exit status 2; never a traceback. Warnings about the data while loading are one
line each, starting ``warning:``; those of the metrics are the report's "Data quality" section.
Their fixes are in the command's terms (``--column amount=COLUMN``); the command line cannot load
a stage history, so those notes point at the Python API (``history=`` on `Pipeline.read_csv`).
``--by`` takes a loaded field: a CSV column other than the deal attributes loads as one only when
mapped, ``--column team=team``, as in `Pipeline.read_csv`.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._names import DEAL_ATTRIBUTES
from salesmetrics.domain.dates import DateFormats
from salesmetrics.domain.period import Period, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import DEFAULT_STAGES, Stage, validate_stages
from salesmetrics.errors import DataError, SalesMetricsError, UnknownStageError, choices
from salesmetrics.io.csv import read_columns
from salesmetrics.report import _data_quality, pipeline_review, pipeline_review_html

__all__ = ["main"]

_STAGES_FORM = "NAME:PROBABILITY[:OUTCOME],… (OUTCOME is won, lost or no_decision)"
_STAGES_EXAMPLE = "--stages 'Prospecting:0.1,Engaging:0.5,Won:1:won,Lost:0:lost'"
#: Options that say how to read CSV files; the bundled sample has no use for them.
_CSV_OPTIONS = {"stages": "--stages", "column": "--column", "currency": "--currency",
                "encoding": "--encoding", "delimiter": "--delimiter",
                "date_format": "--date-format",
                "allow_close_before_created": "--allow-close-before-created"}


class _UsageError(Exception):
    """A command-line option that argparse could not take."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (raised, for `main` to print), not the usage
    text followed by an exit."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _period(text: str) -> Period:
    """``--period``: a period label."""
    try:
        return as_period(text)
    except SalesMetricsError as error:
        message = str(error)
        raise argparse.ArgumentTypeError(
            message if text in message else f"{text!r}: {message}") from None


def _target(text: str) -> float:
    """``--target``: the period's revenue target, a number >= 0 (``1200000``, ``1_200_000``), as
    the metrics take it (`pipeline_coverage`, `required_pipeline`)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the target is the period's revenue in the currency's units, a number "
            ">= 0, e.g. --target 1200000")
    return value


def _check_writable(path: str) -> None:
    """``--html FILE``: an `OSError` before any work unless FILE can be written (its folder
    exists and is writable, and FILE is not a folder)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(21, "is a folder; give a file name such as review.html", path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(2, f"no folder {folder!r} to write the --html page in", path)
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise PermissionError(13, "cannot be written (permission denied) for --html", path)


def _stages(spec: str) -> tuple[Stage, ...]:
    """``"Prospecting:0.1,Engaging:0.5,Won:1:won,Lost:0:lost"`` as stages."""
    stages = []
    for item in spec.split(","):
        parts = [x.strip() for x in item.split(":")]
        if len(parts) not in (2, 3) or not parts[0]:
            raise argparse.ArgumentTypeError(f"stage {item.strip()!r}: write {_STAGES_FORM}")
        try:
            probability = float(parts[1])
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"stage {item.strip()!r}: probability {parts[1]!r} is not a number; write "
                f"{_STAGES_FORM}"
            ) from None
        try:
            stages.append(Stage(parts[0], probability, *parts[2:]))
        except SalesMetricsError as error:
            raise argparse.ArgumentTypeError(f"stage {item.strip()!r}: {error}") from None
    try:
        return validate_stages(stages)
    except SalesMetricsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _column(item: str) -> tuple[str, str]:
    """``--column ATTR=NAME`` as a pair."""
    attribute, sep, name = (x.strip() for x in item.partition("="))
    if not sep or not attribute or not name:
        raise argparse.ArgumentTypeError(
            f"{item!r}: write ATTR=NAME, a deal attribute and a column of the CSV, e.g. id=opp_id"
        )
    return attribute, name


def _delimiter(text: str) -> str:
    """``--delimiter``: one character (``tab`` or ``\\t`` for a tab)."""
    value = "\t" if text in ("tab", "\\t") else text
    if len(value) != 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the cell separator is one character, e.g. ';' or tab")
    return value


def _date_formats(given: Sequence[str]) -> DateFormats:
    """``--date-format`` (repeatable) as ``date_formats=``: strptime formats, or ``dateutil``."""
    if not given:
        return None
    if "dateutil" in given:
        if len(given) > 1:
            raise DataError("--date-format dateutil reads every form it knows; give it alone, "
                            "or strptime formats only")
        return "dateutil"
    return list(given)


def _read(path: str, args: argparse.Namespace) -> dict[str, npt.NDArray[np.str_]]:
    """One CSV file as columns (`read_columns` names the file and line of what it cannot read)."""
    try:
        return read_columns(path, delimiter=args.delimiter, encoding=args.encoding)
    except DataError as error:
        if isinstance(error.__context__, UnicodeDecodeError):  # say it in the command's terms
            raise DataError(
                f"{error}; on the command line: --encoding latin-1 or --encoding cp1252"
            ) from None
        raise


def _stage_counts(values: npt.NDArray[np.str_]) -> str:
    """The distinct values of a stage column with their counts, most frequent first."""
    names, counts = np.unique(np.char.strip(values), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:30]
    shown = [f"{str(names[i])!r} ({int(counts[i]):,})" for i in order]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def _load(paths: Sequence[str], args: argparse.Namespace) -> tuple[Pipeline, list[str]]:
    """The pipeline of the CSV files (the bundled sample without), and the files' columns."""
    if not paths:
        given = [flag for name, flag in _CSV_OPTIONS.items()
                 if getattr(args, name) not in (None, [], False)]
        if given:
            raise DataError(f"{', '.join(given)}: only for CSV files; give a CSV file, or leave "
                            f"{'it' if len(given) == 1 else 'them'} out for the bundled sample")
        from salesmetrics.datasets import sample_pipeline

        return sample_pipeline(), []
    if args.encoding is None:
        args.encoding = "utf-8-sig"
    if args.delimiter is None:
        args.delimiter = ","
    tables = [_read(path, args) for path in paths]
    names = list(tables[0])
    for path, table in zip(paths[1:], tables[1:], strict=True):
        if list(table) != names:
            raise DataError(f"{path!r} has other columns than {paths[0]!r}: {choices(list(table))}"
                            f" instead of {choices(names)}")
    data = {name: np.concatenate([t[name] for t in tables]) for name in names}
    columns = dict(args.column)
    files = "the file's" if len(paths) == 1 else "the files'"
    needed = {"id": "id", "stage": "stage", **columns}
    absent = [f"{source!r} (for {attribute!r})" for attribute, source in needed.items()
              if source not in data]
    if absent:
        stages = (f"; and if the stage column holds other stages than the default ones, give the "
                  f"sales process with --stages {_STAGES_FORM}, e.g. {_STAGES_EXAMPLE}"
                  if needed["stage"] not in data else "")
        raise DataError(
            f"no column {', '.join(absent)} in {', '.join(map(repr, paths))}; {files} columns are "
            f"{choices(names)}: map each deal attribute to one with --column ATTR=NAME, e.g. "
            f"--column id={names[0]}{stages}"
        )
    try:
        return Pipeline.from_columns(
            data, args.stages or DEFAULT_STAGES, columns=columns, currency=args.currency,
            date_formats=_date_formats(args.date_format),
            allow_close_before_created=args.allow_close_before_created,
        ), names
    except UnknownStageError as error:
        stage_column = needed["stage"]
        raise UnknownStageError(
            f"{error}. {files.capitalize()} stages (column {stage_column!r}) are "
            f"{_stage_counts(data[stage_column])}: give the sales process with --stages "
            f"{_STAGES_FORM}, e.g. {_STAGES_EXAMPLE}, or map another column with --column "
            f"stage=NAME ({files} columns are {choices(names)})"
        ) from None
    except DataError as error:
        if " must be an ISO date " not in str(error) or args.date_format:
            raise
        raise DataError(f"{error}; on the command line: --date-format %d/%m/%Y (a strptime "
                        "format, repeatable) or --date-format dateutil") from None


def _check_by(by: str | None, pipeline: Pipeline, names: Sequence[str]) -> None:
    """``--by``: a field of the pipeline. The CSV's columns load as fields only when mapped (as
    in `Pipeline.read_csv`): for a column that is not, the error says how to load it."""
    if by is None or by == "stage" or by in pipeline.fields:
        return
    loaded = choices(("stage", *pipeline.fields))
    same = [name for name in names if name.lower() == by.lower()]
    if by in DEAL_ATTRIBUTES:
        how = (f"The deal attribute {by!r} is not a label to group by; group by one of the "
               "fields")
    elif same:
        how = (f"The CSV's column {same[0]!r} is not loaded: a column other than the deal "
               f"attributes loads as a field only when mapped; add --column {by}={same[0]}")
    elif names:
        how = (f"Load a column of the CSV as the field {by!r} with --column {by}=COLUMN (the "
               f"CSV's columns are {choices(names)})")
    else:
        how = "The bundled sample has no other fields"
    raise DataError(f"--by {by}: the pipeline has no field {by!r}; its fields are {loaded}. "
                    f"{how}")


#: The metrics' data-quality notes name the fixes of the Python API; on the command line, the
#: review says the option that does it, or that only the Python API can.
_CLI_FIXES: tuple[tuple[str, str], ...] = (
    (r"Fix: load the stage history with history= on Pipeline\.from_columns or read_csv, or, "
     r"where the export has one date column per stage, stage_entered=\{[^}]*\}",
     "Fix: the command line cannot load a stage history; in Python, load it with history= (a "
     "table of id, stage and date) or stage_entered= (one date column per stage) on "
     "Pipeline.read_csv, then print(salesmetrics.report.pipeline_review(p))"),
    (r", or use skipped='implied'", ", or, in Python, use skipped='implied'"),
    (r"columns=\{'(\w+)': '([^']*)'\}", r"--column \1=\2"),
    (r"columns=\{'(\w+)': \.\.\.\}", r"--column \1=COLUMN"),
    (r"\bwithout period=", "without --period"),
    (r"\buse p\.filter\(", "in Python use p.filter("),
)


def _for_the_command_line(note: str) -> str:
    """A data-quality note with the fixes a command-line user can apply."""
    for pattern, replacement in _CLI_FIXES:
        note = re.sub(pattern, replacement, note)
    if "history=" in note and "command line cannot" not in note:
        note += (" (the command line cannot load a stage history: in Python, "
                 "Pipeline.read_csv(..., history=...))")
    return note


def _text_notes(review: str) -> str:
    """The text review with its "Data quality" notes (the last section) for the command line."""
    head, title, notes = review.rpartition("\nData quality\n")
    if not title:
        return review
    lines = [_for_the_command_line(line) if line.startswith("  - ") else line
             for line in notes.split("\n")]
    return head + title + "\n".join(lines)


def _html_notes(page: str) -> str:
    """The HTML review with its data-quality notes (``<ul class='quality'>``) for the command
    line."""
    def note(match: re.Match[str]) -> str:
        return f"<li>{html.escape(_for_the_command_line(html.unescape(match[1])))}</li>"

    def items(match: re.Match[str]) -> str:
        return re.sub(r"<li>(.*?)</li>", note, match[0])

    return re.sub(r"<ul class='quality'>.*?</ul>", items, page)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m salesmetrics", description="Sales metrics from CRM deals.")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser(
        "report", help="print a pipeline review (of the bundled sample when no CSV is given)"
    )
    report.add_argument("csv", nargs="*", help="CSV exports with a header row")
    report.add_argument("--period", type=_period,
                        help="e.g. 2017-Q2, 2017-07, 2017-W05, FY2025; the review then also "
                             "says which lever moved the sales velocity since the period "
                             "before")
    report.add_argument("--by", help="field to break down by, e.g. owner; another column of "
                                      "the CSV needs --column, e.g. --by team --column team=team")
    report.add_argument("--target", type=_target,
                        help="revenue target of the period (needs --period), e.g. 1200000: the "
                             "review then adds coverage, the pipeline each stage must hold and "
                             "P(≥ target)")
    report.add_argument("--since", metavar="OLDER_CSV",
                        help="an older export of the same CRM (e.g. last week's): the review "
                             "then adds what changed since, as a waterfall")
    report.add_argument(
        "--stages", type=_stages,
        help="sales process, e.g. 'Prospecting:0.1,Engaging:0.5,Won:1:won,Lost:0:lost'",
    )
    report.add_argument("--column", action="append", default=[], metavar="ATTR=NAME",
                        type=_column,
                        help="map a deal attribute to a CSV column, e.g. id=opportunity_id")
    report.add_argument("--currency", help="ISO 4217 code of the amounts")
    report.add_argument("--encoding", help="text encoding of the CSV files (default utf-8)")
    report.add_argument("--delimiter", type=_delimiter,
                        help="cell separator of the CSV files (default ,; tab for a tab)")
    report.add_argument("--date-format", action="append", default=[], metavar="FORMAT",
                        help="how to read dates that are not ISO: a strptime format such as "
                             "%%d/%%m/%%Y (repeat for several), or dateutil")
    report.add_argument("--allow-close-before-created", action="store_true",
                        help="load deals closed before they were created")
    report.add_argument("--html", metavar="FILE",
                        help="also write the review as one self-contained HTML page with charts")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad input, with one line on stderr)."""
    try:
        args = _parser().parse_args(argv)
        if args.target is not None and args.period is None:
            raise _UsageError("--target needs --period, the period the target is for, e.g. "
                              "--target 1200000 --period 2024-Q4")
        if args.html:
            _check_writable(args.html)
        found: list[str] = []
        with _data_quality(found):
            pipeline, names = _load(args.csv, args)
            since = None if args.since is None else _load([args.since], args)[0]
        for line in found:
            print(f"warning: {_for_the_command_line(line)}", file=sys.stderr)
        _check_by(args.by, pipeline, names)
        review = pipeline_review(pipeline, period=args.period, by=args.by, target=args.target,
                                 since=since)
        print(_text_notes(review))
        if args.html:
            page = _html_notes(pipeline_review_html(pipeline, period=args.period, by=args.by,
                                                    target=args.target, since=since))
            with open(args.html, "w", encoding="utf-8") as handle:
                handle.write(page)
            print(f"\nwrote {args.html}")
    except (_UsageError, SalesMetricsError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except OSError as error:
        name = error.filename if error.filename is not None else ""
        reason = error.strerror or str(error)
        print(f"error: {os.fspath(name)!r}: {reason}" if name else f"error: {reason}",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
