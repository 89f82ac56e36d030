"""Public summaries: summarize → add (any split, any order) → finalize equals the metric, bit for
bit; mismatched summaries refuse to merge; the empty summary is the identity; pickle, Arrow and
bytes round trips."""

import itertools
import math
import pickle
import random

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import STAGES, build, deal_rows

import salesmetrics as sm
from salesmetrics import Deal, Pipeline
from salesmetrics.errors import DataTypeError, OptionError
from salesmetrics.metrics._summary import SummaryMismatchError

pytestmark = pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")

PERIOD = "2023-Q3"
AS_OF = "2024-06-30"
#: (metric, its summarize options, finalize options): every core metric, with its variants.
CASES = [
    ("weighted_pipeline", {}, {}),
    ("weighted_pipeline", {"period": PERIOD, "probabilities": {"Proposal": 0.3}}, {}),
    ("pipeline_value", {"period": PERIOD}, {}),
    ("won_revenue", {}, {}),
    ("won_revenue", {"period": PERIOD, "view": "cohort"}, {}),
    ("win_rate", {"basis": "value"}, {}),
    ("win_rate", {"open_deals": "lost", "period": PERIOD}, {"zero_division": 0.0}),
    ("win_rate", {"stale_after": 90, "as_of": AS_OF, "no_decision": "exclude"}, {}),
    ("outcome_shares", {"basis": "value", "period": PERIOD}, {}),
    ("conversion_from_stage", {}, {}),
    ("conversion_from_stage", {"basis": "value", "skipped": "visited"}, {"zero_division": 1.0}),
    ("stage_conversion", {}, {}),
    ("stage_conversion", {"skipped": "visited", "basis": "value"}, {}),
    ("funnel_counts", {"basis": "value", "period": PERIOD}, {}),
    ("sales_velocity", {}, {}),
    ("sales_velocity", {"period": PERIOD, "opportunities": "created", "stale_after": 30,
                        "as_of": AS_OF}, {"zero_division": 0.0}),
    ("sales_cycle_length", {}, {}),
    ("sales_cycle_length", {"statistic": "median", "outcome": "closed"}, {}),
    ("sales_cycle_length", {"statistic": 75, "period": PERIOD}, {"zero_division": 0.0}),
    ("average_deal_size", {"outcome": "lost"}, {"zero_division": 0.0}),
]
GROUPINGS = [None, "owner", "stage", ["team", "owner"]]


def flat(value):
    """A result as a list of (keys, float or int) leaves, in order; nan compared as nan."""
    if isinstance(value, sm.GroupedResult):
        return [(("k", k), *leaf) for k, v in value.items() for leaf in flat(v)]
    if attrs.has(type(value)):
        return [leaf for v in attrs.astuple(value, recurse=False) for leaf in flat(v)]
    return [(value,)]


def identical(a, b):
    """The same keys in the same order and the same bits (nan where nan)."""
    left, right = flat(a), flat(b)
    assert len(left) == len(right)
    for x, y in zip(left, right, strict=True):
        assert x[:-1] == y[:-1]
        u, v = x[-1], y[-1]
        if isinstance(u, float) and isinstance(v, float):
            assert (math.isnan(u) and math.isnan(v)) or np.float64(u).tobytes() == np.float64(
                v).tobytes(), (u, v)
        else:
            assert u == v and type(u) is type(v)
    return True


def random_tree(parts, rng):
    """Add the summaries up in a random order and a random tree."""
    parts = list(parts)
    rng.shuffle(parts)
    while len(parts) > 1:
        i = rng.randrange(len(parts) - 1)
        parts[i: i + 2] = [parts[i] + parts[i + 1]]
    return parts[0]


def with_probabilities(rows, probs):
    """``rows`` with arbitrary float probabilities on the open deals (not a few round values)."""
    closed = [STAGES[[s.name for s in STAGES].index(x)].is_closed for x in rows["stage"]]
    rows = dict(rows)
    rows["probability"] = [None if c or q is None else q
                           for q, c in zip(probs, closed, strict=True)]
    return rows


@settings(max_examples=60, deadline=None)
@given(deal_rows(max_size=30), st.sampled_from(CASES), st.sampled_from(GROUPINGS),
       st.lists(st.integers(0, 3), min_size=30, max_size=30),
       st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=30, max_size=30),
       st.randoms(use_true_random=False))
def test_any_split_and_merge_order_gives_the_whole(rows, case, by, labels, probs, rng):
    metric, options, finalize_options = case
    p = build(with_probabilities(rows, probs[: len(rows["id"])]))
    options = {**options, "by": by}
    whole = getattr(sm, metric)(p, **options, **finalize_options)
    part_of = np.array(labels[: len(p)], dtype=int)
    parts = [sm.summarize(p.filter(part_of == k), metric, **options) for k in range(4)]
    if rng.random() < 0.5:
        parts.append(sm.Summary.empty(metric, **options))
    total = random_tree(parts, rng)
    assert identical(sm.finalize(total, **finalize_options), whole)
    assert total == sm.summarize(p, metric, **options)  # the tallies too, exactly


@pytest.mark.parametrize(("metric", "options", "finalize_options"), CASES)
def test_single_process_equals_summarize_finalize(sample, metric, options, finalize_options):
    for by in GROUPINGS[:3]:
        whole = getattr(sm, metric)(sample, **options, by=by, **finalize_options)
        summary = sm.summarize(sample, getattr(sm, metric), **options, by=by)
        assert identical(sm.finalize(summary, **finalize_options), whole)


@pytest.fixture(scope="module")
def sample():
    return sm.datasets.sample_pipeline()


@pytest.mark.parametrize(("metric", "options", "finalize_options"), CASES)
def test_empty_is_the_identity(sample, metric, options, finalize_options):
    s = sm.summarize(sample, metric, **options, by="owner")
    empty = sm.Summary.empty(metric, **options, by="owner")
    assert empty + s == s and s + empty == s and empty + empty == empty
    nothing = sample.filter(np.zeros(len(sample), dtype=bool))
    assert identical(sm.finalize(empty, **finalize_options),
                     getattr(sm, metric)(nothing, **options, by="owner", **finalize_options))


@pytest.mark.parametrize(("metric", "options", "finalize_options"), CASES)
@pytest.mark.parametrize("by", ["team", ["team", "region"], ["team", "stage"], ["owner", "team"]])
def test_empty_finalizes_grouped_by_any_field(metric, options, finalize_options, by):
    # Fields that are not deal attributes (team, region): the empty pipeline has them too.
    empty = {"id": [], "amount": np.array([], dtype=float), "stage": [], "owner": [],
             "team": [], "region": []}
    nothing = Pipeline.from_columns(empty, columns={"team": "team", "region": "region"})
    assert identical(sm.finalize(sm.Summary.empty(metric, **options, by=by), **finalize_options),
                     getattr(sm, metric)(nothing, **options, by=by, **finalize_options))


@pytest.mark.parametrize(("metric", "options", "finalize_options"), CASES)
def test_pickle_arrow_and_bytes_round_trips(sample, metric, options, finalize_options):
    for by in GROUPINGS:
        s = sm.summarize(sample, metric, **options, by=by)
        for back in (pickle.loads(pickle.dumps(s)), sm.Summary.from_arrow(s.to_arrow()),
                     sm.Summary.from_bytes(s.to_bytes())):
            assert back == s
            assert identical(sm.finalize(back, **finalize_options),
                             sm.finalize(s, **finalize_options))
        empty = sm.Summary.empty(metric, **options, by=by)
        assert sm.Summary.from_bytes(empty.to_bytes()) == empty


def test_summaries_pickle_small(sample):
    # Per-group tallies: their size follows the groups, not the deals (or the span of dates).
    big = Pipeline.from_columns({**{k: np.tile(v, 20) for k, v in sample.to_columns().items()
                                    if k != "id"}, "id": np.arange(20 * len(sample))},
                                 sample.stages)
    for metric in ("win_rate", "sales_velocity", "conversion_from_stage"):
        small = len(pickle.dumps(sm.summarize(sample, metric, by="owner")))
        assert small < 8_000
        assert len(pickle.dumps(sm.summarize(big, metric, by="owner"))) == small
    # The median's day counts: one entry per distinct (group, day), at most one per deal.
    s = sm.summarize(big, "sales_cycle_length", statistic="median", by="owner")
    assert len(pickle.dumps(s)) < 24 * len(sample) + 8_000


def test_arrow_table_has_a_row_per_group(sample):
    table = sm.summarize(sample, "win_rate", by="owner").to_arrow()
    assert table.num_rows == len(sm.win_rate(sample, by="owner"))
    assert table.column("key:owner").to_pylist() == list(sm.win_rate(sample, by="owner"))
    with pytest.raises(sm.errors.DataError, match="summary metadata"):
        sm.Summary.from_arrow(table.replace_schema_metadata({}))


def test_an_outcome_summary_of_an_older_format_is_refused_with_the_reason(sample):
    # Older outcome and velocity summaries did not record the sales process (their context is
    # one part shorter): such a summary cannot be checked against today's, so it is refused,
    # saying why. One that records it loads, whatever its format number; so do the others.
    import json

    from salesmetrics.metrics._summary_arrow import _META

    def as_format_2(summary, *, drop_process):
        table = summary.to_arrow()
        meta = json.loads(table.schema.metadata[_META])
        meta["version"] = 2
        if drop_process:
            meta["context"]["tuple"] = meta["context"]["tuple"][:-1]
        return table.replace_schema_metadata({_META: json.dumps(meta).encode()})

    s = sm.summarize(sample, "win_rate", by="owner")
    with pytest.raises(sm.errors.DataError, match=r"'win_rate' summary was made by an older "
                                                  r"salesmetrics, which did not record the sales "
                                                  r"process.*summarize that part again"):
        sm.Summary.from_arrow(as_format_2(s, drop_process=True))
    assert sm.Summary.from_arrow(as_format_2(s, drop_process=False)) == s
    s = sm.summarize(sample, "pipeline_value", by="owner")
    assert sm.Summary.from_arrow(as_format_2(s, drop_process=False)) == s
    # An old pickled summary (a context without the process) merges with a clear refusal.
    new = sm.summarize(sample, "win_rate")
    old = sm.Summary(new.metric, new.by, new.keys, new.arrays, new.context[:-1], new.order,
                     new.outside, function=new.function, options=new.options)
    with pytest.raises(SummaryMismatchError, match="made by an older salesmetrics, which did not "
                                                   "record the process"):
        old + new


def test_weighted_pipeline_summaries_say_which_probabilities_differ():
    # Two processes with the same stages, Proposal at 60 % in one and 50 % in the other.
    other = tuple(sm.Stage(s.name, 0.5, s.outcome) if s.name == "Proposal" else s
                  for s in sm.DEFAULT_STAGES)
    a, b = (sm.summarize(Pipeline.from_deals([Deal("A", 100, "Proposal")], stages),
                         "weighted_pipeline") for stages in (sm.DEFAULT_STAGES, other))
    with pytest.raises(SummaryMismatchError, match=r"the probabilities differ: 0.0, 0.1, 0.3, "
                                                   r"0.6, .* and 0.0, 0.1, 0.3, 0.5"):
        a + b


# -- exact weighted pipeline ------------------------------------------------------------------


def test_weighted_pipeline_worked_example():
    # 0.1 + 0.2 in floats is 0.30000000000000004; in parts per billion it is exact:
    # 100.00 × 0.1 + 100.00 × 0.2 = 10,000 × 100,000,000 + 10,000 × 200,000,000 ppb-cents
    # = 3 × 10**12 → 3,000 cents = 30.00.
    p = Pipeline.from_deals([Deal("A", 100, "Proposal", probability=0.1),
                             Deal("B", 100, "Proposal", probability=0.2)])
    assert sm.weighted_pipeline(p) == 30.0
    # A probability counts to 9 decimals: 1/3 is 333,333,333 ppb; 300.00 × that =
    # 30,000 × 333,333,333 / 10**9 cents = 9,999.99999 cents = 99.9999999.
    third = Pipeline.from_deals([Deal("A", 300, "Proposal", probability=1 / 3)])
    assert sm.weighted_pipeline(third) == 99.9999999


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**15), st.floats(0, 1)), min_size=1, max_size=40),
       st.randoms(use_true_random=False))
def test_weighted_pipeline_is_order_independent(deals, rng):
    # Large amounts (up to 10**13 major units) and arbitrary probabilities: a float sum of
    # amount × probability would depend on the order; the exact sum does not.
    def pipeline(rows):
        return Pipeline.from_deals([Deal(f"D{i}", a / 100, "Proposal", probability=q)
                                    for i, (a, q) in rows])
    rows = list(enumerate(deals))
    shuffled = rows[:]
    rng.shuffle(shuffled)
    expected = sum(a * round(q * 10**9) for a, q in deals) / 10**9 / 100
    assert sm.weighted_pipeline(pipeline(rows)) == sm.weighted_pipeline(pipeline(shuffled))
    assert sm.weighted_pipeline(pipeline(rows)) == pytest.approx(expected, rel=1e-15)


# -- refusals and argument errors -------------------------------------------------------------


def test_summaries_of_different_metrics_groupings_or_options_refuse_to_merge(sample):
    s = sm.summarize(sample, "win_rate", by="owner")
    with pytest.raises(SummaryMismatchError, match="different metrics"):
        s + sm.summarize(sample, "outcome_shares", by="owner")
    with pytest.raises(SummaryMismatchError, match="different groupings"):
        s + sm.summarize(sample, "win_rate", by="stage")
    with pytest.raises(SummaryMismatchError, match=r"different options.*basis"):
        s + sm.summarize(sample, "win_rate", by="owner", basis="value")
    with pytest.raises(SummaryMismatchError, match=r"different options.*period"):
        s + sm.summarize(sample, "win_rate", by="owner", period="2017-Q2")
    with pytest.raises(SummaryMismatchError, match="different groupings"):
        s + sm.Summary.empty("win_rate")
    other = Pipeline.from_deals([Deal("A", 1, "Won", close_date="2024-01-01")],
                                [sm.Stage("Open", 0.5), sm.Stage("Won", 1, sm.Outcome.WON)])
    with pytest.raises(SummaryMismatchError, match="different processes"):
        s + sm.summarize(other, "win_rate", by="owner")
    # Same currency and stage names, but "Closed" is won in one process and lost in the other:
    # the outcome tallies would add up, and a by="stage" group would mix a win and a loss.
    won_closed = [sm.Stage("Open", .5), sm.Stage("Closed", 1, sm.Outcome.WON),
                  sm.Stage("Lost", 0, sm.Outcome.LOST)]
    lost_closed = [sm.Stage("Open", .5), sm.Stage("Won", 1, sm.Outcome.WON),
                   sm.Stage("Closed", 0, sm.Outcome.LOST)]
    x, y = (Pipeline.from_deals([Deal(i, 100, "Closed", close_date="2024-01-02")], stages)
            for i, stages in (("A", won_closed), ("B", lost_closed)))
    for metric in ("win_rate", "won_revenue", "outcome_shares", "sales_velocity",
                   "sales_cycle_length", "average_deal_size"):
        with pytest.raises(SummaryMismatchError, match="different processes"):
            sm.summarize(x, metric, by="stage") + sm.summarize(y, metric, by="stage")
    # A stale_after without as_of ages each part from its own latest date: the hint says so.
    half = np.arange(len(sample)) < len(sample) // 2
    a, b = (sm.summarize(sample.filter(m), "win_rate", stale_after=30) for m in (half, ~half))
    with pytest.raises(SummaryMismatchError, match="pass as_of="):
        a + b
    assert isinstance(SummaryMismatchError("x"), OptionError)


def test_argument_errors(sample):
    with pytest.raises(OptionError, match=r"metric must be one of.*'win_rate'"):
        sm.summarize(sample, "win_rates")
    with pytest.raises(OptionError, match="metric must be one of"):
        sm.summarize(sample, sm.forecast)
    with pytest.raises(OptionError, match=r"no option 'bass'.*'basis'"):
        sm.summarize(sample, "win_rate", bass="value")
    with pytest.raises(OptionError, match="zero_division is an option of finalize"):
        sm.summarize(sample, "win_rate", zero_division=0.0)
    with pytest.raises(OptionError, match="basis"):
        sm.summarize(sample, "win_rate", basis="units")
    with pytest.raises(OptionError, match="no options"):
        sm.finalize(sm.summarize(sample, "pipeline_value"), zero_division=0.0)
    with pytest.raises(OptionError, match="'basis'"):
        sm.finalize(sm.summarize(sample, "win_rate"), basis="value")
    with pytest.raises(DataTypeError, match=r"made by salesmetrics.summarize"):
        sm.finalize("summary")
    with pytest.raises(OptionError, match="zero_division"):
        sm.finalize(sm.summarize(sample, "win_rate"), zero_division=2.0)
    with pytest.raises(TypeError):
        sm.summarize(sample, "win_rate") + 1


def test_summary_prints_its_metric(sample):
    assert repr(sm.summarize(sample, "win_rate", by="owner")).startswith(
        "Summary('win_rate', by=('owner',), ")
    assert repr(sm.Summary.empty("win_rate")) == "Summary('win_rate', by=(), empty)"


def test_merge_order_of_keys_is_the_wholes(sample):
    # Groups present in one part only: keys aligned, in the whole's order (stages in process
    # order, not alphabetical or first-seen).
    rng = random.Random(5)
    labels = np.array([rng.randrange(3) for _ in range(len(sample))])
    for by in ("stage", "owner", ["owner", "stage"]):
        parts = [sm.summarize(sample.filter(labels == k), "pipeline_value", by=by)
                 for k in range(3)]
        for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
            total = parts[order[0]] + parts[order[1]] + parts[order[2]]
            assert total.keys == sm.summarize(sample, "pipeline_value", by=by).keys


@settings(max_examples=60, deadline=None)
@given(deal_rows(max_size=30), st.lists(st.integers(0, 30), max_size=3),
       st.sampled_from(["won_revenue", "win_rate", "pipeline_value"]),
       st.sampled_from(["owner", ["owner", "team"], ["team", "owner"]]),
       st.randoms(use_true_random=False))
def test_parts_with_their_own_categoricals_merge_to_the_wholes_order(rows, cuts, metric, by,
                                                                    rng):
    # Each part's owner is a categorical of its own (categories in an arbitrary order, some not
    # present) or plain labels, as a data lake's files read one by one give them. Concatenated,
    # different categoricals are plain labels (sorted); identical ones stay that categorical.
    pd = pytest.importorskip("pandas")
    columns = ("id", "amount", "stage", "created", "close_date", "owner", "team")
    frame = pd.DataFrame({k: rows[k] for k in columns}).astype({"amount": float})
    bounds = [0, *sorted(cuts), 30]
    pieces = [frame.iloc[a:b].copy() for a, b in itertools.pairwise(bounds)]
    shared = rng.random() < 0.3  # every part the same categorical
    same = ["zed", "mo", "cy", "bo", "ana"]
    rng.shuffle(same)
    for piece in pieces:
        if rng.random() < 0.2:
            continue  # plain labels
        present = {x for x in piece["owner"] if pd.notna(x)}
        categories = same if shared else [*present, *rng.sample(["zed", "mo"], rng.randrange(3))]
        if not shared:
            rng.shuffle(categories)
        piece["owner"] = pd.Categorical(piece["owner"], categories=categories)
    dtypes = {str(piece["owner"].dtype) + repr(getattr(piece["owner"], "cat", None)
                                                and list(piece["owner"].cat.categories))
              for piece in pieces}
    whole = pd.concat(pieces if len(dtypes) == 1 else
                      [piece.astype({"owner": object}) for piece in pieces])

    def pipeline(data):
        return Pipeline.from_columns(data, STAGES, currency="USD", columns={"team": "team"})

    parts = [sm.summarize(pipeline(piece), metric, by=by) for piece in pieces]
    expected = sm.summarize(pipeline(whole), metric, by=by)
    total = random_tree(parts, rng)
    assert total.keys == expected.keys
    assert total == expected
    assert identical(sm.finalize(total), getattr(sm, metric)(pipeline(whole), by=by))
    a, b, c = (parts * 3)[:3]
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert ((a + b) + c).keys == (c + (b + a)).keys


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_high_cardinality_categorical_pickles_small(shuffled):
    # 100 deals grouped by an owner categorical of 200,000 categories (50 of them used): the
    # summary holds the groups present (and a fingerprint of the categories), not every one.
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    categories = [f"owner-{i:06d}" for i in range(200_000)]
    if shuffled:  # not sorted: a categorical's own order, which merges keep
        categories = [categories[i] for i in rng.permutation(len(categories))]
    owners = rng.choice(categories[:50], 100)
    frame = pd.DataFrame({"id": np.arange(100), "amount": np.arange(100.0),
                          "stage": rng.choice(["Proposal", "Closed won", "Closed lost"], 100),
                          "close_date": "2024-01-01",
                          "owner": pd.Categorical(owners, categories=categories)})
    first = np.arange(100) < 50
    whole, a, b = (sm.summarize(Pipeline.from_columns(part), "win_rate", by="owner")
                   for part in (frame, frame[first], frame[~first]))
    for s in (whole, a, b):
        assert len(pickle.dumps(s)) < 20_000
        assert len(s.to_bytes()) < 20_000
    # Unpickled (compact) parts merge to the whole's order, either way round and with the
    # whole's own categories (a part of another process, one of this one).
    a2, b2 = pickle.loads(pickle.dumps(a)), sm.Summary.from_bytes(b.to_bytes())
    for total in (a2 + b2, b2 + a2, a + b2, b2 + a, a + b):
        assert total == whole
        assert total.keys == whole.keys
    assert list(whole.keys) == [c for c in categories[:50] if c in set(owners)]
    # A different categorical (other categories or another order) is plain labels: sorted.
    other = frame[~first].astype({"owner": object}).astype({"owner": "category"})
    c = sm.summarize(Pipeline.from_columns(other), "win_rate", by="owner")
    assert (a2 + c).keys == (c + a2).keys == tuple(sorted(set(owners)))
