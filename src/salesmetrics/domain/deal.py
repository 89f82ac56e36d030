"""A deal (opportunity): the friendly per-record view of a `Pipeline` row."""

from __future__ import annotations

import datetime as dt
import math
import types
from collections.abc import Mapping
from typing import Any

import attrs

from salesmetrics.domain.dates import to_date
from salesmetrics.domain.money import normalize_currency
from salesmetrics.errors import DataError, DataTypeError, where

__all__ = ["Deal"]


# The converters name the field; `Deal.__init__` puts the deal's id in front of their messages.
def _amount(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise DataTypeError(f"amount must be a number, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataTypeError(f"amount must be a number, got {value!r}") from None
    except OverflowError:  # an int past the largest float
        raise DataError(f"amount must be finite, got {value!r}") from None
    return None if math.isnan(number) else number


def _probability(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataTypeError(f"probability must be a number in [0, 1], got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise DataError(f"probability must be in [0, 1], got {value!r}") from None
    return None if math.isnan(number) else number


def _created(value: object) -> dt.date | None:
    return to_date(value, field="created")


def _close_date(value: object) -> dt.date | None:
    return to_date(value, field="close_date")


def frozen_fields(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A record's ``fields=`` as a read-only copy (`Deal`, `Activity`)."""
    if value is None:
        return types.MappingProxyType({})
    if not isinstance(value, Mapping):
        raise DataTypeError(f"fields must be a mapping of field name to label, got {value!r}")
    return types.MappingProxyType(dict(value))


def _history(value: object) -> tuple[tuple[str, dt.date], ...]:
    if isinstance(value, (str, bytes)):
        raise DataTypeError(f"history must be a sequence of (stage, date) pairs, got {value!r}")
    try:
        pairs = list(value)  # type: ignore[call-overload]
    except TypeError:
        raise DataTypeError(
            f"history must be a sequence of (stage, date) pairs, got {value!r}"
        ) from None
    out = []
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DataTypeError(f"history entries must be (stage, date) pairs, got {pair!r}")
        stage, day = pair
        if not isinstance(stage, str):
            raise DataTypeError(f"history stage must be a stage name, got {stage!r}")
        entered = to_date(day, field=f"history date of stage {stage!r}")
        if entered is None:
            raise DataError(f"history entry for stage {stage!r} has no date")
        out.append((stage, entered))
    return tuple(out)


@attrs.frozen(init=False)
class Deal:
    """One deal (opportunity) of a CRM.

    Validation of values that need the sales process (the stage name) and of relations between
    fields (close date after created, one currency) happens when deals are put into a
    `Pipeline`.

    Examples
    --------
    >>> import datetime as dt
    >>> d = Deal("D-1", 20_000, "Proposal", created=dt.date(2024, 1, 5), owner="ana")
    >>> d.amount, d.stage, d.owner
    (20000.0, 'Proposal', 'ana')
    """

    #: The deal's id in the CRM; unique within a pipeline.
    id: str | int
    #: Deal value [major currency units, e.g. USD]; None when the CRM has none (common when open).
    amount: float | None = attrs.field(converter=_amount)
    #: Name of the deal's current stage in the pipeline's sales process.
    stage: str = attrs.field()
    #: Date the deal was created.
    created: dt.date | None = attrs.field(default=None, converter=_created)
    #: Expected close date while open, actual close date once closed (the Salesforce convention).
    close_date: dt.date | None = attrs.field(default=None, converter=_close_date)
    #: The deal's owner (sales rep), a label to group by.
    owner: str | None = None
    #: This deal's own probability to close [fraction in 0..1], overriding its stage's.
    probability: float | None = attrs.field(default=None, converter=_probability)
    #: ISO 4217 currency code of ``amount``; one currency per pipeline.
    currency: str | None = attrs.field(default=None, converter=normalize_currency)
    #: Extra labels to group by: team, region, product, source, segment…
    fields: Mapping[str, Any] = attrs.field(
        factory=dict, converter=frozen_fields, hash=False, repr=lambda m: repr(dict(m))
    )
    #: Stage history: ``(stage name, date entered)`` pairs.
    history: tuple[tuple[str, dt.date], ...] = attrs.field(default=(), converter=_history)

    def __init__(
        self,
        id: str | int,
        amount: object,
        stage: str,
        created: object = None,
        close_date: object = None,
        owner: str | None = None,
        probability: object = None,
        currency: object = None,
        fields: Mapping[str, Any] | None = None,
        history: object = (),
    ) -> None:
        """Check and convert each value; an error names the deal and the field."""
        if isinstance(id, bool) or not isinstance(id, (str, int)):
            raise DataTypeError(f"deal id must be a str or int, got {id!r}")
        try:
            self.__attrs_init__(
                id, amount, stage, created, close_date, owner, probability, currency, fields,
                history,
            )
        except (DataError, DataTypeError) as error:  # the converters do not know the deal
            raise type(error)(f"{where(id)}{error}") from None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.stage, str):
            raise DataTypeError(f"stage must be a stage name, got {self.stage!r}")
        if self.amount is not None and not (math.isfinite(self.amount) and self.amount >= 0):
            what = "must be >= 0" if self.amount < 0 else "must be finite"
            raise DataError(f"amount {what}, got {self.amount!r}")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise DataError(f"probability must be in [0, 1], got {self.probability!r}")
