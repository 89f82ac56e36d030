"""Issue 7, the edge layers: readers share one shape and one date parser, ``sm.report`` loads
like ``sm.io`` and ``sm.plot``, plots take the metrics' options and say what they leave out, and
the printed review writes money, rates and missing group labels one way."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import typing
import warnings

import numpy as np
import pytest

import salesmetrics as sm
from salesmetrics import Deal, Pipeline, Stage
from salesmetrics._render import NO_LABEL
from salesmetrics.errors import DataError, DataQualityWarning, OptionError
from salesmetrics.io import read_hubspot, read_pipedrive, read_records, read_salesforce

READERS = {
    "read_csv": Pipeline.read_csv,
    "read_records": read_records,
    "read_salesforce": read_salesforce,
    "read_hubspot": read_hubspot,
    "read_pipedrive": read_pipedrive,
}
#: The options every reader takes, keyword-only, with one default each.
SHARED = ("history", "currency", "timezone", "encoding", "delimiter", "date_formats",
          "rates", "rate_date", "allow_close_before_created")
STAGES = (Stage("Lead", 0.2), Stage("Demo", 0.6), Stage("Won", 1.0, "won"),
          Stage("Lost", 0.0, "lost"))


# -- readers: one shape ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(READERS))
def test_reader_takes_the_source_then_stages(name):
    params = list(inspect.signature(READERS[name]).parameters.values())
    if name == "read_csv":  # a classmethod, bound: the path comes first
        assert params[0].name == "path"
    assert params[1].name == "stages"
    assert params[0].kind is params[1].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)
               for p in params[2:]), name


@pytest.mark.parametrize("option", SHARED)
def test_shared_reader_options_are_uniform(option):
    found = {}
    for name, reader in READERS.items():
        params = inspect.signature(reader).parameters
        assert option in params, f"{name}() has no {option}="
        param = params[option]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, (name, option)
        found[name] = param.default
    assert len({repr(default) for default in found.values()}) == 1, found


def test_shared_reader_options_are_typed_alike():
    hints = {name: typing.get_type_hints(reader) for name, reader in READERS.items()
             if name != "read_csv"}
    for option in ("currency", "timezone", "encoding", "delimiter", "date_formats", "rates",
                   "rate_date", "allow_close_before_created"):
        assert len({repr(h[option]) for h in hints.values()}) == 1, option


def _sf(**fields):
    return {"Id": "1", "StageName": "Prospecting", "IsClosed": False, "IsWon": False,
            "Probability": 10, "CloseDate": "2024-03-31", "CreatedDate": "2024-01-02"} | fields


def _pd_stages():
    return [{"id": 1, "name": "Lead", "order_nr": 1, "deal_probability": 20},
            {"id": 2, "name": "Demo", "order_nr": 2, "deal_probability": 60}]


def _hs(**properties):
    return {"id": "1", "properties": {"dealstage": "contractsent",
                                      "createdate": "2024-01-02", "closedate": "2024-03-31"}
            | properties}


def test_date_formats_reach_every_reader(tmp_path):
    """One parser: a strptime format or "dateutil", through every adapter."""
    p = read_salesforce([_sf(CloseDate="31.03.2024", CreatedDate="02.01.2024")],
                        date_formats=["%d.%m.%Y"])
    assert str(p.close_date[0]) == "2024-03-31"
    p = read_hubspot([_hs(closedate="March 31, 2024")], date_formats="dateutil")
    assert str(p.close_date[0]) == "2024-03-31"
    p = read_pipedrive([{"id": 7, "stage_id": 2, "status": "open", "add_time": "02/01/2024",
                         "expected_close_date": "31/03/2024"}], _pd_stages(),
                       date_formats=["%d/%m/%Y"])
    assert str(p.close_date[0]) == "2024-03-31" and str(p.created[0]) == "2024-01-02"
    p = read_records({"id": ["A"], "stage": ["Demo"], "close_date": ["31/03/2024"]}, STAGES,
                     date_formats=["%d/%m/%Y"])
    assert str(p.close_date[0]) == "2024-03-31"
    path = tmp_path / "deals.csv"
    path.write_text("id,stage,close_date\nA,Demo,31/03/2024\n")
    assert str(Pipeline.read_csv(path, STAGES, date_formats=["%d/%m/%Y"]).close_date[0]) == \
        "2024-03-31"


def test_date_errors_are_the_parsers_named_by_record_and_line(tmp_path):
    with pytest.raises(DataError, match=r"deal '1' \(record 0\): CloseDate must be an ISO date "
                                        r".*got '31/03/2024'; .*date_formats="):
        read_salesforce([_sf(CloseDate="31/03/2024")])
    with pytest.raises(DataError, match=r"deal '1' \(record 0\): CloseDate .*or match "
                                        r"date_formats \['%d\.%m\.%Y'\], got '31/03/2024'"):
        read_salesforce([_sf(CloseDate="31/03/2024")], date_formats=["%d.%m.%Y"])
    path = tmp_path / "opps.csv"
    path.write_text("Id,StageName,IsClosed,IsWon,CloseDate\n1,A,false,false,2024-01-01\n"
                    "2,A,false,false,someday\n")
    with pytest.raises(DataError, match=r"deal '2' \(row 1 of the data, line 3 of 'opps.csv'\): "
                                        r"CloseDate must be"):
        read_salesforce(path)
    # a date that lacks its day is never filled in from today, in the adapters as in the domain
    with pytest.raises(DataError, match=r"record 0\): createdate 'March 2024' lacks the year, "
                                        r"month or day"):
        read_hubspot([_hs(createdate="March 2024")], date_formats="dateutil")
    with pytest.raises(OptionError, match=r"put a single format in a list"):
        read_pipedrive([{"id": 7, "stage_id": 2, "status": "open"}], _pd_stages(),
                       date_formats="%d/%m/%Y")


def test_allow_close_before_created_means_the_same_in_every_reader():
    backwards = {"CloseDate": "2024-01-01", "CreatedDate": "2024-02-01", "IsClosed": True,
                 "IsWon": True, "StageName": "Closed Won"}
    records = [_sf(), _sf(Id="2", **backwards)]
    with pytest.raises(DataError, match="pass allow_close_before_created=True"):
        read_salesforce(records)
    p = read_salesforce(records, allow_close_before_created=True)
    with pytest.warns(DataQualityWarning, match="close date is before"):
        assert np.isnan(sm.sales_cycle_length(p))
    hs = [_hs(dealstage="closedwon", createdate="2024-02-01", closedate="2024-01-01")]
    with pytest.raises(DataError, match="pass allow_close_before_created=True"):
        read_hubspot(hs)
    assert len(read_hubspot(hs, allow_close_before_created=True)) == 1
    pd_deals = [{"id": 7, "stage_id": 2, "status": "won", "add_time": "2024-02-01",
                 "won_time": "2024-01-01"}]
    with pytest.raises(DataError, match="pass allow_close_before_created=True"):
        read_pipedrive(pd_deals, _pd_stages())
    assert len(read_pipedrive(pd_deals, _pd_stages(), allow_close_before_created=True)) == 1


def test_hubspot_stages_and_history():
    deals = [_hs(), {"id": "2", "properties": {"dealstage": "closedlost",
                                               "createdate": "2024-01-02",
                                               "closedate": "2024-02-01"}}]
    default = read_hubspot(deals)
    assert read_hubspot(deals, sm.io.HUBSPOT_DEFAULT_PIPELINE) == default
    # the former name still reads, but not both at once
    assert read_hubspot(deals, pipelines=sm.io.HUBSPOT_DEFAULT_PIPELINE) == default
    with pytest.raises(OptionError, match="once, as stages="):
        read_hubspot(deals, stages=sm.io.HUBSPOT_DEFAULT_PIPELINE,
                     pipelines=sm.io.HUBSPOT_DEFAULT_PIPELINE)
    # Stage objects, named as the deals name their stages
    own = read_hubspot(deals, [Stage("contractsent", 0.5), Stage("closedwon", 1.0, "won"),
                               Stage("closedlost", 0.0, "lost")])
    assert own.stage_names == ("contractsent", "closedwon", "closedlost")
    # history=: the lost deal reached the contract stage (stages by id or label, dates ISO or
    # epoch milliseconds)
    p = read_hubspot(deals, history={"id": ["2", "2", "99"],
                                     "stage": ["contractsent", "Closed Lost", "contractsent"],
                                     "date": ["2024-01-10", "1706745600000", "2024-01-10"]})
    assert len(p.history) == 2  # deal 99 was not loaded: left out
    assert sm.funnel_counts(p.lost, skipped="visited")["Contract Sent"] == 1


def test_pipedrive_history_adds_to_the_closed_deals_last_stage():
    deals = [{"id": 7, "stage_id": 2, "status": "lost", "add_time": "2024-01-02",
              "lost_time": "2024-02-01"}]
    p = read_pipedrive(deals, _pd_stages(), history=[
        {"id": 7, "stage": 1, "date": "2024-01-02"}, {"id": 8, "stage": 1, "date": "2024-01-02"}])
    assert len(p.history) == 2  # its last stage (Demo), and Lead from the history given
    counts = sm.funnel_counts(p, skipped="visited")
    assert (counts["Lead"], counts["Demo"]) == (1, 1)


# -- sm.report -----------------------------------------------------------------------------------
def test_report_loads_on_first_use_like_io_and_plot():
    assert "report" in sm.__all__
    assert {"datasets", "io", "plot", "report"} <= set(dir(sm))
    code = (
        "import sys, salesmetrics as sm\n"
        "assert 'salesmetrics.report' not in sys.modules\n"
        "assert 'matplotlib' not in sys.modules\n"
        "text = sm.report.pipeline_review(sm.datasets.sample_pipeline(), period='2024-Q2')\n"
        "assert text.startswith('Pipeline review')\n"
        "assert 'salesmetrics.report' in sys.modules and 'matplotlib' not in sys.modules\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "ok"


# -- plots ---------------------------------------------------------------------------------------
matplotlib = pytest.importorskip("matplotlib")


def _ax():
    from matplotlib.figure import Figure

    return Figure(figsize=(7, 4), layout="constrained").add_subplot()


def _many_owners(n: int) -> Pipeline:
    deals = []
    for k in range(n):
        for j in range(k % 4 + 1):
            outcome = "Won" if j <= k % 3 else "Lost"
            deals.append(Deal(f"{k}-{j}", 10, outcome, owner=f"rep{k:02d}",
                              created="2024-01-01", close_date="2024-02-01"))
    deals.append(Deal("x", 10, "Won", owner=None, created="2024-01-01",
                      close_date="2024-02-01"))
    return Pipeline.from_deals(deals, STAGES)


def test_win_rates_default_is_the_whole_pipeline():
    p = _many_owners(3)
    ax = sm.plot.win_rates(p, ax=_ax())
    assert len(ax.patches) == 2
    assert ax.patches[0].get_height() == pytest.approx(sm.win_rate(p))
    assert "whole pipeline" in ax.get_title()


def test_win_rates_many_groups_top_20_sorted_with_a_note_and_the_legend_outside():
    p = _many_owners(30)
    ax = sm.plot.win_rates(p, by="owner", ax=_ax())
    unit = sm.win_rate(p, by="owner")
    assert len(ax.patches) == 2 * 20
    heights = [bar.get_height() for bar in ax.patches[:20]]
    assert heights == sorted(heights, reverse=True)
    assert heights == pytest.approx(sorted(unit.values(), reverse=True)[:20])
    assert "top 20 of 31 groups" in ax.get_title() and "11 left out" in ax.get_title()
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # outside the bars, right of the axes
    few = sm.plot.win_rates(p, by="owner", top=40, ax=_ax())
    assert "left out" not in few.get_title()
    with pytest.raises(OptionError, match="top must be"):
        sm.plot.win_rates(p, by="owner", top=0)


def test_a_missing_group_label_is_named_alike_in_plots():
    p = _many_owners(2)
    ax = sm.plot.win_rates(p, by="owner", ax=_ax())
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert NO_LABEL in names and "None" not in names


def test_pipeline_by_stage_without_amounts_says_so():
    p = Pipeline.from_columns({"id": ["a", "b"], "stage": ["Lead", "Demo"],
                               "amount": [None, None]}, STAGES)
    with pytest.warns(DataQualityWarning, match="has an amount"):
        ax = sm.plot.pipeline_by_stage(p, ax=_ax())
    assert [t.get_text() for t in ax.texts] == ["no amounts on open deals"]
    assert not ax.patches and not ax.get_yticks().size
    ax.figure.canvas.draw()
    assert not any("−0" in t.get_text() for t in ax.get_yticklabels())
    zero = Pipeline.from_columns({"id": ["a"], "stage": ["Lead"], "amount": [0]}, STAGES)
    ax = sm.plot.pipeline_by_stage(zero, ax=_ax())
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > 0


def test_plot_options_are_the_metrics_typed_literals():
    from salesmetrics.metrics import options

    hints = typing.get_type_hints(sm.plot.cycle_length_distribution)
    metric = typing.get_type_hints(sm.sales_cycle_length)
    assert hints["outcome"] == metric["outcome"] == options.CycleOutcome
    assert typing.get_type_hints(sm.plot.win_rates)["by"] == options.By


# -- printed results ---------------------------------------------------------------------------
def _review_pipeline() -> Pipeline:
    deals = [Deal(f"w{k}", 1_222_490.5, "Won", owner=owner, created="2024-01-01",
                  close_date="2024-02-01", currency="EUR")
             for k, owner in enumerate(["ana", None, "bo"])]
    deals += [Deal("l1", 10, "Lost", owner=None, created="2024-01-01", close_date="2024-01-11",
                   currency="EUR"),
              Deal("o1", 5_000_000, "Demo", owner="ana", close_date="2024-06-01",
                   currency="EUR")]
    return Pipeline.from_deals(deals, STAGES)


def test_review_prints_money_rates_and_missing_labels_one_way():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = sm.report.pipeline_review(_review_pipeline(), by="owner")
        page = sm.report.pipeline_review_html(_review_pipeline(), by="owner")
    assert not re.search(r"\d[eE][+-]\d", text)  # no %g exponents
    assert "EUR 1,222,490" in text  # money: thousands separators and the currency
    velocity = [line.split() for line in text.splitlines() if line.startswith("  (none)")]
    assert velocity and all("EUR" in row for row in velocity[1:])  # by owner: money in EUR
    assert "None" not in text and "nan" not in text
    assert "(none)" in text and "(none)" in page
    assert re.search(r"\b75\.0 %", text)  # rates: percentages, one decimal
    assert "Rates are percentages to 1 decimal" in text  # the precision is stated


# -- the command line --------------------------------------------------------------------------
def test_cli_date_format(tmp_path, capsys):
    from salesmetrics.__main__ import main

    path = tmp_path / "deals.csv"
    path.write_text("id,stage,amount,created,close_date\n"
                    "A,Closed won,100,02/01/2024,31/03/2024\nB,Meeting,50,03/01/2024,30/06/2024\n")
    assert main(["report", str(path)]) == 2
    assert "--date-format %d/%m/%Y" in capsys.readouterr().err
    assert main(["report", str(path), "--date-format", "%d/%m/%Y"]) == 0
    assert re.search(r"won\s+89\.0 days", capsys.readouterr().out)
    assert main(["report", str(path), "--date-format", "dateutil", "--date-format", "%d"]) == 2
    assert "give it alone" in capsys.readouterr().err
