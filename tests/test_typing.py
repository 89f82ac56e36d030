"""Static types users get: a float without ``by=``, a GroupedResult with it (mypy --strict)."""

import textwrap

import pytest

mypy_api = pytest.importorskip("mypy.api")

SNIPPET = textwrap.dedent('''
    import salesmetrics as sm
    from salesmetrics import GroupedResult, OutcomeShares, Velocity

    p = sm.datasets.sample_pipeline()
    rate: float = sm.win_rate(p, basis="value")
    rates: GroupedResult[float] = sm.win_rate(p, by="owner")
    weighted: float = sm.weighted_pipeline(p, period="2024-Q2")
    velocity: Velocity = sm.sales_velocity(p)
    per_team: GroupedResult[Velocity] = sm.sales_velocity(p, by=["team"])
    shares: OutcomeShares = sm.outcome_shares(p)
    conversion: GroupedResult[float] = sm.conversion_from_stage(p)
    nested: GroupedResult[GroupedResult[float]] = sm.conversion_from_stage(p, by="team")
    cycle: float = sm.sales_cycle_length(p, statistic=90)
    change: float = sm.velocity_change(win_rate=1.2)
''')


def test_results_are_typed_by_the_by_argument(tmp_path):
    path = tmp_path / "user_code.py"
    path.write_text(SNIPPET)
    out, err, status = mypy_api.run(["--strict", "--no-incremental", str(path)])
    assert status == 0, out + err


def test_a_wrong_annotation_is_caught(tmp_path):
    path = tmp_path / "user_code.py"
    path.write_text("import salesmetrics as sm\n"
                    "x: float = sm.win_rate(sm.datasets.sample_pipeline(), by='owner')\n")
    out, _, status = mypy_api.run(["--strict", "--no-incremental", str(path)])
    assert status == 1
    assert "GroupedResult[float]" in out
