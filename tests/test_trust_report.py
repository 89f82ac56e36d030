"""The review report and the command line tell the truth (issue 6): the conversion table counts
closed deals, missing amounts are said instead of shown as 0, data-quality warnings become a section
of the report, rendering leaves matplotlib's global state alone, and bad input on the command line
gives one line and exit status 2, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from salesmetrics import Deal, Pipeline, Stage
from salesmetrics.__main__ import main
from salesmetrics.datasets import sample_pipeline
from salesmetrics.report import pipeline_review, pipeline_review_html

STAGES = (Stage("Lead", 0.2), Stage("Demo", 0.6), Stage("Won", 1.0, "won"),
          Stage("Lost", 0.0, "lost"))


def section(text: str, title: str) -> list[list[str]]:
    """The rows of a text table of the review (cells split on runs of two or more spaces)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 3:]:
        if not line.strip() or line.startswith("  - "):  # the table ends, or its notes begin
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def worked_example() -> Pipeline:
    """Two won deals, two lost with their history, three open deals.

    Closed deals that reached Lead: W1, W2, L1, L2 = 4, won 2 → 50.0 %.
    Closed deals that reached Demo: W1, W2 (a won deal passed every stage), L2 = 3, won 2 → 66.7 %.
    The open deals O1, O2 (Demo) and O3 (Lead) have no outcome and count in neither.
    """
    return Pipeline.from_deals([
        Deal("W1", 100, "Won", created="2024-01-01", close_date="2024-03-01"),
        Deal("W2", 200, "Won", created="2024-01-02", close_date="2024-03-05"),
        Deal("L1", 50, "Lost", created="2024-01-01", close_date="2024-02-01",
             history=[("Lead", "2024-01-01"), ("Lost", "2024-02-01")]),
        Deal("L2", 80, "Lost", created="2024-01-01", close_date="2024-02-10",
             history=[("Lead", "2024-01-01"), ("Demo", "2024-01-20"), ("Lost", "2024-02-10")]),
        Deal("O1", 300, "Demo", created="2024-01-05", close_date="2024-06-01"),
        Deal("O2", 40, "Demo", created="2024-01-06", close_date="2024-06-01"),
        Deal("O3", 10, "Lead", created="2024-01-07", close_date="2024-06-01"),
    ], STAGES)


# -- item 7: "reached" counts closed deals ---------------------------------------------------------
def test_reached_counts_closed_deals_worked_example():
    rows = section(pipeline_review(worked_example()), "Conversion to win from each stage")
    assert rows == [["Lead", "4", "2", "50.0 %"], ["Demo", "3", "2", "66.7 %"]]


def test_reached_times_rate_is_the_won_count_on_the_sample():
    p = sample_pipeline()
    rows = section(pipeline_review(p), "Conversion to win from each stage")
    won = int((p.outcome_codes == 1).sum())
    closed = int((p.outcome_codes != 0).sum())
    assert rows[0][1:3] == [f"{closed:,}", f"{won:,}"]  # everyone reached the first stage
    for _, reached, won_here, rate in rows:
        reached_n, won_n = int(reached.replace(",", "")), int(won_here.replace(",", ""))
        assert won_n == won  # implied rule: a won deal passed every open stage
        assert reached_n >= won_n
        assert rate == f"{won_n / reached_n:.1%}".replace("%", " %")


# -- item 4: amounts that are missing are said, not shown as 0 ------------------------------------
def no_amounts() -> Pipeline:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # whatever loading says about it is not under test here
        return Pipeline.from_columns({
            "id": ["A", "B", "C", "D"],
            "stage": ["Discovery", "Proposal", "Closed won", "Closed lost"],
            "close_date": ["2024-05-01", "2024-05-02", "2024-03-01", "2024-03-02"],
        })


def test_no_amounts_at_all_is_said_not_zero():
    text = pipeline_review(no_amounts())
    rows = {row[0]: row[1:] for row in section(text, "Open pipeline by stage")}
    assert rows["Discovery"] == ["no amounts", "no amounts"]
    assert rows["Total"] == ["no amounts", "no amounts"]
    assert rows["Meeting"] == ["0", "0"]  # no open deal there: a true 0
    assert section(text, "Win rate")[0] == ["all", "50.0 %", "no amounts"]
    velocity = dict((row[0], row[1]) for row in section(text, "Sales velocity"))
    assert velocity["V average won deal"] == "no amounts"
    assert velocity["revenue per day"] == "no amounts"
    assert "2 of 2 open deals have no amount" in text
    page = pipeline_review_html(no_amounts())
    assert re.search(r"<td[^>]*>no amounts</td>", page)
    assert "2 of 2 open deals have no amount" in page


def test_open_deals_without_amount_are_counted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = Pipeline.from_columns({
            "id": ["A", "B", "C", "D"],
            "amount": [100.0, None, None, 40.0],
            "stage": ["Discovery", "Discovery", "Proposal", "Closed won"],
            "close_date": ["2024-05-01", "2024-05-01", "2024-05-02", "2024-03-01"],
        }, currency="EUR")
    text = pipeline_review(p)
    rows = {row[0]: row[1:] for row in section(text, "Open pipeline by stage")}
    assert rows["Discovery"][0] == "EUR 100"  # one of its two deals has an amount
    assert rows["Proposal"] == ["no amounts", "no amounts"]
    assert rows["Total"][0] == "EUR 100"
    assert "2 of 3 open deals have no amount" in text
    assert "2 of 3 open deals have no amount" in pipeline_review_html(p)


# -- data-quality warnings become a section of the report -----------------------------------------
def backwards() -> Pipeline:
    """One won deal closed before it was created: cycle metrics leave it out and warn."""
    return Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-03-01", close_date="2024-02-01"),
        Deal("B", 100, "Closed won", created="2024-01-01", close_date="2024-02-01"),
        Deal("C", 100, "Closed lost", created="2024-01-01", close_date="2024-02-01"),
    ], allow_close_before_created=True)


def test_warnings_become_a_data_quality_section():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the report must not let a warning out
        text = pipeline_review(backwards())
        page = pipeline_review_html(backwards())
    lines = text.splitlines()
    start = lines.index("Data quality")
    notes = [line for line in lines[start + 1:] if line.startswith("  - ")]
    assert len(notes) == len(set(notes))  # a warning of several metric calls is said once
    cycle = [n for n in notes if "left out 1 deal whose close date is before its created date" in n]
    assert len(cycle) == 1
    assert "<h2>Data quality</h2>" in page
    assert page.count("left out 1 deal whose close date") == 1


def test_the_same_finding_of_several_metrics_is_one_line():
    p = sample_pipeline()
    text = pipeline_review(p, period="2024-Q2")
    lines = text.splitlines()
    notes = [line for line in lines[lines.index("Data quality") + 1:]
             if "2 of the 16 open deals have no amount" in line]
    assert len(notes) == 1
    assert notes[0].startswith("  - pipeline_value(), weighted_pipeline(): 2 of the 16 open")


def test_no_data_quality_section_when_nothing_to_say():
    assert "Data quality" not in pipeline_review(worked_example())


def test_other_warnings_are_not_swallowed(monkeypatch):
    import salesmetrics.report as report

    def noisy(*args, **kwargs):
        warnings.warn("something else", FutureWarning, stacklevel=2)
        return 0.5

    monkeypatch.setattr(report, "win_rate", noisy)
    with pytest.warns(FutureWarning, match="something else"):
        text = pipeline_review(worked_example())
    assert "something else" not in text


# -- rendering leaves matplotlib's global state alone ---------------------------------------------
def test_html_report_keeps_the_callers_backend_and_figures():
    matplotlib = pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    try:
        plt.switch_backend("svg")
        mine = plt.figure()
        params = dict(matplotlib.rcParams)
        figures = plt.get_fignums()
        page = pipeline_review_html(sample_pipeline(), period="2024-Q2")
        assert page.count("data:image/png;base64,") == 5
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == figures
        assert plt.gcf() is mine
        assert dict(matplotlib.rcParams) == params
    finally:
        plt.close("all")
        plt.switch_backend(before)


def test_plot_functions_leave_rcparams_alone():
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from salesmetrics import plot

    params = dict(matplotlib.rcParams)
    p = sample_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what the figures say about the data is not under test
        for draw in (plot.funnel, plot.pipeline_by_stage, plot.win_rates, plot.velocity_levers,
                     plot.cycle_length_distribution):
            draw(p, ax=Figure().add_subplot())
    assert dict(matplotlib.rcParams) == params


# -- the command line: one line and exit status 2 for bad input ----------------------------------
def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    path.write_text("id,stage,amount,close_date\nA,Closed won,100,2024-01-02\nB,Proposal,50,\n",
                    encoding="utf-8")
    return path


@pytest.fixture
def deals_csv(tmp_path: Path) -> Path:
    path = tmp_path / "deals.csv"
    path.write_text("opp,phase,value\nA,Won,100\nB,Open,50\nC,Open,20\nD,Gone,5\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(("argv", "expected"), [
    (["--period", "9999"], "9999"),
    (["--period", "2024-13"], "month"),
    (["--period", "nonsense"], "nonsense"),
    (["--stages", "a:x"], "'x'"),
    (["--stages", "a:0.1:bogus"], "'bogus'"),
    (["--stages", "a:1.5"], "[0, 1]"),
    (["--stages", "a:0.1,,b:1:won"], "NAME:PROBABILITY"),
    (["--stages", "Won:1:won,Open:0.5"], "open stage 'Open' comes after a closed stage"),
    (["--column", "idopp"], "ATTR=NAME"),
    (["--column", "=opp"], "ATTR=NAME"),
    (["--by", "nosuch"], "nosuch"),
    (["--currency", "dollars"], "DOLLARS"),
    (["--bogus-option"], "--bogus-option"),
    (["--delimiter", ";;"], "';;'"),
    ([], None),
])
def test_bad_options_give_one_line(capsys, good_csv, argv, expected):
    if not argv:  # no command at all
        code, _, err = run(capsys)
    else:
        code, _, err = run(capsys, "report", str(good_csv), *argv)
    assert code == 2
    line = one_error_line(err)
    if expected is not None:
        assert expected in line


def test_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "report", str(tmp_path / "nope.csv"))
    assert code == 2
    line = one_error_line(err)
    assert "nope.csv" in line and "No such file" in line


def test_directory_instead_of_file(capsys, tmp_path):
    code, _, err = run(capsys, "report", str(tmp_path))
    assert code == 2
    one_error_line(err)


@pytest.mark.parametrize("content", [b"id,stage\nA,Caf\xe9\n", bytes(range(256)) * 4])
def test_undecodable_file(capsys, tmp_path, content):
    path = tmp_path / "latin1.csv"
    path.write_bytes(content)
    code, _, err = run(capsys, "report", str(path))
    assert code == 2
    line = one_error_line(err)
    assert "latin1.csv" in line and "--encoding" in line


def test_encoding_option_reads_the_file(capsys, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("id;stage;amount\nA;Café;10\n".encode("latin-1"))
    code, out, err = run(capsys, "report", str(path), "--encoding", "latin-1", "--delimiter", ";",
                         "--stages", "Café:0.5,Won:1:won,Lost:0:lost")
    assert code == 0, err
    assert "Café" in out


def test_tab_delimiter(capsys, tmp_path):
    path = tmp_path / "tabs.tsv"
    path.write_text("id\tstage\tamount\nA\tProposal\t10\n", encoding="utf-8")
    code, out, err = run(capsys, "report", str(path), "--delimiter", "tab")
    assert code == 0, err
    assert "Proposal" in out


def test_unknown_encoding(capsys, deals_csv):
    code, _, err = run(capsys, "report", str(deals_csv), "--encoding", "klingon")
    assert code == 2
    assert "klingon" in one_error_line(err)


def test_columns_that_do_not_match_suggest_column_and_stages(capsys, deals_csv):
    code, _, err = run(capsys, "report", str(deals_csv))
    assert code == 2
    line = one_error_line(err)
    assert "--column" in line and "--stages" in line
    for name in ("opp", "phase", "value"):
        assert repr(name) in line


def test_unknown_column_given_to_column(capsys, deals_csv):
    code, _, err = run(capsys, "report", str(deals_csv), "--column", "id=opportunity",
                       "--column", "stage=phase")
    assert code == 2
    line = one_error_line(err)
    assert "'opportunity'" in line and "--column" in line and "'opp'" in line


def test_unknown_stages_list_the_files_stages(capsys, deals_csv):
    code, _, err = run(capsys, "report", str(deals_csv), "--column", "id=opp",
                       "--column", "stage=phase", "--column", "amount=value")
    assert code == 2
    line = one_error_line(err)
    assert "--stages" in line
    assert "'Open' (2)" in line and "'Won' (1)" in line and "'Gone' (1)" in line


def test_closed_deals_without_close_date(capsys, deals_csv):
    code, _, err = run(capsys, "report", str(deals_csv), "--column", "id=opp",
                       "--column", "stage=phase", "--column", "amount=value",
                       "--stages", "Open:0.5,Won:1:won,Gone:0:lost")
    assert code == 2  # closed deals need a close date
    assert "close_date" in one_error_line(err)


def test_options_for_csv_files_without_a_file(capsys):
    code, _, err = run(capsys, "report", "--stages", "Open:0.5,Won:1:won,Lost:0:lost")
    assert code == 2
    assert "--stages" in one_error_line(err)


def test_no_traceback_from_the_module():
    result = subprocess.run([sys.executable, "-m", "salesmetrics", "report", "--period", "9999"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_load_warnings_are_one_line_each(capsys, good_csv):
    code, out, err = run(capsys, "report", str(good_csv), "--column", "ammount=amount")
    assert code == 0
    assert out.startswith("Pipeline review")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ")
    assert "'ammount'" in lines[0] and "'amount'" in lines[0]
