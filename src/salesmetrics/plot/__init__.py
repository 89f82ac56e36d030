"""Figures for notebooks and reports (needs matplotlib: ``pip install salesmetrics[plot]``).

Each function takes a `Pipeline` first (or what it draws: `Activities`, a `PipelineChanges`, a
`CommissionPlan`), draws something sensible from it alone, accepts keyword options and an
optional ``ax=`` (a new figure otherwise), and returns the matplotlib ``Axes``. matplotlib is
imported when a function is called, never at ``import salesmetrics``.
"""

from salesmetrics.plot.activity_charts import activity_vs_target
from salesmetrics.plot.change_charts import waterfall
from salesmetrics.plot.compensation_charts import attainment, commission_curve
from salesmetrics.plot.evidence_charts import calibration, win_curve
from salesmetrics.plot.forecast_charts import forecast_distribution, required_pipeline
from salesmetrics.plot.inspection_charts import concentration, time_in_stage
from salesmetrics.plot.outcome_charts import cycle_length_distribution, win_rates
from salesmetrics.plot.pipeline_charts import funnel, pipeline_by_stage
from salesmetrics.plot.velocity_charts import velocity_attribution, velocity_levers

__all__ = [
    "activity_vs_target",
    "attainment",
    "calibration",
    "commission_curve",
    "concentration",
    "cycle_length_distribution",
    "forecast_distribution",
    "funnel",
    "pipeline_by_stage",
    "required_pipeline",
    "time_in_stage",
    "velocity_attribution",
    "velocity_levers",
    "waterfall",
    "win_curve",
    "win_rates",
]

