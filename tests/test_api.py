"""The public surface: names, import cost, typing marker."""

import importlib.resources
import subprocess
import sys
import types

import salesmetrics
import salesmetrics.errors
import salesmetrics.metrics

PUBLIC = {
    "DEFAULT_STAGES", "Deal", "FiscalCalendar", "GroupedResult", "Outcome", "OutcomeShares",
    "Period", "Pipeline", "Stage", "StageHistory", "Velocity", "VelocityAttribution",
    "__version__",
    "average_deal_size", "conversion_from_stage", "cycle_days", "dask", "datasets", "errors",
    "funnel_counts", "io",
    "outcome_shares", "pipeline_value", "plot", "report", "sales_cycle_length", "sales_velocity",
    "stage_conversion", "velocity_attribution", "velocity_change", "weighted_pipeline", "win_rate",
    "won_revenue",
    "historical_probabilities", "StageProbabilities",
    "win_curve", "WinCurve",
    "calibration", "Calibration",
    "forecast", "Forecast",
    "pipeline_coverage", "Coverage", "required_pipeline", "RequiredPipeline", "StageRequirement",
    "plan", "Plan",
    "forecast_rollup", "ForecastRollup", "quota_attainment", "QuotaAttainment",
    "forecast_accuracy", "ForecastAccuracy",
    "ExchangeRates",
    "Quota", "CommissionPlan", "Commission", "CommissionLine", "commission", "PeerScore",
    "peer_scores", "lead_conversion", "new_leads", "renewal_rate", "logo_retention",
    "ACTIVITY_KINDS", "Activity", "Activities", "ActivityTable", "ActivityRatios",
    "RequiredActivity", "activity_counts", "activity_vs_target", "activity_ratios",
    "required_activity",
    "hygiene", "HygieneFindings",
    "pipeline_changes", "PipelineChanges", "slip_rate",
    "Summary", "summarize", "finalize",
    "time_in_stage", "StageTimes", "deal_age", "DealAges", "concentration", "Concentration",
}


def test_all_lists_exactly_the_public_names():
    assert set(salesmetrics.__all__) == PUBLIC
    assert len(salesmetrics.__all__) == len(PUBLIC)
    for name in salesmetrics.__all__:
        assert hasattr(salesmetrics, name)
    public = {n for n in vars(salesmetrics) if not n.startswith("_")}
    others = {n for n in public - set(salesmetrics.__all__)
              if not isinstance(getattr(salesmetrics, n), types.ModuleType)}
    assert others <= {"annotations", "TYPE_CHECKING", "Any"}


def test_submodules_load_on_first_use():
    code = ("import sys, salesmetrics as sm; assert 'salesmetrics.plot' not in sys.modules; "
            "sm.io.read_salesforce; sm.plot.funnel; sm.datasets.sample_pipeline; "
            "assert 'matplotlib' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_submodule_all_are_importable():
    for module in (salesmetrics.errors, salesmetrics.metrics):
        for name in module.__all__:
            assert hasattr(module, name)


def test_import_loads_no_optional_dependency():
    code = ("import sys, salesmetrics; bad = [m for m in ('pandas', 'polars', 'pyarrow', "
            "'matplotlib', 'dask') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_py_typed_is_shipped():
    assert importlib.resources.files("salesmetrics").joinpath("py.typed").is_file()


def test_metric_options_are_keyword_only():
    import inspect

    for name in ("weighted_pipeline", "pipeline_value", "won_revenue", "win_rate",
                 "outcome_shares", "conversion_from_stage", "stage_conversion", "funnel_counts",
                 "sales_velocity", "sales_cycle_length", "average_deal_size"):
        params = list(inspect.signature(getattr(salesmetrics, name)).parameters.values())
        assert params[0].name == "p"
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:]), name
        assert any(p.name == "by" for p in params), name
        assert any(p.name == "period" for p in params), name
        assert getattr(salesmetrics, name).__doc__.count("Examples") == 1
