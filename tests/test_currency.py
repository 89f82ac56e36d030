"""Pipelines in several currencies: ExchangeRates, rates= on every reader, exact conversion."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics import Deal, ExchangeRates, Pipeline, Stage
from salesmetrics.errors import (
    AmountError,
    CurrencyError,
    DataError,
    DataQualityWarning,
    DataTypeError,
    OptionError,
)
from salesmetrics.io import (
    read_hubspot,
    read_pipedrive,
    read_records,
    read_salesforce,
    read_salesforce_rates,
)

STAGES = (Stage("Lead", 0.2), Stage("Demo", 0.6), Stage("Won", 1.0, "won"),
          Stage("Lost", 0.0, "lost"))
#: EUR 0.92 until 2024-02-14, 0.95 from 2024-02-15 (mid-quarter); JPY 151.37 throughout.
RATES = ExchangeRates.from_columns(
    {"currency": ["EUR", "EUR", "JPY", "USD"],
     "start_date": ["2024-01-01", "2024-02-15", "2024-01-01", "2024-01-01"],
     "rate": ["0.92", "0.95", "151.37", "1"]},
    corporate="USD")


def deals(**columns):
    base = {"id": ["a"], "stage": ["Won"], "amount": [10_000.0], "currency": ["EUR"],
            "created": ["2024-01-02"], "close_date": ["2024-01-31"]}
    return base | columns


# -- worked examples ----------------------------------------------------------------------------
def test_the_issues_worked_examples():
    p = Pipeline.from_columns(
        {"id": ["eur", "jpy", "usd"], "stage": ["Won", "Won", "Won"],
         "amount": [10_000.00, 1_000_000, 250.5], "currency": ["EUR", "JPY", "USD"],
         "close_date": ["2024-01-31", "2024-01-31", "2024-01-31"]},
        STAGES, rates=RATES)
    assert p.currency == "USD"
    # 10,000.00 EUR / 0.92 = 10,869.5652… USD → 10,869.57; 1,000,000 JPY / 151.37 =
    # 6,606.3289… USD → 6,606.33 (0-decimal JPY to 2-decimal USD); USD deals unchanged.
    assert p.amount_minor.tolist() == [1_086_957, 660_633, 25_050]
    assert sm.won_revenue(p) == pytest.approx(10_869.57 + 6_606.33 + 250.50)
    assert p.original_amount.tolist() == [10_000.0, 1_000_000.0, 250.5]
    assert p.original_currency.tolist() == ["EUR", "JPY", "USD"]


def test_a_mid_quarter_rate_change_applies_to_deals_closing_after_it_only():
    p = Pipeline.from_columns(
        deals(id=["before", "on", "after"], stage=["Won"] * 3, amount=[9_500.0] * 3,
              currency=["EUR"] * 3, created=["2024-01-02"] * 3,
              close_date=["2024-02-14", "2024-02-15", "2024-03-31"]),
        STAGES, rates=RATES)
    # 9,500 / 0.92 = 10,326.0869… → 10,326.09; 9,500 / 0.95 = 10,000 exactly
    assert p.amount_minor.tolist() == [1_032_609, 1_000_000, 1_000_000]
    q1 = sm.won_revenue(p, period="2024-Q1")
    assert q1 == pytest.approx(10_326.09 + 20_000.00)


def test_rate_date_created_and_the_fallbacks():
    data = deals(id=["won", "open", "open-no-close"], stage=["Won", "Demo", "Demo"],
                 amount=[9_500.0] * 3, currency=["EUR"] * 3,
                 created=["2024-01-10", "2024-01-10", "2024-03-01"],
                 close_date=["2024-03-01", "2024-03-01", None])
    by_close = Pipeline.from_columns(data, STAGES, rates=RATES)
    # close date (expected for the open deal) after the change: 0.95; no close date: created
    assert by_close.amount_minor.tolist() == [1_000_000, 1_000_000, 1_000_000]
    by_created = Pipeline.from_columns(data, STAGES, rates=RATES, rate_date="created")
    assert by_created.amount_minor.tolist() == [1_032_609, 1_032_609, 1_000_000]


def test_half_to_even_and_the_decimal_of_a_float_rate():
    # 0.8 is 4/5 exactly (not the double 0.80000000000000004441): 0.06 EUR / 0.8 = 0.075 USD,
    # a tie, to even: 0.08; 0.02 / 0.8 = 0.025 → 0.02; the double would give 0.07 and 0.02.
    rates = ExchangeRates.fixed({"EUR": 0.8}, corporate="USD")
    p = Pipeline.from_columns(deals(id=["x", "y"], stage=["Won"] * 2, amount=[0.06, 0.02],
                                    currency=["EUR"] * 2, created=[None] * 2,
                                    close_date=["2024-01-01"] * 2), STAGES, rates=rates)
    assert p.amount_minor.tolist() == [8, 2]
    assert rates.rate("EUR", "1999-01-01") == Decimal("0.8")
    assert ExchangeRates.fixed({"EUR": "0.8"}, corporate="USD") == rates


def test_exponents_other_than_two():
    # corporate JPY: 10.00 USD at 0.0066 USD per JPY = 1,515.15… JPY → 1,515;
    # 1.234 KWD at 0.0020 KWD per JPY = 617 JPY exactly
    rates = ExchangeRates.fixed({"USD": "0.0066", "KWD": "0.0020"}, corporate="JPY")
    p = Pipeline.from_columns(deals(id=["u", "k"], stage=["Won"] * 2, amount=[10.0, 1.234],
                                    currency=["USD", "KWD"], created=[None] * 2,
                                    close_date=["2024-01-01"] * 2), STAGES, rates=rates)
    assert p.amount_minor.tolist() == [1_515, 617] and p.minor_unit == 1
    assert p.original_amount.tolist() == [10.0, 1.234]


def test_a_rate_of_many_digits_converts_exactly_with_python_ints():
    rate = "0.9234567890123456789012345678"
    rates = ExchangeRates.fixed({"EUR": rate}, corporate="USD")
    amounts = [12_345_678.91, 0.01, 90_000_000_000.0]
    p = Pipeline.from_columns(deals(id=list("abc"), stage=["Won"] * 3, amount=amounts,
                                    currency=["EUR"] * 3, created=[None] * 3,
                                    close_date=["2024-01-01"] * 3), STAGES, rates=rates)
    expected = [round(Fraction(round(a * 100)) / Fraction(rate)) for a in amounts]
    assert p.amount_minor.tolist() == expected


# -- the originals, grouping and views ------------------------------------------------------------
def test_by_currency_groups_by_the_deals_own_currency():
    p = Pipeline.from_columns(
        deals(id=["e1", "e2", "j", "u"], stage=["Won"] * 4,
              amount=[920.0, 92.0, 151_370, 5.0], currency=["EUR", "eur ", "JPY", "USD"],
              created=["2024-01-02"] * 4, close_date=["2024-01-31"] * 4),
        STAGES, rates=RATES)
    won = sm.won_revenue(p, by="currency")
    assert dict(won) == pytest.approx({"EUR": 1_100.0, "JPY": 1_000.0, "USD": 5.0})
    assert "currency" in p.fields and p.currency == "USD"
    assert "USD 1,100.00" in str(won)


def test_views_as_of_and_exports_carry_the_originals():
    p = Pipeline.from_columns(
        deals(id=["e", "j"], stage=["Won", "Demo"], amount=[10_000.0, 1_000_000],
              currency=["EUR", "JPY"], created=["2024-01-02", "2024-01-05"],
              close_date=["2024-01-31", "2024-06-30"]),
        STAGES, rates=RATES, history={"id": ["e", "j"], "stage": ["Lead", "Lead"],
                                      "date": ["2024-01-02", "2024-01-05"]})
    assert p.won.original_amount.tolist() == [10_000.0]
    assert p.open.original_currency.tolist() == ["JPY"]
    assert p.filter(np.array([False, True])).original_amount.tolist() == [1_000_000.0]
    past = p.as_of("2024-01-10")
    assert past.original_currency.tolist() == ["EUR", "JPY"]
    assert past.amount_minor.tolist() == [1_086_957, 660_633]
    cols = p.to_columns()
    assert cols["currency"].tolist() == ["USD", "USD"]
    assert cols["amount"].tolist() == [10_869.57, 6_606.33]
    assert cols["original_currency"].tolist() == ["EUR", "JPY"]
    deal = p.deal("j")
    assert (deal.amount, deal.currency) == (6_606.33, "USD")
    assert deal.fields == {"original_amount": 1_000_000.0, "original_currency": "JPY"}
    # read back: the originals as amount and currency, with the same rates
    again = Pipeline.from_columns(
        {**cols, "amount": cols["original_amount"], "currency": cols["original_currency"]},
        STAGES, rates=RATES, history=p.history_columns())
    assert again == p
    assert again != Pipeline.from_columns(
        {**cols, "amount": cols["original_amount"], "currency": cols["original_currency"]},
        STAGES, rates=ExchangeRates.fixed({"EUR": 1, "JPY": 150}, corporate="USD"),
        history=p.history_columns())


def test_without_rates_one_currency_is_as_before():
    p = Pipeline.from_columns(deals(currency=["EUR"]), STAGES)
    assert p.currency == "EUR" and "currency" not in p.fields
    assert p.original_currency.tolist() == ["EUR"]
    assert p.original_amount.tolist() == [10_000.0]


def test_currency_fills_blank_cells_and_a_deal_without_amount_needs_no_rate():
    p = Pipeline.from_columns(
        deals(id=["a", "b", "c"], stage=["Won", "Demo", "Demo"], amount=[920.0, 10.0, None],
              currency=["EUR", None, "CHF"], created=[None] * 3,
              close_date=["2024-01-31"] * 3),
        STAGES, rates=RATES, currency="USD")
    assert p.amount_minor.tolist() == [100_000, 1_000, 0]
    assert p.original_currency.tolist() == ["EUR", "USD", "CHF"]
    assert np.isnan(p.original_amount[2])


# -- errors ---------------------------------------------------------------------------------------
def test_mixed_currencies_without_rates_say_to_pass_rates():
    with pytest.raises(CurrencyError, match=r"several currencies \(EUR, JPY\); pass rates="):
        Pipeline.from_columns(deals(id=["a", "b"], stage=["Won"] * 2, amount=[1.0, 1.0],
                                    currency=["EUR", "JPY"], created=[None] * 2,
                                    close_date=["2024-01-31"] * 2), STAGES)


def test_a_currency_option_that_contradicts_the_column_says_so():
    with pytest.raises(CurrencyError, match=r"currency='USD' conflicts with the currency column, "
                                            r"which holds EUR"):
        Pipeline.from_columns({"id": ["a", "b"], "amount": [1, 2], "stage": ["Proposal"] * 2,
                               "currency": ["EUR", None]}, currency="USD")
    # the same currency fills the blanks
    p = Pipeline.from_columns({"id": ["a", "b"], "amount": [1, 2], "stage": ["Proposal"] * 2,
                               "currency": ["EUR", None]}, currency="EUR")
    assert p.currency == "EUR"


def test_a_missing_rate_names_deal_currency_and_date():
    with pytest.raises(CurrencyError, match=r"deal 'b' \(row 1 of the data\): no exchange rate "
                                            r"for currency 'EUR' on 2023-12-31 to USD; rates "
                                            r"are known for EUR from 2024-01-01"):
        Pipeline.from_columns(deals(id=["a", "b"], stage=["Won"] * 2, amount=[1.0, 1.0],
                                    currency=["EUR", "EUR"], created=[None] * 2,
                                    close_date=["2024-01-31", "2023-12-31"]), STAGES,
                              rates=RATES)
    with pytest.raises(CurrencyError, match=r"deal 'a' .*'CHF' on 2024-01-31"):
        Pipeline.from_columns(deals(currency=["CHF"]), STAGES, rates=RATES)
    with pytest.raises(CurrencyError, match=r"'EUR' on no date \(neither a close date nor"):
        Pipeline.from_columns(deals(stage=["Demo"], created=[None], close_date=[None]), STAGES,
                              rates=RATES)
    with pytest.raises(CurrencyError, match=r"deal 'a' .*currency is missing.*pass currency="):
        Pipeline.from_columns(deals(currency=[None]), STAGES, rates=RATES)


def test_a_converted_amount_past_2_53_minor_units_is_an_amount_error():
    rates = ExchangeRates.fixed({"EUR": "0.0001"}, corporate="USD")
    with pytest.raises(AmountError, match=r"deal 'a' .*amount converted to USD must be at most "
                                          r"90071992547409\.92"):
        Pipeline.from_columns(deals(amount=[1e13]), STAGES, rates=rates)


@pytest.mark.parametrize(("data", "error", "message"), [
    ({"currency": ["EUR"], "start_date": ["2024-01-01"], "rate": [0]}, DataError,
     r"row 0: rate must be a finite number > 0"),
    ({"currency": ["EUR"], "start_date": ["2024-01-01"], "rate": ["-1"]}, DataError, r"> 0"),
    ({"currency": ["EUR"], "start_date": ["2024-01-01"], "rate": ["abc"]}, DataError,
     r"rate must be a number such as '0.92', got 'abc'"),
    ({"currency": ["EUR"], "start_date": ["2024-01-01"], "rate": [True]}, DataTypeError,
     r"rate must be a number, got True"),
    ({"currency": ["EUR", "EUR"], "start_date": ["2024-01-01"] * 2, "rate": [0.9, 0.92]},
     DataError, r"EUR has two rates from 2024-01-01 \(rows 0 and 1: 0.9 and 0.92\)"),
    ({"currency": [None], "start_date": ["2024-01-01"], "rate": [1.1]}, DataError,
     r"row 0: currency is missing"),
    ({"currency": ["EUR"], "start_date": [None], "rate": [1.1]}, DataError,
     r"row 0: start_date is missing"),
    ({"currency": ["EUR"], "start_date": ["2024-01-01"], "rate": [None]}, DataError,
     r"row 0: rate is missing"),
    ({"currency": ["USD"], "start_date": ["2024-01-01"], "rate": [1.1]}, DataError,
     r"corporate currency USD's own rate must be 1"),
    ({"currency": ["EURO"], "start_date": ["2024-01-01"], "rate": [1.1]}, DataError,
     r"three-letter ISO 4217"),
    ({"code": ["EUR"], "rate": [1.1]}, DataError, r"column 'currency' .*not in the data"),
])
def test_bad_rate_tables(data, error, message):
    with pytest.raises(error, match=message):
        ExchangeRates.from_columns(data, corporate="USD")


def test_bad_rate_options():
    with pytest.raises(DataError, match=r"columns: unknown key 'iso'"):
        ExchangeRates.from_columns({"currency": ["EUR"], "rate": [1]}, corporate="USD",
                                   columns={"iso": "currency"})
    with pytest.raises(DataError, match="corporate must be an ISO 4217 code"):
        ExchangeRates.fixed({"EUR": 1}, corporate="")
    with pytest.raises(DataTypeError, match="rates must be a mapping"):
        ExchangeRates.fixed([("EUR", 1)], corporate="USD")  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match=r"rates must be an ExchangeRates"):
        Pipeline.from_columns(deals(), STAGES, rates={"EUR": 0.92})
    with pytest.raises(OptionError,
                       match=r"rate_date must be 'close_date' or 'created', got 'closed'"):
        Pipeline.from_columns(deals(), STAGES, rates=RATES, rate_date="closed")
    with pytest.raises(CurrencyError, match="no exchange rate for GBP on 2024-01-01"):
        RATES.rate("GBP", "2024-01-01")


# -- rate tables from columns, frames and Salesforce ----------------------------------------------
def test_rates_read_from_renamed_columns_and_print():
    rates = ExchangeRates.from_columns(
        {"IsoCode": ["JPY", "EUR", "EUR"], "StartDate": ["2024-01-01", "2024-02-15", "2024-01-01"],
         "ConversionRate": [151.37, 0.95, 0.92]},
        corporate="usd", columns={"currency": "IsoCode", "start_date": "StartDate",
                                  "rate": "ConversionRate"})
    assert rates == RATES and rates.corporate == "USD" and len(rates) == 3
    assert rates.currencies == ("EUR", "JPY")
    assert repr(rates) == "ExchangeRates(to USD: EUR 2 rates, JPY 1 rate)"
    assert rates.to_columns()["rate"].tolist() == [Decimal("0.92"), Decimal("0.95"),
                                                   Decimal("151.37")]
    assert ExchangeRates.from_columns(rates.to_columns(), corporate="USD") == rates
    fixed = ExchangeRates.from_columns({"currency": ["EUR"], "rate": [0.92]}, corporate="USD")
    assert fixed == ExchangeRates.fixed({"EUR": 0.92}, corporate="USD")
    assert ExchangeRates.from_columns(fixed.to_columns(), corporate="USD") == fixed


def test_rates_from_data_frames():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"currency": ["EUR", "EUR", "JPY"],
                          "start_date": pd.to_datetime(["2024-01-01", "2024-02-15",
                                                        "2024-01-01"]),
                          "rate": [0.92, 0.95, 151.37]})
    assert ExchangeRates.from_columns(frame, corporate="USD") == RATES
    pl = pytest.importorskip("polars")
    assert ExchangeRates.from_columns(pl.from_pandas(frame), corporate="USD") == RATES
    pa = pytest.importorskip("pyarrow")
    assert ExchangeRates.from_columns(pa.Table.from_pandas(frame), corporate="USD") == RATES
    assert RATES.to_pandas()["currency"].tolist() == ["EUR", "EUR", "JPY"]


SF_RATES = [
    {"attributes": {"type": "DatedConversionRate"}, "IsoCode": "USD", "StartDate": "0001-01-01",
     "NextStartDate": "9999-12-31", "ConversionRate": 1.0},
    {"IsoCode": "EUR", "StartDate": "0001-01-01", "NextStartDate": "2024-02-15",
     "ConversionRate": 0.92},
    {"IsoCode": "EUR", "StartDate": "2024-02-15", "NextStartDate": "9999-12-31",
     "ConversionRate": 0.95},
    {"IsoCode": "JPY", "StartDate": "0001-01-01", "NextStartDate": "9999-12-31",
     "ConversionRate": 151.37},
]


def test_read_salesforce_rates_from_records_csv_and_a_response(tmp_path):
    rates = read_salesforce_rates(SF_RATES)
    assert rates.corporate == "USD" and rates.currencies == ("EUR", "JPY")
    assert rates.rate("EUR", "2024-02-14") == Decimal("0.92")
    assert rates.rate("EUR", "2024-02-15") == Decimal("0.95")
    path = tmp_path / "DatedConversionRate.csv"
    path.write_text("IsoCode,StartDate,NextStartDate,ConversionRate\n"
                    + "".join(f"{r['IsoCode']},{r['StartDate']},{r['NextStartDate']},"
                              f"{r['ConversionRate']}\n" for r in SF_RATES))
    assert read_salesforce_rates(path) == rates
    assert read_salesforce_rates({"records": SF_RATES}, corporate="USD") == rates


def test_read_salesforce_rates_errors():
    with pytest.raises(DataError, match=r"EUR: the rate from 0001-01-01 holds until 2024-02-01 "
                                        r"\(NextStartDate\), but the next one starts on "
                                        r"2024-02-15"):
        read_salesforce_rates([SF_RATES[0], SF_RATES[1] | {"NextStartDate": "2024-02-01"},
                               SF_RATES[2]])
    with pytest.raises(DataError, match=r"cannot tell the corporate currency .*found none.*"
                                        r"pass corporate="):
        read_salesforce_rates(SF_RATES[1:])
    with pytest.raises(DataError, match=r"column 'ConversionRate' is missing"):
        read_salesforce_rates([{"IsoCode": "EUR", "StartDate": "2024-01-01"}])


def test_read_salesforce_rates_refuses_a_rate_that_ended_with_none_after_it():
    # The export left out EUR's later rows: its last rate ended on 2024-02-15, so a deal of
    # 2030 has no rate. Salesforce writes 9999-12-31 for the rate in force.
    with pytest.raises(DataError, match=r"EUR: its latest rate, from 0001-01-01, ends on "
                                        r"2024-02-15 \(NextStartDate\) and no rate follows"):
        read_salesforce_rates(SF_RATES[:2])
    with pytest.raises(DataError, match=r"EUR: the rate from 2024-02-15 ends on 2024-02-01 "
                                        r"\(NextStartDate\), not after it starts"):
        read_salesforce_rates([SF_RATES[0], SF_RATES[1],
                               SF_RATES[2] | {"NextStartDate": "2024-02-01"}])
    # without NextStartDate, each rate holds until the next StartDate, the last one for good
    rows = [{k: v for k, v in r.items() if k != "NextStartDate"} for r in SF_RATES[:2]]
    assert read_salesforce_rates(rows).rate("EUR", "2030-06-01") == Decimal("0.92")


# -- every reader takes rates= --------------------------------------------------------------------
def test_every_reader_converts_with_rates(tmp_path):
    opp = {"Id": "006A", "StageName": "Closed Won", "IsClosed": True, "IsWon": True,
           "Amount": 10_000, "CurrencyIsoCode": "EUR", "CloseDate": "2024-01-31",
           "CreatedDate": "2024-01-02T10:00:00.000+0000"}
    jpy = opp | {"Id": "006B", "Amount": 1_000_000, "CurrencyIsoCode": "JPY"}
    open_usd = opp | {"Id": "006C", "StageName": "Prospecting", "IsClosed": False,
                      "IsWon": False, "Amount": 5, "CurrencyIsoCode": "USD", "Probability": 10}
    rates = read_salesforce_rates(SF_RATES)
    p = read_salesforce([opp, jpy, open_usd], rates=rates)
    assert p.amount_minor.tolist() == [1_086_957, 660_633, 500] and p.currency == "USD"
    with pytest.raises(CurrencyError, match="pass rates="):
        read_salesforce([opp, jpy, open_usd])
    hs = [{"id": str(k), "properties": {"dealstage": "closedwon", "amount": str(amount),
                                        "deal_currency_code": code, "createdate": "2024-01-02",
                                        "closedate": "2024-01-31"}}
          for k, (amount, code) in enumerate([(10_000, "EUR"), (1_000_000, "JPY")])]
    assert read_hubspot(hs, rates=rates).amount_minor.tolist() == [1_086_957, 660_633]
    pd_deals = [{"id": k, "value": amount, "currency": code, "status": "won", "stage_id": 1,
                 "add_time": "2024-01-02", "won_time": "2024-01-31"}
                for k, (amount, code) in enumerate([(10_000, "EUR"), (1_000_000, "JPY")])]
    stages = [{"id": 1, "name": "Lead", "order_nr": 1, "deal_probability": 20}]
    assert read_pipedrive(pd_deals, stages, rates=rates).amount_minor.tolist() == \
        [1_086_957, 660_633]
    columns = {"id": ["a", "b"], "stage": ["Won", "Won"], "amount": [10_000, 1_000_000],
               "currency": ["EUR", "JPY"], "close_date": ["2024-01-31"] * 2}
    assert read_records(columns, STAGES, rates=rates).amount_minor.tolist() == \
        [1_086_957, 660_633]
    path = tmp_path / "deals.csv"
    path.write_text("id,stage,amount,currency,created,close_date\n"
                    "a,Won,10000,EUR,2024-01-02,2024-01-31\n"
                    "b,Won,1000000,JPY,2023-12-01,2024-01-31\n")
    with pytest.raises(CurrencyError, match=r"deal 'b' \(row 1 of the data, line 3 of deals.csv"
                                            r"\): no exchange rate for currency 'JPY' on "
                                            r"2023-12-01"):
        Pipeline.read_csv(path, STAGES, rates=RATES, rate_date="created")
    p = Pipeline.read_csv(path, STAGES, rates=RATES)
    assert p.amount_minor.tolist() == [1_086_957, 660_633]
    p = Pipeline.from_deals([Deal("a", 10_000, "Won", close_date="2024-01-31", currency="EUR"),
                             Deal("b", 5, "Won", close_date="2024-01-31", currency="USD")],
                            STAGES, rates=RATES)
    assert p.amount_minor.tolist() == [1_086_957, 500]


# -- properties -----------------------------------------------------------------------------------
CURRENCIES = ("EUR", "JPY", "KWD", "USD")
EXPONENT = {"EUR": 2, "JPY": 0, "KWD": 3, "USD": 2}


@st.composite
def multi_currency(draw):
    rates = {code: draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5000"),
                                    places=4, allow_nan=False, allow_infinity=False)
                        .filter(lambda d: d > 0))
             for code in ("EUR", "JPY", "KWD")}
    n = draw(st.integers(1, 40))
    codes = draw(st.lists(st.sampled_from(CURRENCIES), min_size=n, max_size=n))
    # at most 10**10 × 100 (JPY to USD) × 1,000 (rate 0.001) = 10**15 < 2**53 minor units
    minors = draw(st.lists(st.integers(0, 10**10), min_size=n, max_size=n))
    amounts = [m / 10 ** EXPONENT[c] for m, c in zip(minors, codes, strict=True)]
    return rates, codes, minors, amounts


# Arbitrary rates (up to 5,000 per USD) turn small amounts into 0, which warns: not the point here.
@pytest.mark.filterwarnings("ignore::salesmetrics.errors.DataQualityWarning")
@settings(max_examples=60, deadline=None)
@given(multi_currency(), st.randoms(use_true_random=False), st.data())
def test_converting_then_summing_is_summing_the_per_deal_conversions(case, rng, data):
    rates, codes, minors, amounts = case
    table = ExchangeRates.fixed({k: str(v) for k, v in rates.items()}, corporate="USD")
    n = len(codes)

    def build(rows):
        return Pipeline.from_columns(
            {"id": [str(r) for r in rows], "stage": ["Won"] * len(rows),
             "amount": [amounts[r] for r in rows], "currency": [codes[r] for r in rows],
             "close_date": ["2024-01-31"] * len(rows)}, STAGES, rates=table)

    whole = build(list(range(n)))
    # each deal: the exact rational, rounded half to even once (Python's round of a Fraction)
    expected = [m if c == "USD" else
                round(Fraction(m) * Fraction(10) ** (2 - EXPONENT[c]) / Fraction(rates[c]))
                for m, c in zip(minors, codes, strict=True)]
    assert whole.amount_minor.tolist() == expected
    order = list(range(n))
    rng.shuffle(order)
    cut = data.draw(st.integers(0, n))
    parts = [build(order[:cut]), build(order[cut:])]
    total = sum(int(part.amount_minor.sum()) for part in parts)
    assert total == int(whole.amount_minor.sum()) == sum(expected)
    assert sm.won_revenue(whole) == pytest.approx(sum(expected) / 100, rel=1e-12)
    by = sm.won_revenue(whole, by="currency")
    assert sum(by.values()) == pytest.approx(sum(expected) / 100, rel=1e-12)


def test_an_amount_that_converts_to_nothing_warns():
    # 1e400 EUR per USD (a typo for a rate such as 0.92): 100.00 EUR would become 0 USD
    rates = sm.ExchangeRates.fixed({"EUR": "1e400"}, corporate="USD")
    with pytest.warns(DataQualityWarning, match=r"1 deal\(s\) of at least one unit of their "
                                                r"currency convert to 0 USD \(first: deal 'a' "
                                                r".*10,000 minor units at a rate of about "
                                                r"1e400\)"):
        p = Pipeline.from_columns({"id": ["a", "b"], "amount": [100, 0], "stage": ["Proposal"] * 2,
                                   "currency": ["EUR", "EUR"]}, rates=rates)
    assert p.amount.tolist() == [0.0, 0.0]
