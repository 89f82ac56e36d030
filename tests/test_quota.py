"""quota_attainment and forecast_accuracy on worked examples computed by hand."""

import math
import warnings

import pytest

import salesmetrics as sm
from salesmetrics import Deal, Pipeline, errors, forecast_accuracy, quota_attainment
from salesmetrics.datasets import SAMPLE_QUOTAS, sample_pipeline
from salesmetrics.errors import DataError, DataQualityWarning, DataTypeError, OptionError

# 2024-Q4 is 92 days, 2024-10-01 to 2024-12-31. The latest date on record is 2024-11-15 (A's
# close), so 46 days have elapsed (Oct 1 to Nov 15, both included): pace = won × 92 / 46.
#   ana: won 60,000 (A; E was won in Q3); open B 50,000 at 60 % → projected 90,000.
#   bo:  won 20,000 (F); open C 10,000 at 80 % → projected 28,000.
#   dee: a quota and no deals.  carl: deals and no quota.
DEALS = [
    Deal("A", 60_000, "Closed won", created="2024-06-01", close_date="2024-11-15", owner="ana"),
    Deal("B", 50_000, "Proposal", created="2024-06-01", close_date="2024-12-20", owner="ana"),
    Deal("C", 10_000, "Negotiation", created="2024-06-01", close_date="2024-12-01", owner="bo"),
    Deal("D", 5_000, "Closed won", created="2024-06-01", close_date="2024-11-01", owner="carl"),
    Deal("E", 99_999, "Closed won", created="2024-06-01", close_date="2024-07-01", owner="ana"),
    Deal("F", 20_000, "Closed won", created="2024-06-01", close_date="2024-10-20", owner="bo"),
]
QUOTAS = {"ana": 100_000, "bo": 80_000, "dee": 50_000}


@pytest.fixture
def p():
    return Pipeline.from_deals(DEALS)


def test_worked_example(p):
    r = quota_attainment(p, quotas=QUOTAS, period="2024-Q4")
    assert list(r) == ["ana", "bo", "dee", "carl"]
    assert r["ana"] == sm.QuotaAttainment(100_000.0, 60_000.0, 0.6, -40_000.0, 120_000.0,
                                          90_000.0)
    assert r["bo"] == sm.QuotaAttainment(80_000.0, 20_000.0, 0.25, -60_000.0, 40_000.0,
                                         28_000.0)
    assert r["dee"] == sm.QuotaAttainment(50_000.0, 0.0, 0.0, -50_000.0, 0.0, 0.0)
    carl = r["carl"]
    assert math.isnan(carl.quota) and math.isnan(carl.attainment) and math.isnan(carl.gap)
    assert (carl.won, carl.pace, carl.projected) == (5_000.0, 10_000.0, 5_000.0)


def test_projected_is_the_forecast_mean(p):
    r = quota_attainment(p, quotas=QUOTAS, period="2024-Q4")
    f = sm.forecast(p, period="2024-Q4", by="owner")
    for owner in ("ana", "bo", "carl"):
        assert r[owner].projected == pytest.approx(f[owner].mean, rel=1e-12)
        assert r[owner].projected == pytest.approx(
            r[owner].won + sm.weighted_pipeline(p, period="2024-Q4", by="owner").get(owner, 0))


def test_as_of_sets_the_pace_and_a_finished_period_has_none(p):
    last_day = quota_attainment(p, quotas=QUOTAS, period="2024-Q4", as_of="2024-12-31")
    assert last_day["ana"].pace == 60_000.0  # every day elapsed
    over = quota_attainment(p, quotas=QUOTAS, period="2024-Q4", as_of="2025-01-01")
    assert math.isnan(over["ana"].pace) and math.isnan(over["ana"].projected)
    assert over["ana"].attainment == 0.6
    before = quota_attainment(p, quotas=QUOTAS, period="2025-Q1")
    assert math.isnan(before["ana"].pace) and before["ana"].won == 0.0


def test_ungrouped_and_zero_quota(p):
    r = quota_attainment(p, quotas=200_000, period="2024-Q4", by=None)
    assert (r.won, r.attainment, r.gap) == (85_000.0, 0.425, -115_000.0)
    assert r.projected == pytest.approx(85_000 + 30_000 + 8_000)
    with pytest.warns(DataQualityWarning, match=r"quota_attainment\(\): 1 group with a quota "
                      r"of 0 \(ana\): attainment is undefined.*Fix: check those quotas"):
        zero = quota_attainment(p, quotas={"ana": 0}, period="2024-Q4")
    assert math.isnan(zero["ana"].attainment) and zero["ana"].gap == 60_000.0


def test_warnings_of_the_metrics_it_calls_name_quota_attainment():
    # B has no amount: forecast (period in progress) and won_revenue (period over) warn
    # about it, under quota_attainment's name, the call the user made.
    q = Pipeline.from_deals([
        Deal("A", 60_000, "Closed won", created="2024-10-01", close_date="2024-11-15",
             owner="ana"),
        Deal("B", None, "Proposal", created="2024-10-01", close_date="2024-12-15",
             owner="ana"),
        Deal("C", None, "Closed won", created="2024-10-01", close_date="2024-11-01",
             owner="ana")])
    for as_of in ("2024-11-30", "2025-01-01"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            quota_attainment(q, quotas={"ana": 100_000}, period="2024-Q4", as_of=as_of)
        messages = [str(w.message) for w in caught]
        assert messages and all(m.startswith("quota_attainment(): ") for m in messages)
        assert any("no amount" in m for m in messages)


def test_quota_rows_covering_part_of_the_period_warn(p):
    # ana has October and November (31 + 30 = 61 of Q4's 92 days), December missing: her
    # quota is 200,000, not a quarter's; bo's quarter row covers it all.
    q = sm.Quota.from_columns({"owner": ["ana", "ana", "bo", "carl"],
                               "period": ["2024-10", "2024-11", "2024-Q4", "2024-Q4"],
                               "amount": [100_000, 100_000, 80_000, 10_000]})
    match = (r"1 owner has quota rows covering only part of 2024-Q4.*the first, 'ana', has "
             r"rows for 61 of the 92 days. Fix: add the missing quota rows, or ask for the "
             r"period the rows cover")
    with pytest.warns(DataQualityWarning, match=r"quota_attainment\(\): " + match):
        r = quota_attainment(p, quotas=q, period="2024-Q4")
    assert r["ana"].quota == 200_000.0  # the rows it has, as before
    with pytest.warns(DataQualityWarning, match=r"commission\(\): " + match):
        sm.commission(sm.CommissionPlan([(0.0, 0.1)]), p, quotas=q, period="2024-Q4")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert q.amounts("2024-Q4") == {"ana": 200_000.0, "bo": 80_000.0,  # a plain roll-up
                                        "carl": 10_000.0}
        months = sm.Quota.from_columns({"owner": ["ana", "ana"], "amount": [1, 1],
                                        "period": ["2024-10", "2024-11"]})
        quota_attainment(p, quotas=months, period="2024-11")  # ana's row covers it all
        # four quarters cover a year (a leap year: 91 + 91 + 92 + 92 = 366 days)
        year = sm.Quota.from_columns({"owner": ["ana"] * 4, "amount": [1, 1, 1, 1],
                                      "period": ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]})
        quota_attainment(p, quotas=year, period="2024")


def test_prints_and_converts(p):
    r = quota_attainment(p, quotas=QUOTAS, period="2024-Q4")
    text = repr(r)
    assert "attainment" in text and "60.0 %" in text and "dee" in text
    frame = r.to_pandas()
    assert list(frame.columns) == ["quota", "won", "attainment", "gap", "pace", "projected"]
    assert frame.loc["bo", "projected"] == 28_000.0
    assert r["ana"].to_pandas()["gap"] == -40_000.0
    assert "QuotaAttainment" in repr(r["ana"])


def test_quota_bad_inputs(p):
    with pytest.raises(DataTypeError, match="quotas must be a mapping"):
        quota_attainment(p, quotas=100, period="2024-Q4")
    with pytest.raises(DataError, match=r"quotas\['ana'\] must be a finite number >= 0"):
        quota_attainment(p, quotas={"ana": -1}, period="2024-Q4")
    with pytest.raises(OptionError, match="period is required"):
        quota_attainment(p, quotas=QUOTAS, period=None)
    with pytest.raises(DataError, match="unknown field"):
        quota_attainment(p, quotas=QUOTAS, period="2024-Q4", by="team")


def test_forecast_accuracy_worked_example():
    # |110 − 100| / 100 = 0.1, |80 − 100| / 100 = 0.2, 0: accuracy 0.9, 0.8, 1.0;
    # MAPE = 0.3 / 3 = 0.1; bias = (10 − 20 + 0) / 300 = −1/30.
    r = forecast_accuracy([110, 80, 100], [100, 100, 100])
    assert r.accuracy == pytest.approx((0.9, 0.8, 1.0))
    assert r.mape == pytest.approx(0.1)
    assert r.bias == pytest.approx(-1 / 30)
    assert list(r.to_pandas().columns) == ["forecast", "actual", "accuracy"]
    assert "mape 10.0 %" in repr(r)


def test_forecast_accuracy_per_group_and_zero_actuals():
    with pytest.warns(DataQualityWarning, match="1 period with an actual of 0"):
        r = forecast_accuracy({"ana": [50, 10], "bo": [30]}, {"ana": [100, 0], "bo": [40]})
    assert list(r) == ["ana", "bo"]
    assert r["ana"].accuracy[0] == 0.5 and math.isnan(r["ana"].accuracy[1])
    assert r["ana"].mape == 0.5  # the zero-actual period is left out
    assert r["ana"].bias == pytest.approx((-50 + 10) / 100)  # but bias counts its forecast
    assert r["bo"].accuracy == pytest.approx((0.75,))
    assert list(r.to_pandas().columns) == ["mape", "bias", "periods"]
    with pytest.warns(DataQualityWarning):
        only_zero = forecast_accuracy([5], [0])
    assert math.isnan(only_zero.mape) and math.isnan(only_zero.bias)


def test_forecast_accuracy_takes_forecast_results(p):
    f = sm.forecast(p, period="2024-Q4")
    r = forecast_accuracy([f], [100_000])
    assert r.forecast == (pytest.approx(f.mean),)


def test_forecast_accuracy_bad_inputs():
    with pytest.raises(DataError, match="3 periods and actual 2"):
        forecast_accuracy([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match=r"actual\[0\] is -1\.0"):
        forecast_accuracy([1], [-1])
    with pytest.raises(DataTypeError, match="two sequences or two mappings"):
        forecast_accuracy({"a": [1]}, [1])
    with pytest.raises(DataError, match="same groups"):
        forecast_accuracy({"a": [1]}, {"b": [1]})
    with pytest.raises(DataError, match="must be a finite number"):
        forecast_accuracy([float("nan")], [1])
    with pytest.raises(DataTypeError, match="sequence of numbers"):
        forecast_accuracy("12", "12")


def test_an_earlier_as_of_measures_the_pipeline_as_it_stood_then():
    p = sample_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        earlier = quota_attainment(p, quotas=SAMPLE_QUOTAS, period="2024-Q4", as_of="2024-11-15")
        rebuilt = quota_attainment(p.as_of("2024-11-15"), quotas=SAMPLE_QUOTAS, period="2024-Q4")
        whole = quota_attainment(p, quotas=SAMPLE_QUOTAS, period="2024-Q4")
    assert earlier == rebuilt
    assert earlier["Ava Patel"].won < whole["Ava Patel"].won  # won after 2024-11-15 is not known


def test_an_earlier_as_of_without_history_is_an_error():
    p = Pipeline.from_deals([
        Deal("A", 100, "Closed won", created="2024-10-01", close_date="2024-12-01", owner="ana"),
    ])
    with pytest.raises(OptionError, match="as_of 2024-11-15 is before the latest date"):
        quota_attainment(p, quotas={"ana": 100}, period="2024-Q4", as_of="2024-11-15")


# -- the Quota table ---------------------------------------------------------------------------
QUOTA_TABLE = {
    "owner": ["ana", "bo", "dee", "ana", "bo"],
    "period": ["2024-Q4", "2024-Q4", "2024-Q4", "2024-Q3", "2024-Q3"],
    "amount": [100_000, 80_000, 50_000, 90_000, 70_000],
    "team": ["East", "East", "West", "East", "East"],
}


def test_quota_table_is_the_mapping_it_stands_for(p):
    q = sm.Quota.from_columns(QUOTA_TABLE)
    assert q.amounts("2024-Q4") == QUOTAS
    assert quota_attainment(p, quotas=q, period="2024-Q4") == quota_attainment(
        p, quotas=QUOTAS, period="2024-Q4")
    # a year holds both quarters: ana 190,000, bo 150,000, dee 50,000
    assert q.amounts("2024") == {"ana": 190_000.0, "bo": 150_000.0, "dee": 50_000.0}
    assert q.amounts("2025-Q1") == {}


def test_quota_team_roll_up_from_the_table_and_from_the_pipeline():
    q = sm.Quota.from_columns(QUOTA_TABLE)
    assert q.amounts("2024-Q4", by="team") == {"East": 180_000.0, "West": 50_000.0}
    deals = [Deal("A", 60_000, "Closed won", created="2024-06-01", close_date="2024-11-15",
                  owner="ana", fields={"team": "East"}),
             Deal("F", 20_000, "Closed won", created="2024-06-01", close_date="2024-10-20",
                  owner="bo", fields={"team": "East"}),
             Deal("G", 1, "Closed lost", created="2024-06-01", close_date="2024-10-20",
                  owner="dee", fields={"team": "West"})]
    teams = Pipeline.from_deals(deals)
    r = quota_attainment(teams, quotas=q, period="2024-Q4", by="team")
    assert (r["East"].quota, r["East"].won, r["East"].attainment) == (180_000.0, 80_000.0,
                                                                      80_000 / 180_000)
    plain = sm.Quota.from_columns({k: v for k, v in QUOTA_TABLE.items() if k != "team"})
    assert plain.amounts("2024-Q4", by="team", pipeline=teams) == {"East": 180_000.0,
                                                                   "West": 50_000.0}
    assert quota_attainment(teams, quotas=plain, period="2024-Q4", by="team") == r
    total = quota_attainment(teams, quotas=q, period="2024-Q4", by=None)
    assert total.quota == 230_000.0


def test_quota_table_without_rows_in_the_period_warns(p):
    q = sm.Quota.from_columns(QUOTA_TABLE)
    with pytest.warns(DataQualityWarning, match=r"quota_attainment\(\): the Quota table has no "
                      r"row in 2025-Q1 \(its quota periods are 2024-Q3, 2024-Q4\).*Fix"):
        r = quota_attainment(p, quotas=q, period="2025-Q1")
    assert all(math.isnan(row.quota) for row in r.values())
    with pytest.warns(DataQualityWarning, match=r"commission\(\): .*no row in 2025-Q1"):
        sm.commission(sm.CommissionPlan([(0.0, 0.1)]), p, quotas=q, period="2025-Q1")
    with warnings.catch_warnings():  # a period the table covers: no warning
        warnings.simplefilter("error")
        quota_attainment(p, quotas=q, period="2024-Q4")


def test_quota_table_rolls_up_by_one_field_and_minor_units_must_agree(p):
    q = sm.Quota.from_columns(QUOTA_TABLE)
    with pytest.raises(OptionError, match="rolls up by one field"):
        quota_attainment(p, quotas=q, period="2024-Q4", by=["owner", "team"])
    yen = Pipeline.from_columns({"id": ["Y"], "stage": ["Closed won"], "amount": [1000],
                                 "owner": ["ana"], "created": ["2024-10-01"],
                                 "close_date": ["2024-10-02"]}, currency="JPY")
    with pytest.raises(OptionError, match="minor units"):  # currency=None means cents
        quota_attainment(yen, quotas=q, period="2024-Q4")


def test_quota_table_prints_converts_and_keeps_exact_cents():
    q = sm.Quota.from_columns({"owner": ["ana"], "period": [sm.Period.parse("2024-Q4")],
                               "amount": [0.125]}, currency="USD")
    assert q.amount_minor.tolist() == [12]  # half to even: 12.5 cents → 12
    assert not q.amount_minor.flags.writeable
    assert "Quota (1 rows)" in repr(q) and "USD 0.12" in repr(q)
    frame = sm.Quota.from_columns(QUOTA_TABLE).to_pandas()
    assert list(frame.columns) == ["owner", "period", "amount", "team"]
    assert sm.Quota.from_columns(frame) == sm.Quota.from_columns(QUOTA_TABLE)
    assert len(sm.Quota.from_columns(frame)) == 5


def test_quota_table_errors(p):
    bad = dict(QUOTA_TABLE, amount=[1, 2, -3, 4, 5])
    with pytest.raises(DataError, match=r"row 2: amount must be a finite number >= 0, got -3"):
        sm.Quota.from_columns(bad)
    with pytest.raises(DataError, match=r"row 1: owner is missing"):
        sm.Quota.from_columns(dict(QUOTA_TABLE, owner=["ana", None, "dee", "ana", "bo"]))
    with pytest.raises(DataError, match=r"row 3: owner 'ana' has a quota for 2024-Q4 already"):
        sm.Quota.from_columns(dict(QUOTA_TABLE, period=["2024-Q4"] * 5))
    # an annual row and its quarters would count the quota twice (400k + 4 × 100k = 800k)
    with pytest.raises(DataError, match=r"rows 0 and 1: owner 'ana' has quotas for 2024 and "
                                        r"2024-Q1, which overlap"):
        sm.Quota.from_columns({"owner": ["ana"] * 5, "amount": [400_000] + [100_000] * 4,
                               "period": ["2024", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]})
    with pytest.raises(DataError, match=r"rows 0 and 1: owner 'bo' has quotas for 2024-10 and "
                                        r"2024-Q4, which overlap"):
        sm.Quota.from_columns({"owner": ["bo", "bo", "ana"], "amount": [1, 2, 3],
                               "period": ["2024-10", "2024-Q4", "2024-10"]})
    # adjacent periods of one owner, and one period for two owners, do not overlap
    assert len(sm.Quota.from_columns({"owner": ["bo", "bo", "ana"], "amount": [1, 2, 3],
                                      "period": ["2024-Q3", "2024-10", "2024-10"]})) == 3
    with pytest.raises(DataError, match=r"row 0: .*'2024-Q5'"):
        sm.Quota.from_columns(dict(QUOTA_TABLE, period=["2024-Q5"] * 5))
    with pytest.raises(DataError, match="no column 'amount'"):
        sm.Quota.from_columns({"owner": ["a"], "period": ["2024"]})
    with pytest.raises(DataError, match="straddles 2024-11"):
        sm.Quota.from_columns(QUOTA_TABLE).amounts("2024-11")
    with pytest.raises(OptionError, match="cannot roll quotas up by 'region'"):
        sm.Quota.from_columns(QUOTA_TABLE).amounts("2024-Q4", by="region")
    with pytest.raises(errors.CurrencyError, match="EUR"):
        quota_attainment(Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"]},
                                               currency="USD"), period="2024-Q4",
                         quotas=sm.Quota.from_columns(QUOTA_TABLE, currency="EUR"))
    one_team = Pipeline.from_deals([Deal("A", 1, "Proposal", owner="ana",
                                         fields={"team": "East"})])
    with pytest.raises(DataError, match=r"quota_attainment\(\).*owner 'bo' has no deals"):
        quota_attainment(one_team, quotas=sm.Quota.from_columns(
            {k: v for k, v in QUOTA_TABLE.items() if k != "team"}), period="2024-Q4",
            by="team")
