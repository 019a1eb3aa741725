# Central Electric: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test test-faults bench bench-accrual bench-idle lint format migrate demo-data clean

help:
	@echo "make run     set up .venv, migrate, create demo data, start the whole stack"
	@echo "make test    run the whole test suite (REDIS_URL and DATABASE_URL are honoured)"
	@echo "make test-faults  kill every server in turn under a 50-device cut; nothing lost"
	@echo "make bench   a mass cut on the whole stack: 3,000 devices and their households, 5 min"
	@echo "             (BENCH_ARGS=\"--devices N --duration S --db sqlite\"); also bench-accrual, bench-idle"
	@echo "make lint    ruff check and format check"
	@echo "make clean   remove .venv and var/ (local database, private Redis files)"

$(VENV)/.requirements: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.requirements-dev: $(VENV)/.requirements requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# `make run` is a local demo: DEBUG on unless the environment says otherwise.
run: export DJANGO_DEBUG ?= 1
run: $(VENV)/.requirements
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_data
	$(PY) -m celc.stack

test: $(VENV)/.requirements-dev
	$(PY) -m pytest $(PYTEST_ARGS)

test-faults: $(VENV)/.requirements-dev
	$(PY) -m pytest faults $(PYTEST_ARGS)

# Benchmarks (not tests): results in bench/results/, summarised in docs/performance.md.
BENCH_ARGS ?=
bench: $(VENV)/.requirements-dev
	$(PY) -m bench.masscut $(BENCH_ARGS)

bench-accrual: $(VENV)/.requirements-dev
	$(PY) -m bench.accrual --outages 10000 --runs 3 --shards 2 $(BENCH_ARGS)
	$(PY) -m bench.accrual --outages 50000 --runs 3 --shards 2 $(BENCH_ARGS)

bench-idle: $(VENV)/.requirements-dev
	$(PY) -m bench.ticks --devices 10000 --duration 60 --idle $(BENCH_ARGS)

lint: $(VENV)/.requirements-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.requirements-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
