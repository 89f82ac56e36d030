"""The typed domain layer: stages, deals, periods and the columnar Pipeline (no metric maths)."""

from typing import TYPE_CHECKING, Any

from salesmetrics._lazy import load, module_of

if TYPE_CHECKING:  # what type checkers and mkdocstrings see; at run time, loaded on first use
    from salesmetrics.domain.activity import ACTIVITY_KINDS, Activities, Activity
    from salesmetrics.domain.deal import Deal
    from salesmetrics.domain.exchange_rates import ExchangeRates
    from salesmetrics.domain.period import FiscalCalendar, Period
    from salesmetrics.domain.pipeline import Pipeline, StageHistory
    from salesmetrics.domain.quotas import Quota
    from salesmetrics.domain.stage import DEFAULT_STAGES, Outcome, Stage

#: Module (under ``salesmetrics.domain``) → the public names it defines, imported on first use
#: of one of them (PEP 562): naming `Pipeline` does not load the activities or the quotas.
_NAMES: dict[str, tuple[str, ...]] = {
    "activity": ("ACTIVITY_KINDS", "Activities", "Activity"),
    "deal": ("Deal",),
    "exchange_rates": ("ExchangeRates",),
    "period": ("FiscalCalendar", "Period"),
    "pipeline": ("Pipeline", "StageHistory"),
    "quotas": ("Quota",),
    "stage": ("DEFAULT_STAGES", "Outcome", "Stage"),
}
_MODULE_OF = module_of(_NAMES)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use, and keep its public names here."""
    return load(__name__, globals(), _NAMES, _MODULE_OF, name)


def __dir__() -> list[str]:
    """Every public name, loaded or not."""
    return sorted({*globals(), *__all__})


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
