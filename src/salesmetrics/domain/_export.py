"""A pipeline's deals out again: as `Deal` objects, as columns that `Pipeline.from_columns` reads
back, and as pandas, polars or pyarrow tables (`PipelineExports`, a base of `Pipeline`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from salesmetrics.domain.stage import Outcome

if TYPE_CHECKING:  # Deal is an attrs class, loaded when a deal is first asked for
    from salesmetrics.domain.deal import Deal
    from salesmetrics.domain.pipeline import Pipeline

__all__ = ["PipelineExports", "deal_at"]


def deal_at(p: Pipeline, row: int) -> Deal:
    """The deal in row ``row`` of ``p`` as a `Deal`, with its fields and stage history."""
    from salesmetrics.domain.deal import Deal

    def day(values: npt.NDArray[np.datetime64]) -> dt.date | None:
        return None if np.isnat(values[row]) else values[row].item()

    missing = p.has_missing_amounts and bool(p.amount_missing[row])
    prob = float(p.probability[row]) if p.has_probability_overrides else None
    history: list[tuple[str, dt.date]] = []
    events = p.history
    if events is not None:
        lo, hi = np.searchsorted(events.rows, [row, row + 1])
        history = [
            (p.stages[s].name, d.item())
            for s, d in zip(events.stages[lo:hi], events.dates[lo:hi], strict=True)
        ]
    fields = {
        name: p.labels(name).categories[p.labels(name).codes[row]]
        for name in p.fields
        if name not in ("owner", "currency")
    }
    if p._original is not None:  # converted with rates=: the deal as loaded, in its currency
        own = float(p.original_amount[row])
        fields["original_amount"] = None if np.isnan(own) else own
        fields["original_currency"] = p.original_currency[row]
    owner = p.labels("owner") if "owner" in p.fields else None
    return Deal(
        id=p.ids[row].item(),
        amount=None if missing else int(p.amount_minor[row]) / p.minor_unit,
        stage=p.stages[p.stage_codes[row]].name,
        created=day(p.created),
        close_date=day(p.close_date),
        owner=None if owner is None else owner.categories[owner.codes[row]],
        probability=None if prob is None or np.isnan(prob) else prob,
        currency=p.currency,
        fields=fields,
        history=history,
    )


class PipelineExports:
    """The exports of `Pipeline` (a base class, so that they live together)."""

    __slots__ = ()

    def deal(self, id: str | int) -> Deal:
        """The deal with id ``id``."""
        p = cast("Pipeline", self)
        rows = np.flatnonzero(p.ids == id)
        if len(rows) == 0:
            raise KeyError(f"no deal with id {id!r}")
        return deal_at(p, int(rows[0]))

    def __iter__(self) -> Iterator[Deal]:
        p = cast("Pipeline", self)
        for row in range(len(p)):
            yield deal_at(p, row)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """The deals as a dict of numpy columns that `from_columns` reads back.

        The stage history comes separately from `history_columns`. A pipeline converted with
        ``rates=`` exports ``amount`` and ``currency`` in the corporate currency, and each deal's
        own as ``original_amount`` and ``original_currency``; to load them again, map
        ``amount`` and ``currency`` to those and pass the same ``rates=``.

        >>> from salesmetrics import Pipeline
        >>> from salesmetrics.datasets import sample_pipeline
        >>> p = sample_pipeline()
        >>> cols = p.to_columns()
        >>> q = Pipeline.from_columns(cols, p.stages, columns={k: k for k in cols},
        ...                           history=p.history_columns())
        >>> q == p
        True
        """
        p = cast("Pipeline", self)
        out: dict[str, npt.NDArray[Any]] = {
            "id": p.ids,
            "amount": p.amount,
            "stage": np.array(p.stage_names, dtype=object)[p.stage_codes],
            "created": p.created,
            "close_date": p.close_date,
        }
        if p.has_probability_overrides:
            out["probability"] = p.probability
        for name in p.fields:
            if name != "currency":
                out[name] = p.labels(name).decoded()
        if p.currency is not None:
            out["currency"] = np.full(len(p), p.currency, dtype=object)
        if p._original is not None:
            out["original_amount"] = p.original_amount
            out["original_currency"] = p.original_currency
        return out

    def history_columns(self) -> dict[str, npt.NDArray[Any]] | None:
        """The stage history as columns ``id``, ``stage``, ``date`` (None without history)."""
        p = cast("Pipeline", self)
        events = p.history
        if events is None:
            return None
        names = np.array(p.stage_names, dtype=object)
        return {"id": p.ids[events.rows], "stage": names[events.stages], "date": events.dates}

    def to_pandas(self) -> Any:
        """The deals as a pandas DataFrame (needs ``salesmetrics[pandas]``); label fields are
        categoricals."""
        import pandas as pd

        p = cast("Pipeline", self)
        frame = pd.DataFrame(self.to_columns())
        for name in (*p.fields, "stage"):
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

        p = cast("Pipeline", self)
        labelled = {*p.fields, "stage"}
        arrays = {}
        for name, values in self.to_columns().items():
            array = pa.array(values.tolist() if values.dtype == object else values)
            if name in labelled:
                array = array.dictionary_encode()
            arrays[name] = array
        return pa.table(arrays)

    def _repr_html_(self) -> str:
        """The pipeline as an HTML table of its stages (for notebooks)."""
        import html

        from salesmetrics._render import format_money, format_number, format_rate, html_table

        p = cast("Pipeline", self)
        open_codes = p.stage_codes[p.outcome_codes == Outcome.OPEN]
        counts = np.bincount(p.stage_codes, minlength=len(p.stages))
        sums = np.bincount(p.stage_codes, weights=p.amount_minor, minlength=len(p.stages))
        rows = [
            [s.name, format_rate(s.probability, 0), s.outcome.name.lower().replace("_", " "),
             format_number(int(counts[i])), format_money(sums[i] / p.minor_unit, p.currency)]
            for i, s in enumerate(p.stages)
        ]
        table = html_table(["stage", "probability", "outcome", "deals", "amount"], rows,
                           align=["left", "right", "left", "right", "right"])
        fields = f"; fields: {html.escape(', '.join(p.fields))}" if p.fields else ""
        return (f"<div><b>Pipeline</b>: {len(p):,} deals, {len(open_codes):,} open{fields}"
                f"{table}</div>")
