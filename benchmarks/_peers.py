"""pandas, polars and DuckDB on the peer workloads, each in its fastest idiomatic formulation.

Every engine starts from data already in its own form (a pandas or polars frame, a DuckDB table)
with the columns of `_synthetic.make`. A formulation returns a `Normal` answer (numpy arrays in
cents, per owner or per stage) so that every engine can be checked against salesmetrics. Where
two formulations are plausible (probabilities applied per row, or to the per-stage sums), both
are timed and the engine's faster one counts.

Workloads (the quarter is [Q_START, Q_END)):

- ``weighted total``: Σ amount × p(stage) over open deals;
- ``weighted by owner × stage`` and ``weighted by owner``: the same per group;
- ``win rates by owner``: unit (won ÷ closed) and value (won amount ÷ closed amount) win rates of
  the deals closed in the quarter;
- ``conversion``: per open stage, won ÷ closed among closed deals whose history visited it
  (OR of stage bits per deal, the expert formulation: 10M groups instead of 44M pairs);
- ``velocity by owner``: N (created before the quarter's end, and open or closed on or after its
  start) × average won amount × unit win rate ÷ average won cycle [days], over deals closed in the
  quarter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
from _synthetic import LOST, N_OPEN, N_OWNERS, OPEN, PROB, Q_END, Q_START, WON, Columns

Normal = dict[str, np.ndarray]
Formulations = dict[str, list[Callable[[], Normal]]]

QS, QE = dt.date.fromisoformat(str(Q_START)), dt.date.fromisoformat(str(Q_END))
OPEN_PROB = PROB[:N_OPEN]


def _dense(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, np.nan)
    out[np.asarray(keys, dtype=np.intp)] = values
    return out


def _win_rates(owner: Any, n: Any, n_won: Any, value: Any, won_value: Any) -> Normal:
    n, n_won = _dense(owner, n, N_OWNERS), _dense(owner, n_won, N_OWNERS)
    value, won_value = _dense(owner, value, N_OWNERS), _dense(owner, won_value, N_OWNERS)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"unit": n_won / n, "value": won_value / value}


def _velocity(owner_n: Any, n_opps: Any, owner: Any, n_closed: Any, n_won: Any,
              won_value: Any, cycle: Any) -> Normal:
    n_opps = _dense(owner_n, n_opps, N_OWNERS)
    n_closed, n_won = _dense(owner, n_closed, N_OWNERS), _dense(owner, n_won, N_OWNERS)
    won_value, cycle = _dense(owner, won_value, N_OWNERS), _dense(owner, cycle, N_OWNERS)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = n_opps * (won_value / 100 / n_won) * (n_won / n_closed) / (cycle / n_won)
    return {"velocity": v}


def _by_stage_bits(mask: Any, won: Any, count: Any) -> Normal:
    """Per-stage conversion from the (stage bitmask, won, count) table (at most 2 × 128 rows)."""
    hit = (np.asarray(mask, np.int64)[:, None] >> np.arange(N_OPEN)) & 1
    count = np.asarray(count, np.float64)
    won_count = count * np.asarray(won, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"rate": (hit * won_count[:, None]).sum(0) / (hit * count[:, None]).sum(0)}


# -- pandas --------------------------------------------------------------------------------------
def pandas(deals: Columns, history: Columns) -> Formulations:
    import pandas as pd

    df, hf = pd.DataFrame(deals), pd.DataFrame(history)
    prob = pd.Series(PROB)
    qs, qe = pd.Timestamp(QS), pd.Timestamp(QE)

    def total_rows() -> Normal:
        o = df[df["outcome"] == OPEN]
        return {"total": np.array([(o["amount"] * o["stage"].map(prob)).sum() / 100])}

    def total_cells() -> Normal:
        s = df.loc[df["outcome"] == OPEN, "amount"].groupby(df["stage"]).sum()
        return {"total": np.array([(s * prob[s.index]).sum() / 100])}

    def cells(o: Any) -> Any:
        return o["amount"].groupby([o["owner"], o["stage"]]).sum()

    def owner_stage() -> Normal:
        s = cells(df[df["outcome"] == OPEN])
        w = s.to_numpy() * PROB[s.index.get_level_values(1)] / 100
        i = s.index.get_level_values(0) * N_OPEN + s.index.get_level_values(1)
        return {"w": _dense(i, w, N_OWNERS * N_OPEN)}

    def owner() -> Normal:
        s = cells(df[df["outcome"] == OPEN])
        w = pd.Series(s.to_numpy() * PROB[s.index.get_level_values(1)])
        w = w.groupby(s.index.get_level_values(0)).sum()
        return {"w": _dense(w.index, w.to_numpy() / 100, N_OWNERS)}

    def win_rates() -> Normal:
        c = df[(df["outcome"] != OPEN) & (df["close"] >= qs) & (df["close"] < qe)]
        won = c["outcome"] == WON
        g = c.assign(won=won, won_amount=c["amount"].where(won, 0)).groupby("owner").agg(
            n=("won", "size"), n_won=("won", "sum"), value=("amount", "sum"),
            won_value=("won_amount", "sum"))
        return _win_rates(g.index, g["n"], g["n_won"], g["value"], g["won_value"])

    def conversion() -> Normal:
        bits = hf[["deal_id"]].assign(bit=np.left_shift(1, hf["stage"].to_numpy(np.int64)))
        mask = bits.drop_duplicates().groupby("deal_id")["bit"].sum()  # Σ distinct bits = OR
        closed = df.loc[df["outcome"] != OPEN, ["deal_id", "outcome"]]
        j = closed.join(mask, on="deal_id", how="inner")
        t = j.groupby([j["bit"], j["outcome"] == WON]).size()
        return _by_stage_bits(t.index.get_level_values(0), t.index.get_level_values(1), t)

    def velocity() -> Normal:
        opps = df[(df["created"] < qe) & ((df["outcome"] == OPEN) | (df["close"] >= qs))]
        n = opps.groupby("owner").size()
        c = df[(df["outcome"] != OPEN) & (df["close"] >= qs) & (df["close"] < qe)]
        won = c["outcome"] == WON
        g = c.assign(won=won, wv=c["amount"].where(won, 0),
                     cyc=(c["close"] - c["created"]).dt.days.where(won, 0)).groupby("owner").agg(
            n_closed=("won", "size"), n_won=("won", "sum"), wv=("wv", "sum"), cyc=("cyc", "sum"))
        return _velocity(n.index, n, g.index, g["n_closed"], g["n_won"], g["wv"], g["cyc"])

    return {"weighted total": [total_rows, total_cells], "weighted by owner × stage": [owner_stage],
            "weighted by owner": [owner], "win rates by owner": [win_rates],
            "conversion": [conversion], "velocity by owner": [velocity]}


# -- polars --------------------------------------------------------------------------------------
def polars(deals: Columns, history: Columns) -> Formulations:
    import polars as pl

    df, hf = pl.DataFrame(deals).lazy(), pl.DataFrame(history).lazy()
    p = pl.col("stage").replace_strict(list(range(len(PROB))), PROB.tolist(),
                                       return_dtype=pl.Float64)
    is_open = pl.col("outcome") == OPEN
    won = pl.col("outcome") == WON
    in_q = (pl.col("outcome") != OPEN) & (pl.col("close") >= QS) & (pl.col("close") < QE)

    def total_rows() -> Normal:
        v = df.filter(is_open).select((pl.col("amount") * p).sum()).collect().item()
        return {"total": np.array([v / 100])}

    def total_cells() -> Normal:
        s = df.filter(is_open).group_by("stage").agg(pl.col("amount").sum()).collect()
        return {"total": np.array([(s["amount"].to_numpy() * PROB[s["stage"].to_numpy()]).sum()
                                   / 100])}

    def owner_stage_rows() -> Normal:
        s = df.filter(is_open).group_by("owner", "stage").agg(w=(pl.col("amount") * p).sum()
                                                              ).collect()
        i = s["owner"].to_numpy() * N_OPEN + s["stage"].to_numpy()
        return {"w": _dense(i, s["w"].to_numpy() / 100, N_OWNERS * N_OPEN)}

    def owner_stage_cells() -> Normal:
        s = df.filter(is_open).group_by("owner", "stage").agg(pl.col("amount").sum()).collect()
        st = s["stage"].to_numpy()
        i = s["owner"].to_numpy() * N_OPEN + st
        return {"w": _dense(i, s["amount"].to_numpy() * PROB[st] / 100, N_OWNERS * N_OPEN)}

    def owner() -> Normal:
        s = df.filter(is_open).group_by("owner").agg(w=(pl.col("amount") * p).sum()).collect()
        return {"w": _dense(s["owner"].to_numpy(), s["w"].to_numpy() / 100, N_OWNERS)}

    def owner_cells() -> Normal:
        s = df.filter(is_open).group_by("owner", "stage").agg(pl.col("amount").sum()).collect()
        w = s["amount"].to_numpy() * PROB[s["stage"].to_numpy()]
        return {"w": np.bincount(s["owner"].to_numpy(), w, N_OWNERS) / 100}

    def win_rates() -> Normal:
        s = df.filter(in_q).group_by("owner").agg(
            n=pl.len(), n_won=won.sum(), value=pl.col("amount").sum(),
            won_value=pl.col("amount").filter(won).sum()).collect()
        return _win_rates(s["owner"].to_numpy(), s["n"].to_numpy(), s["n_won"].to_numpy(),
                          s["value"].to_numpy(), s["won_value"].to_numpy())

    def conversion() -> Normal:
        bit = pl.lit(2, pl.Int64).pow(pl.col("stage").cast(pl.Int64))
        closed = df.filter(~is_open).select("deal_id", won=won)
        t = (hf.group_by("deal_id").agg(mask=bit.bitwise_or()).join(closed, on="deal_id")
             .group_by("mask", "won").agg(c=pl.len()).collect())
        return _by_stage_bits(t["mask"].to_numpy(), t["won"].to_numpy(), t["c"].to_numpy())

    def velocity() -> Normal:
        opps = (df.filter((pl.col("created") < QE) & (is_open | (pl.col("close") >= QS)))
                .group_by("owner").agg(n=pl.len()))
        cq = df.filter(in_q).group_by("owner").agg(
            n_closed=pl.len(), n_won=won.sum(), wv=pl.col("amount").filter(won).sum(),
            cyc=(pl.col("close") - pl.col("created")).dt.total_days().filter(won).sum())
        o, c = pl.collect_all([opps, cq])
        return _velocity(o["owner"].to_numpy(), o["n"].to_numpy(), c["owner"].to_numpy(),
                         c["n_closed"].to_numpy(), c["n_won"].to_numpy(), c["wv"].to_numpy(),
                         c["cyc"].to_numpy())

    return {"weighted total": [total_rows, total_cells],
            "weighted by owner × stage": [owner_stage_rows, owner_stage_cells],
            "weighted by owner": [owner, owner_cells], "win rates by owner": [win_rates],
            "conversion": [conversion], "velocity by owner": [velocity]}


# -- DuckDB --------------------------------------------------------------------------------------
def duckdb(deals: Columns, history: Columns) -> Formulations:
    import duckdb as ddb
    import pyarrow as pa

    con = ddb.connect()
    con.register("deals_arrow", pa.table(deals))
    con.register("hist_arrow", pa.table(history))
    con.execute("CREATE TABLE deals AS SELECT * FROM deals_arrow")
    con.execute("CREATE TABLE hist AS SELECT * FROM hist_arrow")
    con.unregister("deals_arrow")
    con.unregister("hist_arrow")
    whens = " ".join(f"WHEN {k} THEN {float(p)!r}::DOUBLE" for k, p in enumerate(PROB))
    case = f"CASE stage {whens} END"
    q = f"close >= DATE '{Q_START}' AND close < DATE '{Q_END}'"

    def run(sql: str) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = con.execute(sql).fetchnumpy()
        return {k: np.asarray(v) for k, v in out.items()}

    def total_rows() -> Normal:
        r = run(f"SELECT sum(amount * {case}) AS w FROM deals WHERE outcome = {OPEN}")
        return {"total": r["w"] / 100}

    def total_cells() -> Normal:
        r = run(f"SELECT stage, sum(amount) AS a FROM deals WHERE outcome = {OPEN} GROUP BY stage")
        return {"total": np.array([(r["a"] * PROB[r["stage"].astype(np.intp)]).sum() / 100])}

    def owner_stage_rows() -> Normal:
        r = run(f"SELECT owner, stage, sum(amount * {case}) AS w FROM deals "
                f"WHERE outcome = {OPEN} GROUP BY ALL")
        i = r["owner"].astype(np.intp) * N_OPEN + r["stage"]
        return {"w": _dense(i, r["w"] / 100, N_OWNERS * N_OPEN)}

    def owner_stage_cells() -> Normal:
        r = run(f"SELECT owner, stage, sum(amount) AS a FROM deals WHERE outcome = {OPEN} "
                "GROUP BY ALL")
        st = r["stage"].astype(np.intp)
        i = r["owner"].astype(np.intp) * N_OPEN + st
        return {"w": _dense(i, r["a"] * PROB[st] / 100, N_OWNERS * N_OPEN)}

    def owner() -> Normal:
        r = run(f"SELECT owner, sum(amount * {case}) AS w FROM deals WHERE outcome = {OPEN} "
                "GROUP BY owner")
        return {"w": _dense(r["owner"], r["w"] / 100, N_OWNERS)}

    def owner_cells() -> Normal:
        r = run(f"SELECT owner, stage, sum(amount) AS a FROM deals WHERE outcome = {OPEN} "
                "GROUP BY ALL")
        w = r["a"] * PROB[r["stage"].astype(np.intp)]
        return {"w": np.bincount(r["owner"].astype(np.intp), w, N_OWNERS) / 100}

    def win_rates() -> Normal:
        r = run(f"""SELECT owner, count(*) AS n, count(*) FILTER (WHERE outcome = {WON}) AS n_won,
                    sum(amount) AS v, coalesce(sum(amount) FILTER (WHERE outcome = {WON}), 0) AS wv
                    FROM deals WHERE outcome <> {OPEN} AND {q} GROUP BY owner""")
        return _win_rates(r["owner"], r["n"], r["n_won"], r["v"], r["wv"])

    def conversion() -> Normal:
        r = run(f"""WITH m AS (SELECT deal_id, bit_or(1::UTINYINT << stage::UTINYINT) AS mask
                               FROM hist GROUP BY deal_id)
                    SELECT mask, d.outcome = {WON} AS won, count(*) AS c
                    FROM m JOIN deals d USING (deal_id) WHERE d.outcome <> {OPEN} GROUP BY ALL""")
        return _by_stage_bits(r["mask"], r["won"], r["c"])

    def velocity() -> Normal:
        r = run(f"""WITH opps AS (
                      SELECT owner, count(*) AS n FROM deals
                      WHERE created < DATE '{Q_END}'
                        AND (outcome = {OPEN} OR close >= DATE '{Q_START}')
                      GROUP BY owner),
                    cq AS (
                      SELECT owner, count(*) AS n_closed,
                             count(*) FILTER (WHERE outcome = {WON}) AS n_won,
                             coalesce(sum(amount) FILTER (WHERE outcome = {WON}), 0) AS wv,
                             coalesce(sum(close - created) FILTER (WHERE outcome = {WON}), 0) AS cyc
                      FROM deals WHERE outcome <> {OPEN} AND {q} GROUP BY owner)
                    SELECT owner, n, n_closed, n_won, wv, cyc FROM opps JOIN cq USING (owner)""")
        return _velocity(r["owner"], r["n"], r["owner"], r["n_closed"], r["n_won"], r["wv"],
                         r["cyc"])

    return {"weighted total": [total_rows, total_cells],
            "weighted by owner × stage": [owner_stage_rows, owner_stage_cells],
            "weighted by owner": [owner, owner_cells], "win rates by owner": [win_rates],
            "conversion": [conversion], "velocity by owner": [velocity]}


PEERS: dict[str, Callable[[Columns, Columns], Formulations]] = {
    "pandas": pandas, "polars": polars, "duckdb": duckdb}
_ = LOST  # the third outcome code, named for readers of the filters above
