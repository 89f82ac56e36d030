"""``python -m salesmetrics report [CSV …] [--period 2017-Q2] [--by owner] [--target 1200000]
[--since OLDER.csv] [--history HISTORY.csv] [--stage-entered STAGE=COLUMN …]``: a pipeline
review.

With ``--period``, the review also attributes the change in sales velocity since the period
before to its four levers (`velocity_attribution`). With ``--target`` (which needs ``--period``),
it says whether the period will hit the target: coverage, the pipeline each stage must hold, and
P(≥ target) from the forecast. With ``--since``, an older export of the same CRM (read with
the same options), it says what changed since: the waterfall of `pipeline_changes`. Every review
lists the data-hygiene findings.

A stage history says which stages each closed deal went through; without one, conversion from
each stage and the funnel count a lost deal as having reached only the first stage. ``--history
FILE`` reads one from a CSV of stage changes, one row per stage entered, with the columns ``id``,
``stage`` and ``date`` (``--history-column date=changed_on`` for other names), as ``history=``
on `Pipeline.read_csv`; ``--stage-entered Discovery=discovery_date`` (repeatable) reads it from
one date column per stage of the deals' CSV, as ``stage_entered=``. Both may be given; they are
read with the same ``--encoding``, ``--delimiter`` and ``--date-format``. With ``--since``, the
history is that of the newer export only: the older one is read without it (what changed since
compares the two snapshots, which needs no history).

Bad input (an option, a file, its columns or stages) gives one line on stderr, starting
``error:``, and exit status 2; never a traceback. Warnings about the data while loading are one
line each, starting ``warning:``; those of the metrics are the report's "Data quality" section.
Their fixes are in the command's terms (``--column amount=COLUMN``, ``--history FILE``).
``--by`` takes a loaded field: a CSV column other than the deal attributes loads as one only when
mapped, ``--column team=team``, as in `Pipeline.read_csv`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

import numpy as np
import numpy.typing as npt

from salesmetrics._cli_notes import for_the_command_line, html_notes, text_notes
from salesmetrics.domain._names import DEAL_ATTRIBUTES
from salesmetrics.domain.dates import DateFormats
from salesmetrics.domain.period import Period, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import DEFAULT_STAGES, Stage, validate_stages
from salesmetrics.errors import DataError, SalesMetricsError, UnknownStageError, choices
from salesmetrics.io.csv import read_columns_and_lines
from salesmetrics.report import _data_quality, pipeline_review, pipeline_review_html

__all__ = ["main"]

_STAGES_FORM = "NAME:PROBABILITY[:OUTCOME],… (OUTCOME is won, lost or no_decision)"
_STAGES_EXAMPLE = "--stages 'Prospecting:0.1,Engaging:0.5,Won:1:won,Lost:0:lost'"
#: Options that say how to read CSV files; the bundled sample has no use for them.
_CSV_OPTIONS = {"stages": "--stages", "column": "--column", "currency": "--currency",
                "encoding": "--encoding", "delimiter": "--delimiter",
                "date_format": "--date-format",
                "allow_close_before_created": "--allow-close-before-created",
                "history": "--history", "history_column": "--history-column",
                "stage_entered": "--stage-entered"}
#: The columns of a ``--history`` file (``history=`` of `Pipeline.read_csv`).
_HISTORY_KEYS = ("id", "stage", "date")


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


def _history_column(item: str) -> tuple[str, str]:
    """``--history-column ATTR=NAME`` as a pair; ATTR is ``id``, ``stage`` or ``date``."""
    key, sep, name = (x.strip() for x in item.partition("="))
    if not sep or not key or not name or key not in _HISTORY_KEYS:
        raise argparse.ArgumentTypeError(
            f"{item!r}: write ATTR=NAME, ATTR being {choices(_HISTORY_KEYS)} and NAME a column of "
            "the --history file, e.g. date=changed_on"
        )
    return key, name


def _stage_entered(item: str) -> tuple[str, str]:
    """``--stage-entered STAGE=COLUMN`` as a pair (the stage is checked against the process
    when the CSV loads)."""
    stage, sep, column = (x.strip() for x in item.partition("="))
    if not sep or not stage or not column:
        raise argparse.ArgumentTypeError(
            f"{item!r}: write STAGE=COLUMN, a stage and the column of the deals' CSV with the "
            "date each deal entered it, e.g. Discovery=discovery_date"
        )
    return stage, column


def _unique(option: str, pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Repeated ``KEY=VALUE`` options as a dict; a key given twice is an error."""
    seen: dict[str, str] = {}
    for key, value in pairs:
        if key in seen and seen[key] != value:
            raise DataError(f"{option} {key}={value}: {key!r} is already given as "
                            f"{option} {key}={seen[key]}; give each once")
        seen[key] = value
    return seen


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


def _read(path: str, args: argparse.Namespace
          ) -> tuple[dict[str, npt.NDArray[np.str_]], list[int]]:
    """One CSV file as columns, and the line each row starts on (`read_columns_and_lines` names
    the file and line of what it cannot read)."""
    try:
        return read_columns_and_lines(path, delimiter=args.delimiter, encoding=args.encoding)
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


def _history_table(args: argparse.Namespace
                   ) -> tuple[dict[str, npt.NDArray[np.str_]], list[int], dict[str, str]]:
    """``--history FILE`` as columns, the line each row starts on, and ``history_columns=``;
    errors name the option and the file."""
    path = args.history
    try:
        table, lines = _read(path, args)
    except OSError as error:
        raise DataError(f"--history {path}: cannot read it ({error.strerror or error})") from None
    except DataError as error:
        raise DataError(f"--history {path}: {error}") from None
    columns = _unique("--history-column", args.history_column)
    names = list(table)
    absent = [f"{columns.get(key, key)!r} (for {key!r})" for key in _HISTORY_KEYS
              if columns.get(key, key) not in table]
    if absent:
        raise DataError(
            f"--history {path}: no column {', '.join(absent)}; its columns are "
            f"{choices(names)}: a stage history has one row per stage entered, with the deal "
            f"id, the stage and the date; map each to a column with --history-column ATTR=NAME, "
            f"e.g. --history-column id={names[0] if names else 'opportunity_id'}"
        )
    return table, lines, columns


def _stage_entered_columns(args: argparse.Namespace, stages: Sequence[Stage],
                           names: Sequence[str], paths: Sequence[str]) -> dict[str, str] | None:
    """``--stage-entered`` as ``stage_entered=``, its stages and columns checked."""
    entered = _unique("--stage-entered", args.stage_entered)
    for stage, column in entered.items():
        if stage not in [s.name for s in stages]:
            raise UnknownStageError(
                f"--stage-entered {stage}={column}: {stage!r} is not a stage of the process; "
                f"valid stages are {choices(s.name for s in stages)}; give another process "
                f"with --stages {_STAGES_FORM}")
        if column not in names:
            raise DataError(f"--stage-entered {stage}={column}: no column {column!r} in "
                            f"{', '.join(map(repr, paths))}; its columns are {choices(names)}")
    return entered or None


def _history_error(error: SalesMetricsError, path: str, lines: Sequence[int],
                   stages: npt.NDArray[np.str_]) -> SalesMetricsError:
    """An error of the ``--history`` file's data, naming the option and the file's line."""
    def line(match: re.Match[str]) -> str:
        row = int(match[1] or match[2])
        at = f", line {lines[row]} of {os.path.basename(path)}" if row < len(lines) else ""
        return f"{match[0]}{at}"

    message = re.sub(r"row (\d+) of the history|history row (\d+)", line, str(error))
    hint = ""
    if isinstance(error, UnknownStageError):
        hint = (f"; the file's stages are {_stage_counts(stages)}: give the sales process "
                f"with --stages {_STAGES_FORM}, or map another column with --history-column "
                "stage=NAME")
    elif "is not in the pipeline" in message:
        hint = "; every deal of the --history file must be in the deals' CSV"
    return type(error)(f"--history {path}: {message}{hint}")


def _load(paths: Sequence[str], args: argparse.Namespace, *, history: bool = True
          ) -> tuple[Pipeline, list[str]]:
    """The pipeline of the CSV files (the bundled sample without), and the files' columns; with
    ``history``, the stage history of ``--history`` and ``--stage-entered``."""
    if not paths:
        given = [flag for name, flag in _CSV_OPTIONS.items()
                 if getattr(args, name) not in (None, [], False)]
        if given:
            raise DataError(f"{', '.join(given)}: only for CSV files; give a CSV file, or leave "
                            f"{'it' if len(given) == 1 else 'them'} out for the bundled sample")
        from salesmetrics.datasets import sample_pipeline

        return sample_pipeline(), []
    if args.history_column and not args.history:
        raise DataError("--history-column: only with --history FILE, the CSV of stage changes "
                        "whose columns it names")
    if args.encoding is None:
        args.encoding = "utf-8-sig"
    if args.delimiter is None:
        args.delimiter = ","
    tables = [_read(path, args)[0] for path in paths]
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
    process = args.stages or DEFAULT_STAGES
    entered = _stage_entered_columns(args, process, names, paths) if history else None
    events, lines, history_columns = (_history_table(args) if history and args.history
                                      else (None, [], None))
    try:
        return Pipeline.from_columns(
            data, process, columns=columns, currency=args.currency, history=events,
            history_columns=history_columns, stage_entered=entered,
            date_formats=_date_formats(args.date_format),
            allow_close_before_created=args.allow_close_before_created,
        ), names
    except SalesMetricsError as error:
        message = str(error)
        if events is not None and re.search(r"of the history\b|^history row ", message):
            error = _history_error(error, args.history, lines,
                                   events[(history_columns or {}).get("stage", "stage")])
        if not isinstance(error, DataError):
            raise error from None
        for stage, column in (entered or {}).items():  # a date of a --stage-entered column
            if re.search(rf"\): {re.escape(column)} (must be|is)\b", message):
                error = type(error)(f"--stage-entered {stage}={column}: {error}")
                break
        if isinstance(error, UnknownStageError) and not str(error).startswith("--history"):
            error = _deal_stage_error(error, data[needed["stage"]], needed["stage"], files,
                                      names)
        elif " must be an ISO date " in message and not args.date_format:
            error = DataError(f"{error}; on the command line: --date-format %d/%m/%Y (a "
                              "strptime format, repeatable) or --date-format dateutil")
        raise error from None


def _deal_stage_error(error: UnknownStageError, values: npt.NDArray[np.str_], stage_column: str,
                      files: str, names: Sequence[str]) -> UnknownStageError:
    """An unknown stage in the deals' CSV, with the stages it holds and how to give the
    process."""
    return UnknownStageError(
        f"{error}. {files.capitalize()} stages (column {stage_column!r}) are "
        f"{_stage_counts(values)}: give the sales process with --stages {_STAGES_FORM}, e.g. "
        f"{_STAGES_EXAMPLE}, or map another column with --column stage=NAME ({files} columns "
        f"are {choices(names)})"
    )


#: Deal attributes that are labels (a field when the CSV has them): the others (amount, dates,
#: probability, id) are not something to group by.
_GROUPABLE_ATTRIBUTES = frozenset({"owner", "currency"})


def _check_by(by: str | None, pipeline: Pipeline, names: Sequence[str]) -> None:
    """``--by``: a field of the pipeline. The CSV's columns load as fields only when mapped (as
    in `Pipeline.read_csv`): for a column that is not, the error says how to load it."""
    if by is None or by == "stage" or by in pipeline.fields:
        return
    loaded = choices(("stage", *pipeline.fields))
    same = [name for name in names if name.lower() == by.lower()]
    if by in DEAL_ATTRIBUTES and by not in _GROUPABLE_ATTRIBUTES:
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
    report.add_argument("--history", metavar="FILE",
                        help="stage history: a CSV of stage changes, one row per stage entered, "
                             "with columns id, stage and date; conversion from each stage and "
                             "the funnel then count the stages each deal reached (not --since's "
                             "export)")
    report.add_argument("--history-column", action="append", default=[], metavar="ATTR=NAME",
                        type=_history_column,
                        help="map id, stage or date to a column of the --history file, e.g. "
                             "date=changed_on")
    report.add_argument("--stage-entered", action="append", default=[], metavar="STAGE=COLUMN",
                        type=_stage_entered,
                        help="stage history as one date column per stage of the CSV: the date "
                             "each deal entered STAGE, e.g. Discovery=discovery_date (repeat "
                             "for each stage)")
    report.add_argument("--currency", help="ISO 4217 code of the amounts")
    report.add_argument("--encoding",
                        help="text encoding of the CSV files, --history's too (default utf-8)")
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
            since = (None if args.since is None
                     else _load([args.since], args, history=False)[0])
        loaded = bool(args.csv) and bool(args.history or args.stage_entered)
        for line in found:
            print(f"warning: {for_the_command_line(line, history=loaded)}", file=sys.stderr)
        _check_by(args.by, pipeline, names)
        review = pipeline_review(pipeline, period=args.period, by=args.by, target=args.target,
                                 since=since)
        print(text_notes(review, history=loaded))
        if args.html:
            page = html_notes(pipeline_review_html(pipeline, period=args.period, by=args.by,
                                                    target=args.target, since=since),
                               history=loaded)
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
