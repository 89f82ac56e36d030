"""``python -m salesmetrics report``."""

import subprocess
import sys

import pytest

from salesmetrics.__main__ import main


def test_report_on_the_sample(capsys):
    assert main(["report", "--period", "2024-Q2", "--by", "owner"]) == 0
    out = capsys.readouterr().out
    for heading in ("Open pipeline by stage", "Win rate", "Conversion to win from each stage",
                    "Sales velocity", "Sales cycle", "Velocity by owner"):
        assert heading in out
    assert "Ava Patel" in out


def test_report_on_csv_files(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("opp,stage,amount,close\nA,Won,100,2024-01-02\n")
    b.write_text("opp,stage,amount,close\nB,Open,50,\n")
    code = main(["report", str(a), str(b), "--stages", "Open:0.5,Won:1:won,Lost:0:lost",
                 "--column", "id=opp", "--column", "close_date=close"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Total" in out and "50" in out


def test_report_errors_are_short(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,stage\nA,Nope\n")
    assert main(["report", str(bad)]) == 2
    assert "stage 'Nope' is not a stage" in capsys.readouterr().err


def test_module_runs():
    out = subprocess.run([sys.executable, "-m", "salesmetrics", "report"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("Pipeline review")


def test_report_html_is_self_contained(tmp_path, capsys):
    page = tmp_path / "review.html"
    assert main(["report", "--period", "2024-Q2", "--by", "team", "--html", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("data:image/png;base64,") == 5
    assert "src='http" not in text and 'src="http' not in text  # nothing fetched to view it
    for heading in ("Open pipeline by stage", "Win rate", "Sales velocity", "Velocity by team"):
        assert heading in text
    assert "Enterprise" in text
    assert f"wrote {page}" in capsys.readouterr().out


def test_report_html_without_matplotlib(monkeypatch):
    import builtins

    from salesmetrics.datasets import sample_pipeline
    from salesmetrics.report import pipeline_review_html

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    page = pipeline_review_html(sample_pipeline())
    assert "data:image/png" not in page
    assert "Install salesmetrics[plot]" in page


def test_report_since_an_older_csv_says_what_changed(tmp_path, capsys):
    # Older: A 100 and B 50 open in Q1. Now: A won, B grew to 80, C new at 20, all dated Q1.
    # Waterfall 150 → 100: won −100, increased +30, new +20.
    older, now = tmp_path / "older.csv", tmp_path / "now.csv"
    older.write_text("id,stage,amount,close_date\nA,Open,100,2024-02-01\nB,Open,50,2024-03-01\n")
    now.write_text("id,stage,amount,close_date\nA,Won,100,2024-01-20\nB,Open,80,2024-03-01\n"
                   "C,Open,20,2024-03-15\n")
    html = tmp_path / "review.html"
    code = main(["report", str(now), "--since", str(older), "--period", "2024-Q1",
                 "--stages", "Open:0.5,Won:1:won,Lost:0:lost", "--html", str(html)])
    out = capsys.readouterr().out
    assert code == 0
    section = out.split("What changed since the older snapshot")[1].split("\n\n")[0]
    lines = {line.split()[0]: line.split()[-1] for line in section.splitlines()[3:]
             if line.strip() and not line.strip().startswith("-")}
    assert (lines["new"], lines["won"], lines["increased"]) == ("20", "-100", "30")
    assert "slip rate: 50.0 %" in section  # B was expected in Q1 and is still open
    assert "Largest changes" in out and "Hygiene: data-quality findings" in out
    page = html.read_text(encoding="utf-8")
    assert "What changed since the older snapshot" in page and "Hygiene" in page


def test_report_since_a_missing_file_is_one_line(tmp_path, capsys):
    now = tmp_path / "now.csv"
    now.write_text("id,stage,amount\nA,Meeting,1\n")
    assert main(["report", str(now), "--since", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "nope.csv" in err and len(err.splitlines()) == 1


def test_report_lists_hygiene_findings(capsys):
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "Hygiene: data-quality findings" in out and "past_due" in out
    assert "First 5 findings" in out


_TEAM_CSV = ("id,stage,amount,close_date,owner,team\n"
             "A,Closed won,100,2024-01-20,Ann,SMB\n"
             "B,Closed lost,50,2024-02-01,Bob,Enterprise\n"
             "C,Meeting,80,2024-03-01,Ann,SMB\n")


def test_by_a_csv_column_that_is_not_loaded_says_how_to_load_it(tmp_path, capsys):
    # A CSV column loads as a field only when mapped (as in Pipeline.read_csv): --by team on a
    # file with a 'team' column says to add --column team=team (probe U1).
    deals = tmp_path / "deals.csv"
    deals.write_text(_TEAM_CSV)
    assert main(["report", str(deals), "--by", "team"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --by team: the pipeline has no field 'team'; its fields are "
                          "'stage' or 'owner'.")
    assert "add --column team=team" in err and len(err.splitlines()) == 1
    assert main(["report", str(deals), "--by", "Team"]) == 2  # another case: the column's name
    assert "add --column Team=team" in capsys.readouterr().err
    assert main(["report", str(deals), "--by", "region"]) == 2
    err = capsys.readouterr().err
    assert "--column region=COLUMN" in err and "'owner' or 'team'" in err  # the CSV's columns
    assert main(["report", str(deals), "--by", "amount"]) == 2
    assert "deal attribute 'amount' is not a label" in capsys.readouterr().err
    # owner is a label to group by: a CSV without the column says how to map one (review R2)
    no_owner = tmp_path / "no_owner.csv"
    no_owner.write_text("id,amount,stage\nA,1,Proposal\n")
    assert main(["report", str(no_owner), "--by", "owner"]) == 2
    err = capsys.readouterr().err
    assert "--column owner=COLUMN" in err and "not a label" not in err
    assert main(["report", "--by", "region"]) == 2  # the bundled sample
    assert "'team'" in capsys.readouterr().err
    # with the mapping it loads, and the review breaks down by it
    assert main(["report", str(deals), "--by", "team", "--column", "team=team"]) == 0
    out = capsys.readouterr().out
    assert "Velocity by team" in out and "Enterprise" in out


def test_data_quality_notes_give_the_command_line_fix(tmp_path, capsys):
    # No stage history on the command line: the note says so and points at the Python API,
    # instead of 'history= on Pipeline.from_columns' (probe U2); columns={...} reads --column.
    deals = tmp_path / "deals.csv"
    deals.write_text(_TEAM_CSV + "D,Proposal,,2024-03-05,Bob,SMB\n")
    page = tmp_path / "review.html"
    assert main(["report", str(deals), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    notes = out.split("\nData quality\n")[1]
    assert "no stage history" in notes
    assert "Fix: load the stage history with --history FILE (a CSV of id, stage and date, one " \
        "row per stage entered) or, where the CSV has one date column per stage, " \
        "--stage-entered STAGE=COLUMN (repeatable)" in notes
    assert "--column amount=COLUMN" in notes  # D has no amount
    for python_only in ("on Pipeline.from_columns", "columns={", "stage_entered={", "history="):
        assert python_only not in out
    text = page.read_text(encoding="utf-8")
    assert "load the stage history with --history FILE" in text
    assert "on Pipeline.from_columns" not in text and "columns={" not in text


def test_note_rewrites():
    from salesmetrics._cli_notes import for_the_command_line as cli

    assert cli("(columns={'forecast_category': 'ForecastCategoryName'})") == \
        "(--column forecast_category=ForecastCategoryName)"
    assert cli("without period=, all count") == "without --period, all count"
    assert cli("more decimal places, pass currency= (e.g. currency='KWD', 3 places)") == \
        "more decimal places, pass --currency (e.g. --currency KWD, 3 places)"
    assert cli("Fix: load the history with history= or stage_entered=") == \
        "Fix: load the history with --history FILE or --stage-entered STAGE=COLUMN"
    assert cli("or load the stage history with history=") == \
        "or load the stage history with --history FILE or --stage-entered STAGE=COLUMN"
    assert cli("the stage history (history=)") == \
        "the stage history (--history FILE or --stage-entered STAGE=COLUMN)"
    assert cli("Fix: give Deal(history=[...])") == (  # no option says it: the options are added
        "Fix: give Deal(history=[...]) (on the command line: --history FILE or "
        "--stage-entered STAGE=COLUMN)")
    missing = ("no stage history. Fix: load the stage history with history= on "
               "Pipeline.from_columns or read_csv, or, where the export has one date column per "
               "stage, stage_entered={'Engaging': 'engage_date', ...}, or use skipped='implied'")
    assert cli(missing) == (
        "no stage history. Fix: load the stage history with --history FILE (a CSV of id, stage "
        "and date, one row per stage entered) or, where the CSV has one date column per stage, "
        "--stage-entered STAGE=COLUMN (repeatable), or, in Python, use skipped='implied'")
    assert cli(missing, history=True) == (
        "no stage history. Fix: add these deals' stage changes to the --history file (or their "
        "dates to the --stage-entered columns), or, in Python, use skipped='implied'")
    assert cli("nothing to change") == "nothing to change"


# Five deals of the default process, all created 2024-01-02; A and D won, B and C lost, E open.
_DEALS = ("id,stage,amount,created,close_date,discovery_date\n"
          "A,Closed won,100,2024-01-02,2024-03-01,2024-01-10\n"
          "B,Closed lost,100,2024-01-02,2024-03-01,2024-01-10\n"
          "C,Closed lost,100,2024-01-02,2024-03-01,\n"
          "D,Closed won,100,2024-01-02,2024-03-01,\n"
          "E,Meeting,100,2024-01-02,2024-06-01,\n")
# B went on to Discovery before it was lost; C was lost from the first stage.
_HISTORY = ("deal,step,on\n"
            "A,Initial contact,2024-01-02\nA,Discovery,2024-01-10\nA,Closed won,2024-03-01\n"
            "B,Initial contact,2024-01-02\nB,Discovery,2024-01-10\nB,Closed lost,2024-03-01\n"
            "C,Initial contact,2024-01-02\nC,Closed lost,2024-03-01\n")
_PROCESS_OPTIONS = ["--history-column", "id=deal", "--history-column", "stage=step",
                    "--history-column", "date=on"]


def _discovery_row(out):
    """The 'Discovery' row of the review's conversion table: reached, won, win rate."""
    table = out.split("Conversion to win from each stage")[1].split("\n\n")[0]
    row = next(line for line in table.splitlines() if line.strip().startswith("Discovery"))
    return row.split()[1:]


def test_history_changes_conversion_from_stage(tmp_path, capsys):
    # Won deals reached every open stage (skipped='implied'). Without a history, the lost B and C
    # reached only 'Initial contact': from Discovery, reached A and D, won 2, 2/2 = 100.0 %.
    # With the history, B reached Discovery too: reached A, B, D, won 2, 2/3 = 66.7 %.
    deals, history = tmp_path / "deals.csv", tmp_path / "history.csv"
    deals.write_text(_DEALS)
    history.write_text(_HISTORY)
    assert main(["report", str(deals)]) == 0
    out = capsys.readouterr().out
    assert _discovery_row(out) == ["2", "2", "100.0", "%"]
    assert "--history FILE" in out  # the note says how to load one
    page = tmp_path / "review.html"
    assert main(["report", str(deals), "--history", str(history), *_PROCESS_OPTIONS,
                 "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert _discovery_row(out) == ["3", "2", "66.7", "%"]
    assert "no stage history" not in out  # every closed deal has its stages
    assert "no stage history" not in page.read_text(encoding="utf-8")


def test_history_in_the_default_columns_and_with_read_options(tmp_path, capsys):
    # id, stage and date by default; the same --delimiter and --date-format as the deals.
    deals, history = tmp_path / "deals.csv", tmp_path / "history.csv"
    deals.write_text(_DEALS.replace(",", ";"))
    history.write_text("id;stage;date\nB;Discovery;10/01/2024\n")
    assert main(["report", str(deals), "--delimiter", ";", "--history", str(history),
                 "--date-format", "%Y-%m-%d", "--date-format", "%d/%m/%Y"]) == 0
    out = capsys.readouterr().out
    assert _discovery_row(out) == ["3", "2", "66.7", "%"]
    # C has no record beyond the first stage: the note asks for its stage changes
    notes = out.split("\nData quality\n")[1]
    assert "1 closed deal that was not won has no record" in notes
    assert "Fix: add these deals' stage changes to the --history file" in notes


def test_stage_entered_changes_conversion_from_stage(tmp_path, capsys):
    # discovery_date is set for A and B: B (lost) reached Discovery, as with the history above:
    # reached A, B, D (won deals reached every stage), won 2, 2/3 = 66.7 % (100.0 % without).
    deals = tmp_path / "deals.csv"
    deals.write_text(_DEALS)
    assert main(["report", str(deals), "--stage-entered", "Discovery=discovery_date"]) == 0
    out = capsys.readouterr().out
    assert _discovery_row(out) == ["3", "2", "66.7", "%"]
    # C still has no record of its stages: the note names the options' fix
    assert "Fix: add these deals' stage changes to the --history file (or their dates to the " \
        "--stage-entered columns)" in out


def test_history_applies_to_the_newer_export_only(tmp_path, capsys):
    # The history names B, which is not in the older export: read with it, the older export
    # would be an error ('B' is not in the pipeline); it is read without.
    older, now, history = (tmp_path / name for name in ("older.csv", "now.csv", "history.csv"))
    older.write_text("id,stage,amount,created,close_date\nA,Meeting,100,2024-01-02,2024-03-01\n")
    now.write_text(_DEALS)
    history.write_text(_HISTORY)
    assert main(["report", str(now), "--since", str(older), "--history", str(history),
                 *_PROCESS_OPTIONS, "--stage-entered", "Discovery=discovery_date"]) == 0
    out = capsys.readouterr().out
    assert _discovery_row(out) == ["3", "2", "66.7", "%"]
    assert "What changed since the older snapshot" in out


_BAD_HISTORY = {
    "unknown_stage": ("id,stage,date\nB,Qualify,2024-01-10\n",
                      ["--history {h}: deal 'B' (row 0 of the history, line 2 of history.csv): "
                       "stage 'Qualify' is not a stage", "the file's stages are 'Qualify' (1)",
                       "--history-column stage=NAME"]),
    "bad_date": ("id,stage,date\nB,Discovery,10/01/2024\n",
                 ["--history {h}: deal 'B' (row 0 of the history, line 2 of history.csv): "
                  "history date must be an ISO date", "got '10/01/2024'", "--date-format"]),
    "missing_date": ("id,stage,date\nA,Discovery,2024-01-10\nB,Discovery,\n",
                     ["--history {h}: deal 'B' (row 1 of the history, line 3 of history.csv): "
                      "history date is missing"]),
    "unknown_deal": ("id,stage,date\nZ,Discovery,2024-01-10\n",
                     ["--history {h}: history row 0, line 2 of history.csv: deal 'Z' is not in "
                      "the pipeline", "must be in the deals' CSV"]),
    "missing_columns": ("deal,step,date\nB,Discovery,2024-01-10\n",
                        ["--history {h}: no column 'id' (for 'id'), 'stage' (for 'stage'); its "
                         "columns are 'deal', 'step' or 'date'", "--history-column id=deal"]),
    "ragged": ("id,stage,date\nB,Discovery,2024-01-10,extra\n", ["--history {h}: "]),
}


@pytest.mark.parametrize("case", sorted(_BAD_HISTORY))
def test_bad_history_file_is_one_line_naming_the_option(tmp_path, capsys, case):
    text, expected = _BAD_HISTORY[case]
    deals, history = tmp_path / "deals.csv", tmp_path / "history.csv"
    deals.write_text(_DEALS)
    history.write_text(text)
    assert main(["report", str(deals), "--history", str(history)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --history ") and len(err.splitlines()) == 1
    for part in expected:
        assert part.format(h=history) in err


@pytest.mark.parametrize(("options", "expected"), [
    (["--history", "{tmp}/nope.csv"], "error: --history {tmp}/nope.csv: cannot read it (No such "
                                      "file or directory)"),
    (["--history", "{tmp}"], "error: --history {tmp}: cannot read it"),
    (["--history-column", "id=deal"], "error: --history-column: only with --history FILE"),
    (["--history", "{tmp}/deals.csv", "--history-column", "deal=id"],
     "error: argument --history-column: 'deal=id': write ATTR=NAME, ATTR being 'id', 'stage' or "
     "'date'"),
    (["--history", "{tmp}/deals.csv", "--history-column", "id=a", "--history-column", "id=b"],
     "error: --history-column id=b: 'id' is already given as --history-column id=a"),
    (["--stage-entered", "Qualify=discovery_date"],
     "error: --stage-entered Qualify=discovery_date: 'Qualify' is not a stage of the process; "
     "valid stages are 'Initial contact', 'Discovery'"),
    (["--stage-entered", "Discovery=found_on"],
     "error: --stage-entered Discovery=found_on: no column 'found_on' in '{tmp}/deals.csv'; its "
     "columns are 'id', 'stage'"),
    (["--stage-entered", "Discovery"],
     "error: argument --stage-entered: 'Discovery': write STAGE=COLUMN"),
    (["--stage-entered", "Discovery=created", "--stage-entered", "Discovery=close_date"],
     "error: --stage-entered Discovery=close_date: 'Discovery' is already given"),
    (["--stage-entered", "Discovery=amount"],
     "error: --stage-entered Discovery=amount: deal 'A' (row 0 of the data): amount must be "
     "an ISO date"),
])
def test_history_option_errors_are_one_line(tmp_path, capsys, options, expected):
    deals = tmp_path / "deals.csv"
    deals.write_text(_DEALS)
    args = [option.format(tmp=tmp_path) for option in options]
    assert main(["report", str(deals), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected.format(tmp=tmp_path)), err
    assert len(err.splitlines()) == 1


def test_history_options_need_a_csv(capsys):
    assert main(["report", "--history", "h.csv", "--stage-entered", "Discovery=d"]) == 2
    assert capsys.readouterr().err == (
        "error: --history, --stage-entered: only for CSV files; give a CSV file, or leave them "
        "out for the bundled sample\n")
