"""Metric functions, one module per family. Each takes a Pipeline and keyword-only options.

The options' vocabulary (``Basis``, ``View``, ``CycleOutcome``…) is `salesmetrics.metrics.options`,
re-exported here for type annotations.
"""

import sys
import types
from typing import TYPE_CHECKING, Any

from salesmetrics._lazy import load, module_of

if TYPE_CHECKING:  # what type checkers and mkdocstrings see; at run time, loaded on first use
    from salesmetrics.metrics._activity_table import ActivityTable
    from salesmetrics.metrics._grouped import GroupedResult
    from salesmetrics.metrics.activity_kpis import activity_counts, activity_vs_target
    from salesmetrics.metrics.activity_planning import (
        ActivityRatios,
        RequiredActivity,
        activity_ratios,
        required_activity,
    )
    from salesmetrics.metrics.attribution import VelocityAttribution, velocity_attribution
    from salesmetrics.metrics.calibration import Calibration, calibration
    from salesmetrics.metrics.categories import ForecastRollup, forecast_rollup
    from salesmetrics.metrics.changes import (
        ChangedDeals,
        PipelineChanges,
        pipeline_changes,
        slip_rate,
    )
    from salesmetrics.metrics.compensation import (
        Commission,
        CommissionLine,
        CommissionPlan,
        commission,
    )
    from salesmetrics.metrics.conversion import (
        conversion_from_stage,
        funnel_counts,
        stage_conversion,
    )
    from salesmetrics.metrics.coverage import (
        Coverage,
        RequiredPipeline,
        StageRequirement,
        pipeline_coverage,
        required_pipeline,
    )
    from salesmetrics.metrics.cycle import average_deal_size, cycle_days, sales_cycle_length
    from salesmetrics.metrics.forecast import Forecast, forecast
    from salesmetrics.metrics.health_checks import (
        Concentration,
        HygieneFindings,
        concentration,
        hygiene,
    )
    from salesmetrics.metrics.leads import lead_conversion, new_leads
    from salesmetrics.metrics.options import (
        Basis,
        By,
        CycleOutcome,
        DealOutcome,
        NoDecision,
        OpenDeals,
        Opportunities,
        Skipped,
        Statistic,
        View,
    )
    from salesmetrics.metrics.peers import PeerScore, peer_scores
    from salesmetrics.metrics.pipeline_totals import pipeline_value, weighted_pipeline, won_revenue
    from salesmetrics.metrics.planning import Plan, plan
    from salesmetrics.metrics.probabilities import StageProbabilities, historical_probabilities
    from salesmetrics.metrics.quota import (
        ForecastAccuracy,
        QuotaAttainment,
        forecast_accuracy,
        quota_attainment,
    )
    from salesmetrics.metrics.retention import logo_retention, renewal_rate
    from salesmetrics.metrics.stage_time import DealAges, StageTimes, deal_age, time_in_stage
    from salesmetrics.metrics.summaries import Summary, finalize, summarize
    from salesmetrics.metrics.velocity import Velocity, sales_velocity, velocity_change
    from salesmetrics.metrics.win_curve import WinCurve, win_curve
    from salesmetrics.metrics.win_rates import OutcomeShares, outcome_shares, win_rate

#: Module (under ``salesmetrics.metrics``) → the public names it defines. Each family module is
#: imported on first use of one of its names (PEP 562), so that ``import salesmetrics`` stays cheap.
_NAMES: dict[str, tuple[str, ...]] = {
    "_activity_table": ("ActivityTable",),
    "_grouped": ("GroupedResult",),
    "activity_kpis": ("activity_counts", "activity_vs_target"),
    "activity_planning": (
        "ActivityRatios", "RequiredActivity", "activity_ratios", "required_activity",
    ),
    "attribution": ("VelocityAttribution", "velocity_attribution"),
    "calibration": ("Calibration", "calibration"),
    "categories": ("ForecastRollup", "forecast_rollup"),
    "changes": ("ChangedDeals", "PipelineChanges", "pipeline_changes", "slip_rate"),
    "compensation": ("Commission", "CommissionLine", "CommissionPlan", "commission"),
    "conversion": ("conversion_from_stage", "funnel_counts", "stage_conversion"),
    "coverage": (
        "Coverage", "RequiredPipeline", "StageRequirement", "pipeline_coverage",
        "required_pipeline",
    ),
    "cycle": ("average_deal_size", "cycle_days", "sales_cycle_length"),
    "forecast": ("Forecast", "forecast"),
    "health_checks": ("Concentration", "HygieneFindings", "concentration", "hygiene"),
    "leads": ("lead_conversion", "new_leads"),
    "options": (
        "Basis", "By", "CycleOutcome", "DealOutcome", "NoDecision", "OpenDeals", "Opportunities",
        "Skipped", "Statistic", "View",
    ),
    "peers": ("PeerScore", "peer_scores"),
    "pipeline_totals": ("pipeline_value", "weighted_pipeline", "won_revenue"),
    "planning": ("Plan", "plan"),
    "probabilities": ("StageProbabilities", "historical_probabilities"),
    "quota": ("ForecastAccuracy", "QuotaAttainment", "forecast_accuracy", "quota_attainment"),
    "retention": ("logo_retention", "renewal_rate"),
    "stage_time": ("DealAges", "StageTimes", "deal_age", "time_in_stage"),
    "summaries": ("Summary", "finalize", "summarize"),
    "velocity": ("Velocity", "sales_velocity", "velocity_change"),
    "win_curve": ("WinCurve", "win_curve"),
    "win_rates": ("OutcomeShares", "outcome_shares", "win_rate"),
}
_MODULE_OF = module_of(_NAMES)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use, and keep its public names here."""
    return load(__name__, globals(), _NAMES, _MODULE_OF, name)


def __dir__() -> list[str]:
    """Every public name, loaded or not (for completion in a notebook)."""
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """Keeps a public function bound to its name when the module of the same name is imported
    (``metrics/forecast.py`` defines ``forecast``): importing a submodule sets the package's
    attribute of that name to the module, which would hide the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _MODULE_OF:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "ActivityRatios",
    "ActivityTable",
    "Basis",
    "By",
    "Calibration",
    "ChangedDeals",
    "Commission",
    "CommissionLine",
    "CommissionPlan",
    "Concentration",
    "Coverage",
    "CycleOutcome",
    "DealAges",
    "DealOutcome",
    "Forecast",
    "ForecastAccuracy",
    "ForecastRollup",
    "GroupedResult",
    "HygieneFindings",
    "NoDecision",
    "OpenDeals",
    "Opportunities",
    "OutcomeShares",
    "PeerScore",
    "PipelineChanges",
    "Plan",
    "QuotaAttainment",
    "RequiredActivity",
    "RequiredPipeline",
    "Skipped",
    "StageProbabilities",
    "StageRequirement",
    "StageTimes",
    "Statistic",
    "Summary",
    "Velocity",
    "VelocityAttribution",
    "View",
    "WinCurve",
    "activity_counts",
    "activity_ratios",
    "activity_vs_target",
    "average_deal_size",
    "calibration",
    "commission",
    "concentration",
    "conversion_from_stage",
    "cycle_days",
    "deal_age",
    "finalize",
    "forecast",
    "forecast_accuracy",
    "forecast_rollup",
    "funnel_counts",
    "historical_probabilities",
    "hygiene",
    "lead_conversion",
    "logo_retention",
    "new_leads",
    "outcome_shares",
    "peer_scores",
    "pipeline_changes",
    "pipeline_coverage",
    "pipeline_value",
    "plan",
    "quota_attainment",
    "renewal_rate",
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
