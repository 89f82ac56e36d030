"""The synthetic workload of the peer benchmarks, and each engine's native form of it.

Deals over `DEFAULT_STAGES` (five open stages, then Closed won and Closed lost), 500 owners,
three years of dates, lognormal amounts in cents, and a stage history of about 4.4 events per
deal in chronological order (stages skipped, a slip back and re-entry, a closing event). The
shape follows ``../shared/PERFORMANCE.md``: 10M deals give about 44M history events.

Peers get what a data scientist would hold: ``owner`` (int32), ``stage`` (int8 code into
`STAGE_NAMES`), ``outcome`` (int8: 0 open, 1 won, 2 lost), ``amount`` (int64 cents),
``created`` and ``close`` (datetime64[D]) and the history (``deal_id``, ``stage``,
``entered_at``). salesmetrics gets the same values as categoricals or strings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from salesmetrics import DEFAULT_STAGES

N_OWNERS = 500
STAGE_NAMES = [s.name for s in DEFAULT_STAGES]
PROB = np.array([s.probability for s in DEFAULT_STAGES])
N_OPEN = 5
WON_STAGE, LOST_STAGE = 5, 6
OPEN, WON, LOST = 0, 1, 2
START = np.datetime64("2022-01-01", "D")
AS_OF = np.datetime64("2025-01-01", "D")
QUARTER = "2024-Q2"
Q_START, Q_END = np.datetime64("2024-04-01", "D"), np.datetime64("2024-07-01", "D")  # [start, end)
ID_BASE = 100_000_000

Columns = dict[str, np.ndarray]


def make(n: int, seed: int = 42, owners: int = N_OWNERS) -> tuple[Columns, Columns]:
    """``n`` deals and their stage history, as numpy columns (see the module docstring)."""
    rng = np.random.default_rng(seed)
    span = int((AS_OF - START).astype(np.int64))
    created = rng.integers(0, span, n)
    cycle = np.minimum(np.ceil(rng.lognormal(np.log(45.0), 0.8, n)), 540).astype(np.int64)
    close = created + cycle
    closed = (close < span) & (rng.random(n) >= 0.06)
    won = closed & (rng.random(n) < 0.40)
    stale = ~closed & (close < span)  # expected close pushed past the snapshot
    close[stale] = span + rng.integers(1, 90, int(stale.sum()))
    outcome = np.where(closed, np.where(won, WON, LOST), OPEN).astype(np.int8)
    amount = np.rint(np.exp(rng.normal(np.log(20_000.0), 0.9, n)) * 100).astype(np.int64)
    # furthest open stage: won deals get further
    cuts = np.where(won[:, None], [[0.02, 0.07, 0.20, 0.50]], [[0.30, 0.55, 0.75, 0.90]])
    top = (rng.random(n)[:, None] > cuts).sum(axis=1)
    stage = np.where(won, WON_STAGE, np.where(closed, LOST_STAGE, top)).astype(np.int8)

    # history: stages 0..top, intermediate ones skipped with p = .15; 40 % of deals past the
    # first stage slip back to top - 1 and re-enter top; closed deals close at their close date
    per = top + 1
    deal = np.repeat(np.arange(n), per)
    step = np.arange(deal.size) - np.repeat(np.cumsum(per) - per, per)
    t = top[deal]
    keep = ~((step > 0) & (step < t) & (rng.random(deal.size) < 0.15))
    end = np.where(closed, close, np.minimum(close, span - 1))
    length = np.maximum(end - created, 1)
    deal, step, t = deal[keep], step[keep], t[keep]
    days = [created[deal] + length[deal] * step // (t + 2)]
    back = np.flatnonzero((top >= 1) & (rng.random(n) < 0.40))
    tb = top[back]
    ev_deal = [deal, back, back]
    ev_stage = [step, tb - 1, tb]
    days += [created[back] + length[back] * (2 * tb + 1) // (2 * tb + 4),
             created[back] + length[back] * (tb + 1) // (tb + 2)]
    shut = np.flatnonzero(closed)
    ev_deal.append(shut)
    ev_stage.append(stage[shut].astype(np.int64))
    days.append(close[shut])
    ev_d, ev_s, ev_t = np.concatenate(ev_deal), np.concatenate(ev_stage), np.concatenate(days)
    order = np.argsort(ev_t.astype(np.int16), kind="stable")  # an event log: by date
    deals = {
        "deal_id": np.arange(ID_BASE, ID_BASE + n, dtype=np.int64),
        "owner": rng.integers(0, owners, n, dtype=np.int32),
        "stage": stage,
        "outcome": outcome,
        "amount": amount,
        "created": START + created.astype("timedelta64[D]"),
        "close": START + close.astype("timedelta64[D]"),
    }
    history = {
        "deal_id": ev_d[order] + ID_BASE,
        "stage": ev_s[order].astype(np.int8),
        "entered_at": START + ev_t[order].astype("timedelta64[D]"),
    }
    return deals, history


# -- salesmetrics' inputs ----------------------------------------------------------------------
def as_strings(deals: Columns, history: Columns) -> tuple[dict[str, Any], dict[str, Any]]:
    """numpy ``<U`` string columns for stage and owner (the slow, common case)."""
    names = np.array(STAGE_NAMES)
    data = {"id": deals["deal_id"], "owner": np.char.add("rep-", deals["owner"].astype("U3")),
            "stage": names[deals["stage"]], "amount": deals["amount"] / 100,
            "created": deals["created"], "close_date": deals["close"]}
    hist = {"id": history["deal_id"], "stage": names[history["stage"]],
            "date": history["entered_at"]}
    return data, hist


def as_pandas(deals: Columns, history: Columns) -> tuple[Any, Any]:
    """pandas frames with Categorical stage and owner."""
    import pandas as pd

    stage = pd.Categorical.from_codes(deals["stage"], categories=STAGE_NAMES)
    data = pd.DataFrame({"id": deals["deal_id"], "owner": pd.Categorical(deals["owner"]),
                         "stage": stage, "amount": deals["amount"] / 100,
                         "created": deals["created"], "close_date": deals["close"]})
    hist = pd.DataFrame({"id": history["deal_id"],
                         "stage": pd.Categorical.from_codes(history["stage"], STAGE_NAMES),
                         "date": history["entered_at"]})
    return data, hist


def as_polars(deals: Columns, history: Columns) -> tuple[Any, Any]:
    """polars frames with Enum stage and Categorical owner."""
    import polars as pl

    enum = pl.Enum(STAGE_NAMES)
    names = pl.Series(STAGE_NAMES, dtype=enum)
    data = pl.DataFrame({"id": deals["deal_id"], "owner": deals["owner"],
                         "amount": deals["amount"] / 100, "created": deals["created"],
                         "close_date": deals["close"]}).with_columns(
        pl.col("owner").cast(pl.String).cast(pl.Categorical),
        stage=names.gather(deals["stage"]))
    hist = pl.DataFrame({"id": history["deal_id"], "date": history["entered_at"]}).with_columns(
        stage=names.gather(history["stage"]))
    return data, hist


def as_arrow(deals: Columns, history: Columns) -> tuple[Any, Any]:
    """Arrow tables with dictionary-encoded stage and owner."""
    import pyarrow as pa

    names = pa.array(STAGE_NAMES)
    stage = pa.DictionaryArray.from_arrays(pa.array(deals["stage"]), names)
    owner = pa.array(deals["owner"]).dictionary_encode()
    data = pa.table({"id": deals["deal_id"], "owner": owner, "stage": stage,
                     "amount": deals["amount"] / 100, "created": deals["created"],
                     "close_date": deals["close"]})
    hist = pa.table({"id": history["deal_id"],
                     "stage": pa.DictionaryArray.from_arrays(pa.array(history["stage"]), names),
                     "date": history["entered_at"]})
    return data, hist
