# The two commands a newcomer runs: `make report` and `make test`.
# Each creates .venv on first use and reinstalls when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MONTH  ?= latest
JOBS   ?=

.PHONY: report test lint format nbval unit data notebooks benchmark clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,cluster]'
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

## make report: the report for the newest complete month of daily prices (or MONTH=YYYY-MM)
report: $(VENV)/.installed
	$(BIN)/rotation report --month $(MONTH) $(if $(JOBS),--jobs $(JOBS),)

## make test: ruff, unit tests, then the notebooks under nbval (strict)
test: lint unit nbval

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Two test processes (pytest-xdist; PYTEST_WORKERS=auto for one per core, 0 for none). Tests that
# share one expensive fixture (a rendered report, the Dask cluster) carry one xdist_group mark, and
# loadgroup runs each such group on a single process. pytest's exit code 5 (no test collected)
# reaches make, and so fails CI, as without xdist.
PYTEST_WORKERS ?= 2
unit: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup tests

# Notebooks are checked against their committed outputs (made from the embedded data/): first on data/
# alone, then, when ROTATION_MIRROR is set (as in CI), again on the raw files, which must show the same.
NBVAL = $(BIN)/python -m pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg \
        -p no:cacheprovider
nbval: $(VENV)/.installed-dev
	env -u ROTATION_MIRROR $(NBVAL)
	@if [ -n "$$ROTATION_MIRROR" ]; then \
	    echo "nbval on the mirror $$ROTATION_MIRROR"; \
	    ROTATION_MIRROR="$$(realpath "$$ROTATION_MIRROR")" $(NBVAL); \
	fi

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make data: rebuild data/ from ROTATION_MIRROR (or the network)
data: $(VENV)/.installed
	$(BIN)/rotation data build

## make notebooks: re-execute the committed notebooks on data/ and keep their outputs small
notebooks: $(VENV)/.installed-dev
	$(BIN)/python tools/refresh_notebooks.py

benchmark: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run.py

clean-venv:
	rm -rf $(VENV)
