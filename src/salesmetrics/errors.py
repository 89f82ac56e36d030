"""The exception hierarchy of salesmetrics.

Every error that salesmetrics raises on purpose derives from `SalesMetricsError`. Errors
about the data are also a `ValueError` or a `TypeError`, so code that already catches
those keeps working::

    SalesMetricsError
    ├── DataError (ValueError)          a value in the data is wrong
    │   ├── UnknownStageError           a stage name that the sales process does not have
    │   ├── DuplicateDealError          the same deal id twice
    │   ├── CurrencyError               currencies mixed without conversion rates
    │   ├── AmountError                 an amount or a total past 2**63 - 1 minor units
    │   └── RaggedColumnsError          columns of different lengths
    ├── DataTypeError (TypeError)       a value of the wrong type
    └── OptionError (ValueError)        a keyword option outside its valid choices

    DataQualityWarning (UserWarning)    a metric left deals out, and says how many

Messages name the field, the deal id and row where there is one, the value, and the valid choices,
e.g. ``deal 'D-17' (row 16 of the data): amount must be >= 0, got -5.0``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

__all__ = [
    "AmountError",
    "CurrencyError",
    "DataError",
    "DataQualityWarning",
    "DataTypeError",
    "DuplicateDealError",
    "OptionError",
    "RaggedColumnsError",
    "SalesMetricsError",
    "SummaryMismatchError",
    "UnknownStageError",
]


class SalesMetricsError(Exception):
    """Root of every error that salesmetrics raises on purpose."""


class DataError(SalesMetricsError, ValueError):
    """A value in the data is wrong (negative amount, probability outside [0, 1], …)."""


class DataTypeError(SalesMetricsError, TypeError):
    """A value in the data, or an argument, has the wrong type."""


class UnknownStageError(DataError):
    """A stage name that the pipeline's sales process does not define."""


class DuplicateDealError(DataError):
    """The same deal id occurs more than once."""


class CurrencyError(DataError):
    """Deals in different currencies were mixed without conversion rates."""


class AmountError(DataError):
    """An amount, or a total of amounts, does not fit in 2**63 - 1 minor units (int64).

    Totals are exact integers; past that limit they would wrap, so they raise instead.
    """


class RaggedColumnsError(DataError):
    """Columns given together have different lengths."""


class OptionError(SalesMetricsError, ValueError):
    """A keyword option of a function is outside its valid choices."""


class SummaryMismatchError(OptionError):
    """Two summaries that do not add up: of different metrics, groupings or options, or of
    different processes or currencies (see `salesmetrics.Summary`)."""


def where(deal_id: object = None, row: int | None = None) -> str:
    """Format the ``deal 'D-17' (row 16 of the data): `` prefix of a data error message.

    Rows count from 0 over the deals given (``Pipeline.read_csv`` adds the file's line).
    """
    if deal_id is None and row is None:
        return ""
    if deal_id is None:
        return f"row {row} of the data: "
    if row is None:
        return f"deal {deal_id!r}: "
    return f"deal {deal_id!r} (row {row} of the data): "


def choices(values: Iterable[object]) -> str:
    """Format valid choices as ``'a', 'b' or 'c'``."""
    items = [repr(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def check_option(function: str, name: str, value: object, valid: Iterable[object]) -> None:
    """Raise `OptionError` unless ``value`` is one of ``valid``."""
    valid = tuple(valid)
    if value not in valid:
        raise OptionError(f"{function}(): {name} must be {choices(valid)}, got {value!r}")


class DataQualityWarning(UserWarning):
    """A metric left deals out because their data cannot support it (e.g. closed before created).

    The message says how many. Silence it with `filterwarnings` once the data's
    problems are known.
    """


#: The folder of the salesmetrics package: frames of its files are not the user's.
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """The ``stacklevel`` for a `warnings.warn` in the caller of this function that points at
    the first frame outside salesmetrics (the user's line), however deep the call went
    (``from_deals`` → ``from_columns`` → …, an adapter, a reader). A frame is salesmetrics' when
    its module is ``salesmetrics`` or one of its submodules and its file is in the package
    (a doctest's examples, run in a module's namespace, are the user's)."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and _ours(frame):
        frame = frame.f_back
        level += 1
    return level


def _ours(frame: object) -> bool:
    name = str(frame.f_globals.get("__name__", ""))  # type: ignore[attr-defined]
    return ((name == "salesmetrics" or name.startswith("salesmetrics."))
            and os.path.abspath(frame.f_code.co_filename).startswith(  # type: ignore[attr-defined]
                _PACKAGE + os.sep))
