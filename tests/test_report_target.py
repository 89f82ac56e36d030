"""The review's target section: ``python -m salesmetrics report --target`` and
``pipeline_review(..., target=...)``: coverage, required pipeline per stage, P(≥ target)."""

import pytest

import salesmetrics as sm
from salesmetrics import Deal, Pipeline
from salesmetrics.__main__ import main
from salesmetrics.datasets import sample_pipeline
from salesmetrics.errors import DataQualityWarning, OptionError
from salesmetrics.report import pipeline_review, pipeline_review_html

TITLE = "Will 2024-Q4 hit the target?"
STAGES_TITLE = "Pipeline each stage must hold to close the gap alone"


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(title)
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def _value(section: list[str], label: str) -> str:
    row = next(line for line in section if line.strip().startswith(label))
    return row.strip()[len(label):].strip()


@pytest.fixture(scope="module")
def review() -> str:
    return pipeline_review(sample_pipeline(), period="2024-Q4", target=1_700_000)


def test_the_numbers_are_those_of_the_metrics(review):
    p = sample_pipeline()
    with pytest.warns(DataQualityWarning):
        cov = sm.pipeline_coverage(p, target=1_700_000, period="2024-Q4")
    with pytest.warns(DataQualityWarning):
        f = sm.forecast(p, period="2024-Q4")
    section = _section(review, TITLE)
    assert _value(section, "target") == "USD 1,700,000"
    assert _value(section, "won") == f"USD {cov.won:,.0f}" == "USD 1,285,349"
    assert _value(section, "remaining to win") == "USD 414,651"
    assert _value(section, "open, expected to close in the period") == "USD 656,834"
    assert _value(section, "coverage = open ÷ remaining") == f"{cov.ratio:.2f}×" == "1.58×"
    assert _value(section, "coverage needed = 1 ÷ win rate") == "4.13×"
    assert _value(section, "forecast: mean") == f"USD {f.mean:,.0f}"
    assert _value(section, "forecast: median") == f"USD {f.quantile(0.5):,.0f}"
    chance = f.probability_at_least(1_700_000)
    assert _value(section, "P(≥ target)") == f"{chance * 100:.1f} %" == "27.6 %"


def test_required_pipeline_per_stage(review):
    p = sample_pipeline()
    with pytest.warns(DataQualityWarning):
        need = sm.required_pipeline(p, target=1_700_000, period="2024-Q4")
    section = _section(review, STAGES_TITLE)
    assert section[1].split() == ["stage", "factor", "required", "held", "gap"]
    for stage in p.open_stage_names:
        row = next(line for line in section if line.strip().startswith(stage))
        r = need[stage]
        assert f"{r.factor:.2f}×" in row
        assert f"USD {r.held:,.0f}" in row and f"USD {r.gap:,.0f}" in row
    assert "Negotiation       1.27×    USD 526,272  USD 259,080    USD -267,192" in review


def test_the_sections_follow_the_open_pipeline_and_warnings_are_in_data_quality(review):
    assert review.index("Open pipeline by stage") < review.index(TITLE)
    assert review.index(TITLE) < review.index(STAGES_TITLE) < review.index("Win rate")
    quality = review[review.index("Data quality"):]
    assert "forecast()" in quality  # its warnings join the others', said once


def test_a_target_already_won():
    text = pipeline_review(sample_pipeline(), period="2024-Q4", target=1_200_000)
    section = _section(text, TITLE)
    assert _value(section, "remaining to win") == "USD 0"
    assert _value(section, "coverage = open ÷ remaining") == "n/a"  # nan, never inf
    assert _value(section, "P(≥ target)") == "100.0 %"
    assert any("the target is already won" in line for line in section)


def test_without_a_target_there_is_no_section():
    text = pipeline_review(sample_pipeline(), period="2024-Q4")
    assert TITLE not in text and STAGES_TITLE not in text


def test_a_target_needs_a_period():
    with pytest.raises(OptionError, match="target needs a period"):
        pipeline_review(sample_pipeline(), target=1_000)
    with pytest.raises(OptionError, match="target needs a period"):
        pipeline_review_html(sample_pipeline(), target=1_000)


def test_no_open_deals_in_the_period():
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-01-02", close_date="2024-02-01",
             currency="EUR"),
        Deal("B", 50, "Closed lost", created="2024-01-02", close_date="2024-03-01",
             currency="EUR"),
        Deal("C", 80, "Closed won", created="2024-03-02", close_date="2024-04-10",
             currency="EUR"),
    ])
    text = pipeline_review(p, period="2024-Q2", target=200)
    section = _section(text, "Will 2024-Q2 hit the target?")
    assert _value(section, "won") == "EUR 80"
    assert _value(section, "remaining to win") == "EUR 120"
    assert _value(section, "coverage = open ÷ remaining") == "0×"
    assert _value(section, "P(≥ target)") == "0.0 %"
    assert "inf" not in text


def test_html_has_the_tables_and_charts(tmp_path):
    pytest.importorskip("matplotlib")
    page = pipeline_review_html(sample_pipeline(), period="2024-Q4", target=1_700_000)
    assert f"<h2>{TITLE}</h2>" in page and f"<h2>{STAGES_TITLE}</h2>" in page
    assert "P(≥ target)" in page and "27.6 %" in page
    plain = pipeline_review_html(sample_pipeline(), period="2024-Q4")
    assert page.count("<img") == plain.count("<img") + 2


def test_cli_target(capsys):
    assert main(["report", "--period", "2024-Q4", "--target", "1700000"]) == 0
    out = capsys.readouterr().out
    assert TITLE in out and STAGES_TITLE in out
    assert _value(_section(out, TITLE), "P(≥ target)") == "27.6 %"


def test_cli_target_html(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    page = tmp_path / "review.html"
    assert main(["report", "--period", "2024-Q4", "--target", "1_700_000",
                 "--html", str(page)]) == 0
    assert f"<h2>{TITLE}</h2>" in page.read_text(encoding="utf-8")
    assert f"wrote {page}" in capsys.readouterr().out


def test_cli_target_needs_a_period(capsys):
    assert main(["report", "--target", "1200000"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("error: --target needs --period") and "\n" not in err


@pytest.mark.parametrize("value", ["abc", "-5", "-0.01", "nan", "inf"])
def test_cli_bad_target(capsys, value):
    assert main(["report", "--period", "2024-Q4", "--target", value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: argument --target:") and "\n" not in err
    assert repr(value) in err and "e.g. --target 1200000" in err


def test_target_is_a_float_through_the_cli(capsys):
    assert main(["report", "--period", "2024-Q4", "--target", "1.7e6"]) == 0
    out = capsys.readouterr().out
    assert _value(_section(out, TITLE), "target") == "USD 1,700,000"
