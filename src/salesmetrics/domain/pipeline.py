"""The Pipeline: a sales process plus its deals, as read-only numpy columns that it owns.

Building one (`Pipeline.from_columns`, `Pipeline.from_deals`) is in ``_ingest``, the stage
history in ``history``, exports (`Pipeline.to_pandas`…) in ``_export``, the pipeline on a past
date (`Pipeline.as_of`) in ``_past``; this module holds the
columns, the views (``open``, ``filter``…), equality and display.

Internal interface for metrics
------------------------------
Metrics (``salesmetrics.metrics``) use these private methods, and nothing else that is private:

- ``p._memo(key, compute, keep=None)``: ``compute()`` remembered for this pipeline under a
  hashable ``key`` (its columns never change, so a result cannot go stale); ``p._recall(key,
  default)`` and ``p._remember(key, value)``, the same memo read and written in two steps (a
  public metric looks its result up before computing it, and stores it after);
- ``p._days(field)``: ``"created"`` or ``"close_date"`` as int32 days since 1970-01-01, the
  smallest int32 where missing (``dates.MISSING_DAY``): the stored columns, read-only;
- ``p.reached_mask()`` (public but low level): the open stages each deal reached, as bits.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._cache import PipelineCache
from salesmetrics.domain._currencies import PipelineCurrencies
from salesmetrics.domain._export import PipelineExports
from salesmetrics.domain._ingest import PipelineConstructors
from salesmetrics.domain._names import DEAL_ATTRIBUTES
from salesmetrics.domain._past import PipelinePast
from salesmetrics.domain.columns import Labels, narrow_codes, readonly
from salesmetrics.domain.dates import MISSING_DAY, dates_of_days, day_numbers
from salesmetrics.domain.history import StageHistory, reached_masks
from salesmetrics.domain.money import minor_exponent
from salesmetrics.domain.period import PeriodLike, as_period
from salesmetrics.domain.stage import Outcome, Stage, process_facts
from salesmetrics.errors import DataError, DataTypeError, choices

__all__ = ["DEAL_ATTRIBUTES", "Pipeline", "StageHistory"]

T = TypeVar("T")
IntArray = npt.NDArray[np.intp]
DateArray = npt.NDArray[np.datetime64]


class Pipeline(PipelineConstructors, PipelineExports, PipelinePast, PipelineCurrencies):
    """A sales process (its stages) and the deals in it, as read-only numpy columns.

    Build one with `from_deals`, `from_columns` or `read_csv`; every constructor
    defaults ``stages`` to `DEFAULT_STAGES`. A pipeline owns its columns (it copies any it
    would share with the caller's data) and every column is a read-only array, so nothing,
    metrics included, can change a pipeline once built.

    Columns (all of length ``len(p)``):

    - ``ids``: deal ids (str or int);
    - ``amount_minor`` [int64 minor units, e.g. cents] with ``amount_missing`` (True where the CRM
      had no amount; such deals count 0 in value totals and are left out of averages);
    - ``stage_codes`` [intp, index into ``stages``] and ``outcome_codes`` [intp, `Outcome`];
    - ``created`` and ``close_date`` [datetime64[D], NaT where missing];
    - ``probability`` [float64 fraction, NaN where the deal has no override];
    - label fields such as ``owner``: ``codes(name)`` and ``categories(name)``;
    - converted with ``rates=``: ``original_amount`` and ``original_currency`` (the label field
      ``currency``), each deal's amount and currency before conversion to `currency`.

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
        "_ids", "_labels", "_original", "_probability", "_process", "_stage", "_stages",
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
        created: DateArray | npt.NDArray[np.int32],
        close_date: DateArray | npt.NDArray[np.int32],
        probability: npt.NDArray[np.float64] | None,
        labels: Mapping[str, Labels],
        currency: str | None,
        history: StageHistory | None,
        original_minor: npt.NDArray[np.int64] | None = None,
    ) -> None:
        """Assemble a pipeline from columns that are already valid (internal; no checks)."""
        self._stages = stages
        self._process = process_facts(stages)  # read by every metric call: kept, not looked up
        self._ids = ids
        self._amount = amount_minor
        self._amount_missing = amount_missing
        self._stage = narrow_codes(stage_codes, len(stages))  # int8 for up to 127 stages
        self._created = _day_column(created)  # int32 day numbers; datetime64 on demand
        self._close = _day_column(close_date)
        self._probability = probability
        self._labels = {  # each field's codes in the smallest type (int16 for 500 owners)
            name: Labels(narrow_codes(lab.codes, len(lab.categories)), lab.categories)
            for name, lab in labels.items()
        }
        self._currency = currency
        self._history = history
        self._original = original_minor  # amounts in their own currency, if converted
        self._cache = PipelineCache()

    def __getstate__(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__ if name != "_process"}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self._process = process_facts(self._stages)  # read-only arrays, shared with the process

    # -- columns --------------------------------------------------------------------------------
    @property
    def stages(self) -> tuple[Stage, ...]:
        """The sales process."""
        return self._stages

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Names of the stages, in process order."""
        return self._process.names

    @property
    def n_open_stages(self) -> int:
        """How many open (funnel) stages the process has; they are the first stages."""
        return self._process.n_open

    @property
    def open_stage_names(self) -> tuple[str, ...]:
        """Names of the open stages, in funnel order."""
        return self._process.open_names

    @property
    def won_stage_name(self) -> str:
        """Name of the first won stage (``"won"`` if the process has none)."""
        return self._process.won_name

    @property
    def stage_probabilities(self) -> npt.NDArray[np.float64]:
        """Each stage's probability to close [fraction], in process order."""
        return self._process.probabilities

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
        """Current stage of each deal, as an index into `stages` (int8: the smallest signed
        integer type that holds every code; cast to ``intp`` before arithmetic on codes)."""
        return self._stage

    @property
    def has_missing_amounts(self) -> bool:
        """True if some deal has no amount."""
        return self._amount_missing is not None

    @property
    def amounts_below_2_53(self) -> bool:
        """True if the total of all amounts [minor units] is surely below 2**53, so that every
        partial sum is exact in float64 (the bincount kernels rely on it).

        The total is summed in float64, which may round it; the test is against 2**52, half the
        limit, so that a rounded total below 2**52 proves the exact one is below 2**53.
        """
        return self._cached("bounded", lambda: float(self._amount.sum(dtype=np.float64)) < 2.0**52)

    @property
    def outcome_codes(self) -> npt.NDArray[np.intp]:
        """Outcome of each deal as the int value of `Outcome` (0 open, 1 won…) [int8]."""
        return self._cached("outcome", lambda: readonly(self._process.outcomes8.take(self._stage)))

    @property
    def created(self) -> DateArray:
        """Created dates [datetime64[D]], NaT where missing."""
        return self._cached("created", lambda: readonly(dates_of_days(self._created)))

    @property
    def close_date(self) -> DateArray:
        """Expected (open deals) or actual (closed deals) close dates [datetime64[D]]."""
        return self._cached("close_date", lambda: readonly(dates_of_days(self._close)))

    def _days(self, field: Literal["created", "close_date"]) -> npt.NDArray[np.int32]:
        """``created`` or ``close_date`` as int32 days since 1970-01-01, ``MISSING_DAY``
        (the smallest int32) where missing: the stored column itself (internal, for kernels)."""
        if field == "created":
            return self._created
        if field == "close_date":
            return self._close
        raise DataError(f"unknown date field {field!r}; valid fields are 'created', 'close_date'")

    @property
    def latest_date(self) -> np.datetime64:
        """The latest date on record [datetime64[D]], NaT if the pipeline has none.

        The latest of the created dates, the close dates of closed deals (an open deal's close
        date is only expected) and the stage-history dates. It is the one default for ``as_of``
        wherever a metric takes one, so that no result depends on the clock.
        """
        def compute() -> np.datetime64:
            closed = self.outcome_codes != Outcome.OPEN
            latest = [int(days.max()) for days in (self._created, self._close[closed])
                      if len(days)]  # a missing day is the smallest int32: never the latest
            if self._history is not None and len(self._history):
                latest.append(int(self._history.dates.max().astype(np.int64)))
            latest = [day for day in latest if day != MISSING_DAY]
            return np.datetime64(max(latest), "D") if latest else np.datetime64("NaT", "D")

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
            return Labels(self._stage, self._process.name_array)
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
            return readonly(
                reached_masks(self._stage, self.n_open_stages, len(self._stages), self._history)
            )

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
        history = None if self._history is None else self._history.take(keep)
        return self._rows(np.flatnonzero(keep), history)

    def _rows(
        self, index: slice | IntArray, history: StageHistory | None,
        stage_codes: IntArray | None = None, close_date: DateArray | None = None,
    ) -> Pipeline:
        """The deals ``index`` selects (a slice gives views, an array of rows copies), with
        their stage ``history`` (and, when given, these stages and close dates instead)."""
        def part(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return readonly(values[index])

        return Pipeline(
            stages=self._stages,
            ids=part(self._ids),
            amount_minor=part(self._amount),
            amount_missing=None if self._amount_missing is None else part(self._amount_missing),
            stage_codes=part(self._stage) if stage_codes is None else readonly(stage_codes),
            created=part(self._created),
            close_date=part(self._close) if close_date is None else readonly(close_date),
            probability=None if self._probability is None else part(self._probability),
            labels={name: Labels(part(labels.codes), labels.categories)
                    for name, labels in self._labels.items()},
            currency=self._currency,
            history=history,
            original_minor=None if self._original is None else part(self._original),
        )

    def _cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``key`` (a fact of this pipeline such as the
        outcomes; see ``_cache``)."""
        found: T | None = self._cache.get(key)  # the common case, without a call
        return found if found is not None else self._cache.fact(key, compute)

    def _memo(
        self, key: Hashable, compute: Callable[[], T], keep: Callable[[T], bool] | None = None
    ) -> T:
        """``compute()``, remembered under ``key`` for this pipeline (whose columns never
        change); keeps the 32 most recent results for which ``keep`` (if given) is true.
        Safe under threads."""
        return self._cache.memo(key, compute, keep)

    def _recall(self, key: Hashable, default: Any) -> Any:
        """The result remembered under ``key`` (see `_memo`), or ``default``: a lookup only,
        which computes nothing and creates no memo."""
        memo: dict[Hashable, Any] | None = self._cache.get("memo")
        return default if memo is None else memo.get(key, default)

    def _remember(self, key: Hashable, value: object) -> None:
        """Remember ``value`` under ``key`` (see `_memo`) unless a result is already there."""
        self._cache.remember(key, value)

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
        return self._take(as_period(period).contains(self.close_date))

    def created_in(self, period: PeriodLike) -> Pipeline:
        """Deals created in ``period``."""
        return self._take(as_period(period).contains(self.created))

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
            and np.array_equal(self.original_amount, other.original_amount, equal_nan=True)
            and np.array_equal(self.amount_missing, other.amount_missing)
            and np.array_equal(self._stage, other._stage)
            and np.array_equal(self._created, other._created)
            and np.array_equal(self._close, other._close)
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


def _day_column(dates: npt.NDArray[Any]) -> npt.NDArray[np.int32]:
    """A date column as stored: read-only int32 day numbers (``MISSING_DAY`` where missing)."""
    if dates.dtype == np.int32:
        return dates
    return readonly(day_numbers(dates))
