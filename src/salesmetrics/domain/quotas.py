"""Quotas per owner and period, as a table: `Quota`, with team roll-ups.

A quota is data a company sets, like a deal, so it lives beside `Pipeline` in the domain layer;
`quota_attainment` and `commission` (metrics) read it. Amounts are kept as exact ``int64`` minor
units, as deal amounts are.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Hashable, Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from salesmetrics._render import format_label, format_money, text_table
from salesmetrics.domain.columns import (
    column_length,
    encode_labels,
    is_missing_value,
    readonly,
    to_numpy,
)
from salesmetrics.domain.money import MAX_MINOR_UNITS, minor_exponent, normalize_currency
from salesmetrics.domain.period import Period, as_period
from salesmetrics.domain.pipeline import Pipeline
from salesmetrics.errors import CurrencyError, DataError, DataTypeError, OptionError, choices

__all__ = ["Quota"]

_NAME = "Quota"


class Quota:
    """Quotas per owner and period [currency], with optional label columns such as ``team``.

    Build one with `from_columns`. A group's quota for a period is the sum of the quota rows
    of its owners whose period lies inside it: the quarterly quotas of a year add up to its
    yearly quota, and a team's quota is the sum of its owners' (`amounts`). A quota period
    that straddles the asked period's edge is a `DataError`, never a silent proration.

    Examples
    --------
    >>> from salesmetrics import Quota
    >>> q = Quota.from_columns({
    ...     "owner": ["ana", "bo", "ana", "cy"],
    ...     "period": ["2024-Q3", "2024-Q3", "2024-Q4", "2024-Q4"],
    ...     "amount": [100_000, 80_000, 120_000, 50_000],
    ...     "team": ["East", "East", "East", "West"],
    ... })
    >>> q.amounts("2024-Q4")
    {'ana': 120000.0, 'cy': 50000.0}
    >>> q.amounts("2024", by="team")                  # East: 100k + 80k + 120k
    {'East': 300000.0, 'West': 50000.0}

    The 2024 figures are the quarters held (Q3 and Q4, half the year); `quota_attainment`
    and `commission` over ``"2024"`` would warn that the rows cover only part of it.
    """

    __slots__ = ("_amount_minor", "_currency", "_fields", "_owners", "_periods")

    def __init__(self, owners: tuple[Hashable, ...], periods: tuple[Period, ...],
                 amount_minor: npt.NDArray[np.int64], fields: Mapping[str, tuple[Hashable, ...]],
                 currency: str | None) -> None:
        self._owners = owners
        self._periods = periods
        self._amount_minor = readonly(np.array(amount_minor, dtype=np.int64))
        self._fields = dict(fields)
        self._currency = currency

    @classmethod
    def from_columns(
        cls, data: Any, *, owner: str = "owner", period: str = "period", amount: str = "amount",
        currency: str | None = None,
    ) -> Quota:
        """Build quotas from columns: a mapping of name → sequence, or a pandas/polars/Arrow
        frame. One row per owner and period.

        Parameters
        ----------
        data
            The columns; any column other than the three below (e.g. ``team``) is kept as a
            label column that `amounts` can roll up by.
        owner, period, amount
            The names of the owner column (labels), the period column (a `Period` or a label
            such as ``"2024-Q4"``, ``"2024-10"``, ``"2024"``) and the amount column [currency,
            finite and >= 0].
        currency
            ISO 4217 code of the amounts (its minor unit says how they are rounded, half to
            even, to exact minor units); None: 2 decimal places (cents), and the code is not
            checked against the pipeline's. The minor unit still is: `quota_attainment` and
            `commission` refuse (`OptionError`) a pipeline whose currency has another minor
            unit (JPY, 0 decimals; KWD, 3), so give ``currency=`` for those.

        Raises
        ------
        DataError
            A missing owner or period, a negative or non-finite amount, the same owner and
            period twice, or two periods of one owner that overlap (a year and its quarters:
            the quota would count twice), naming the rows.
        """
        columns = _as_mapping(data)
        for name in (owner, period, amount):
            if name not in columns:
                raise DataError(f"{_NAME}.from_columns(): no column {name!r}; columns are "
                                f"{choices(columns)}")
        n = column_length(columns, list(columns))
        code = normalize_currency(currency)
        owners = encode_labels(columns[owner], field=owner).decoded()
        when, money = to_numpy(columns[period]), to_numpy(columns[amount])
        periods: list[Period] = []
        for row in range(n):  # one row per quota (owner × period), a small table
            if is_missing_value(owners[row]):
                raise DataError(f"{_NAME}.from_columns(): row {row}: {owner} is missing")
            value = when[row]
            if is_missing_value(value) if not isinstance(value, Period) else False:
                raise DataError(f"{_NAME}.from_columns(): row {row}: {period} is missing")
            try:
                periods.append(as_period(value, name=period))
            except (DataError, DataTypeError, OptionError) as error:
                raise type(error)(f"{_NAME}.from_columns(): row {row}: {error}") from None
        minor = np.zeros(n, dtype=np.int64)
        scale = 10 ** minor_exponent(code)
        for row in range(n):
            minor[row] = _minor(f"row {row}: {amount}", money[row], scale)
        seen: dict[tuple[Hashable, Period], int] = {}
        for row in range(n):
            key = (owners[row], periods[row])
            if key in seen:
                raise DataError(f"{_NAME}.from_columns(): row {row}: owner {key[0]!r} has a "
                                f"quota for {key[1].label} already (row {seen[key]}); give one "
                                "row per owner and period")
            seen[key] = row
        _check_no_overlap(owners.tolist(), periods)
        fields = {name: tuple(encode_labels(col, field=name).decoded().tolist())
                  for name, col in columns.items() if name not in (owner, period, amount)}
        return cls(tuple(owners.tolist()), tuple(periods), minor, fields, code)

    # -- the table ------------------------------------------------------------------------------
    @property
    def owners(self) -> tuple[Hashable, ...]:
        """The owner of each row."""
        return self._owners

    @property
    def periods(self) -> tuple[Period, ...]:
        """The period of each row."""
        return self._periods

    @property
    def amount_minor(self) -> npt.NDArray[np.int64]:
        """The amount of each row [int64 minor units], read-only."""
        return self._amount_minor

    @property
    def fields(self) -> tuple[str, ...]:
        """The label columns besides owner, period and amount (e.g. ``team``)."""
        return tuple(self._fields)

    @property
    def currency(self) -> str | None:
        """The ISO 4217 code, or None."""
        return self._currency

    @property
    def scale(self) -> int:
        """Minor units per major unit (100 for USD)."""
        return int(10 ** minor_exponent(self._currency))

    def __len__(self) -> int:
        return len(self._owners)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quota):
            return NotImplemented
        return (self._owners == other._owners and self._periods == other._periods
                and bool(np.array_equal(self._amount_minor, other._amount_minor))
                and self._fields == other._fields and self._currency == other._currency)

    __hash__ = None  # type: ignore[assignment]

    # -- roll-ups -------------------------------------------------------------------------------
    def amounts_minor(
        self, period: object, *, by: str = "owner", pipeline: Pipeline | None = None,
    ) -> dict[Hashable, int]:
        """Group → quota of ``period`` [int minor units]; see `amounts`."""
        chosen = as_period(period)
        labels = self._group_labels(by, pipeline)
        out: dict[Hashable, int] = {}
        for row, (when, label) in enumerate(zip(self._periods, labels, strict=True)):
            if when.end <= chosen.start or when.start >= chosen.end:
                continue
            if when.start < chosen.start or when.end > chosen.end:
                raise DataError(
                    f"{_NAME}: row {row}: the quota period {when.label} of owner "
                    f"{self._owners[row]!r} straddles {chosen.label}; ask for a period that "
                    "holds whole quota periods (a quarter, a year), or split the quota")
            total = out.get(label, 0) + int(self._amount_minor[row])
            if total > MAX_MINOR_UNITS:
                raise DataError(f"{_NAME}: the quota of {label!r} in {chosen.label} is past "
                                "2**63 - 1 minor units")
            out[label] = total
        return out

    def amounts(
        self, period: object, *, by: str = "owner", pipeline: Pipeline | None = None,
    ) -> dict[Hashable, float]:
        """Group → quota of ``period`` [currency]: the sum of the quota rows, of the group's
        owners, whose period lies inside ``period``.

        Parameters
        ----------
        period
            The period (a `Period` or a label).
        by
            ``"owner"`` (default), a label column of the table (``"team"``), or, with
            ``pipeline``, a field of the pipeline: each owner's label is then the one on
            their deals (an owner whose deals carry two labels is a `DataError`).
        pipeline
            Where to look up ``by`` when the table has no such column.
        """
        return {k: v / self.scale for k, v in
                self.amounts_minor(period, by=by, pipeline=pipeline).items()}

    def _group_labels(self, by: str, pipeline: Pipeline | None) -> tuple[Hashable, ...]:
        if by == "owner":
            return self._owners
        if by in self._fields:
            return self._fields[by]
        if pipeline is None or by not in pipeline.fields or "owner" not in pipeline.fields:
            raise OptionError(
                f"{_NAME}: cannot roll quotas up by {by!r}: it is not a column of the quota "
                f"table ({choices(('owner', *self._fields))}) nor a field of the pipeline "
                "beside 'owner'; add a column to the quota table")
        owner_of = pipeline.labels("owner")
        group_of = pipeline.labels(by)
        pairs = np.unique(np.stack([owner_of.codes, group_of.codes]), axis=1)
        found: dict[Hashable, Hashable] = {}
        for o, g in pairs.T.tolist():  # one per distinct (owner, label) pair
            name, label = owner_of.categories[o], group_of.categories[g]
            if name in found and found[name] != label:
                raise DataError(
                    f"{_NAME}: owner {name!r} has deals in {by} {found[name]!r} and "
                    f"{label!r}; add a {by!r} column to the quota table to say which counts")
            found[name] = label
        missing = [o for o in self._owners if o not in found]
        if missing:
            raise DataError(f"{_NAME}: owner {missing[0]!r} has no deals to tell their {by}; "
                            f"add a {by!r} column to the quota table")
        return tuple(found[o] for o in self._owners)

    # -- display --------------------------------------------------------------------------------
    def to_pandas(self) -> Any:
        """A pandas DataFrame: ``owner``, ``period`` (labels), ``amount`` [currency] and the
        label columns."""
        import pandas as pd

        return pd.DataFrame({"owner": list(self._owners),
                             "period": [p.label for p in self._periods],
                             "amount": self._amount_minor / self.scale, **self._fields})

    def __repr__(self) -> str:
        rows = [[format_label(o), p.label, format_money(a / self.scale, self._currency),
                 *(format_label(v[i]) for v in self._fields.values())]
                for i, (o, p, a) in enumerate(zip(self._owners, self._periods,
                                                  self._amount_minor.tolist(), strict=True))]
        head = f"Quota ({len(self)} rows)"
        align: list[Literal["left", "right"]] = ["left", "left", "right"]
        align += ["left"] * len(self._fields)
        return "\n".join([head, *text_table(["owner", "period", "amount", *self._fields], rows,
                                            align=align)])


def _check_no_overlap(owners: list[Hashable], periods: list[Period]) -> None:
    """`DataError` naming both rows if two quota periods of one owner overlap: a group's quota
    adds up its rows, so a year and its quarters would count the quota twice."""
    rows = sorted(range(len(periods)), key=lambda r: (repr(owners[r]), periods[r].start))
    for before, row in itertools.pairwise(rows):
        if owners[before] == owners[row] and periods[row].start < periods[before].end:
            first, second = sorted((before, row))
            raise DataError(
                f"{_NAME}.from_columns(): rows {first} and {second}: owner {owners[row]!r} has "
                f"quotas for {periods[first].label} and {periods[second].label}, which overlap, "
                "so a roll-up would count the overlap twice; give each owner quota periods "
                "that do not overlap (the quarters, or the year, not both)")


def _as_mapping(data: Any) -> dict[str, Any]:
    if isinstance(data, Mapping):
        return {str(k): v for k, v in data.items()}
    names = getattr(data, "columns", None)
    if names is None:
        names = getattr(data, "column_names", None)
    if names is None:
        raise DataTypeError(f"{_NAME}.from_columns(): expected a mapping of column name to "
                            f"values or a data frame, got {type(data)!r}")
    return {str(k): data[k] for k in list(names)}


def _minor(what: str, value: object, scale: int) -> int:
    """One amount [major units] as exact minor units, half to even; `DataError` unless finite
    and >= 0."""
    number = float("nan")
    if not isinstance(value, (str, bytes)):  # text is not an amount, even "100"
        with contextlib.suppress(TypeError, ValueError):
            number = float(value)  # type: ignore[arg-type]
    if isinstance(value, (bool, np.bool_)) or not np.isfinite(number) or number < 0:
        raise DataError(f"{_NAME}: {what} must be a finite number >= 0, got {value!r}")
    minor = round(number * scale)
    if minor > 2**53:
        raise DataError(f"{_NAME}: {what} is past 2**53 minor units, got {value!r}")
    return minor


def check_currency(function: str, quota: Quota, currency: str | None) -> None:
    """`CurrencyError` when the quota and the pipeline name different currencies."""
    if quota.currency is not None and currency is not None and quota.currency != currency:
        raise CurrencyError(f"{function}(): the quotas are in {quota.currency} and the "
                            f"pipeline in {currency}; convert one of them")
