# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Vigil needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## Run Vigil (simulated demo rooms when no config is given: CONFIG=path/to/vigil.toml)
run: $(STAMP)
	scripts/ensure-influxdb.sh start
	$(BIN)/vigil run $(if $(CONFIG),--config $(CONFIG))

## Run the whole test suite (installs influxd and Chromium when missing and allowed)
test: $(STAMP)
	scripts/ensure-influxdb.sh install
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check monitor drivers alerts tests
	$(BIN)/ruff format --check monitor drivers alerts tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache  # never .vigil: it holds the journal (the audit record)
