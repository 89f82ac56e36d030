"""The Pipeline: a sales process plus its deals, stored as immutable numpy columns."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import (
    Labels,
    column_length,
    encode_labels,
    owned,
    readonly,
    to_float_array,
    to_numpy,
)
from salesmetrics.domain.dates import (
    DateFormats,
    Formats,
    check_date_formats,
    to_date_array,
    to_zone,
)
from salesmetrics.domain.deal import Deal
from salesmetrics.domain.money import minor_exponent, normalize_currency, to_minor_units
from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.stage import (
    DEFAULT_STAGES,
    Outcome,
    Stage,
    process_facts,
    validate_stages,
)
from salesmetrics.errors import (
    CurrencyError,
    DataError,
    DataQualityWarning,
    DataTypeError,
    DuplicateDealError,
    SalesMetricsError,
    UnknownStageError,
    choices,
    where,
)

__all__ = ["DEAL_ATTRIBUTES", "Pipeline", "StageHistory"]

T = TypeVar("T")
IntArray = npt.NDArray[np.intp]
DateArray = npt.NDArray[np.datetime64]

#: Attributes of `Deal` that ``Pipeline.from_columns`` reads; other keys become fields.
DEAL_ATTRIBUTES = (
    "id", "amount", "stage", "created", "close_date", "owner", "probability", "currency",
)  # fmt: skip
_HISTORY_COLUMNS = ("id", "stage", "date")
#: Attributes whose one-edit misspellings (``"ammount"``) in ``columns`` warn; ``id`` is too short
#: (``"ip"``, ``"ad"`` and ``"bid"`` are real fields).
_TYPO_TARGETS = tuple(a for a in DEAL_ATTRIBUTES if len(a) >= 4)
#: Common field names one edit from an attribute that are words of their own, not typos.
_REAL_WORDS = frozenset({"state", "states", "stake", "staged", "owned"})

#: Guards every change to a pipeline's caches, and every walk over them, across threads. One lock
#: for all pipelines: each hold is a dict operation (computations run outside it), and a pipeline
#: stays picklable.
_CACHE_LOCK = threading.Lock()
_ABSENT = object()


class StageHistory:
    """The stage history of a pipeline's deals, one row per stage entered, grouped by deal.

    Events are sorted by deal row, then date. Deal ids were resolved to row positions when the
    history was loaded, so queries never look ids up. Columns (read-only):

    - ``rows``: row of the deal in its pipeline [intp], ascending;
    - ``stages``: code of the stage entered (index into ``Pipeline.stages``) [intp];
    - ``dates``: date the stage was entered [datetime64[D]].
    """

    __slots__ = ("dates", "rows", "stages")

    def __init__(self, rows: IntArray, stages: IntArray, dates: DateArray) -> None:
        self.rows = rows
        self.stages = stages
        self.dates = dates

    def __repr__(self) -> str:
        return f"StageHistory({len(self):,} events)"

    def __len__(self) -> int:
        return len(self.rows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StageHistory):
            return NotImplemented
        return (
            np.array_equal(self.rows, other.rows)
            and np.array_equal(self.stages, other.stages)
            and np.array_equal(self.dates, other.dates, equal_nan=True)
        )

    def take(self, keep: npt.NDArray[np.bool_]) -> StageHistory:
        """The events of the deals where ``keep`` (a mask over deals) is True, rows renumbered."""
        events = keep[self.rows]
        new_rows = np.cumsum(keep, dtype=np.intp) - 1
        return StageHistory(
            readonly(new_rows[self.rows[events]]),
            readonly(self.stages[events]),
            readonly(self.dates[events]),
        )


class Pipeline:
    """A sales process (its stages) and the deals in it, as immutable numpy columns.

    Build one with `from_deals`, `from_columns` or `read_csv`; every constructor
    defaults ``stages`` to `DEFAULT_STAGES`. Metrics take a Pipeline and never
    change it: every column is a read-only array.

    Columns (all of length ``len(p)``):

    - ``ids``: deal ids (str or int);
    - ``amount_minor`` [int64 minor units, e.g. cents] with ``amount_missing`` (True where the CRM
      had no amount; such deals count 0 in value totals and are left out of averages);
    - ``stage_codes`` [intp, index into ``stages``] and ``outcome_codes`` [intp, `Outcome`];
    - ``created`` and ``close_date`` [datetime64[D], NaT where missing];
    - ``probability`` [float64 fraction, NaN where the deal has no override];
    - label fields such as ``owner``: ``codes(name)`` and ``categories(name)``.

    Examples
    --------
    >>> from salesmetrics import Deal, Pipeline
    >>> p = Pipeline.from_deals([
    ...     Deal("A", 20_000, "Closed won", created="2024-01-02", close_date="2024-02-01"),
    ...     Deal("B", 10_000, "Proposal", created="2024-01-10", owner="ana"),
    ... ])
    >>> p
    Pipeline(2 deals: 1 open, 1 won, 0 lost, 0 no decision; fields: owner)
    >>> len(p.open), p.deal("B").stage
    (1, 'Proposal')
    """

    __slots__ = (
        "_amount", "_amount_missing", "_cache", "_close", "_created", "_currency", "_history",
        "_ids", "_labels", "_probability", "_stage", "_stages",
    )  # fmt: skip

    def __new__(cls, *args: object, **kwargs: object) -> Pipeline:
        """Refuse ``Pipeline(deals)``: the constructors are the classmethods."""
        if args:
            raise DataTypeError(
                "Pipeline() takes no positional arguments; build a pipeline with "
                "Pipeline.from_deals(deals, stages), Pipeline.from_columns(data, stages) or "
                "Pipeline.read_csv(path, stages)"
            )
        return super().__new__(cls)

    def __init__(
        self,
        *,
        stages: tuple[Stage, ...],
        ids: npt.NDArray[Any],
        amount_minor: npt.NDArray[np.int64],
        amount_missing: npt.NDArray[np.bool_] | None,
        stage_codes: IntArray,
        created: DateArray,
        close_date: DateArray,
        probability: npt.NDArray[np.float64] | None,
        labels: Mapping[str, Labels],
        currency: str | None,
        history: StageHistory | None,
    ) -> None:
        """Assemble a pipeline from columns that are already valid (internal; no checks)."""
        self._stages = stages
        self._ids = ids
        self._amount = amount_minor
        self._amount_missing = amount_missing
        self._stage = stage_codes
        self._created = created
        self._close = close_date
        self._probability = probability
        self._labels = dict(labels)
        self._currency = currency
        self._history = history
        self._cache: dict[str, Any] = {}

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def from_deals(
        cls,
        deals: Iterable[Deal],
        stages: Sequence[Stage] = DEFAULT_STAGES,
        *,
        allow_close_before_created: bool = False,
    ) -> Pipeline:
        """Build a pipeline from `Deal` objects.

        Parameters
        ----------
        deals
            The deals. Every ``Deal.fields`` key becomes a label field (None where a deal lacks it).
        stages
            The sales process, open stages first in funnel order, then the closed ones.
        allow_close_before_created
            Load deals whose close date is before their created date instead of raising (real
            exports have them, e.g. demo orgs created after their data). Cycle metrics leave such
            deals out.
        """
        items = list(deals)
        for row, deal in enumerate(items):
            if not isinstance(deal, Deal):
                raise DataTypeError(f"row {row}: expected a Deal, got {deal!r}")
        field_names: list[str] = []
        for deal in items:
            for name in deal.fields:
                if name not in field_names:
                    field_names.append(name)
        data: dict[str, Any] = {
            "id": [d.id for d in items],
            "amount": np.array([np.nan if d.amount is None else d.amount for d in items], float),
            "stage": [d.stage for d in items],
            "created": [d.created for d in items],
            "close_date": [d.close_date for d in items],
            "owner": [d.owner for d in items],
            "probability": np.array(
                [np.nan if d.probability is None else d.probability for d in items], float
            ),
            "currency": [d.currency for d in items],
        }
        for name in field_names:
            if name in DEAL_ATTRIBUTES:
                raise DataError(f"Deal.fields: {name!r} is a Deal attribute, not a field")
            data[name] = [d.fields.get(name) for d in items]
        history: dict[str, list[Any]] = {"id": [], "stage": [], "date": []}
        for deal in items:
            for stage, day in deal.history:
                history["id"].append(deal.id)
                history["stage"].append(stage)
                history["date"].append(day)
        columns = {name: name for name in data}
        if not any(d.owner is not None for d in items):
            del columns["owner"]
        return cls.from_columns(
            data,
            stages,
            columns=columns,
            history=history if history["id"] else None,
            allow_close_before_created=allow_close_before_created,
        )

    @classmethod
    def from_columns(
        cls,
        data: Mapping[str, Any] | Any,
        stages: Sequence[Stage] = DEFAULT_STAGES,
        *,
        columns: Mapping[str, str] | None = None,
        currency: str | None = None,
        history: Mapping[str, Any] | Any | None = None,
        history_columns: Mapping[str, str] | None = None,
        stage_entered: Mapping[str, str] | None = None,
        timezone: str | dt.tzinfo | None = None,
        date_formats: DateFormats = None,
        allow_close_before_created: bool = False,
    ) -> Pipeline:
        """Build a pipeline from columns: a dict of lists or arrays, or a pandas or polars
        DataFrame or a pyarrow Table (read by duck typing; none of them is imported).

        Parameters
        ----------
        data
            Mapping of column name (str) to a sequence of values, one per deal.
        stages
            The sales process (default `DEFAULT_STAGES`).
        columns
            Deal attribute → column name in ``data``, e.g. ``{"id": "opportunity_id"}``. Attributes
            not given are looked up under their own name (``id``, ``amount``, ``stage``,
            ``created``, ``close_date``, ``owner``, ``probability``, ``currency``); only ``id`` and
            ``stage`` are required. Keys that are not Deal attributes become label fields to group
            by, e.g. ``{"product": "product"}``. A key that is a Deal attribute in another case
            (``"Amount"``) is an error; a key one edit away from one (``"ammount"``,
            ``"clsoe_date"``) loads as a field with a `DataQualityWarning` asking whether the
            attribute was meant (words such as ``"state"`` do not warn), and so does a data
            column named like an unmapped attribute in another case (``Amount``).
        currency
            ISO 4217 code of every amount. If not given, a ``currency`` column is used when present;
            it must hold one currency (`CurrencyError` otherwise).
        history
            Stage history: columns ``id``, ``stage`` and ``date`` (renamed by ``history_columns``),
            one row per stage entered.
        stage_entered
            Stage name → column of ``data`` holding the date each deal entered that stage (empty
            where it did not), e.g. ``{"Engaging": "engage_date"}``: a wide stage history, the
            shape of HubSpot's "Date entered" columns. It loads into the same `StageHistory` as
            ``history`` (both may be given).
        timezone
            Time zone whose calendar dates timestamps become (default UTC).
        date_formats
            How to read date strings that are not ISO 8601 (``YYYY-MM-DD`` or an ISO date-time,
            always read): a list of `~datetime.datetime.strptime` formats tried in order, such
            as ``["%d/%m/%Y"]``, or ``"dateutil"`` for python-dateutil's flexible parser
            (month first for ambiguous numeric dates). Default None: ISO only. Applies to
            ``created``, ``close_date`` and the history dates.
        allow_close_before_created
            Load deals closed before they were created instead of raising; cycle metrics leave
            them out.

        Notes
        -----
        Missing amounts (empty, None, NaN) load on every deal: they count 0 in value totals and are
        left out of averages. Missing ``created`` and ``close_date`` load too, except that a closed
        deal must have a close date. Amounts in float are rounded to the currency's minor unit.
        Missing labels (None, NaN, empty or blank strings) become the label None.

        The pipeline owns its data: it copies every column that it would otherwise share with
        ``data`` (a numpy array given as is, or a view of a frame's buffer), so that changing
        ``data`` afterwards changes nothing in the pipeline. Columns that had to be converted
        anyway (strings, dates to days, amounts to minor units) are not copied twice.

        Errors name the deal and its row, counted from 0 over the rows of ``data`` (``row 9 of
        the data``); an unknown stage lists every unknown value with its count.
        """
        process = validate_stages(stages)
        mapping = _resolve_columns(data, columns)
        wide = _resolve_stage_entered(data, stage_entered, process)
        n = column_length(data, [*mapping.values(), *wide.values()])
        zone = to_zone(timezone)
        formats = check_date_formats(date_formats)
        # The caller's own numpy arrays: a result that overlaps one of them is copied.
        sources = [data[c] for c in {*mapping.values(), *wide.values()}
                   if isinstance(data[c], np.ndarray)]

        ids = _ids(to_numpy(data[mapping["id"]]))
        _check_unique(ids)

        stage_codes = _stage_codes(data[mapping["stage"]], process, ids)
        outcomes = process_facts(process).outcomes[stage_codes]

        code = _currency(data, mapping, currency)
        if "amount" in mapping:
            amounts = to_float_array(data[mapping["amount"]], field="amount", ids=ids)
            amount_minor, amount_missing = to_minor_units(amounts, minor_exponent(code), ids)
        else:
            amount_minor, amount_missing = np.zeros(n, np.int64), np.ones(n, bool)

        def dates(name: str) -> DateArray:
            if name not in mapping:
                return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
            return to_date_array(
                data[mapping[name]], field=name, ids=ids, timezone=zone, formats=formats
            )

        created, close_date = dates("created"), dates("close_date")
        closed = outcomes != Outcome.OPEN
        no_close = closed & np.isnat(close_date)
        if no_close.any():
            row = int(np.flatnonzero(no_close)[0])
            raise DataError(
                f"{where(ids[row].item(), row)}close_date is missing on a closed deal "
                f"(stage {process[stage_codes[row]].name!r})"
            )
        if not allow_close_before_created:
            backwards = close_date < created
            if backwards.any():
                row = int(np.flatnonzero(backwards)[0])
                raise DataError(
                    f"{where(ids[row].item(), row)}close_date {close_date[row]} is before created "
                    f"{created[row]}; pass allow_close_before_created=True to load such deals"
                )

        probability = None
        if "probability" in mapping:
            probability = to_float_array(data[mapping["probability"]], field="probability", ids=ids)
            bad = (probability < 0) | (probability > 1) | np.isinf(probability)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{where(ids[row].item(), row)}probability must be in [0, 1], got "
                    f"{float(probability[row])!r} (give 0.3 for 30 %)"
                )
            if np.isnan(probability).all():
                probability = None

        labels = {
            name: encode_labels(data[source], field=name)
            for name, source in mapping.items()
            if name not in DEAL_ATTRIBUTES or name == "owner"
        }
        parts = []
        if history is not None:
            parts.append(_history(history, history_columns, process, ids, zone, formats))
        if wide:
            parts.append(_wide_history(data, wide, process, ids, zone, formats))
        events = None
        if parts:
            rows, codes, days = parts[0] if len(parts) == 1 else _merge_events(*parts)
            events = StageHistory(owned(rows), owned(codes), owned(days, _arrays(history)))
        return cls(
            stages=process,
            ids=owned(ids, sources),
            amount_minor=owned(amount_minor, sources),
            amount_missing=None if amount_missing is None else owned(amount_missing, sources),
            stage_codes=owned(stage_codes, sources),
            created=owned(created, sources),
            close_date=owned(close_date, sources),
            probability=None if probability is None else owned(probability, sources),
            labels=labels,
            currency=code,
            history=events,
        )

    @classmethod
    def read_csv(
        cls,
        path: str | os.PathLike[str],
        stages: Sequence[Stage] = DEFAULT_STAGES,
        *,
        columns: Mapping[str, str] | None = None,
        delimiter: str = ",",
        encoding: str = "utf-8-sig",
        date_formats: DateFormats = None,
        **options: Any,
    ) -> Pipeline:
        """Read a CSV export (header row; empty cells are missing values) with the stdlib.

        ``columns``, ``date_formats`` and the other keyword options (``currency``, ``history``,
        ``stage_entered``, ``timezone``…) are those of `from_columns`; ``delimiter`` and
        ``encoding`` are the file's. Errors name the row of the data and the
        line of the file where its record starts (the header is line 1), e.g.
        ``deal 'D-9' (row 9 of the data, line 11 of sales.csv)``.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "deals.csv"
        >>> _ = path.write_text(
        ...     "id,amount,stage,close_date\\nA,100,Closed won,2024-01-31\\nB,,Meeting,\\n")
        >>> Pipeline.read_csv(path)
        Pipeline(2 deals: 1 open, 1 won, 0 lost, 0 no decision)
        """
        from salesmetrics._csv import read_columns_and_lines

        table, lines = read_columns_and_lines(path, delimiter=delimiter, encoding=encoding)
        try:
            return cls.from_columns(
                table, stages, columns=columns, date_formats=date_formats, **options
            )
        except SalesMetricsError as error:
            located = _with_lines(error, lines, os.path.basename(os.fspath(path)))
            if located is error:
                raise
            raise located from None

    # -- columns --------------------------------------------------------------------------------
    @property
    def stages(self) -> tuple[Stage, ...]:
        """The sales process."""
        return self._stages

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Names of the stages, in process order."""
        return tuple(s.name for s in self._stages)

    @property
    def n_open_stages(self) -> int:
        """How many open (funnel) stages the process has; they are the first stages."""
        return process_facts(self._stages).n_open

    @property
    def open_stage_names(self) -> tuple[str, ...]:
        """Names of the open stages, in funnel order."""
        return process_facts(self._stages).open_names

    @property
    def won_stage_name(self) -> str:
        """Name of the first won stage (``"won"`` if the process has none)."""
        return process_facts(self._stages).won_name

    @property
    def stage_probabilities(self) -> npt.NDArray[np.float64]:
        """Each stage's probability to close [fraction], in process order."""
        return process_facts(self._stages).probabilities

    @property
    def currency(self) -> str | None:
        """ISO 4217 code of the amounts, or None if not known."""
        return self._currency

    @property
    def minor_unit(self) -> int:
        """Minor units per major unit: 100 for USD, 1 for JPY."""
        return int(10 ** minor_exponent(self._currency))

    @property
    def ids(self) -> npt.NDArray[Any]:
        """Deal ids."""
        return self._ids

    @property
    def amount_minor(self) -> npt.NDArray[np.int64]:
        """Amounts [int64 minor units], 0 where missing."""
        return self._amount

    @property
    def amount_missing(self) -> npt.NDArray[np.bool_]:
        """True where a deal has no amount."""
        if self._amount_missing is None:
            return readonly(np.zeros(len(self), dtype=bool))
        return self._amount_missing

    @property
    def amount(self) -> npt.NDArray[np.float64]:
        """Amounts [major units as float64], NaN where missing."""
        values = self._amount / self.minor_unit
        if self._amount_missing is not None:
            values[self._amount_missing] = np.nan
        return readonly(values)

    @property
    def stage_codes(self) -> IntArray:
        """Current stage of each deal, as an index into `stages`."""
        return self._stage

    @property
    def has_missing_amounts(self) -> bool:
        """True if some deal has no amount."""
        return self._amount_missing is not None

    @property
    def amounts_below_2_53(self) -> bool:
        """True if the total of all amounts [minor units] is below 2**53, so that every partial
        sum is exact in float64 (the bincount kernels rely on it)."""
        return self._cached("bounded", lambda: float(self._amount.sum(dtype=np.float64)) < 2.0**52)

    @property
    def outcome_codes(self) -> npt.NDArray[np.intp]:
        """Outcome of each deal as the int value of `Outcome` (0 open, 1 won…)."""
        return self._cached(
            "outcome", lambda: readonly(process_facts(self._stages).outcomes[self._stage])
        )

    @property
    def created(self) -> DateArray:
        """Created dates [datetime64[D]], NaT where missing."""
        return self._created

    @property
    def close_date(self) -> DateArray:
        """Expected (open deals) or actual (closed deals) close dates [datetime64[D]]."""
        return self._close

    @property
    def latest_date(self) -> np.datetime64:
        """The latest date on record [datetime64[D]], NaT if the pipeline has none.

        The latest of the created dates, the close dates of closed deals (an open deal's close
        date is only expected) and the stage-history dates. It is the one default for ``as_of``
        wherever a metric takes one, so that no result depends on the clock.
        """
        def compute() -> np.datetime64:
            closed = self.outcome_codes != Outcome.OPEN
            parts = [self._created, self._close[closed]]
            if self._history is not None:
                parts.append(self._history.dates)
            days = np.concatenate(parts)
            days = days[~np.isnat(days)]
            return days.max() if len(days) else np.datetime64("NaT", "D")

        return self._cached("latest_date", compute)

    @property
    def probability(self) -> npt.NDArray[np.float64]:
        """Each deal's own probability [fraction], NaN where it uses its stage's."""
        if self._probability is None:
            return readonly(np.full(len(self), np.nan))
        return self._probability

    @property
    def has_probability_overrides(self) -> bool:
        """True if some deal has its own probability."""
        return self._probability is not None

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the label fields that metrics can group by (``by=``), besides ``"stage"``."""
        return tuple(self._labels)

    def labels(self, name: str) -> Labels:
        """The label field ``name`` as codes and categories (``"stage"`` included)."""
        if name == "stage":
            categories = np.empty(len(self._stages), dtype=object)
            categories[:] = self.stage_names
            return Labels(self._stage, readonly(categories))
        try:
            return self._labels[name]
        except KeyError:
            valid = ("stage", *self._labels)
            raise DataError(f"unknown field {name!r}; valid fields are {choices(valid)}") from None

    def codes(self, name: str) -> IntArray:
        """Integer codes of the label field ``name`` (index into `categories`)."""
        return self.labels(name).codes

    def categories(self, name: str) -> npt.NDArray[Any]:
        """The distinct labels of field ``name``; None stands for a missing label."""
        return self.labels(name).categories

    @property
    def history(self) -> StageHistory | None:
        """The stage history, or None if the pipeline has none."""
        return self._history

    def reached_mask(self) -> npt.NDArray[np.uint32]:
        """Bit ``k`` is set where the deal's history or current stage shows it entered open stage
        ``k`` (closed stages have no bit: a deal's outcome says how it ended).

        Built once per pipeline in one vectorized pass (``bitwise_or.reduceat`` over the history,
        which is grouped by deal; split across threads for long histories) and cached.
        """
        def compute() -> npt.NDArray[np.uint32]:
            n_open = self.n_open_stages
            bit_of_stage = np.zeros(len(self._stages), dtype=np.uint32)
            bit_of_stage[:n_open] = np.left_shift(1, np.arange(n_open)).astype(np.uint32)
            masks = bit_of_stage[self._stage]
            events = self._history
            if events is not None and len(events):
                _or_history_bits(masks, events, bit_of_stage)
            return readonly(masks)

        return self._cached("reached", compute)

    # -- views ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    def filter(self, mask: npt.ArrayLike) -> Pipeline:
        """The deals where the boolean ``mask`` is True, as a new pipeline (history included)."""
        keep = np.asarray(mask)
        if keep.dtype != bool or keep.shape != (len(self),):
            raise DataTypeError(
                f"Pipeline.filter(): mask must be a bool array of length {len(self)}, got "
                f"{keep.dtype} of shape {keep.shape}"
            )
        return self._take(keep)

    def _take(self, keep: npt.NDArray[np.bool_]) -> Pipeline:
        rows = np.flatnonzero(keep)
        return Pipeline(
            stages=self._stages,
            ids=readonly(self._ids[rows]),
            amount_minor=readonly(self._amount[rows]),
            amount_missing=None if self._amount_missing is None
            else readonly(self._amount_missing[rows]),
            stage_codes=readonly(self._stage[rows]),
            created=readonly(self._created[rows]),
            close_date=readonly(self._close[rows]),
            probability=None if self._probability is None else readonly(self._probability[rows]),
            labels={name: labels.take(rows) for name, labels in self._labels.items()},
            currency=self._currency,
            history=None if self._history is None else self._history.take(keep),
        )

    def _cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``key`` (a per-pipeline fact such as the outcomes).

        Safe under threads by construction: every change to the cache, and every walk over it
        (`_row_range`), holds the cache lock; ``compute`` runs outside it, so at worst two threads
        compute the same value and the first one stored is the one every caller gets.
        """
        found: T | None = self._cache.get(key)
        if found is not None:
            return found
        value = compute()
        with _CACHE_LOCK:
            kept: T = self._cache.setdefault(key, value)
        return kept

    def _memo(
        self, key: Hashable, compute: Callable[[], T], keep: Callable[[T], bool] | None = None
    ) -> T:
        """``compute()``, remembered under ``key`` for this (immutable) pipeline.

        Keeps the 32 most recent results for which ``keep`` (if given) is true. Safe under
        threads: the memo changes only under the cache lock; at worst two threads compute the
        same value and one is kept.
        """
        memo: dict[Hashable, Any] = self._cached("memo", dict)
        found = memo.get(key, _ABSENT)
        if found is not _ABSENT:
            result: T = found
            return result
        value = compute()
        if keep is not None and not keep(value):
            return value
        with _CACHE_LOCK:
            while len(memo) >= 32:
                del memo[next(iter(memo))]
            memo[key] = value
        return value

    def _row_range(self, start: int, stop: int) -> Pipeline:
        """Rows ``[start, stop)`` as a pipeline of views (no copy), for chunked kernels.

        It shares the caches already computed (outcomes, reached stages, process facts) but not
        the history table itself.
        """
        part = Pipeline(
            stages=self._stages,
            ids=self._ids[start:stop],
            amount_minor=self._amount[start:stop],
            amount_missing=None if self._amount_missing is None
            else self._amount_missing[start:stop],
            stage_codes=self._stage[start:stop],
            created=self._created[start:stop],
            close_date=self._close[start:stop],
            probability=None if self._probability is None else self._probability[start:stop],
            labels={},
            currency=self._currency,
            history=None,
        )
        with _CACHE_LOCK:  # a snapshot: other threads may be filling the cache
            cached = list(self._cache.items())
        for key, value in cached:
            if isinstance(value, np.ndarray):  # per-row caches only; results are not shared
                part._cache[key] = value[start:stop]
            elif key != "memo":
                part._cache[key] = value
        return part

    def _with_outcome(self, *outcomes: Outcome) -> Pipeline:
        codes = self.outcome_codes
        keep = codes == outcomes[0]
        for outcome in outcomes[1:]:
            keep |= codes == outcome
        return self._take(keep)

    @property
    def open(self) -> Pipeline:
        """The open deals."""
        return self._with_outcome(Outcome.OPEN)

    @property
    def won(self) -> Pipeline:
        """The won deals."""
        return self._with_outcome(Outcome.WON)

    @property
    def lost(self) -> Pipeline:
        """The lost deals (not the no-decision ones)."""
        return self._with_outcome(Outcome.LOST)

    @property
    def no_decision(self) -> Pipeline:
        """The deals closed without a decision."""
        return self._with_outcome(Outcome.NO_DECISION)

    @property
    def closed(self) -> Pipeline:
        """The closed deals: won, lost and no decision."""
        return self._with_outcome(Outcome.WON, Outcome.LOST, Outcome.NO_DECISION)

    def closing_in(self, period: PeriodLike) -> Pipeline:
        """Deals whose close date (expected or actual) falls in ``period``."""
        return self._take(as_period(period).contains(self._close))

    def created_in(self, period: PeriodLike) -> Pipeline:
        """Deals created in ``period``."""
        return self._take(as_period(period).contains(self._created))

    def deal(self, id: str | int) -> Deal:
        """The deal with id ``id``."""
        rows = np.flatnonzero(self._ids == id)
        if len(rows) == 0:
            raise KeyError(f"no deal with id {id!r}")
        return self._deal(int(rows[0]))

    def _deal(self, row: int) -> Deal:
        def day(values: DateArray) -> dt.date | None:
            return None if np.isnat(values[row]) else values[row].item()

        missing = self._amount_missing is not None and bool(self._amount_missing[row])
        prob = None if self._probability is None else float(self._probability[row])
        history: list[tuple[str, dt.date]] = []
        if self._history is not None:
            lo, hi = np.searchsorted(self._history.rows, [row, row + 1])
            history = [
                (self._stages[s].name, d.item())
                for s, d in zip(
                    self._history.stages[lo:hi], self._history.dates[lo:hi], strict=True
                )
            ]
        fields = {
            name: labels.categories[labels.codes[row]]
            for name, labels in self._labels.items()
            if name != "owner"
        }
        owner = self._labels["owner"] if "owner" in self._labels else None
        return Deal(
            id=self._ids[row].item(),
            amount=None if missing else int(self._amount[row]) / self.minor_unit,
            stage=self._stages[self._stage[row]].name,
            created=day(self._created),
            close_date=day(self._close),
            owner=None if owner is None else owner.categories[owner.codes[row]],
            probability=None if prob is None or np.isnan(prob) else prob,
            currency=self._currency,
            fields=fields,
            history=history,
        )

    def __iter__(self) -> Iterator[Deal]:
        for row in range(len(self)):
            yield self._deal(row)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """The deals as a dict of numpy columns that `from_columns` reads back.

        The stage history comes separately from `history_columns`.

        >>> from salesmetrics.datasets import sample_pipeline
        >>> p = sample_pipeline()
        >>> cols = p.to_columns()
        >>> q = Pipeline.from_columns(cols, p.stages, columns={k: k for k in cols},
        ...                           history=p.history_columns())
        >>> q == p
        True
        """
        out: dict[str, npt.NDArray[Any]] = {
            "id": self._ids,
            "amount": self.amount,
            "stage": np.array(self.stage_names, dtype=object)[self._stage],
            "created": self._created,
            "close_date": self._close,
        }
        if self._probability is not None:
            out["probability"] = self._probability
        for name, labels in self._labels.items():
            out[name] = labels.decoded()
        if self._currency is not None:
            out["currency"] = np.full(len(self), self._currency, dtype=object)
        return out

    def history_columns(self) -> dict[str, npt.NDArray[Any]] | None:
        """The stage history as columns ``id``, ``stage``, ``date`` (None without history)."""
        if self._history is None:
            return None
        names = np.array(self.stage_names, dtype=object)
        return {
            "id": self._ids[self._history.rows],
            "stage": names[self._history.stages],
            "date": self._history.dates,
        }

    def to_pandas(self) -> Any:
        """The deals as a pandas DataFrame (needs ``salesmetrics[pandas]``); label fields are
        categoricals."""
        import pandas as pd

        frame = pd.DataFrame(self.to_columns())
        for name in (*self._labels, "stage"):
            frame[name] = frame[name].astype("category")
        return frame

    def to_polars(self) -> Any:
        """The deals as a polars DataFrame (needs ``salesmetrics[polars]``)."""
        import polars as pl

        columns = self.to_columns()
        return pl.DataFrame({k: (v.tolist() if v.dtype == object else v)
                             for k, v in columns.items()})

    def to_arrow(self) -> Any:
        """The deals as a pyarrow Table (needs ``salesmetrics[arrow]``); label fields are
        dictionary-encoded."""
        import pyarrow as pa

        arrays = {}
        for name, values in self.to_columns().items():
            array = pa.array(values.tolist() if values.dtype == object else values)
            if name in self._labels or name == "stage":
                array = array.dictionary_encode()
            arrays[name] = array
        return pa.table(arrays)

    # -- comparison and display -----------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pipeline):
            return NotImplemented
        if (
            self._stages != other._stages
            or self._currency != other._currency
            or len(self) != len(other)
            or self.fields != other.fields
            or self._history != other._history
        ):
            return False
        return (
            np.array_equal(self._ids, other._ids)
            and np.array_equal(self._amount, other._amount)
            and np.array_equal(self.amount_missing, other.amount_missing)
            and np.array_equal(self._stage, other._stage)
            and np.array_equal(self._created, other._created, equal_nan=True)
            and np.array_equal(self._close, other._close, equal_nan=True)
            and np.array_equal(self.probability, other.probability, equal_nan=True)
            and all(
                np.array_equal(self._labels[f].decoded(), other._labels[f].decoded())
                for f in self._labels
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def _counts(self) -> dict[Outcome, int]:
        counts = np.bincount(self.outcome_codes, minlength=4)
        return {outcome: int(counts[outcome]) for outcome in Outcome}

    def __repr__(self) -> str:
        c = self._counts()
        parts = [
            f"{len(self):,} deal{'s' if len(self) != 1 else ''}: {c[Outcome.OPEN]:,} open, "
            f"{c[Outcome.WON]:,} won, {c[Outcome.LOST]:,} lost, "
            f"{c[Outcome.NO_DECISION]:,} no decision"
        ]
        if self._currency:
            parts.append(self._currency)
        if self._labels:
            parts.append("fields: " + ", ".join(self._labels))
        if self._history is not None:
            events = len(self._history)
            parts.append(f"history: {events:,} event{'s' if events != 1 else ''}")
        return f"Pipeline({'; '.join(parts)})"

    def _repr_html_(self) -> str:
        import html

        open_codes = self._stage[self.outcome_codes == Outcome.OPEN]
        counts = np.bincount(self._stage, minlength=len(self._stages))
        sums = np.bincount(self._stage, weights=self._amount, minlength=len(self._stages))
        rows = "".join(
            f"<tr><td>{html.escape(s.name)}</td><td>{s.probability:.0%}</td>"
            f"<td>{s.outcome.name.lower().replace('_', ' ')}</td><td>{counts[i]:,}</td>"
            f"<td>{sums[i] / self.minor_unit:,.2f}</td></tr>"
            for i, s in enumerate(self._stages)
        )
        money = html.escape(self._currency or "amount")
        return (
            f"<div><b>Pipeline</b>: {len(self):,} deals, {len(open_codes):,} open"
            f"{'; fields: ' + html.escape(', '.join(self._labels)) if self._labels else ''}"
            "<table><thead><tr><th>stage</th><th>probability</th><th>outcome</th><th>deals</th>"
            f"<th>{money}</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )


def _or_history_bits(
    masks: npt.NDArray[np.uint32], events: StageHistory, bit_of_stage: npt.NDArray[np.uint32]
) -> None:
    """``masks[deal] |= OR of the bits of the stages in the deal's events``, in place."""
    from salesmetrics import _kernels

    rows = events.rows
    new_deal = np.empty(len(rows), dtype=bool)
    new_deal[0] = True
    np.not_equal(rows[1:], rows[:-1], out=new_deal[1:])
    starts = np.flatnonzero(new_deal)
    bounds = _kernels.chunk_bounds(len(starts), 8 * _kernels.CHUNK_ROWS)
    if len(bounds) == 1:
        masks[rows[starts]] |= np.bitwise_or.reduceat(bit_of_stage.take(events.stages), starts)
        return

    def one(bound: tuple[int, int]) -> None:  # deals bound[0]..bound[1]: disjoint rows of masks
        lo, hi = bound
        first = int(starts[lo])
        last = int(starts[hi]) if hi < len(starts) else len(rows)
        bits = bit_of_stage.take(events.stages[first:last])
        masks[rows[starts[lo:hi]]] |= np.bitwise_or.reduceat(bits, starts[lo:hi] - first)

    _kernels.parallel_map(one, bounds)


# -- construction helpers ----------------------------------------------------------------------
def _resolve_columns(data: Any, columns: Mapping[str, str] | None) -> dict[str, str]:
    """Deal attribute or field → column of ``data``; checks the keys of ``columns`` for typos."""
    available = _column_names(data)
    if columns is not None and not isinstance(columns, Mapping):
        raise DataTypeError(
            f"columns must be a mapping of attribute to column name, got {columns!r}"
        )
    given = dict(columns or {})
    for key, source in given.items():
        if not isinstance(key, str) or not isinstance(source, str):
            raise DataTypeError(
                f"columns: keys and column names must be str, got {key!r}: {source!r}"
            )
    mapping: dict[str, str] = {}
    for attribute in DEAL_ATTRIBUTES:
        source = given.pop(attribute, attribute)
        if source in available:
            mapping[attribute] = source
        elif attribute in (columns or {}) or attribute in ("id", "stage"):
            raise DataError(
                f"column {source!r} (for {attribute!r}) is not in the data; columns are "
                f"{choices(sorted(available))}"
            )
    doubts: list[str] = []
    for field, source in given.items():
        if field.lower() in DEAL_ATTRIBUTES:
            raise DataError(
                f"columns: key {field!r} is not a Deal attribute; did you mean "
                f"{field.lower()!r}? Deal attributes are lower case: {choices(DEAL_ATTRIBUTES)}"
            )
        if source not in available:
            raise DataError(
                f"column {source!r} (for field {field!r}) is not in the data; columns are "
                f"{choices(sorted(available))}"
            )
        mapping[field] = source
        near = [a for a in _TYPO_TARGETS if _one_edit(field.lower(), a)]
        if near and field.lower() not in _REAL_WORDS:
            doubts.append(
                f"key {field!r} is not a Deal attribute, so it loads as a label field named "
                f"{field!r}; did you mean {near[0]!r}? (If {field!r} is a field of its own, "
                "this warning can be ignored.)"
            )
    used = set(mapping.values())
    for name in available:
        attribute = name.lower()
        if attribute != name and attribute in DEAL_ATTRIBUTES and attribute not in mapping \
                and name not in used:
            doubts.append(
                f"column {name!r} is ignored: it looks like the Deal attribute {attribute!r}, "
                f"which is not mapped; pass columns={{{attribute!r}: {name!r}}} to use it"
            )
    if doubts:
        warnings.warn("columns: " + "; ".join(doubts), DataQualityWarning, stacklevel=3)
    return mapping


def _one_edit(a: str, b: str) -> bool:
    """True if ``a`` becomes ``b`` by one insertion, deletion, substitution or swap of two
    adjacent letters (and ``a != b``)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]


def _column_names(data: Any, what: str = "data") -> list[str]:
    """The column names of a mapping or data frame; `DataTypeError` for anything that is not
    one (a Series, a polars LazyFrame, a list…), non-str names, and `DataError` for a name that
    occurs twice (pandas allows it)."""
    kind, module = type(data).__name__, type(data).__module__.split(".")[0]
    if kind == "LazyFrame":
        raise DataTypeError(
            f"{what} is a polars LazyFrame; call .collect() and pass the DataFrame"
        )
    if kind in ("Series", "Array", "ChunkedArray") or isinstance(data, np.ndarray):
        raise DataTypeError(
            f"{what} is a {module} {kind} (one column); pass a DataFrame (e.g. series.to_frame()) "
            "or a dict of column name to values"
        )
    names = getattr(data, "column_names", None)  # pyarrow
    if names is None:
        names = getattr(data, "columns", None)  # pandas, polars
    if names is None and isinstance(data, Mapping):
        names = list(data.keys())
    if names is None or not hasattr(data, "__getitem__"):
        raise DataTypeError(
            f"{what} must be a mapping of column name to values or a data frame, got "
            f"{type(data)!r}"
        )
    names = list(names)
    for name in names:
        if not isinstance(name, str):
            raise DataTypeError(
                f"{what}: column names must be str, got {name!r} ({type(name).__name__}); rename "
                "the columns, e.g. frame.columns = frame.columns.astype(str)"
            )
    if len(set(names)) != len(names):
        twice = sorted(n for n, count in Counter(names).items() if count > 1)
        raise DataError(
            f"{what}: column {', '.join(map(repr, twice))} occurs more than once; column names "
            "must be unique (rename or drop the duplicates)"
        )
    return [str(n) for n in names]


def _resolve_stage_entered(
    data: Any, stage_entered: Mapping[str, str] | None, stages: tuple[Stage, ...]
) -> dict[str, str]:
    """The ``stage_entered`` mapping, checked: every key a stage, every value a column."""
    if stage_entered is None:
        return {}
    if not isinstance(stage_entered, Mapping):
        raise DataTypeError(
            f"stage_entered must be a mapping of stage name to date column, got {stage_entered!r}"
        )
    names = [s.name for s in stages]
    unknown = [k for k in stage_entered if k not in names]
    if unknown:
        raise UnknownStageError(
            f"stage_entered: {', '.join(map(repr, unknown))} "
            f"{'is not a stage' if len(unknown) == 1 else 'are not stages'} of the process; "
            f"valid stages are {choices(names)}"
        )
    available = _column_names(data)
    missing = [(stage, col) for stage, col in stage_entered.items() if col not in available]
    if missing:
        listed = ", ".join(f"column {col!r} (for stage {stage!r})" for stage, col in missing)
        raise DataError(
            f"stage_entered: {listed} {'is' if len(missing) == 1 else 'are'} not in the data; "
            f"columns are {choices(sorted(available))}"
        )
    return dict(stage_entered)


Events = tuple[IntArray, IntArray, DateArray]


def _wide_history(
    data: Any, wide: Mapping[str, str], stages: tuple[Stage, ...], ids: npt.NDArray[Any],
    zone: dt.tzinfo | None, formats: Formats,
) -> Events:
    """Events from one date column per stage: deal ``row`` entered the stage on that date
    (no event where the date is missing). Sorted by row, date, then stage."""
    index = {s.name: i for i, s in enumerate(stages)}
    rows, codes, days = [], [], []
    for stage, column in wide.items():
        entered = to_date_array(
            data[column], field=column, ids=ids, timezone=zone, formats=formats
        )
        have = np.flatnonzero(~np.isnat(entered))
        rows.append(have.astype(np.intp, copy=False))
        codes.append(np.full(len(have), index[stage], dtype=np.intp))
        days.append(entered[have])
    all_rows, all_codes = np.concatenate(rows), np.concatenate(codes)
    all_days = np.concatenate(days).astype("datetime64[D]", copy=False)
    order = np.lexsort((all_codes, all_days, all_rows))
    return all_rows[order], all_codes[order], all_days[order]


def _merge_events(first: Events, second: Events) -> Events:
    """Two event lists as one, sorted by row, date and stage, without repeated events."""
    rows, codes, days = (np.concatenate([a, b]) for a, b in zip(first, second, strict=True))
    order = np.lexsort((codes, days, rows))
    rows, codes, days = rows[order], codes[order], days[order]
    if len(rows) > 1:
        keep = np.ones(len(rows), dtype=bool)
        keep[1:] = (rows[1:] != rows[:-1]) | (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])
        rows, codes, days = rows[keep], codes[keep], days[keep]
    return rows, codes, days


def _arrays(table: Any) -> list[npt.NDArray[Any]]:
    """The numpy arrays among the columns of a mapping (the caller's memory)."""
    if not isinstance(table, Mapping):
        return []
    return [v for v in table.values() if isinstance(v, np.ndarray)]


_DATA_ROW = re.compile(r"row (\d+) of the data")


def _with_lines(error: SalesMetricsError, lines: Sequence[int], name: str) -> SalesMetricsError:
    """``error`` with ", line N of <name>" after each "row R of the data" of its message."""
    message = str(error)

    def line(match: re.Match[str]) -> str:
        row = int(match.group(1))
        if row >= len(lines):
            return match.group(0)
        return f"{match.group(0)}, line {lines[row]} of {name}"

    located = _DATA_ROW.sub(line, message)
    if located == message:
        return error
    try:
        return type(error)(located)
    except Exception:
        return error


def _ids(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if arr.dtype.kind == "f":  # integer ids read as floats (a frame column with a gap)
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            what = ("is missing" if np.isnan(arr[row])
                    else f"must be a str or int, got {float(arr[row])!r}")
            error = DataError if np.isnan(arr[row]) else DataTypeError
            raise error(f"{where(None, row)}id {what}")
        return arr.astype(np.int64)
    if arr.dtype.kind in "iuU":
        if arr.dtype.kind == "U" and (np.char.str_len(arr) == 0).any():
            row = int(np.flatnonzero(np.char.str_len(arr) == 0)[0])
            raise DataError(f"{where(None, row)}id is missing")
        return arr
    values = arr.tolist()
    for row, value in enumerate(values):
        if value is None or value == "" or (isinstance(value, float) and value != value):
            raise DataError(f"{where(None, row)}id is missing")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DataTypeError(f"{where(None, row)}id must be a str or int, got {value!r}")
    if all(isinstance(v, int) for v in values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray([str(v) for v in values], dtype=str)


def _check_unique(ids: npt.NDArray[Any]) -> None:
    if len(ids) < 2:
        return
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    dup = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(dup):
        first, second = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
        raise DuplicateDealError(
            f"deal {ids[first].item()!r} occurs twice, in row {first} of the data and in row "
            f"{second} of the data; deal ids must be unique"
        )


def _stage_codes(col: object, stages: tuple[Stage, ...], ids: npt.NDArray[Any]) -> IntArray:
    """Each deal's stage as an index into ``stages``; `UnknownStageError` listing every value
    that is not a stage (with how many deals have it and the first of them)."""
    labels = encode_labels(col, field="stage")
    index = {s.name: i for i, s in enumerate(stages)}
    categories = labels.categories.tolist()
    lookup = np.zeros(len(categories), dtype=np.intp)
    unknown = []
    for k, name in enumerate(categories):
        code = index.get(name) if isinstance(name, str) else None
        if code is None:
            unknown.append(k)
        else:
            lookup[k] = code
    if unknown:
        counts = np.bincount(labels.codes, minlength=len(categories))
        unknown = [k for k in unknown if counts[k]]
    if unknown:
        present, first_rows = np.unique(labels.codes, return_index=True)
        first = dict(zip(present.tolist(), first_rows.tolist(), strict=True))
        unknown.sort(key=lambda k: first[k])

        def what(k: int) -> str:
            name = categories[k]
            return "is missing" if name is None else f"{name!r} is not a stage of the process"

        valid = f"valid stages are {choices(index)}"
        if len(unknown) == 1:
            k = unknown[0]
            row = first[k]
            many = f" (in {counts[k]:,} deals; this is the first)" if counts[k] > 1 else ""
            raise UnknownStageError(f"{where(ids[row].item(), row)}stage {what(k)}{many}; {valid}")
        listed = []
        for k in unknown:
            name, row, count = categories[k], first[k], int(counts[k])
            value = "missing" if name is None else repr(name)
            deals = f"{count:,} deal{'s' if count != 1 else ''}"
            listed.append(f"{value} in {deals} (first: {where(ids[row].item(), row)[:-2]})")
        raise UnknownStageError(
            f"stage: {len(unknown)} values are not stages of the process: {', '.join(listed)}; "
            f"{valid}"
        )
    return lookup[labels.codes]


def _currency(data: Any, mapping: Mapping[str, str], currency: str | None) -> str | None:
    code = normalize_currency(currency)
    if "currency" not in mapping:
        return code
    labels = encode_labels(data[mapping["currency"]], field="currency")
    codes = {normalize_currency(c) for c in labels.categories.tolist()} | {code}
    found = sorted(c for c in codes if c is not None)
    if len(found) > 1:
        raise CurrencyError(
            f"deals are in several currencies ({', '.join(found)}); convert them to one currency "
            "before building a Pipeline"
        )
    return found[0] if found else None


def _history(
    history: Any,
    history_columns: Mapping[str, str] | None,
    stages: tuple[Stage, ...],
    ids: npt.NDArray[Any],
    zone: dt.tzinfo | None,
    formats: Formats,
) -> Events:
    """The events of a long stage history (one row per stage entered), sorted by row and date.

    Rows in its error messages count over the history (``row 3 of the history``)."""
    try:
        return _history_events(history, history_columns, stages, ids, zone, formats)
    except SalesMetricsError as error:
        message = str(error)
        if " of the data" not in message:
            raise
        try:
            relabelled = type(error)(message.replace(" of the data", " of the history"))
        except Exception:
            raise error from None
        raise relabelled from None


def _history_events(
    history: Any,
    history_columns: Mapping[str, str] | None,
    stages: tuple[Stage, ...],
    ids: npt.NDArray[Any],
    zone: dt.tzinfo | None,
    formats: Formats,
) -> Events:
    names = {k: k for k in _HISTORY_COLUMNS} | dict(history_columns or {})
    available = _column_names(history, "history")
    for key in _HISTORY_COLUMNS:
        if names[key] not in available:
            raise DataError(
                f"history: column {names[key]!r} (for {key!r}) is missing; columns are "
                f"{choices(sorted(available))}"
            )
    column_length(history, [names[k] for k in _HISTORY_COLUMNS])
    event_ids = _ids(to_numpy(history[names["id"]]))
    if event_ids.dtype.kind != ids.dtype.kind:
        event_ids = event_ids.astype(ids.dtype) if ids.dtype.kind == "U" else event_ids
    rows = _rows_of_ids(ids, event_ids)
    codes = _stage_codes(history[names["stage"]], stages, event_ids)
    dates = to_date_array(
        history[names["date"]], field="history date", ids=event_ids, timezone=zone,
        formats=formats,
    )
    if np.isnat(dates).any():
        row = int(np.flatnonzero(np.isnat(dates))[0])
        raise DataError(f"{where(event_ids[row].item(), row)}history date is missing")
    if len(rows) > 1:
        step = rows[1:] - rows[:-1]
        in_order = (step > 0) | ((step == 0) & (dates[1:] >= dates[:-1]))
        if not in_order.all():  # exports are often already grouped by deal and dated in order
            sort = np.lexsort((dates, rows))
            rows, codes, dates = rows[sort], codes[sort], dates[sort]
    return rows, codes, dates


def _rows_of_ids(ids: npt.NDArray[Any], wanted: npt.NDArray[Any]) -> IntArray:
    """Row position of each of ``wanted`` in ``ids`` (unique); `DataError` if absent.

    Dense integer ids use a lookup table (one pass); others a sort and a binary search.
    """
    if ids.dtype.kind in "iu" and wanted.dtype.kind in "iu" and len(ids):
        low, high = int(ids.min()), int(ids.max())
        if high - low <= 4 * len(ids) + 1024:
            table = np.full(high - low + 1, -1, dtype=np.intp)
            table[ids - low] = np.arange(len(ids))
            offset = wanted.astype(np.int64) - low
            inside = (offset >= 0) & (offset <= high - low)
            rows = np.where(inside, table[np.where(inside, offset, 0)], -1)
            _check_found(rows >= 0, wanted)
            return rows
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], wanted)
    pos = np.minimum(pos, max(len(ids) - 1, 0))
    found = (ids[order][pos] == wanted) if len(ids) else np.zeros(len(wanted), bool)
    _check_found(np.asarray(found), wanted)
    return order[pos]


def _check_found(found: npt.NDArray[np.bool_], wanted: npt.NDArray[Any]) -> None:
    if not found.all():
        row = int(np.flatnonzero(~found)[0])
        raise DataError(f"history row {row}: deal {wanted[row].item()!r} is not in the pipeline")
