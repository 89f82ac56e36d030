"""Issue 7, domain side: `date_formats=`, `Pipeline.latest_date`, one-way layers, chunk views that
carry their history, one place per concept, and fiscal-year periods that need a calendar."""

import ast
import datetime as dt
import pathlib

import numpy as np
import pytest

import salesmetrics
import salesmetrics as sm
import salesmetrics._kernels as kernels
from salesmetrics import Deal, FiscalCalendar, Period, Pipeline
from salesmetrics.domain.history import reached_masks
from salesmetrics.errors import DataError, DataTypeError, OptionError

D = dt.date


def cols(created, close=None, stage=None):
    n = len(created)
    return {
        "id": [f"D-{k}" for k in range(n)],
        "stage": stage or ["Meeting"] * n,
        "amount": [1.0] * n,
        "created": created,
        **({"close_date": close} if close is not None else {}),
    }


# -- date_formats= -----------------------------------------------------------------------------
@pytest.mark.parametrize("container", [list, np.array, lambda v: np.array(v, dtype=object)])
def test_date_formats_read_day_first_dates(container):
    p = Pipeline.from_columns(
        cols(container(["01/03/2024", "2024-02-05", "", "31/12/2023"])),
        date_formats=["%d/%m/%Y"],
    )
    assert p.created.tolist() == [D(2024, 3, 1), D(2024, 2, 5), None, D(2023, 12, 31)]


def test_date_formats_are_tried_in_order():
    p = Pipeline.from_columns(
        cols(["01.03.2024", "02/03/2024"]), date_formats=["%d.%m.%Y", "%m/%d/%Y"]
    )
    assert p.created.tolist() == [D(2024, 3, 1), D(2024, 2, 3)]


def test_date_formats_error_names_row_value_and_formats():
    with pytest.raises(DataError) as info:
        Pipeline.from_columns(cols(["01/03/2024", "1 March 2024"]), date_formats=["%d/%m/%Y"])
    message = str(info.value)
    assert "row 1" in message and "'1 March 2024'" in message and "%d/%m/%Y" in message


def test_without_date_formats_non_iso_strings_stay_errors():
    with pytest.raises(DataError, match="01/03/2024"):
        Pipeline.from_columns(cols(["01/03/2024"]))


def test_date_only_format_is_not_shifted_by_the_time_zone():
    p = Pipeline.from_columns(
        cols(["01/03/2024"]), date_formats=["%d/%m/%Y"], timezone="America/New_York"
    )
    assert p.created.tolist() == [D(2024, 3, 1)]
    q = Pipeline.from_columns(
        cols(["01/03/2024 02:00"]), date_formats=["%d/%m/%Y %H:%M"], timezone="America/New_York"
    )
    assert q.created.tolist() == [D(2024, 2, 29)]  # a UTC timestamp, in New York


def test_dateutil_mode_reads_flexible_dates():
    p = Pipeline.from_columns(
        cols(["March 1, 2024", "5 Feb 2024 10:00", "2024-01-02"]), date_formats="dateutil"
    )
    assert p.created.tolist() == [D(2024, 3, 1), D(2024, 2, 5), D(2024, 1, 2)]


@pytest.mark.parametrize("bad", ["March", "2024-03"])
def test_dateutil_mode_never_fills_in_from_today(bad):
    with pytest.raises(DataError, match="never filled in"):
        Pipeline.from_columns(cols([bad]), date_formats="dateutil")


def test_dateutil_mode_unknown_time_zone_name_is_an_error():
    with pytest.raises(DataError, match="time zone"):
        Pipeline.from_columns(cols(["5 Mar 2024 10:00 EST"]), date_formats="dateutil")


def test_date_formats_apply_to_close_dates_and_history():
    data = cols(["01/01/2024"], close=["15/02/2024"], stage=["Closed won"])
    history = {"id": ["D-0", "D-0"], "stage": ["Meeting", "Proposal"],
               "date": ["01/01/2024", "10/01/2024"]}
    p = Pipeline.from_columns(data, history=history, date_formats=["%d/%m/%Y"])
    assert p.close_date.tolist() == [D(2024, 2, 15)]
    assert p.history is not None
    assert p.history.dates.tolist() == [D(2024, 1, 1), D(2024, 1, 10)]


@pytest.mark.parametrize(
    ("option", "error"),
    [("%d/%m/%Y", OptionError), (["dmy"], OptionError), ([1], DataTypeError),
     (5, DataTypeError)],
)
def test_bad_date_formats_are_named(option, error):
    with pytest.raises(error, match="date_formats"):
        Pipeline.from_columns(cols(["2024-01-01"]), date_formats=option)


def test_read_csv_passes_date_formats(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("id,stage,created\nA,Meeting,01/03/2024\nB,Meeting,\n")
    p = Pipeline.read_csv(path, date_formats=["%d/%m/%Y"])
    assert p.created.tolist() == [D(2024, 3, 1), None]
    with pytest.raises(DataError, match=r"line 2 of deals\.csv"):
        Pipeline.read_csv(path)


# -- latest_date -------------------------------------------------------------------------------
def test_latest_date_is_the_latest_created_closed_or_history_date():
    p = Pipeline.from_deals([
        Deal("A", 1, "Closed won", created="2024-01-01", close_date="2024-03-01"),
        # an open deal's close date is only expected: it does not count
        Deal("B", 1, "Meeting", created="2024-02-01", close_date="2025-01-01"),
    ])
    assert p.latest_date == np.datetime64("2024-03-01")
    q = Pipeline.from_deals([
        Deal("A", 1, "Proposal", created="2024-01-01",
             history=[("Meeting", "2024-01-01"), ("Proposal", "2024-04-01")]),
    ])
    assert q.latest_date == np.datetime64("2024-04-01")


def test_latest_date_is_nat_without_dates():
    p = Pipeline.from_deals([Deal("A", 1, "Meeting")])
    assert np.isnat(p.latest_date)
    assert np.isnat(Pipeline.from_deals([]).latest_date)


# -- layers import one way ---------------------------------------------------------------------
PACKAGE = pathlib.Path(salesmetrics.__file__).parent


def _imports(path: pathlib.Path) -> set[str]:
    """Every salesmetrics module ``path`` imports, at the top or inside a function."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            for alias in node.names:  # a submodule (from salesmetrics import _kernels) or a name
                full = PACKAGE.parent / f"{name}.{alias.name}".replace(".", "/")
                submodule = full.is_dir() or full.with_suffix(".py").exists()
                found.add(f"{name}.{alias.name}" if submodule else name)
    return {name for name in found if name == "salesmetrics" or name.startswith("salesmetrics.")}


def _modules(sub: str) -> list[pathlib.Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


def test_domain_imports_only_the_bottom_layer_and_itself():
    allowed = ("salesmetrics.errors", "salesmetrics._csv", "salesmetrics._kernels",
               "salesmetrics._render", "salesmetrics._lazy", "salesmetrics.domain")
    for path in _modules("domain"):
        for name in _imports(path):
            assert name.startswith(allowed), f"{path.name} imports {name}"


def test_bottom_layer_imports_no_upper_layer():
    for name in ("errors.py", "_csv.py", "_kernels.py", "_render.py", "_lazy.py"):
        for imported in _imports(PACKAGE / name):
            assert imported.startswith(("salesmetrics.errors", "salesmetrics._kernels")), (
                f"{name} imports {imported}")


def test_metrics_never_import_io_plot_or_report():
    for path in _modules("metrics"):
        for name in _imports(path):
            assert not name.startswith(
                ("salesmetrics.io", "salesmetrics.plot", "salesmetrics.report",
                 "salesmetrics.dask")
            ), f"metrics/{path.name} imports {name}"


def test_the_import_checker_sees_imports():
    assert "salesmetrics._csv" in _imports(PACKAGE / "domain" / "_ingest.py")
    assert "salesmetrics.domain.pipeline" in _imports(PACKAGE / "metrics" / "conversion.py")


def test_no_module_over_500_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, long


def test_csv_reader_keeps_its_public_home():
    from salesmetrics import _csv
    from salesmetrics.io import csv

    assert csv.read_columns is _csv.read_columns
    assert csv.read_columns_and_lines is _csv.read_columns_and_lines


# -- chunk views carry their history -----------------------------------------------------------
def _with_history(n=400):
    """Deals whose current stage is behind the stages their history shows (lost deals that had
    reached Proposal): only the history says how far they got."""
    rng = np.random.default_rng(7)
    stage = rng.choice(["Meeting", "Proposal", "Closed won", "Closed lost"], n)
    closed = np.isin(stage, ["Closed won", "Closed lost"])
    ids = np.array([f"D-{k:04d}" for k in range(n)])
    data = {"id": ids, "stage": stage, "amount": rng.integers(1, 100, n).astype(float),
            "created": np.full(n, "2024-01-01"),
            "close_date": np.where(closed, "2024-03-01", ""),
            "team": rng.choice(["a", "b", "c"], n)}
    hist_ids, hist_stage, hist_date = [], [], []
    for k in range(n):
        for s, day in (("Discovery", "2024-01-02"), ("Meeting", "2024-01-10"),
                       ("Proposal", "2024-02-01"))[: rng.integers(1, 4)]:
            hist_ids.append(ids[k])
            hist_stage.append(s)
            hist_date.append(day)
    history = {"id": hist_ids, "stage": hist_stage, "date": hist_date}
    return Pipeline.from_columns(data, columns={"team": "team"}, history=history)


def test_filtered_reached_mask_equals_the_whole_one_selected():
    p = _with_history()
    whole = _with_history().reached_mask()
    rng = np.random.default_rng(3)
    for _ in range(5):
        keep = rng.random(len(p)) < 0.4
        part = p.filter(keep)
        assert np.array_equal(part.reached_mask(), whole[keep])
        assert part.labels("team").decoded().tolist() == \
            p.labels("team").decoded()[keep].tolist()
    assert "reached" not in p._cache  # nothing was built on the whole pipeline


CONVERSION_CALLS = {
    "from_stage": lambda p: sm.conversion_from_stage(p, by="team", skipped="visited"),
    "stage": lambda p: sm.stage_conversion(p),
    "funnel": lambda p: sm.funnel_counts(p),
}


@pytest.mark.parametrize("name", list(CONVERSION_CALLS))
def test_chunked_conversion_equals_single_pass_without_a_prebuilt_mask(name, monkeypatch):
    expected = CONVERSION_CALLS[name](_with_history())
    original = Pipeline.reached_mask

    def never_cached_on_the_whole(self):  # as if the metric forgot to build it first
        if len(self) == 400:
            return reached_masks(self.stage_codes, self.n_open_stages, len(self.stages),
                                 self.history)
        return original(self)

    monkeypatch.setattr(Pipeline, "reached_mask", never_cached_on_the_whole)
    monkeypatch.setattr(kernels, "CHUNK_ROWS", 37)
    assert len(kernels.chunk_bounds(400)) > 5
    result = CONVERSION_CALLS[name](_with_history())
    assert repr(result) == repr(expected)
    assert _flat(result) == pytest.approx(_flat(expected), nan_ok=True, rel=0, abs=0)


def _flat(result):
    """A result's numbers, nested results flattened, in order (NaN where n/a)."""
    plain = result.to_dict() if hasattr(result, "to_dict") else result
    if isinstance(plain, dict):
        return [x for value in plain.values() for x in _flat(value)]
    if isinstance(plain, (list, tuple)):
        return [x for value in plain for x in _flat(value)]
    return [float(plain)]


# -- fiscal periods need a calendar; periods are equal by their dates ---------------------------
@pytest.mark.parametrize("label", ["FY2025", "FY2025-Q1", "fy2025q1"])
def test_fiscal_label_without_calendar_asks_for_one(label):
    with pytest.raises(OptionError, match="calendar=FiscalCalendar"):
        Period.parse(label)


def test_metric_period_fy_without_calendar_is_an_error():
    p = Pipeline.from_deals([Deal("A", 1, "Closed won", created="2024-01-01",
                                  close_date="2024-02-01")])
    with pytest.raises(OptionError, match="FY2024"):
        sm.won_revenue(p, period="FY2024")
    fiscal = Period.parse("FY2024", calendar=FiscalCalendar())
    assert sm.won_revenue(p, period=fiscal) == sm.won_revenue(p, period="2024")


def test_fiscal_quarter_of_a_january_calendar_equals_the_plain_quarter():
    fiscal = Period.parse("FY2025-Q1", calendar=FiscalCalendar())
    plain = Period.parse("2025-Q1")
    assert fiscal == plain and hash(fiscal) == hash(plain)
    assert {fiscal: 1}[plain] == 1
    assert (fiscal.label, plain.label) == ("FY2025-Q1", "2025-Q1")  # the label is kept
    assert Period.parse("FY2025", calendar=FiscalCalendar()) == Period.year(2025)
    assert Period.parse("FY2025-Q1", calendar=FiscalCalendar(start_month=2)) != plain
    assert Period("2025-01-01", "2025-04-01") == plain  # equal by dates
