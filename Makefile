# kcsms: the two commands are `make run` and `make test`; both create .venv when needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= etc/kcsms.ini

ifeq ($(CI),true)
export KCSMS_TEST_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/test
endif

.PHONY: install run test lint typecheck clean

$(BIN)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# compat mode: the strict editable finder hides twisted/plugins from twistd.
	$(BIN)/python -m pip install --quiet -e '.[postgres,dev]' --config-settings editable_mode=compat
	touch $@

install: $(BIN)/.installed

run: install
	mkdir -p var
	$(BIN)/twistd -n --pidfile= kcsms --config $(CONFIG)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check kcsms tests twisted bench
	$(BIN)/ruff format --check kcsms tests twisted bench

typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var build *.egg-info twisted/plugins/dropin.cache

# Benchmark (bench/): make bench takes about six minutes, bench-quick under one;
# profile runs one scenario (SCENARIO, default session-closed) with kcsms under cProfile.
# The *-pg scenarios (in both suites) need PostgreSQL at $KCSMS_BENCH_POSTGRES
# (default postgresql://postgres@127.0.0.1:5432/test) and make a schema of their own there.
.PHONY: bench bench-quick profile
SCENARIO ?= session-closed

bench: install
	$(BIN)/python -m bench.run

bench-quick: install
	$(BIN)/python -m bench.run --quick

profile: install
	$(BIN)/python -m bench.run --profile $(SCENARIO)
