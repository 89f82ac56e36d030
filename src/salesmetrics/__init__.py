"""salesmetrics: exact, vectorized sales metrics from CRM deals.

A typed domain layer (`Deal`, `Stage`, `Pipeline`, `Period`) under
numpy-vectorized metric functions: weighted pipeline, win rates, conversion from each stage, the
sales velocity equation, cycle length and deal size.

>>> import salesmetrics as sm
>>> p = sm.datasets.sample_pipeline()
>>> round(sm.win_rate(p), 3) == round(sm.win_rate(p, basis="unit"), 3)
True
"""

from typing import TYPE_CHECKING, Any

from salesmetrics import errors

if TYPE_CHECKING:  # what type checkers and mkdocstrings see; at run time, loaded on first use
    from salesmetrics import dask, datasets, io, plot, report
    from salesmetrics.domain import (
        ACTIVITY_KINDS,
        DEFAULT_STAGES,
        Activities,
        Activity,
        Deal,
        ExchangeRates,
        FiscalCalendar,
        Outcome,
        Period,
        Pipeline,
        Quota,
        Stage,
        StageHistory,
    )
    from salesmetrics.metrics import (
        ActivityRatios,
        ActivityTable,
        Calibration,
        Commission,
        CommissionLine,
        CommissionPlan,
        Concentration,
        Coverage,
        DealAges,
        Forecast,
        ForecastAccuracy,
        ForecastRollup,
        GroupedResult,
        HygieneFindings,
        OutcomeShares,
        PeerScore,
        PipelineChanges,
        Plan,
        QuotaAttainment,
        RequiredActivity,
        RequiredPipeline,
        StageProbabilities,
        StageRequirement,
        StageTimes,
        Summary,
        Velocity,
        VelocityAttribution,
        WinCurve,
        activity_counts,
        activity_ratios,
        activity_vs_target,
        average_deal_size,
        calibration,
        commission,
        concentration,
        conversion_from_stage,
        cycle_days,
        deal_age,
        finalize,
        forecast,
        forecast_accuracy,
        forecast_rollup,
        funnel_counts,
        historical_probabilities,
        hygiene,
        lead_conversion,
        logo_retention,
        new_leads,
        outcome_shares,
        peer_scores,
        pipeline_changes,
        pipeline_coverage,
        pipeline_value,
        plan,
        quota_attainment,
        renewal_rate,
        required_activity,
        required_pipeline,
        sales_cycle_length,
        sales_velocity,
        slip_rate,
        stage_conversion,
        summarize,
        time_in_stage,
        velocity_attribution,
        velocity_change,
        weighted_pipeline,
        win_curve,
        win_rate,
        won_revenue,
    )

__version__ = "0.1.0"

#: Submodules loaded on first use: none of them imports matplotlib, pandas or dask before it
#: needs them.
_LAZY_SUBMODULES = frozenset({"dask", "datasets", "io", "plot", "report"})
#: Public names of `salesmetrics.domain`; the other public names are `salesmetrics.metrics`'.
_DOMAIN_NAMES = frozenset({
    "ACTIVITY_KINDS", "DEFAULT_STAGES", "Activities", "Activity", "Deal", "ExchangeRates",
    "FiscalCalendar", "Outcome", "Period", "Pipeline", "Quota", "Stage", "StageHistory",
})


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use (PEP 562), keeping ``import salesmetrics`` cheap:
    the domain classes and each metric family are imported when first named, the submodules
    ``dask``, ``datasets``, ``io``, ``plot`` and ``report`` too."""
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"salesmetrics.{name}")
    if name in _DOMAIN_NAMES:
        package = "salesmetrics.domain"
    elif name in _METRIC_NAMES:
        package = "salesmetrics.metrics"
    else:
        raise AttributeError(f"module 'salesmetrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(package), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, loaded or not (for completion in a notebook)."""
    return sorted({*globals(), *__all__})


__all__ = [
    "ACTIVITY_KINDS",
    "DEFAULT_STAGES",
    "Activities",
    "Activity",
    "ActivityRatios",
    "ActivityTable",
    "Calibration",
    "Commission",
    "CommissionLine",
    "CommissionPlan",
    "Concentration",
    "Coverage",
    "Deal",
    "DealAges",
    "ExchangeRates",
    "FiscalCalendar",
    "Forecast",
    "ForecastAccuracy",
    "ForecastRollup",
    "GroupedResult",
    "HygieneFindings",
    "Outcome",
    "OutcomeShares",
    "PeerScore",
    "Period",
    "Pipeline",
    "PipelineChanges",
    "Plan",
    "Quota",
    "QuotaAttainment",
    "RequiredActivity",
    "RequiredPipeline",
    "Stage",
    "StageHistory",
    "StageProbabilities",
    "StageRequirement",
    "StageTimes",
    "Summary",
    "Velocity",
    "VelocityAttribution",
    "WinCurve",
    "__version__",
    "activity_counts",
    "activity_ratios",
    "activity_vs_target",
    "average_deal_size",
    "calibration",
    "commission",
    "concentration",
    "conversion_from_stage",
    "cycle_days",
    "dask",
    "datasets",
    "deal_age",
    "errors",
    "finalize",
    "forecast",
    "forecast_accuracy",
    "forecast_rollup",
    "funnel_counts",
    "historical_probabilities",
    "hygiene",
    "io",
    "lead_conversion",
    "logo_retention",
    "new_leads",
    "outcome_shares",
    "peer_scores",
    "pipeline_changes",
    "pipeline_coverage",
    "pipeline_value",
    "plan",
    "plot",
    "quota_attainment",
    "renewal_rate",
    "report",
    "required_activity",
    "required_pipeline",
    "sales_cycle_length",
    "sales_velocity",
    "slip_rate",
    "stage_conversion",
    "summarize",
    "time_in_stage",
    "velocity_attribution",
    "velocity_change",
    "weighted_pipeline",
    "win_curve",
    "win_rate",
    "won_revenue",
]
#: Public names of `salesmetrics.metrics` (loaded on first use).
_METRIC_NAMES = frozenset(__all__) - _DOMAIN_NAMES - _LAZY_SUBMODULES - {"__version__", "errors"}
