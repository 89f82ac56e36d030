"""The command line and the review after the probe: --target 0, --html checked first, plurals,
and a win curve with nothing closed."""

from __future__ import annotations

import salesmetrics as sm
from salesmetrics import Deal, Pipeline
from salesmetrics.__main__ import main
from salesmetrics.report import pipeline_review

ONE_OPEN = Pipeline.from_deals([Deal("A", 100, "Proposal", created="2024-01-05",
                                     close_date="2024-05-01")])


def test_target_zero_is_accepted_as_the_metrics_accept_it(capsys):
    assert main(["report", "--period", "2024-Q2", "--target", "0"]) == 0
    out = capsys.readouterr().out
    assert "Will 2024-Q2 hit the target?" in out and "the target is already won" in out


def test_an_unwritable_html_path_fails_before_the_review_is_printed(tmp_path, capsys):
    missing = tmp_path / "no" / "such" / "review.html"
    assert main(["report", "--html", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing computed or printed first
    assert err == f"error: {str(missing)!r}: no folder {str(missing.parent)!r} to write the " \
                  "--html page in\n"
    assert main(["report", "--html", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "is a folder; give a file name such as review.html" in err


def test_one_deal_and_one_finding_are_singular():
    text = pipeline_review(ONE_OPEN)
    assert text.startswith("Pipeline review — all time — 1 deal\n")
    assert "- 1 finding on 1 deal, as of 2024-01-05" in text  # the owner is missing
    assert "The finding\n" in text and "1 findings" not in text and "1 deals" not in text


def test_a_win_curve_with_no_closed_deal_says_so():
    assert repr(sm.win_curve(ONE_OPEN)) == (
        "WinCurve(no deal closed yet, nothing to estimate; 1 deal: 0 won, 0 lost, "
        "1 open (censored))")
    assert repr(sm.win_curve(Pipeline.from_deals([]))) == "WinCurve(n/a: no deals)"
    two = Pipeline.from_deals([Deal("A", 100, "Proposal", created="2024-01-05"),
                               Deal("B", 100, "Closed won", created="2024-01-05",
                                    close_date="2024-02-01")])
    # One won on day 27 of two deals: 50 % won by day 27.
    assert repr(sm.win_curve(two)).startswith("WinCurve(50.0 % won by day 27, 95 % band ")
    assert repr(sm.win_curve(two)).endswith("; 2 deals: 1 won, 0 lost, 1 open (censored))")
