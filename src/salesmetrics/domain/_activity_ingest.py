"""Building `Activities`: its constructors (a base class), and the checks and conversions of the
caller's columns behind them. The column readers are the pipeline's (``columns``, ``dates``,
``_ids``, ``_names``, ``_csv``); only what is particular to activities is here.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from salesmetrics.domain._ids import check_unique, to_ids
from salesmetrics.domain._ingest import with_lines
from salesmetrics.domain._names import column_names
from salesmetrics.domain.columns import (
    Labels,
    column_length,
    encode_labels,
    owned,
    readonly,
    to_numpy,
)
from salesmetrics.domain.dates import DateFormats, check_date_formats, to_date_array, to_zone
from salesmetrics.errors import (
    DataError,
    DataTypeError,
    DuplicateDealError,
    SalesMetricsError,
    choices,
)

if TYPE_CHECKING:
    from salesmetrics.domain.activity import Activities

__all__ = ["ACTIVITY_ATTRIBUTES", "ActivityConstructors", "canonical_kind"]

#: Attributes of `Activity` that ``Activities.from_columns`` reads; other keys become fields.
ACTIVITY_ATTRIBUTES = ("id", "kind", "owner", "date", "deal_id")
_STANDARD = ("email", "call", "follow_up", "meeting", "proposal")
_ROW = re.compile(r"^row (\d+) of the data: ")


def canonical_kind(text: str) -> str:
    """A standard kind in any case, with spaces or hyphens (``"Follow-up"``) as its standard
    name (``"follow_up"``); any other text unchanged (a custom kind)."""
    key = re.sub(r"[\s\-]+", "_", text.strip().lower())
    return key if key in _STANDARD else text


class ActivityConstructors:
    """The constructors of `Activities` (a base class; each returns an `Activities`)."""

    __slots__ = ()

    @classmethod
    def from_records(cls, records: Iterable[Any]) -> Activities:
        """Build the table from `Activity` objects. Every ``Activity.fields`` key becomes a
        label field (None where an activity lacks it)."""
        from salesmetrics.domain.activity import Activity

        items = list(records)
        for row, item in enumerate(items):
            if not isinstance(item, Activity):
                raise DataTypeError(f"row {row}: expected an Activity, got {item!r:.80}")
        names: list[str] = []
        for item in items:
            names.extend(k for k in item.fields if k not in names)
        data: dict[str, Any] = {
            "id": [x.id for x in items], "kind": [x.kind for x in items],
            "owner": [x.owner for x in items], "date": [x.date for x in items],
            "deal_id": [x.deal_id for x in items],
        }
        for name in names:
            if name in ACTIVITY_ATTRIBUTES:
                raise DataError(f"Activity.fields: {name!r} is an Activity attribute, not a field")
            data[name] = [x.fields.get(name) for x in items]
        return cls.from_columns(data, columns={n: n for n in names})

    @classmethod
    def from_columns(
        cls,
        data: Mapping[str, Any] | Any,
        *,
        columns: Mapping[str, str] | None = None,
        timezone: str | dt.tzinfo | None = None,
        date_formats: DateFormats = None,
    ) -> Activities:
        """Build the table from columns: a dict of lists or arrays, or a pandas or polars
        DataFrame or a pyarrow Table (read by duck typing, as `Pipeline.from_columns` does).

        Parameters
        ----------
        data
            Column name → values, one per activity.
        columns
            Activity attribute → column of ``data``, e.g. ``{"kind": "Type", "date":
            "ActivityDate"}``. Attributes not given are looked up under their own name
            (``id``, ``kind``, ``owner``, ``date``, ``deal_id``); ``id``, ``kind`` and ``date``
            are required. Other keys become label fields, e.g. ``{"team": "team"}``.
        timezone
            Time zone whose calendar dates timestamps become (default UTC).
        date_formats
            How to read dates that are not ISO 8601, as in `Pipeline.from_columns`.

        Notes
        -----
        Ids must be unique (`DuplicateDealError`, naming both rows); every activity needs a kind
        (a str) and a date (`DataError` naming the activity and row). Missing owners and deal ids
        become None. The table copies anything it would share with ``data``.
        """
        return cast("Activities", cls(**_ingest(data, columns, timezone, date_formats)))

    @classmethod
    def read_csv(
        cls,
        path: str | os.PathLike[str],
        *,
        columns: Mapping[str, str] | None = None,
        timezone: str | dt.tzinfo | None = None,
        encoding: str = "utf-8-sig",  # salesmetrics._csv.DEFAULT_ENCODING
        delimiter: str = ",",
        date_formats: DateFormats = None,
    ) -> Activities:
        """Read a CSV export of activities (header row; empty cells are missing values).

        The options are those of `from_columns`, plus the file's ``encoding`` and
        ``delimiter``. Errors name the row of the data and the line of the file.
        """
        from salesmetrics._csv import read_columns_and_lines  # loads csv: only when reading one

        table, lines = read_columns_and_lines(path, delimiter=delimiter, encoding=encoding)
        try:
            return cls.from_columns(table, columns=columns, timezone=timezone,
                                    date_formats=date_formats)
        except SalesMetricsError as error:
            located = with_lines(error, lines, os.path.basename(os.fspath(path)))
            if located is error:
                raise
            raise located from None


def _resolve(data: Any, columns: Mapping[str, str] | None) -> dict[str, str]:
    available = column_names(data)
    if columns is not None and not isinstance(columns, Mapping):
        raise DataTypeError(f"columns must be a mapping of attribute to column name, got "
                            f"{columns!r}")
    given = dict(columns or {})
    for key, source in given.items():
        if not isinstance(key, str) or not isinstance(source, str):
            raise DataTypeError(f"columns: keys and column names must be str, got {key!r}: "
                                f"{source!r}")
    mapping: dict[str, str] = {}
    for attribute in ACTIVITY_ATTRIBUTES:
        source = given.pop(attribute, attribute)
        if source in available:
            mapping[attribute] = source
        elif attribute in (columns or {}) or attribute in ("id", "kind", "date"):
            raise DataError(f"column {source!r} (for {attribute!r}) is not in the data; columns "
                            f"are {choices(sorted(available))}")
    for field, source in given.items():
        if source not in available:
            raise DataError(f"column {source!r} (for field {field!r}) is not in the data; "
                            f"columns are {choices(sorted(available))}")
        mapping[field] = source
    return mapping


def _name_activity(error: SalesMetricsError, ids: npt.NDArray[Any] | None) -> SalesMetricsError:
    """``error`` with "activity 'T-9' (row 9 of the data): " in front, for messages of the
    shared readers, which name rows only (or call them deals)."""
    message = str(error)
    match = _ROW.match(message)
    if match is None or ids is None:
        return type(error)(message.replace("deal ", "activity ", 1)) if message.startswith(
            "deal ") else error
    row = int(match.group(1))
    return type(error)(f"activity {ids[row].item()!r} (row {row} of the data): "
                       f"{message[match.end():]}")


def _kinds(col: object, ids: npt.NDArray[Any]) -> Labels:
    """The kind column as labels: standard kinds first (in their order, whatever their case),
    then custom kinds sorted; a missing or non-str kind is an error naming the activity."""
    try:
        labels = encode_labels(col, field="kind")
    except SalesMetricsError as error:
        raise _name_activity(error, ids) from None
    categories = labels.categories.tolist()
    for code, value in enumerate(categories):
        if value is None or not isinstance(value, str):
            row = int(np.flatnonzero(labels.codes == code)[0])
            what = "is missing" if value is None else (
                f"must be a str such as 'call', got {value!r} ({type(value).__name__})")
            error_type = DataError if value is None else DataTypeError
            raise error_type(f"activity {ids[row].item()!r} (row {row} of the data): kind {what}; "
                             f"standard kinds are {choices(_STANDARD)}, any other str is custom")
    names = [canonical_kind(v) for v in categories]
    custom = sorted({n for n in names if n not in _STANDARD})
    order = [k for k in _STANDARD if k in names] + custom
    remap = np.array([order.index(n) for n in names], dtype=np.intp)
    cats = np.empty(len(order), dtype=object)
    cats[:] = order
    return Labels(readonly(remap[labels.codes]), readonly(cats))


def _ingest(data: Any, columns: Mapping[str, str] | None, timezone: str | dt.tzinfo | None,
            date_formats: DateFormats) -> dict[str, Any]:
    mapping = _resolve(data, columns)
    n = column_length(data, list(mapping.values()))
    zone = to_zone(timezone)
    formats = check_date_formats(date_formats)
    sources = [data[c] for c in set(mapping.values()) if isinstance(data[c], np.ndarray)]
    try:
        ids = to_ids(to_numpy(data[mapping["id"]]))
        check_unique(ids)
    except DuplicateDealError as error:
        text = str(error).replace("deal ", "activity ", 1).replace("deal ids", "activity ids")
        raise DuplicateDealError(text) from None
    except SalesMetricsError as error:
        raise _name_activity(error, None) from None
    try:
        dates = to_date_array(data[mapping["date"]], field="date", timezone=zone, formats=formats)
    except SalesMetricsError as error:
        raise _name_activity(error, ids) from None
    missing = np.isnat(dates)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(f"activity {ids[row].item()!r} (row {row} of the data): date is missing "
                        f"({int(missing.sum())} activit{'ies' if missing.sum() > 1 else 'y'} "
                        "without one); every activity needs the day it happened")
    labels: dict[str, Labels] = {"kind": _kinds(data[mapping["kind"]], ids)}
    for name in ("owner", "deal_id"):
        if name in mapping:
            labels[name] = encode_labels(data[mapping[name]], field=name)
        else:
            labels[name] = Labels(readonly(np.zeros(n, np.intp)),
                                  readonly(np.array([None], dtype=object)))
    for name, source in mapping.items():
        if name not in ACTIVITY_ATTRIBUTES:
            labels[name] = encode_labels(data[source], field=name)
    return dict(ids=owned(ids, sources), dates=owned(dates, sources), labels=labels)
