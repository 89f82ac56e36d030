"""Sales activities: one `Activity` (an email, a call, a meeting…), and `Activities`, a columnar
table of them built like `Pipeline` (`from_records`, `from_columns`, `read_csv`; the checks and
conversions are in ``_activity_ingest``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from salesmetrics.domain._activity_ingest import ActivityConstructors, canonical_kind
from salesmetrics.domain.columns import Labels, readonly
from salesmetrics.domain.dates import to_date
from salesmetrics.domain.deal import frozen_fields
from salesmetrics.errors import DataError, DataTypeError

__all__ = ["ACTIVITY_KINDS", "Activities", "Activity"]

#: The standard activity kinds, in funnel order; any other non-empty string is a custom kind.
ACTIVITY_KINDS = ("email", "call", "follow_up", "meeting", "proposal")

DateArray = npt.NDArray[np.datetime64]


def _id(value: object, what: str) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataTypeError(f"{what} must be a str or int, got {value!r}")
    if isinstance(value, str) and not value.strip():
        raise DataError(f"{what} is missing (an empty string)")
    return value


def _kind(value: object) -> str:
    if not isinstance(value, str):
        raise DataTypeError(
            f"kind must be a str such as 'call' (standard kinds: {', '.join(ACTIVITY_KINDS)}; "
            f"any other string is a custom kind), got {value!r}"
        )
    if not value.strip():
        raise DataError("kind is missing (an empty string)")
    return canonical_kind(value)


def _owner(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise DataTypeError(f"owner must be a str or None, got {value!r}")
    return value


def _date(value: object) -> dt.date:
    day = to_date(value, field="date")
    if day is None:
        raise DataError("date is missing; every activity needs the day it happened")
    return day


def _deal_id(value: object) -> str | int | None:
    return None if value is None else _id(value, "deal_id")


@attrs.frozen(init=False)
class Activity:
    """One sales activity: an outreach email, a call, a follow-up, a meeting or a proposal sent.

    ``kind`` is one of `ACTIVITY_KINDS` or any other string (a custom kind such as ``"demo"``);
    the standard kinds are read without regard to case, spaces or hyphens (``"Follow-up"`` is
    ``"follow_up"``), as CRMs spell them (Salesforce Task ``Type``, HubSpot engagement types).

    Examples
    --------
    >>> a = Activity("T-1", "Call", "ana", "2024-10-07", deal_id="D-1")
    >>> a.kind, a.date, a.deal_id
    ('call', datetime.date(2024, 10, 7), 'D-1')
    """

    #: The activity's id in the CRM; unique within `Activities`.
    id: str | int
    #: What was done: email, call, follow_up, meeting, proposal, or a custom kind.
    kind: str = attrs.field(converter=_kind)
    #: Who did it (the sales rep), a label to group by; None when unknown.
    owner: str | None = attrs.field(converter=_owner)
    #: The day it happened.
    date: dt.date = attrs.field(converter=_date)
    #: The deal (opportunity) it belongs to, None for prospecting before any deal exists.
    deal_id: str | int | None = attrs.field(default=None, converter=_deal_id)
    #: Extra labels to group by: team, channel, campaign…
    fields: Mapping[str, Any] = attrs.field(
        factory=dict, converter=frozen_fields, hash=False, repr=lambda m: repr(dict(m))
    )

    def __init__(
        self,
        id: str | int,
        kind: str,
        owner: str | None,
        date: object,
        deal_id: str | int | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        """Check and convert each value; an error names the activity and the field."""
        _id(id, "activity id")
        try:
            self.__attrs_init__(id, kind, owner, date, deal_id, fields)
        except (DataError, DataTypeError) as error:
            raise type(error)(f"activity {id!r}: {error}") from None


class Activities(ActivityConstructors):
    """Sales activities as read-only numpy columns that the table owns.

    Build one with `from_records`, `from_columns` or `read_csv`. Columns (all of length
    ``len(a)``):

    - ``ids``: activity ids (str or int);
    - ``dates`` [datetime64[D]], never missing;
    - label fields ``kind``, ``owner`` and ``deal_id`` (None where an activity has no deal), and
      any extra field such as ``team``: ``codes(name)`` [intp] and ``categories(name)``.
      Kind codes follow `ACTIVITY_KINDS` order first, then custom kinds in sorted order.

    Examples
    --------
    >>> from salesmetrics import Activities, Activity
    >>> a = Activities.from_records([
    ...     Activity("T-1", "call", "ana", "2024-10-07", deal_id="D-1"),
    ...     Activity("T-2", "meeting", "ana", "2024-10-09", deal_id="D-1"),
    ...     Activity("T-3", "email", "bo", "2024-10-08"),
    ... ])
    >>> a
    Activities(3 activities: 1 email, 1 call, 1 meeting; 2 owners; 2024-10-07 to 2024-10-09)
    >>> a.categories("kind").tolist(), a.codes("kind").tolist()
    (['email', 'call', 'meeting'], [1, 2, 0])
    """

    __slots__ = ("_dates", "_ids", "_labels")

    def __init__(
        self, *, ids: npt.NDArray[Any], dates: DateArray, labels: Mapping[str, Labels]
    ) -> None:
        """Assemble from columns that are already valid (internal; no checks)."""
        self._ids = ids
        self._dates = dates
        self._labels = dict(labels)

    @property
    def ids(self) -> npt.NDArray[Any]:
        """Activity ids (read-only)."""
        return self._ids

    @property
    def dates(self) -> DateArray:
        """The day of each activity [datetime64[D]] (read-only)."""
        return self._dates

    @property
    def fields(self) -> tuple[str, ...]:
        """The label fields: ``kind``, ``owner``, ``deal_id``, then the extra ones."""
        return tuple(self._labels)

    def labels(self, name: str) -> Labels:
        """The `Labels` (codes and categories) of field ``name``."""
        try:
            return self._labels[name]
        except KeyError:
            raise DataError(
                f"activities have no field {name!r}; fields are "
                f"{', '.join(map(repr, self._labels))}"
            ) from None

    def codes(self, name: str) -> npt.NDArray[np.intp]:
        """Integer codes of field ``name``, one per activity."""
        return self.labels(name).codes

    def categories(self, name: str) -> npt.NDArray[Any]:
        """The labels that the codes of field ``name`` index."""
        return self.labels(name).categories

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kind labels that ``codes("kind")`` index, standard ones first (a filtered table
        keeps its parent's)."""
        return tuple(self.categories("kind").tolist())

    def __len__(self) -> int:
        return len(self._ids)

    def filter(self, mask: npt.ArrayLike) -> Activities:
        """The activities where the boolean ``mask`` is True (a new table; this one unchanged)."""
        keep = np.asarray(mask)
        if keep.dtype != np.bool_ or keep.shape != (len(self),):
            raise DataTypeError(
                f"filter: mask must be {len(self)} booleans, got {keep.dtype} of shape {keep.shape}"
            )
        rows = np.flatnonzero(keep)
        return Activities(
            ids=readonly(self._ids[rows]), dates=readonly(self._dates[rows]),
            labels={k: v.take(rows) for k, v in self._labels.items()},
        )

    def activity(self, id: str | int) -> Activity:
        """The `Activity` with id ``id``."""
        found = np.flatnonzero(self._ids == id)
        if not len(found):
            raise DataError(f"no activity has id {id!r}")
        row = int(found[0])
        values = {k: v.categories[v.codes[row]] for k, v in self._labels.items()}
        extra = {k: v for k, v in values.items() if k not in ("kind", "owner", "deal_id")}
        return Activity(self._ids[row].item(), values["kind"], values["owner"],
                        self._dates[row], deal_id=values["deal_id"], fields=extra)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """A dict of column name → numpy array (``id``, ``kind``, ``owner``, ``date``,
        ``deal_id``, then the extra fields), copies the caller may change."""
        out: dict[str, npt.NDArray[Any]] = {"id": self._ids.copy()}
        for name, lab in self._labels.items():
            out[name] = lab.decoded()
            if name == "owner":
                out["date"] = self._dates.copy()
        return out

    def to_pandas(self) -> Any:
        """A pandas DataFrame with one row per activity (see `to_columns`)."""
        import pandas as pd

        return pd.DataFrame(self.to_columns())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Activities):
            return NotImplemented
        return (
            self.fields == other.fields
            and np.array_equal(self._ids, other._ids)
            and np.array_equal(self._dates, other._dates)
            and all(np.array_equal(self._labels[f].decoded(), other._labels[f].decoded())
                    for f in self._labels)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n = len(self)
        parts = [f"{n:,} activit{'ies' if n != 1 else 'y'}"]
        kind = self._labels["kind"]
        counts = np.bincount(kind.codes, minlength=len(kind.categories))
        head = ", ".join(f"{int(c):,} {k}" for k, c in zip(kind.categories.tolist(), counts,
                                                           strict=True) if c)
        text = f"{parts[0]}: {head}" if head else parts[0]
        rest = []
        owners = self._labels["owner"].categories
        n_owners = sum(o is not None for o in owners.tolist())
        rest.append(f"{n_owners:,} owner{'s' if n_owners != 1 else ''}")
        if n:
            rest.append(f"{self._dates.min()} to {self._dates.max()}")
        extra = [f for f in self._labels if f not in ("kind", "owner", "deal_id")]
        if extra:
            rest.append("fields: " + ", ".join(extra))
        return f"Activities({'; '.join([text, *rest])})"
