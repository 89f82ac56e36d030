"""``python -m salesmetrics report [CSV …] [--period 2017-Q2] [--by owner]``: a pipeline review."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.domain.stage import DEFAULT_STAGES, Outcome, Stage
from salesmetrics.errors import SalesMetricsError
from salesmetrics.io.csv import read_columns
from salesmetrics.report import pipeline_review, pipeline_review_html

__all__ = ["main"]


def _stages(spec: str) -> tuple[Stage, ...]:
    """``"Prospecting:0.1,Engaging:0.5,Won:1:won,Lost:0:lost"`` as stages."""
    stages = []
    for item in spec.split(","):
        parts = [x.strip() for x in item.split(":")]
        if len(parts) not in (2, 3):
            raise argparse.ArgumentTypeError(f"stage {item!r}: write NAME:PROBABILITY[:OUTCOME]")
        outcome = Outcome[parts[2].upper()] if len(parts) == 3 else Outcome.OPEN
        stages.append(Stage(parts[0], float(parts[1]), outcome))
    return tuple(stages)


def _load(paths: Sequence[str], args: argparse.Namespace) -> Pipeline:
    if not paths:
        from salesmetrics.datasets import sample_pipeline

        return sample_pipeline()
    tables = [read_columns(path) for path in paths]
    names = list(tables[0])
    for path, table in zip(paths[1:], tables[1:], strict=True):
        if list(table) != names:
            raise SalesMetricsError(f"{path!r} has other columns than {paths[0]!r}")
    data = {name: np.concatenate([t[name] for t in tables]) for name in names}
    columns = dict(item.split("=", 1) for item in args.column)
    return Pipeline.from_columns(
        data, args.stages or DEFAULT_STAGES, columns=columns, currency=args.currency,
        allow_close_before_created=args.allow_close_before_created,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m salesmetrics",
                                     description="Sales metrics from CRM deals.")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser(
        "report", help="print a pipeline review (of the bundled sample when no CSV is given)"
    )
    report.add_argument("csv", nargs="*", help="CSV exports with a header row")
    report.add_argument("--period", help="e.g. 2017-Q2, 2017-07, 2017-W05, FY2025")
    report.add_argument("--by", help="field to break down by, e.g. owner")
    report.add_argument(
        "--stages", type=_stages,
        help="sales process, e.g. 'Prospecting:0.1,Engaging:0.5,Won:1:won,Lost:0:lost'",
    )
    report.add_argument("--column", action="append", default=[], metavar="ATTR=NAME",
                        help="map a deal attribute to a CSV column, e.g. id=opportunity_id")
    report.add_argument("--currency", help="ISO 4217 code of the amounts")
    report.add_argument("--allow-close-before-created", action="store_true",
                        help="load deals closed before they were created")
    report.add_argument("--html", metavar="FILE",
                        help="also write the review as one self-contained HTML page with charts")
    args = parser.parse_args(argv)
    try:
        pipeline = _load(args.csv, args)
        print(pipeline_review(pipeline, period=args.period, by=args.by))
        if args.html:
            page = pipeline_review_html(pipeline, period=args.period, by=args.by)
            with open(args.html, "w", encoding="utf-8") as handle:
                handle.write(page)
            print(f"\nwrote {args.html}")
    except (SalesMetricsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
