"""Deprecated private name of `salesmetrics.metrics.options` (kept while plot.py switches)."""

from salesmetrics.metrics.options import (
    Basis,
    By,
    CycleOutcome,
    NoDecision,
    OpenDeals,
    Opportunities,
    Skipped,
    View,
)

__all__ = ["Basis", "By", "CycleOutcome", "NoDecision", "OpenDeals", "Opportunities", "Skipped",
           "View"]
