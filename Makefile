# Two commands do everything on a fresh machine with only Python and make:
#   make demo   create .venv, install salesmetrics, print a pipeline review of the bundled sample
#   make test   install the dev extras, run the whole test suite (tests + doctests), mypy and ruff
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.PHONY: demo test lint typecheck docs bench bench-quick clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,docs]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m salesmetrics report

test: $(VENV)/.installed-dev
	MPLBACKEND=Agg $(PY) -m pytest
	$(BIN)/mypy
	$(BIN)/ruff check --output-format concise src tests benchmarks

docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

$(VENV)/.installed-bench: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

# salesmetrics against pandas, polars and DuckDB at 10M deals, then construction, memory, small
# pipelines and import (about 5 minutes); bench-quick: the same at 1M deals (about 1 minute)
bench: $(VENV)/.installed-bench
	$(PY) benchmarks/bench_peers.py
	$(PY) benchmarks/bench_metrics.py

bench-quick: $(VENV)/.installed-bench
	$(PY) benchmarks/bench_peers.py --quick
	$(PY) benchmarks/bench_metrics.py --quick

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
