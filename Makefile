# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make test` runs the suite on pytest-xdist workers, a test file per worker at a time (its
# module fixtures: one app, one browser, one influxd per worker). Most end-to-end tests wait on
# subprocesses and sockets, so more workers than cores pays. TEST_WORKERS=0 runs it serially.
TEST_WORKERS ?= 4
STAMP := $(VENV)/.installed

.PHONY: run stop test bench lint venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Vigil needs Python 3.11 or newer"; exit 1; }
	scripts/ensure-venv.sh $(PYTHON) $(VENV)
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
	scripts/apt-ensure.sh chromium chromium
	scripts/apt-ensure.sh systemd-analyze systemd  # tests/deploy/test_deploy.py verifies the unit
	scripts/apt-ensure.sh npm npm
	scripts/apt-ensure.sh prometheus prometheus  # tests/monitor/api/test_metrics.py: a real Prometheus scrapes /metrics
	scripts/fhir-packages.sh .vigil/fhir-packages >/dev/null  # HL7's R4 definitions, for tests/monitor/report/test_fhir_profiles.py
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## Stop the local influxd that `make run` started (its data stays in .vigil/influxdb)
stop:
	@scripts/ensure-influxdb.sh stop

## Benchmarks; the live one at chosen sizes: make bench BENCH_ARGS="--rooms 100 --live-only"
bench: $(STAMP)
	scripts/ensure-influxdb.sh install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check monitor drivers alerts tests
	$(BIN)/ruff format --check monitor drivers alerts tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache  # never .vigil: it holds the journal (the audit record)
