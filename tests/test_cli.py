"""``python -m salesmetrics report``."""

import subprocess
import sys

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
    assert "Fix: the command line cannot load a stage history; in Python, load it with history=" \
        in notes
    assert "--column amount=COLUMN" in notes  # D has no amount
    for python_only in ("on Pipeline.from_columns", "columns={", "stage_entered={"):
        assert python_only not in out
    text = page.read_text(encoding="utf-8")
    assert "the command line cannot load a stage history" in text
    assert "on Pipeline.from_columns" not in text and "columns={" not in text


def test_note_rewrites():
    from salesmetrics.__main__ import _for_the_command_line as cli

    assert cli("(columns={'forecast_category': 'ForecastCategoryName'})") == \
        "(--column forecast_category=ForecastCategoryName)"
    assert cli("without period=, all count") == "without --period, all count"
    assert cli("Fix: load the history with history= or stage_entered=").endswith(
        "(the command line cannot load a stage history: in Python, "
        "Pipeline.read_csv(..., history=...))")
    assert cli("nothing to change") == "nothing to change"
