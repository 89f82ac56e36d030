"""The typed domain layer: stages, deals, periods and the columnar Pipeline (no metric maths)."""

from salesmetrics.domain.activity import ACTIVITY_KINDS, Activities, Activity
from salesmetrics.domain.deal import Deal
from salesmetrics.domain.exchange_rates import ExchangeRates
from salesmetrics.domain.period import FiscalCalendar, Period
from salesmetrics.domain.pipeline import Pipeline, StageHistory
from salesmetrics.domain.quotas import Quota
from salesmetrics.domain.stage import DEFAULT_STAGES, Outcome, Stage

__all__ = [
    "ACTIVITY_KINDS",
    "DEFAULT_STAGES",
    "Activities",
    "Activity",
    "Deal",
    "ExchangeRates",
    "FiscalCalendar",
    "Outcome",
    "Period",
    "Pipeline",
    "Quota",
    "Stage",
    "StageHistory",
]
