"""Stages of a sales process and the outcome of a deal."""

from __future__ import annotations

import enum
import functools
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics.domain.columns import code_type, encode_labels
from salesmetrics.errors import (
    DataError,
    DataQualityWarning,
    DataTypeError,
    UnknownStageError,
    choices,
    where,
)

__all__ = [
    "DEFAULT_STAGES", "FORECAST_CATEGORIES", "LOST", "NO_DECISION", "OPEN", "WON", "Outcome",
    "ProcessFacts", "Stage", "forecast_category_labels", "forecast_category_name",
    "process_facts", "stage_codes", "validate_stages",
]


class Outcome(enum.IntEnum):
    """Where a deal stands: still open, or closed as won, lost or without a decision.

    ``NO_DECISION`` is a closed deal that ended without the buyer choosing anyone (the project was
    shelved, the budget went away). Some practices count it as a loss, others leave it out of win
    rates: see the ``no_decision`` option of `win_rate`.
    """

    OPEN = 0
    WON = 1
    LOST = 2
    NO_DECISION = 3

    def __repr__(self) -> str:
        return f"Outcome.{self.name}"


#: The outcome codes as plain ints, for array code on hot paths (an Enum attribute lookup costs
#: a Python call each time).
OPEN, WON, LOST, NO_DECISION = 0, 1, 2, 3


#: The forecast categories, as Salesforce names them (``ForecastCategoryName``), from the least
#: to the most certain; ``Omitted`` is left out of every forecast.
FORECAST_CATEGORIES: tuple[str, ...] = ("Pipeline", "Best Case", "Commit", "Closed", "Omitted")
_CATEGORY_KEYS = {name.lower().replace(" ", ""): name for name in FORECAST_CATEGORIES}


def forecast_category_name(value: object, renames: Mapping[str, str] | None = None) -> str | None:
    """The Salesforce name (one of `FORECAST_CATEGORIES`) of a forecast-category label, or None
    if it is not one.

    ``renames`` maps a CRM's own values to Salesforce names first (``{"OMIT": "Omitted"}``);
    then case, spaces, underscores and hyphens are ignored, so ``"BEST_CASE"``, ``"BestCase"``
    and ``"best case"`` are all ``"Best Case"``.

    >>> forecast_category_name("BEST_CASE"), forecast_category_name("Most likely")
    ('Best Case', None)
    >>> forecast_category_name("Most likely", {"Most likely": "Best Case"})
    'Best Case'
    """
    if renames is not None and isinstance(value, str) and value in renames:
        value = renames[value]
    if not isinstance(value, str):
        return None
    return _CATEGORY_KEYS.get(re.sub(r"[\s_-]+", "", value).lower())


def forecast_category_labels(
    values: object, renames: Mapping[str, str] | None = None
) -> npt.NDArray[Any]:
    """A column of forecast-category labels with each recognized value as its Salesforce name
    (see `forecast_category_name`), one lookup per distinct value; other values are kept as
    they are, missing ones are None. CRM adapters read their category fields with it.

    >>> forecast_category_labels(["COMMIT", "OMIT", None], {"OMIT": "Omitted"}).tolist()
    ['Commit', 'Omitted', None]
    """
    labels = encode_labels(values, field="forecast_category")
    names = np.array([forecast_category_name(c, renames) or c
                      for c in labels.categories.tolist()] + [None], dtype=object)[:-1]
    return names[labels.codes]


def _to_forecast_category(value: object) -> object:
    return value if value is None else (forecast_category_name(value) or value)


def _check_forecast_category(
    instance: Stage, attribute: attrs.Attribute[str | None], value: object
) -> None:
    if value is not None and value not in FORECAST_CATEGORIES:
        raise DataError(
            f"stage {instance.name!r}: forecast_category must be None or one of "
            f"{choices(FORECAST_CATEGORIES)}, got {value!r}"
        )


def _default_forecast_category(stage: Stage) -> str | None:
    """Closed for a won stage, Omitted for another closed one (as Salesforce sets them); none
    for an open stage."""
    if stage.outcome is Outcome.WON:
        return "Closed"
    return None if stage.outcome is Outcome.OPEN else "Omitted"


def _check_probability(instance: Stage, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise DataError(
            f"stage {instance.name!r}: probability must be in [0, 1], got {value!r}"
            " (give 0.3 for 30 %)"
        )


def _to_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataTypeError(f"stage probability must be a number, got {value!r}")
    return float(value)


def _to_outcome(value: object) -> Outcome:
    if isinstance(value, Outcome):
        return value
    if isinstance(value, str) and value.upper().replace(" ", "_") in Outcome.__members__:
        return Outcome[value.upper().replace(" ", "_")]
    raise DataTypeError(
        f"stage outcome must be an Outcome or one of 'open', 'won', 'lost', 'no_decision', "
        f"got {value!r}"
    )


def _check_name(instance: Stage, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise DataTypeError(f"stage name must be a non-empty str, got {value!r}")


@attrs.frozen(cache_hash=True)
class Stage:
    """One stage of a sales process.

    Examples
    --------
    >>> Stage("Proposal", 0.6)
    Stage('Proposal', 0.6)
    >>> Stage("Closed won", 1.0, Outcome.WON).is_closed
    True
    >>> Stage("Negotiation", 0.8, forecast_category="Commit").forecast_category
    'Commit'
    >>> Stage("Closed won", 1.0, Outcome.WON).forecast_category
    'Closed'
    """

    #: The stage's name as the CRM shows it, e.g. ``"Proposal"``.
    name: str = attrs.field(validator=_check_name)
    #: Probability to close [fraction in 0..1] that weights open deals in this stage.
    probability: float = attrs.field(converter=_to_float, validator=_check_probability)
    #: ``Outcome.OPEN`` for a funnel stage; ``WON``, ``LOST`` or ``NO_DECISION`` for a closed one.
    outcome: Outcome = attrs.field(default=Outcome.OPEN, converter=_to_outcome)
    #: The forecast category of deals in this stage that have none of their own: one of
    #: `FORECAST_CATEGORIES` (other spellings such as ``"BEST_CASE"`` are converted), or None.
    #: By default Closed for a won stage, Omitted for another closed one, None for an open one.
    forecast_category: str | None = attrs.field(
        default=attrs.Factory(_default_forecast_category, takes_self=True),
        converter=_to_forecast_category, validator=_check_forecast_category,
    )

    @property
    def is_closed(self) -> bool:
        """True if deals in this stage are closed."""
        return self.outcome is not Outcome.OPEN

    def __repr__(self) -> str:
        tail = "" if self.outcome is Outcome.OPEN else f", {self.outcome!r}"
        if self.forecast_category != _default_forecast_category(self):
            tail += f", forecast_category={self.forecast_category!r}"
        return f"Stage({self.name!r}, {self.probability!r}{tail})"


#: The default sales process: five open stages in funnel order, then closed won and closed lost.
DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("Initial contact", 0.0),
    Stage("Discovery", 0.1),
    Stage("Meeting", 0.3),
    Stage("Proposal", 0.6),
    Stage("Negotiation", 0.8),
    Stage("Closed won", 1.0, Outcome.WON),
    Stage("Closed lost", 0.0, Outcome.LOST),
)


class ProcessFacts(NamedTuple):
    """What metrics need to know of a sales process, worked out once per process."""

    #: How many open stages (they come first).
    n_open: int
    #: Names of the open stages, in funnel order.
    open_names: tuple[str, ...]
    #: Name of the first won stage (``"won"`` if there is none).
    won_name: str
    #: Probability of each stage [fraction] (read-only).
    probabilities: npt.NDArray[np.float64]
    #: Outcome code of each stage (read-only).
    outcomes: npt.NDArray[np.intp]
    #: Names of all the stages, in process order.
    names: tuple[str, ...] = ()
    #: The same names as a read-only object array (the categories of the field ``"stage"``).
    name_array: npt.NDArray[np.object_] = np.empty(0, dtype=object)
    #: `outcomes` as int8 (read-only): a deal's outcome code is ``outcomes8[stage code]``.
    outcomes8: npt.NDArray[np.int8] = np.empty(0, dtype=np.int8)


@functools.lru_cache(maxsize=64)
def process_facts(stages: tuple[Stage, ...]) -> ProcessFacts:
    """The `ProcessFacts` of a validated process (cached per process)."""
    open_names = tuple(s.name for s in stages if s.outcome is Outcome.OPEN)
    won = [s.name for s in stages if s.outcome is Outcome.WON]
    probabilities = np.array([s.probability for s in stages])
    outcomes = np.array([int(s.outcome) for s in stages], dtype=np.intp)
    probabilities.flags.writeable = False
    outcomes.flags.writeable = False
    names = tuple(s.name for s in stages)
    name_array = np.empty(len(names), dtype=object)
    name_array[:] = names
    name_array.flags.writeable = False
    outcomes8 = outcomes.astype(np.int8)
    outcomes8.flags.writeable = False
    return ProcessFacts(len(open_names), open_names, won[0] if won else "won", probabilities,
                        outcomes, names, name_array, outcomes8)


def validate_stages(stages: Iterable[Stage] | Sequence[Stage]) -> tuple[Stage, ...]:
    """Check a sales process and return it as a tuple.

    A process is an ordered sequence of `Stage`: open stages in funnel order, then the closed
    ones. Names are unique; several closed stages may share an outcome. A process without a won
    stage in which a stage looks like one (probability 1, or "won" in its name) gets a
    `DataQualityWarning`: no deal of it can ever be won.
    """
    if isinstance(stages, (str, bytes)):
        raise DataTypeError(f"stages must be a sequence of Stage, got {stages!r}")
    result = tuple(stages)
    if not result:
        raise DataError("stages must not be empty")
    for stage in result:
        if not isinstance(stage, Stage):
            raise DataTypeError(f"stages must be a sequence of Stage, got {stage!r}")
    names = [s.name for s in result]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"stages: the name {name!r} occurs twice; stage names must be unique")
        seen.add(name)
    closed_seen = False
    for stage in result:
        if stage.is_closed:
            closed_seen = True
        elif closed_seen:
            raise DataError(
                f"stages: open stage {stage.name!r} comes after a closed stage; list the open "
                "stages in funnel order first, then the closed ones"
            )
    if not any(s.outcome is Outcome.OPEN for s in result):
        raise DataError("stages: a sales process needs at least one open stage")
    if len([s for s in result if not s.is_closed]) > 16:
        raise DataError("stages: at most 16 open stages are supported")
    if not any(s.outcome is Outcome.WON for s in result):
        looks_won = [s for s in result if s.probability == 1.0 or "won" in s.name.lower()]
        if looks_won:
            stage = looks_won[0]
            warnings.warn(
                f"stages: the process has no won stage, so no deal can ever be won (win rates "
                f"and won revenue are 0); stage {stage.name!r} has probability "
                f"{stage.probability!r} but outcome {stage.outcome.name}. If it is where won "
                f"deals go, give it the won outcome: Stage({stage.name!r}, {stage.probability!r}, "
                "Outcome.WON)",
                DataQualityWarning,
                stacklevel=3,
            )
    return result


def stage_codes(
    col: object, stages: tuple[Stage, ...], ids: npt.NDArray[Any]
) -> npt.NDArray[np.signedinteger[Any]]:
    """Each deal's stage as an index into ``stages`` (int8: `columns.code_type`);
    `UnknownStageError` listing every value that is not a stage (with how many deals have it
    and the first of them)."""
    labels = encode_labels(col, field="stage")
    index = {s.name: i for i, s in enumerate(stages)}
    categories = labels.categories.tolist()
    lookup = np.zeros(len(categories), dtype=code_type(len(stages)))  # int8: the codes' type
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
