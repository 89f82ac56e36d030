"""Issue 6, item 8: the CRM adapters never give a silent wrong number.

Each test reproduces a case that loaded wrongly (or failed with a raw exception) before the fix.
"""

import datetime as dt
import json
import pathlib

import pytest

import salesmetrics as sm
from salesmetrics import Outcome, Stage
from salesmetrics.errors import DataError, SalesMetricsError
from salesmetrics.io import read_hubspot, read_pipedrive, read_records, read_salesforce

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def load(name):
    return json.loads((FIXTURES / name).read_text())


# -- Pipedrive: pipelines -------------------------------------------------------------------------
def test_pipedrive_pipeline_keeps_only_its_stages_even_when_names_repeat():
    # Pipedrive gives every new pipeline the same default stage names
    stages = load("pipedrive_two_pipelines_stages.json")
    deals = load("pipedrive_two_pipelines_deals.json")
    sales = read_pipedrive(deals, stages=stages, pipeline=1)
    assert sales.stage_names == ("Qualified", "Contact Made", "Proposal Made", "Won", "Lost")
    assert sorted(sales.ids) == ["1", "2", "3"]
    assert sm.weighted_pipeline(sales) == pytest.approx(1_000 * 0.2 + 2_000 * 0.5)
    partners = read_pipedrive(deals, stages=stages, pipeline="Partners")
    assert partners.stage_names == ("Qualified", "Contact Made", "Proposal Made", "Won", "Lost")
    assert sorted(partners.ids) == ["4", "5"]
    assert sm.weighted_pipeline(partners) == pytest.approx(4_000 * 0.1 + 8_000 * 0.3)
    # the lost deal's last stage is pipeline 1's Contact Made, kept as history
    assert [s for s, _ in sales.deal("3").history] == ["Contact Made"]
    with pytest.raises(DataError, match="several pipelines"):
        read_pipedrive(deals, stages=stages)


def test_pipedrive_one_pipeline_of_deals_uses_its_stages():
    stages = load("pipedrive_two_pipelines_stages.json")
    deals = [d for d in load("pipedrive_two_pipelines_deals.json")["data"] if d["pipeline_id"] == 2]
    p = read_pipedrive(deals, stages=stages)
    assert sorted(p.ids) == ["4", "5"]
    assert sm.weighted_pipeline(p) == pytest.approx(4_000 * 0.1 + 8_000 * 0.3)


def test_pipedrive_stage_without_active_flag_is_active():
    stages = [{"id": 1, "name": "Lead In", "order_nr": 1, "deal_probability": 10},
              {"id": 2, "name": "Demo", "order_nr": 2, "deal_probability": 50,
               "active_flag": True},
              {"id": 3, "name": "Old", "order_nr": 3, "deal_probability": 50,
               "active_flag": False}]
    p = read_pipedrive([{"id": 7, "stage_id": 2, "status": "open", "value": 10}], stages=stages)
    assert p.stage_names == ("Lead In", "Demo", "Won", "Lost")


def test_pipedrive_null_pipeline_id_is_an_error_when_a_pipeline_is_chosen():
    stages = load("pipedrive_two_pipelines_stages.json")
    deals = load("pipedrive_two_pipelines_deals.json")["data"]
    deals[1] = {**deals[1], "pipeline_id": None}
    with pytest.raises(DataError, match=r"deal '2' \(record 1\): pipeline_id is missing"):
        read_pipedrive(deals, stages=stages, pipeline=1)


# -- HubSpot: pipelines and stages ----------------------------------------------------------------
def _deal(did, stage, pipeline, amount="100", **props):
    return {"id": did, "properties": {"hs_object_id": did, "dealstage": stage,
                                      "pipeline": pipeline, "amount": amount, **props}}


def test_hubspot_keeps_deals_without_a_pipeline_in_the_default_one():
    deals = [_deal("1", "contractsent", "default"), _deal("2", "contractsent", None),
             _deal("3", "qualifiedtobuy", "")]
    p = read_hubspot(deals, pipelines=load("hubspot_pipelines.json"))
    assert sorted(p.ids) == ["1", "2", "3"]
    assert sm.pipeline_value(p) == 300
    assert sorted(read_hubspot(deals).ids) == ["1", "2", "3"]
    mixed = [*deals, _deal("4", "1000001", "7654321")]
    with pytest.raises(DataError, match="several pipelines"):
        read_hubspot(mixed, pipelines=load("hubspot_pipelines.json"))
    chosen = read_hubspot(mixed, pipelines=load("hubspot_pipelines.json"), pipeline="default")
    assert sorted(chosen.ids) == ["1", "2", "3"]


def _pipeline(closed_meta):
    return {"id": "p", "label": "P", "stages": [
        {"id": "a", "label": "Open", "displayOrder": 0,
         "metadata": {"isClosed": "false", "probability": "0.5"}},
        {"id": "w", "label": "Signed", "displayOrder": 1, "metadata": closed_meta}]}


def test_hubspot_closed_stage_without_probability_is_not_silently_lost():
    deals = [_deal("1", "w", "p", closedate="2024-03-01")]
    with pytest.raises(DataError, match=r"stage 'Signed'.*closed.*probability"):
        read_hubspot(deals, pipelines=_pipeline({"isClosed": "true"}))
    with pytest.raises(DataError, match=r"stage 'Signed'.*closed.*'0.5'"):
        read_hubspot(deals, pipelines=_pipeline({"isClosed": "true", "probability": "0.5"}))
    won = read_hubspot(deals, pipelines=_pipeline({"isClosed": "true", "probability": "1.0"}))
    assert won.stages[-1] == Stage("Signed", 1.0, Outcome.WON)
    lost = read_hubspot(deals, pipelines=_pipeline({"isClosed": True, "probability": 0}))
    assert lost.stages[-1] == Stage("Signed", 0.0, Outcome.LOST)


def test_hubspot_null_object_id_uses_the_top_level_id():
    deal = {"id": "42", "properties": {"hs_object_id": None, "dealstage": "contractsent",
                                       "amount": "10"}}
    assert read_hubspot([deal]).ids.tolist() == ["42"]


def test_hubspot_reads_the_deal_stage_probability():
    deals = [_deal("1", "contractsent", "default", amount="1000",
                   hs_deal_stage_probability="0.3"),
             _deal("2", "contractsent", "default", amount="1000",
                   hs_deal_stage_probability="0.9")]
    p = read_hubspot(deals)
    assert p.deal("1").probability == 0.3
    assert p.deal("2").probability is None  # equal to Contract Sent's 0.9
    assert sm.weighted_pipeline(p) == pytest.approx(300 + 900)
    # the forecast probability, where given, wins
    both = [_deal("1", "contractsent", "default", amount="1000",
                  hs_deal_stage_probability="0.3", hs_forecast_probability="0.6")]
    assert read_hubspot(both).deal("1").probability == 0.6


# -- HubSpot: epoch milliseconds ------------------------------------------------------------------
def test_hubspot_epoch_millisecond_strings_are_not_iso_basic_dates():
    # 1677110400000 ms = 2023-02-23T00:00:00Z; fromisoformat reads it as 1677-11-04
    deal = _deal("1", "closedwon", "default", createdate="1677110400000",
                 closedate="1677196800000", hs_date_entered_contractsent="1677150000000")
    p = read_hubspot([deal])
    d = p.deal("1")
    assert (d.created, d.close_date) == (dt.date(2023, 2, 23), dt.date(2023, 2, 24))
    assert d.history == (("Contract Sent", dt.date(2023, 2, 23)),)
    # in a time zone west of UTC, midnight UTC is the previous day
    west = read_hubspot([deal], timezone="America/New_York").deal("1")
    assert (west.created, west.close_date) == (dt.date(2023, 2, 22), dt.date(2023, 2, 23))


def test_hubspot_epoch_milliseconds_in_an_export(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("Record ID,Deal Stage,Amount,Create Date,Close Date\n"
                    "1,Closed Won,10,1677110400000,1677196800000\n"
                    "2,Contract Sent,20,2024-01-02 10:00,\n")
    p = read_hubspot(path)
    assert p.deal("1").created == dt.date(2023, 2, 23)
    assert p.deal("2").created == dt.date(2024, 1, 2)


def test_hubspot_epoch_milliseconds_across_a_dst_change():
    # 2023-03-12 06:30Z is 01:30 EST; 07:30Z is 03:30 EDT: both on 2023-03-12 in New York;
    # 2023-03-12 04:30Z is still 2023-03-11 23:30 EST
    stamps = ["1678602600000", "1678606200000", "1678595400000"]
    deals = [_deal(str(i), "closedwon", "default", createdate=s, closedate=s)
             for i, s in enumerate(stamps)]
    p = read_hubspot(deals, timezone="America/New_York")
    assert [p.deal(str(i)).created for i in range(3)] == [
        dt.date(2023, 3, 12), dt.date(2023, 3, 12), dt.date(2023, 3, 11)]


# -- Missing ids ----------------------------------------------------------------------------------
def test_a_missing_id_is_an_error_in_every_adapter():
    with pytest.raises(DataError, match=r"record 1: Id is missing"):
        read_salesforce([{"Id": "1", "StageName": "A", "IsClosed": 0, "IsWon": 0},
                         {"Id": None, "StageName": "A", "IsClosed": 0, "IsWon": 0}])
    with pytest.raises(DataError, match=r"record 0: deal id \(hs_object_id\) is missing"):
        read_hubspot([{"properties": {"hs_object_id": None, "dealstage": "contractsent"}}])
    with pytest.raises(DataError, match=r"record 0: id is missing"):
        read_pipedrive([{"id": None, "stage_id": 1, "status": "open"}],
                       stages=load("pipedrive_stages.json"))
    with pytest.raises(DataError, match=r"id is missing"):
        read_records([{"id": None, "stage": "Proposal"}])


def test_a_missing_id_in_a_csv_names_the_row(tmp_path):
    path = tmp_path / "opps.csv"
    path.write_text("Id,StageName,IsClosed,IsWon\n1,A,false,false\n,A,false,false\n")
    with pytest.raises(DataError, match=r"row 1 of the data, line 3 of 'opps.csv': Id is "
                                        r"missing"):
        read_salesforce(path)


# -- Encoding and delimiter -----------------------------------------------------------------------
SF_CSV = ("Id;StageName;Amount;IsClosed;IsWon;Probability;Owner.Name\n"
          "1;Prospecting;100;false;false;10;Zoë\n")
HS_CSV = "Record ID;Deal Stage;Amount;Deal owner\n1;Contract Sent;100;Zoë\n"
PD_CSV = "Deal - ID;Deal - Stage;Deal - Status;Deal - Value;Deal - Owner\n1;Lead In;open;100;Zoë\n"
GEN_CSV = "id;stage;amount;owner\n1;Proposal;100;Zoë\n"


def _adapters(path):
    return {
        "salesforce": lambda **kw: read_salesforce(path["salesforce"], **kw),
        "hubspot": lambda **kw: read_hubspot(path["hubspot"], **kw),
        "pipedrive": lambda **kw: read_pipedrive(path["pipedrive"],
                                                 stages=load("pipedrive_stages.json"), **kw),
        "records": lambda **kw: read_records(path["records"], **kw),
    }


@pytest.fixture
def latin1_files(tmp_path):
    paths = {}
    for name, text in (("salesforce", SF_CSV), ("hubspot", HS_CSV), ("pipedrive", PD_CSV),
                       ("records", GEN_CSV)):
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_bytes(text.encode("latin-1"))
    return paths


@pytest.mark.parametrize("adapter", ["salesforce", "hubspot", "pipedrive", "records"])
def test_every_adapter_takes_encoding_and_delimiter(latin1_files, adapter):
    read = _adapters(latin1_files)[adapter]
    p = read(encoding="latin-1", delimiter=";")
    assert len(p) == 1
    assert p.categories("owner").tolist() == ["Zoë"]
    assert sm.pipeline_value(p) == 100


@pytest.mark.parametrize("adapter", ["salesforce", "hubspot", "pipedrive", "records"])
def test_a_file_in_the_wrong_encoding_is_a_data_error(latin1_files, adapter):
    read = _adapters(latin1_files)[adapter]
    with pytest.raises(DataError, match=rf"{adapter}\.csv.*line 2"):
        read(delimiter=";")


def test_salesforce_stage_and_history_files_take_the_options(tmp_path):
    stages = tmp_path / "stages.csv"
    stages.write_bytes("MasterLabel;IsClosed;IsWon;DefaultProbability;SortOrder\n"
                       "Découverte;false;false;10;1\nGagné;true;true;100;2\n".encode("latin-1"))
    history = tmp_path / "history.csv"
    history.write_bytes("OpportunityId;StageName;CreatedDate\n1;Découverte;2024-01-02\n"
                        .encode("latin-1"))
    opps = tmp_path / "opps.csv"
    opps.write_bytes("Id;StageName;Amount;CloseDate\n1;Gagné;5;2024-02-01\n".encode("latin-1"))
    p = read_salesforce(opps, stages=stages, history=history, encoding="latin-1", delimiter=";")
    assert p.stage_names == ("Découverte", "Gagné")
    assert [s for s, _ in p.deal("1").history] == ["Découverte"]


# -- Salesforce sort orders -----------------------------------------------------------------------
def test_salesforce_non_numeric_sort_order_names_the_stage():
    stages = [{"MasterLabel": "Prospecting", "IsClosed": False, "IsWon": False,
               "DefaultProbability": 10, "SortOrder": "first"},
              {"MasterLabel": "Closed Won", "IsClosed": True, "IsWon": True,
               "DefaultProbability": 100, "SortOrder": 2}]
    opps = [{"Id": "1", "StageName": "Prospecting"}]
    with pytest.raises(SalesMetricsError, match=r"stage 'Prospecting'.*SortOrder.*'first'"):
        read_salesforce(opps, stages=stages)
    inferred = [{"Id": "1", "StageName": "Prospecting", "IsClosed": False, "IsWon": False,
                 "StageSortOrder": "x1"}]
    with pytest.raises(SalesMetricsError, match=r"stage 'Prospecting'.*StageSortOrder.*'x1'"):
        read_salesforce(inferred)


# -- Row numbers say what they count --------------------------------------------------------------
def test_row_numbers_in_adapter_messages_say_what_they_count(tmp_path):
    stages = load("pipedrive_stages.json")
    with pytest.raises(DataError, match=r"deal '2' \(record 1\): status must be"):
        read_pipedrive([{"id": 1, "stage_id": 1, "status": "open"},
                        {"id": 2, "stage_id": 1, "status": "pending"}], stages=stages)
    path = tmp_path / "opps.csv"
    path.write_text("Id,StageName,IsClosed,IsWon\n1,A,false,false\n2,A,maybe,false\n")
    with pytest.raises(DataError, match=r"deal '2' \(row 1 of the data, line 3 of 'opps.csv'\): "
                                        r"IsClosed must be true or false, got 'maybe'"):
        read_salesforce(path)
    multiline = tmp_path / "notes.csv"
    multiline.write_text('id,stage,note,created\n1,Proposal,"two\nlines",2024-01-02\n'
                         '2,Proposal,x,someday\n')
    with pytest.raises(DataError, match=r"deal '2' \(row 1 of the data, line 4 of 'notes.csv'\): "
                                        r"created must be an ISO date .*got 'someday'"):
        read_records(multiline)
    with pytest.raises(DataError, match=r"deal '9' \(record 1\): createdate must be an ISO"):
        read_hubspot([_deal("8", "contractsent", "default"),
                      _deal("9", "contractsent", "default", createdate="soon")])


# -- Nested values in API records -----------------------------------------------------------------
@pytest.mark.parametrize("record", [
    {"Id": "1", "StageName": [1], "CloseDate": None},
    {"Id": "1", "StageName": "A", "IsClosed": [1], "IsWon": 0},
    {"Id": [1], "StageName": "A", "IsClosed": 0, "IsWon": 0},
    {"Id": "1", "StageName": "A", "IsClosed": 0, "IsWon": 0, "StageSortOrder": [1]},
])
def test_lists_in_salesforce_records_are_errors_that_name_them(record):
    with pytest.raises(SalesMetricsError, match=r"\[1\]"):
        read_salesforce([record])


def test_read_records_checks_the_probability_scale_without_a_probability_column():
    with pytest.raises(sm.errors.OptionError, match="probability_scale must be 'percent' or "
                                                    "'fraction', got 'basis points'"):
        read_records([{"id": 1, "stage": "Proposal"}], probability_scale="basis points")


def test_pipedrive_export_names_its_pipelines(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("Deal - ID,Deal - Stage,Deal - Status,Deal - Value,Deal - Pipeline\n"
                    "1,Qualified,open,1000,Sales\n4,Qualified,open,4000,Partners\n"
                    "5,Proposal Made,open,8000,Partners\n")
    stages = load("pipedrive_two_pipelines_stages.json")
    partners = read_pipedrive(path, stages=stages, pipeline="Partners")
    assert sorted(partners.ids) == ["4", "5"]
    assert sm.weighted_pipeline(partners) == pytest.approx(4_000 * 0.1 + 8_000 * 0.3)
    assert sm.weighted_pipeline(read_pipedrive(path, stages=stages, pipeline=1)) == 200
