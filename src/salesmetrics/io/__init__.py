"""Reading deals from files and CRM exports."""

from salesmetrics.io.csv import read_columns

__all__ = ["read_columns"]
