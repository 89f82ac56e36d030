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
