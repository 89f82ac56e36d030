"""Storage of a pipeline's columns: int32 day numbers, narrow codes, and what views share."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesmetrics import DEFAULT_STAGES, Pipeline
from salesmetrics.domain.dates import MISSING_DAY
from salesmetrics.errors import SalesMetricsError


def _pipeline() -> Pipeline:
    return Pipeline.from_columns({
        "id": [1, 2, 3, 4],
        "stage": ["Closed won", "Meeting", "Proposal", "Closed lost"],
        "created": ["1969-12-31", None, "0001-01-01", "2024-02-29"],
        "close_date": ["1970-01-01", "9999-12-31", None, "2024-03-01"],
    })


def test_days_are_int32_day_numbers_with_missing_below_every_date():
    p = _pipeline()
    created, close = p._days("created"), p._days("close_date")
    assert created.dtype == np.int32 and close.dtype == np.int32
    # 1969-12-31 is day -1; 0001-01-01 is 719,162 days before 1970-01-01; 2024-02-29 is 19,782.
    assert created.tolist() == [-1, MISSING_DAY, -719_162, 19_782]
    assert close.tolist() == [0, 2_932_896, MISSING_DAY, 19_783]
    assert np.iinfo(np.int32).min == MISSING_DAY
    # the same values as the public datetime64 columns, and remembered, read-only
    assert np.array_equal(created[~np.isnat(p.created)],
                          p.created[~np.isnat(p.created)].astype(np.int64))
    assert p._days("created") is created
    assert not created.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        created[0] = 5


def _with_history() -> Pipeline:
    return Pipeline.from_columns(
        {"id": ["a", "b", "c", "d"], "stage": ["Meeting", "Proposal", "Discovery", "Meeting"]},
        history={"id": ["a", "b", "b", "d", "d", "d"],
                 "stage": ["Meeting", "Discovery", "Proposal", "Discovery", "Meeting", "Meeting"],
                 "date": ["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-01", "2024-01-03",
                          "2024-01-04"]},
    )


def test_a_history_pickles_and_keeps_its_rows():
    import pickle

    h = _with_history().history
    assert h is not None and h.rows.tolist() == [0, 1, 1, 3, 3, 3]
    again = pickle.loads(pickle.dumps(h))
    assert again == h and again.rows.tolist() == [0, 1, 1, 3, 3, 3]
    kept = h.take(np.array([False, True, False, True]))  # deals b and d, rows renumbered
    assert kept.rows.tolist() == [0, 0, 1, 1, 1]


_LABELS = st.lists(st.one_of(st.none(), st.sampled_from(["", " ", "a", "b", "B", "é", " a", "a ",
                                                          "\t", "zz", "a\0"])), max_size=40)


@given(_LABELS)
def test_short_text_labels_encode_as_the_general_path_does(values):
    from salesmetrics.domain import columns

    fast = columns.encode_labels(values, field="owner")
    old, columns._SMALL = columns._SMALL, -1  # the general (numpy) path
    try:
        general = columns.encode_labels(values, field="owner")
    finally:
        columns._SMALL = old
    assert fast.categories.tolist() == general.categories.tolist()
    assert fast.codes.tolist() == general.codes.tolist()
    assert fast.codes.dtype == general.codes.dtype


@given(st.lists(st.one_of(st.none(), st.dates()), max_size=30))
def test_date_objects_load_as_the_general_path_does(values):
    from salesmetrics.domain.dates import to_date, to_date_array

    got = to_date_array(values, field="created")
    expected = [to_date(v) for v in values]
    assert got.dtype == np.dtype("datetime64[D]")
    assert [None if np.isnat(d) else d.item() for d in got] == expected


@pytest.mark.parametrize(("ids", "dtype"), [([3, 1, 2], np.int64), (["x", "y"], np.str_),
                                            ([2**70, 1], np.str_), ([1, "1"], np.str_)])
def test_ids_of_one_type_load_in_one_pass(ids, dtype):
    from salesmetrics.domain._ids import to_ids

    got = to_ids(np.asarray(ids, dtype=object))
    assert got.dtype.type is dtype
    assert got.tolist() == ([str(i) for i in ids] if dtype is np.str_ else ids)


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(-3, 3), st.integers(0, 6)),
                max_size=60))
def test_sorting_events_is_a_stable_sort_by_row_then_date(events):
    from salesmetrics.domain import history

    rows = np.array([e[0] for e in events], dtype=np.intp)
    days = np.array([e[1] for e in events], dtype=np.int64).view("datetime64[D]")
    codes = np.array([e[2] for e in events], dtype=np.intp)
    order = np.lexsort((days, rows))
    expected = (rows[order].tolist(), codes[order].tolist(), days[order].tolist())
    old = history._BLOCK
    try:
        for block in (old, 4):
            history._BLOCK = block
            got = history.sort_events(rows, codes, days) if len(rows) else (rows, codes, days)
            assert (got[0].tolist(), got[1].tolist(), got[2].tolist()) == expected
            assert got[0].dtype == rows.dtype and got[1].dtype == codes.dtype
            assert got[2].dtype == days.dtype
    finally:
        history._BLOCK = old


def test_sorting_events_falls_back_to_lexsort_when_keys_do_not_fit():
    from salesmetrics.domain.history import sort_events

    rows = np.array([2**40, 0, 2**40, 0], dtype=np.intp)
    days = np.array([2**30, -(2**30), 0, 5], dtype=np.int64).view("datetime64[D]")
    codes = np.array([1, 2, 3, 4], dtype=np.intp)
    got = sort_events(rows, codes, days)
    assert got[0].tolist() == [0, 0, 2**40, 2**40] and got[1].tolist() == [2, 4, 3, 1]
    sorted_in_place = sort_events(np.array([3, 1], np.intp), np.array([0, 1], np.intp),
                                  np.array([1, 2], "datetime64[D]"), in_place=True)
    assert sorted_in_place[0].tolist() == [1, 3]


def test_resolving_ids_in_blocks_names_the_first_unknown_id(monkeypatch):
    from salesmetrics.domain import _ids
    from salesmetrics.errors import DataError

    monkeypatch.setattr(_ids, "_BLOCK", 3)
    ids = np.array([10, 11, 12, 13], dtype=np.int64)
    wanted = np.array([13, 10, 11, 12, 12, 11, 10], dtype=np.int64)
    assert _ids.rows_of_ids(ids, wanted).tolist() == [3, 0, 1, 2, 2, 1, 0]
    with pytest.raises(DataError, match="history row 4: deal 9 is not"):
        _ids.rows_of_ids(ids, np.array([13, 10, 11, 12, 9, 14], dtype=np.int64))


@given(_LABELS.filter(lambda v: not any(x is not None and x.endswith("\0") for x in v)))
def test_polars_categoricals_encode_from_their_physical_codes_as_strings_do(values):
    pl = pytest.importorskip("polars")
    from salesmetrics.domain.columns import encode_labels

    expected = encode_labels(values, field="owner")
    distinct = sorted({v for v in values if v is not None})
    for dtype in (pl.Categorical, pl.Enum([*distinct, "unused"])):
        got = encode_labels(pl.Series(values, dtype=dtype), field="owner")
        assert got.categories.tolist() == expected.categories.tolist()
        assert got.codes.tolist() == expected.codes.tolist()


_TEXT = st.text(alphabet=st.sampled_from("ab é\u20ac\U0001f600z"), max_size=12)


@given(st.lists(_TEXT, min_size=1, max_size=300), st.integers(1, 50))
def test_text_columns_encode_by_integer_keys_exactly_as_numpy_unique(values, block):
    from salesmetrics.domain import _text

    arr = np.array(values, dtype=str)
    old = _text._BLOCK
    _text._BLOCK = block
    try:
        found = _text.unique_inverse_text(arr)
    finally:
        _text._BLOCK = old
    uniques, inverse = np.unique(arr, return_inverse=True)
    if found is not None:  # None only when two categories share a hash (then strings are sorted)
        assert found[0].tolist() == uniques.tolist()
        assert found[1].tolist() == inverse.ravel().tolist()


def test_a_long_text_column_with_values_the_sample_missed_encodes_exactly():
    from salesmetrics.domain.columns import encode_labels

    rng = np.random.default_rng(5)
    names = np.array(["Initial contact", "Discovery", "Closed won", "rep-1", "Ünïcode", "€"])
    values = names[rng.integers(0, len(names), 200_000)]
    values[[7, 99_999]] = ["rare one", "rare two"]  # not in the sample of every 48th value
    got = encode_labels(values, field="stage")
    uniques, inverse = np.unique(values, return_inverse=True)
    assert got.categories.tolist() == uniques.tolist()
    assert got.codes.tolist() == inverse.tolist()


def test_text_lookups_without_a_hash_table_or_with_colliding_keys_stay_exact(monkeypatch):
    from salesmetrics.domain import _text
    from salesmetrics.domain.columns import encode_labels

    values = np.array(["b", "a", "ccc", "a", "dd"] * 20_000)
    uniques, inverse = np.unique(values, return_inverse=True)
    table = _text._Table.of(np.array(["a", "b", "ccc", "dd"]), 8)
    assert table is not None
    table.slots = None  # no collision-free multiplier found: binary search
    words = _text._pack(values[:5], 8)
    code, same = table.find(words, _text._fold(words))
    assert code.tolist() == [1, 0, 2, 0, 3] and same.all()
    monkeypatch.setattr(_text._Table, "of", classmethod(lambda cls, c, p: None))
    got = encode_labels(values, field="stage")  # keys collide: strings are sorted instead
    assert got.codes.tolist() == inverse.tolist()
    assert got.categories.tolist() == uniques.tolist()


def test_dates_are_stored_as_int32_days_and_shown_as_datetime64():
    import pickle

    p = _pipeline()
    assert p._created.dtype == np.int32 and p._close.dtype == np.int32
    assert p._days("close_date") is p._close
    assert p.created.dtype == np.dtype("datetime64[D]")
    assert [str(d) for d in p.created] == ["1969-12-31", "NaT", "0001-01-01", "2024-02-29"]
    assert [str(d) for d in p.close_date] == ["1970-01-01", "9999-12-31", "NaT", "2024-03-01"]
    assert p.created is p.created and not p.created.flags.writeable
    assert p.latest_date == np.datetime64("2024-03-01")  # 9999-12-31 is an open deal's
    assert p.filter(np.array([False, True, True, False])).close_date.tolist() == \
        p.close_date[1:3].tolist()
    assert pickle.loads(pickle.dumps(p)) == p
    with pytest.raises(SalesMetricsError, match="unknown date field 'closed'"):
        p._days("closed")  # type: ignore[arg-type]


def _many_labels(n: int = 12_000) -> tuple[Pipeline, dict[str, list[object]]]:
    """300 owners x 7 stages x 200 teams: codes stored as int16, int8 and uint8-sized int16."""
    rng = np.random.default_rng(14)
    names = [s.name for s in DEFAULT_STAGES]
    cols: dict[str, list[object]] = {
        "id": list(range(n)),
        "owner": [f"rep-{k:03d}" for k in rng.integers(0, 300, n)],
        "team": [f"team-{k:03d}" for k in rng.integers(0, 200, n)],
        "stage": [names[k] for k in rng.integers(0, 7, n)],
        "amount": [int(a) for a in rng.integers(1, 100_000, n)],
    }
    cols["close_date"] = ["2024-05-01"] * n
    p = Pipeline.from_columns(cols, columns={"team": "team"})
    return p, cols


def test_narrow_codes_group_like_a_pure_python_reference():
    import salesmetrics as sm

    p, cols = _many_labels()
    assert p.stage_codes.dtype == np.int8 and p.outcome_codes.dtype == np.int8
    assert p.codes("owner").dtype == np.int16 and p.codes("team").dtype == np.int16
    prob = {s.name: s.probability for s in DEFAULT_STAGES}
    open_stages = {s.name for s in DEFAULT_STAGES if not s.is_closed}
    weighted: dict[tuple[object, ...], float] = {}
    value: dict[tuple[object, ...], float] = {}
    by_team: dict[tuple[object, ...], float] = {}
    won: dict[object, list[int]] = {}
    for owner, team, stage, amount in zip(cols["owner"], cols["team"], cols["stage"],
                                          cols["amount"], strict=True):
        if stage in open_stages:
            weighted[owner, stage] = weighted.get((owner, stage), 0.0) + amount * prob[stage]
            value[owner, stage] = value.get((owner, stage), 0.0) + amount
            by_team[team, owner] = by_team.get((team, owner), 0.0) + amount
        else:
            counts = won.setdefault(owner, [0, 0])
            counts[0] += stage == "Closed won"
            counts[1] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got_weighted = dict(sm.weighted_pipeline(p, by=("owner", "stage")).items())
        got_value = dict(sm.pipeline_value(p, by=("owner", "stage")).items())
        got_team = dict(sm.pipeline_value(p, by=("team", "owner")).items())
        got_rate = dict(sm.win_rate(p, by="owner").items())
    assert {k: v for k, v in got_weighted.items() if k[1] in open_stages and v} == \
        pytest.approx({k: v for k, v in weighted.items() if v}, rel=1e-12)
    assert {k: v for k, v in got_value.items() if v} == pytest.approx(value, rel=1e-12)
    assert {k: v for k, v in got_team.items() if v} == pytest.approx(by_team, rel=1e-12)
    assert got_rate == pytest.approx({k: w / c for k, (w, c) in won.items()}, rel=1e-12)


def test_a_loaded_history_stores_int32_rows_and_int8_stages():
    h = _with_history().history
    assert h is not None and h.rows.dtype == np.int32 and h.stages.dtype == np.int8
    wide = Pipeline.from_columns({"id": [1, 2], "stage": ["Meeting", "Proposal"],
                                  "m": ["2024-01-02", None], "p": [None, "2024-01-03"]},
                                 stage_entered={"Meeting": "m", "Proposal": "p"}).history
    assert wide is not None and wide.rows.dtype == np.int32 and wide.stages.dtype == np.int8
    assert wide.rows.tolist() == [0, 1] and wide.stages.tolist() == [2, 3]
