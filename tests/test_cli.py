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
