"""`import salesmetrics` is cheap: public names load their module on first use (PEP 562)."""

import subprocess
import sys

import pytest

import salesmetrics
import salesmetrics.domain
import salesmetrics.metrics


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_loads_no_domain_or_metric_module():
    code = ("import sys, salesmetrics; print(sorted(m for m in sys.modules "
            "if m.startswith('salesmetrics.') and m != 'salesmetrics.errors'))")
    assert run(code) == "[]"


def test_a_name_loads_only_its_family():
    code = ("import sys, salesmetrics as sm; sm.win_rate; "
            "print('salesmetrics.metrics.win_rates' in sys.modules, "
            "'salesmetrics.metrics.compensation' in sys.modules, "
            "'salesmetrics.domain.activity' in sys.modules)")
    assert run(code) == "True False False"


def test_function_named_like_its_module_stays_the_function():
    # metrics/forecast.py defines forecast(): importing the module first must not hide it.
    code = ("import salesmetrics.metrics.forecast, salesmetrics.metrics.calibration, "
            "salesmetrics.metrics.win_curve, salesmetrics as sm, salesmetrics.metrics as m; "
            "print(callable(sm.forecast), callable(m.forecast), callable(m.calibration), "
            "callable(sm.win_curve), type(m.win_curve).__name__)")
    assert run(code) == "True True True True function"


def test_dir_and_all_list_every_public_name_loaded_or_not():
    for module in (salesmetrics, salesmetrics.domain, salesmetrics.metrics):
        assert set(module.__all__) <= set(dir(module))
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_star_import_and_from_import():
    namespace: dict[str, object] = {}
    exec("from salesmetrics import *", namespace)
    assert set(salesmetrics.__all__) <= set(namespace)
    from salesmetrics import Pipeline, sales_velocity
    from salesmetrics.metrics.velocity import sales_velocity as defined

    assert sales_velocity is defined
    assert Pipeline is salesmetrics.domain.Pipeline


def test_unknown_names_raise_attribute_error():
    for module in (salesmetrics, salesmetrics.domain, salesmetrics.metrics):
        with pytest.raises(AttributeError, match="no_such_metric"):
            module.no_such_metric  # type: ignore[attr-defined]  # noqa: B018


def test_pipeline_and_metrics_leave_optional_modules_unloaded():
    # Deal objects, exchange rates and dateutil are loaded by the calls that need them.
    code = ("import sys, salesmetrics as sm; sm.Pipeline; sm.win_rate; sm.weighted_pipeline; "
            "sm.sales_velocity; print(sorted(m for m in ('salesmetrics.domain.deal', "
            "'salesmetrics.domain.exchange_rates', 'dateutil') if m in sys.modules))")
    assert run(code) == "[]"


def test_optional_modules_load_when_used():
    code = ("import sys, datetime as dt, salesmetrics as sm; "
            "p = sm.Pipeline.from_deals([sm.Deal(id=1, amount=5.0, stage='Proposal', "
            "created=dt.date(2024, 1, 1), close_date='2024-03-01')]); d = p.deal(1); "
            "print(type(d).__name__, d.close_date, 'salesmetrics.domain.deal' in sys.modules)")
    assert run(code) == "Deal 2024-03-01 True"
