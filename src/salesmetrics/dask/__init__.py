"""Every core metric on a dask DataFrame, with the single-process result bit for bit (with
the two caveats at the end of the list below).

``salesmetrics.dask.<metric>(ddf, *, stages=..., columns=..., history=None, <the metric's
options>, split_every=None)`` runs in three steps, on whatever scheduler dask uses (the threaded
one, or a ``distributed`` cluster when a client is active):

1. per partition (a dask task each): the partition's deals become a `Pipeline`
   (`Pipeline.from_columns`, with ``stages``, ``columns``, ``currency``, ``history_columns`` and
   ``pipeline_options`` such as ``timezone`` or ``date_formats``) and are *summarized*;
2. the summaries are added up in a tree, ``split_every`` at a time (default 8);
3. the total is *finalized* once, on the client.

Summaries hold integer tallies and add exactly, so the result does not depend on the
partitioning, on ``split_every`` or on the order of the merges.

- ``history``: a dask DataFrame of stage events (``id``, ``stage``, ``date``, renamed by
  ``history_columns``). Deals and events are co-partitioned by deal id with dask's own shuffle
  (one all-to-all exchange of both tables; see the Scaling out page for its cost). Data already
  laid out by deal id (a lake bucketed by deal id, partition *i* of ``history`` holding the
  events of the deals of partition *i* of ``ddf``) skips the shuffle with
  ``co_partitioned=True``; an event whose deal is in another partition is then a `DataError`
  naming it, but a deal whose events are all elsewhere cannot be told from one without events.
- ``as_of``: with ``stale_after``, the default "latest date on record" is taken from the whole
  data in a first pass that reads only the date and stage columns (no pipeline built, nothing
  kept in memory) and passed to every partition.
- Errors: a bad value raises the `SalesMetricsError` subclass that the single-process call
  raises, naming the deal id; row numbers count from the start of the partition.
- Deal ids are checked for uniqueness within each partition only: ids that are unique across
  partitions are the caller's to ensure, for instance with ``ddf.shuffle("id")``, which puts
  every copy of an id in one partition, where it is caught (not ``ddf.set_index("id")``, which
  moves the ids out of the columns that each partition's pipeline reads).
- Warnings about column names or stages (`DataQualityWarning`) are raised on the client from
  the frame's meta (partitions built in the client's process, by the threaded scheduler, raise
  them again from the same line, which Python's default filter shows once); the metrics'
  warnings about the data are raised by the finalize step, on the client, with the whole data's
  counts.
- Unlike one process: the warnings that loading gives about the data (text amounts with more
  decimal places than the currency, closed deals closing after today) are raised by each
  partition with that partition's counts (on a ``distributed`` cluster, in the workers' logs);
  and ``pipeline_options`` with several ``date_formats`` is an `OptionError`, since each
  partition would choose its own format: give the one format the data use, or convert the
  dates first (``dd.to_datetime``).

Examples
--------
>>> import dask.dataframe as dd
>>> import pandas as pd
>>> import salesmetrics as sm
>>> import salesmetrics.dask
>>> deals = pd.DataFrame({
...     "id": ["A", "B", "C", "D"],
...     "amount": [100.0, 250.0, 80.0, 40.0],
...     "stage": ["Closed won", "Closed lost", "Closed won", "Proposal"],
...     "close_date": ["2024-01-10", "2024-01-20", "2024-02-01", "2024-03-01"],
... })
>>> ddf = dd.from_pandas(deals, npartitions=3)
>>> salesmetrics.dask.win_rate(ddf, split_every=2)
0.6666666666666666
>>> salesmetrics.dask.won_revenue(ddf) == sm.won_revenue(sm.Pipeline.from_columns(deals))
True
"""

from __future__ import annotations

from salesmetrics.dask._metrics import (
    average_deal_size,
    conversion_from_stage,
    funnel_counts,
    outcome_shares,
    pipeline_value,
    sales_cycle_length,
    sales_velocity,
    stage_conversion,
    weighted_pipeline,
    win_rate,
    won_revenue,
)

__all__ = [
    "average_deal_size",
    "conversion_from_stage",
    "funnel_counts",
    "outcome_shares",
    "pipeline_value",
    "sales_cycle_length",
    "sales_velocity",
    "stage_conversion",
    "weighted_pipeline",
    "win_rate",
    "won_revenue",
]
