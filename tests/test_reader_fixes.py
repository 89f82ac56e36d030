"""What a probe of the readers found: amounts with a thousands separator, probabilities on the
wrong scale, Salesforce stages without probabilities or with contradicting flags, HubSpot's
archived deals, and currency codes that ISO 4217 does not list. Each test has a known answer."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Pipeline
from salesmetrics.domain._decimals import decimal_places
from salesmetrics.errors import DataError, DataQualityWarning
from salesmetrics.io import read_hubspot, read_pipedrive, read_records, read_salesforce

# ---------------------------------------------------------------- 1. amounts written as text


def test_decimal_places_counts_the_digits_after_the_point() -> None:
    text = np.array(["12", "1.500", " 0.25 ", "1.5e3", "7.", "1.234"])
    assert decimal_places(text).tolist() == [0, 3, 2, 0, 0, 3]


def test_thousands_separator_in_a_european_csv_warns(tmp_path: Path) -> None:
    # "1.500" in a ";" file means 1,500 EUR; read as a decimal it is 1.50 (3 decimal places, more
    # than EUR's 2): a warning names the deal, the text and what it was read as, and the fix.
    path = tmp_path / "eu.csv"
    path.write_text("id;amount;stage\nA;1.500;Proposal\nB;2.25;Proposal\nC;1.234;Proposal\n")
    with pytest.warns(DataQualityWarning) as caught:
        p = Pipeline.read_csv(path, delimiter=";", currency="EUR")
    (w,) = [x for x in caught if "decimal places" in str(x.message)]
    message = str(w.message)
    assert "2 amounts" in message and "EUR has (2)" in message
    assert "deal 'A' (row 0 of the data), '1.500' read as 1.50, and 1 more" in message
    assert "thousands separators" in message and "currency=" in message
    assert w.filename == __file__  # points at the caller's line
    assert p.amount.tolist() == [1.5, 2.25, 1.23]  # read as written, but no longer silently


@pytest.mark.parametrize("read", [
    lambda rows: read_records(rows),
    lambda rows: Pipeline.from_columns({k: [r[k] for r in rows] for k in rows[0]}),
    lambda rows: read_salesforce(
        [{"Id": r["id"], "StageName": r["stage"], "Amount": r["amount"], "Probability": 10,
          "CloseDate": "2024-01-01", "IsClosed": False, "IsWon": False} for r in rows]),
    lambda rows: read_hubspot({"results": [
        {"id": r["id"], "properties": {"dealstage": "contractsent", "amount": r["amount"]}}
        for r in rows]}),
    lambda rows: read_pipedrive(
        [{"id": r["id"], "value": r["amount"], "stage_id": 1, "status": "open",
          "add_time": "2024-01-02 09:00:00"} for r in rows],
        stages=[{"id": 1, "name": "Proposal", "order_nr": 1, "deal_probability": 20}]),
])
def test_every_reader_warns_on_text_with_three_decimals(read: object) -> None:
    rows = [{"id": "A", "amount": "1.234", "stage": "Proposal"}]
    with pytest.warns(DataQualityWarning, match=r"'1\.234' read as 1\.23"):
        p = read(rows)  # type: ignore[operator]
    assert p.amount.tolist() == [1.23]


def test_amounts_within_the_minor_unit_and_numbers_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = Pipeline.from_columns({"id": ["A", "B", "C"], "amount": ["1.5", "1234.56", "1e3"],
                                   "stage": ["Proposal"] * 3})
        q = Pipeline.from_columns({"id": ["A"], "amount": [1.234], "stage": ["Proposal"]})
        k = Pipeline.from_columns({"id": ["A"], "amount": ["1.234"], "stage": ["Proposal"]},
                                  currency="KWD")  # 3 places: exact
        # floats written in full by pandas' to_csv: binary noise, rounded without a warning
        n = Pipeline.from_columns({"id": ["A", "B"], "stage": ["Proposal"] * 2,
                                   "amount": ["3703.6800000000003", "0.30000000000000004"]})
        big = Pipeline.from_columns({"id": ["A"], "stage": ["Proposal"],  # 9 places, 17 digits
                                     "amount": ["30000000.299999997"]})
    assert n.amount.tolist() == [3703.68, 0.3]
    assert big.amount.tolist() == [30000000.3]
    assert p.amount.tolist() == [1.5, 1234.56, 1000.0]
    assert q.amount.tolist() == [1.23]  # a float is not text: rounded, as before
    assert k.amount.tolist() == [1.234]


def test_trailing_zeros_count_and_jpy_has_none() -> None:
    with pytest.warns(DataQualityWarning, match=r"JPY has \(0\).*'1500\.0' read as 1500"):
        p = Pipeline.from_columns({"id": ["A"], "amount": ["1500.0"], "stage": ["Proposal"]},
                                  currency="JPY")
    assert p.amount.tolist() == [1500.0]


def test_object_column_of_text_and_numbers_names_the_text_row() -> None:
    # row 0 is a float (left alone), row 1 the text "2.005": the first (and only) one named
    with pytest.warns(DataQualityWarning, match=r"1 amount is .*deal 'B' \(row 1 of the data\)"
                                                r", '2\.005' read as 2\.00"):
        Pipeline.from_columns({"id": ["A", "B"], "amount": [1.005, "2.005"],
                               "stage": ["Proposal"] * 2})


# ------------------------------------------------- 2. fractions read on the percent scale

_SF_STAGES = [
    {"MasterLabel": "P", "DefaultProbability": 20, "IsClosed": False, "IsWon": False,
     "SortOrder": 1},
    {"MasterLabel": "W", "DefaultProbability": 100, "IsClosed": True, "IsWon": True,
     "SortOrder": 2},
    {"MasterLabel": "L", "DefaultProbability": 0, "IsClosed": True, "IsWon": False,
     "SortOrder": 3},
]


def _sf(**fields: object) -> dict[str, object]:
    return {"Id": "Z", "StageName": "P", "Amount": 100, "CloseDate": "2024-01-01",
            "IsClosed": False, "IsWon": False} | fields


def test_read_records_percent_scale_with_fractions_is_an_error() -> None:
    # 0.6 on the percent scale would be 0.6 % (0.006): every value is at most 1
    with pytest.raises(DataError, match=r"deal 'A' \(record 0\): probability must be a percent"
                                        r".*got 0\.6.*pass probability_scale='fraction'"):
        read_records([{"id": "A", "amount": 1, "stage": "Proposal", "probability": 0.6}],
                     probability_scale="percent")


def test_percent_scale_of_only_zeros_and_ones_loads() -> None:
    p = read_records([{"id": "A", "amount": 1, "stage": "Proposal", "probability": 1},
                      {"id": "B", "amount": 1, "stage": "Proposal", "probability": 0}],
                     probability_scale="percent")
    assert p.probability.tolist() == [0.01, 0.0]  # 1 % and 0 %


def test_percent_scale_mixing_50_and_half_warns() -> None:
    rows = [{"id": "A", "amount": 1, "stage": "Proposal", "probability": 50},
            {"id": "B", "amount": 1, "stage": "Proposal", "probability": 0.5}]
    with pytest.warns(DataQualityWarning, match=r"1 value is between 0 and 1 .* reach 50 %.*"
                                                r"deal 'B' \(record 1\), 0\.5 read as 0\.5 %"):
        p = read_records(rows, probability_scale="percent")
    assert p.probability.tolist() == [0.5, 0.005]


def test_salesforce_probability_as_fractions_is_an_error() -> None:
    with pytest.raises(DataError, match=r"Probability must be a percent.*got 0\.5.*"
                                        r"multiply the column by 100"):
        read_salesforce([_sf(Probability=0.5)], stages=_SF_STAGES)
    with pytest.raises(DataError, match=r"Probability must be a percent.*got 0\.6"):
        read_salesforce([_sf(Probability=0.6)])  # the inferred stages read it too


def test_salesforce_default_probability_as_fractions_is_an_error() -> None:
    fractions = [s | {"DefaultProbability": s["DefaultProbability"] / 100}  # type: ignore[operator]
                 for s in _SF_STAGES]  # 0.2, 1.0, 0.0
    with pytest.raises(DataError, match=r"'P' \(record 0\): DefaultProbability must be a "
                                        r"percent.*got 0\.2"):
        read_salesforce([_sf()], stages=fractions)


def test_pipedrive_probability_as_fractions_is_an_error() -> None:
    stages = [{"id": 1, "name": "Qualified", "order_nr": 1, "deal_probability": 20}]
    deal = {"id": 1, "value": 100, "stage_id": 1, "status": "open", "probability": 0.6,
            "add_time": "2024-01-02 09:00:00"}
    with pytest.raises(DataError, match=r"probability must be a percent.*got 0\.6.*Pipedrive"):
        read_pipedrive([deal], stages=stages)
    with pytest.raises(DataError, match=r"deal_probability must be a percent.*got 0\.2"):
        read_pipedrive([deal | {"probability": 60}],
                       stages=[stages[0] | {"deal_probability": 0.2}])


# ------------------------------------------------ 7. what read_hubspot's error suggests


def test_hubspot_percent_probability_suggests_what_read_hubspot_takes() -> None:
    deal = {"id": "1", "properties": {"dealstage": "contractsent", "amount": "1000",
                                      "hs_forecast_probability": "60"}}
    with pytest.raises(DataError, match=r"hs_forecast_probability must be in \[0, 1\].*"
                                        r"divide the column by 100") as caught:
        read_hubspot({"results": [deal]})
    assert "probability_scale" not in str(caught.value)  # read_hubspot has no such option


# --------------------------------- 3.-5. Salesforce stages: probabilities, flags, spellings

_OPEN = {"Id": "006Z", "StageName": "Prospecting", "Amount": 1000, "CloseDate": "2024-03-31",
         "IsClosed": False, "IsWon": False}
_WON = {"Id": "006A", "StageName": "Closed Won", "Amount": 1000, "CloseDate": "2024-01-02",
        "IsClosed": True, "IsWon": True}


def test_salesforce_without_probability_or_stages_is_an_error() -> None:
    # before: Prospecting got probability 0 and the weighted pipeline was 0.0, silently
    with pytest.raises(DataError, match=r"open stage 'Prospecting' is unknown \(the "
                                        r"opportunities have no Probability column\).*"
                                        r"pass stages=\.\.\. \(OpportunityStage records"):
        read_salesforce([_OPEN, _WON])


def test_salesforce_open_stage_whose_deals_have_no_probability_is_an_error() -> None:
    other = _OPEN | {"Id": "006Y", "StageName": "Negotiation", "Probability": 60}
    with pytest.raises(DataError, match=r"open stage 'Prospecting' is unknown \(no deal in it "
                                        r"has a Probability\)"):
        read_salesforce([_OPEN | {"Probability": None}, other, _WON])


def test_salesforce_with_stages_and_no_probability_loads() -> None:
    stages = [{"MasterLabel": "Prospecting", "DefaultProbability": 10, "IsClosed": False,
               "IsWon": False, "SortOrder": 1},
              {"MasterLabel": "Closed Won", "DefaultProbability": 100, "IsClosed": True,
               "IsWon": True, "SortOrder": 2}]
    p = read_salesforce([_OPEN, _WON], stages=stages)
    assert sm.weighted_pipeline(p) == 100.0  # 1000 × 10 %


def test_salesforce_flags_contradicting_the_stage_given_are_an_error() -> None:
    stages = [{"MasterLabel": "Prospecting", "DefaultProbability": 10, "IsClosed": False,
               "IsWon": False, "SortOrder": 1},
              {"MasterLabel": "Closed Won", "DefaultProbability": 100, "IsClosed": True,
               "IsWon": True, "SortOrder": 2},
              {"MasterLabel": "Closed Lost", "DefaultProbability": 0, "IsClosed": True,
               "IsWon": False, "SortOrder": 3}]
    lost_in_won = _WON | {"Id": "006L", "IsWon": False}  # a lost deal in the won stage
    with pytest.raises(DataError, match=r"deal '006L' \(record 1\): IsClosed=true and "
                                        r"IsWon=false contradict its stage 'Closed Won', which "
                                        r"is won in stages="):
        read_salesforce([_OPEN, lost_in_won], stages=stages)
    closed_in_open = _OPEN | {"IsClosed": True}
    with pytest.raises(DataError, match=r"deal '006Z' \(record 0\): IsClosed=true and "
                                        r"IsWon=false contradict its stage 'Prospecting', "
                                        r"which is open"):
        read_salesforce([closed_in_open], stages=stages)
    # flags that agree, or are blank, load; the win rate counts the won deal as won
    p = read_salesforce([_OPEN | {"IsClosed": None}, _WON], stages=stages)
    assert sm.win_rate(p) == 1.0


def test_salesforce_stage_names_spelled_two_ways_are_an_error() -> None:
    # as in Pipeline.from_columns, where 'proposal' is not the stage 'Proposal'
    lower = _OPEN | {"Id": "006D", "StageName": "prospecting "}
    with pytest.raises(DataError, match=r"stage names 'Prospecting' \(deal '006Z' \(record 0\)"
                                        r"\) and 'prospecting ' \(deal '006D' \(record 1\)\) "
                                        r"differ only in case or spaces"):
        read_salesforce([_OPEN | {"Probability": 10}, lower | {"Probability": 10}, _WON])


# ------------------------------------------------------------ 6. HubSpot's archived deals


def test_hubspot_leaves_archived_deals_out() -> None:
    deals = {"results": [
        {"id": "1", "archived": True, "properties": {"dealstage": "contractsent",
                                                     "amount": "1000"}},
        {"id": "2", "archived": False, "properties": {"dealstage": "contractsent",
                                                      "amount": "500"}},
        {"id": "3", "properties": {"dealstage": "contractsent", "amount": "200"}},
    ]}
    p = read_hubspot(deals)
    assert p.ids.tolist() == ["2", "3"]
    assert sm.pipeline_value(p) == 700.0  # 500 + 200, not the archived 1000
    with pytest.raises(DataError, match=r"archived must be true or false, got 'maybe'"):
        read_hubspot({"results": [deals["results"][0] | {"archived": "maybe"}]})


# ---------------------------------------------------------- 8. codes ISO 4217 does not list


def test_a_currency_code_iso_4217_does_not_list_is_an_error() -> None:
    columns = {"id": ["A"], "amount": [1], "stage": ["Proposal"]}
    with pytest.raises(DataError, match=r"currency 'XYZ' is not an ISO 4217 code; .*leave "
                                        r"currency out"):
        Pipeline.from_columns(columns, currency="XYZ")
    with pytest.raises(DataError, match=r"'USX' is not an ISO 4217 code \(did you mean 'USD'"):
        Pipeline.from_columns(columns, currency="usx")
    with pytest.raises(DataError, match=r"deal '2' \(record 1\): currency 'ABC'|currency 'ABC'"):
        read_records([{"id": "1", "amount": 1, "stage": "Proposal", "currency": "EUR"},
                      {"id": "2", "amount": 1, "stage": "Proposal", "currency": "ABC"}],
                     rates=sm.ExchangeRates.fixed({"EUR": 1}, corporate="EUR"))
    # codes it lists load: active, and withdrawn ones old deals still carry
    assert Pipeline.from_columns(columns, currency="hrk").currency == "HRK"
    assert Pipeline.from_columns(columns, currency="XTS").currency == "XTS"


def test_significant_digits_of_no_text_is_empty() -> None:
    # found by the fuzz tests: numpy's strip of given characters fails on an empty array
    from salesmetrics.domain._decimals import significant_digits

    assert significant_digits(np.array([], dtype="<U1")).tolist() == []
