# Central Electric: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help catalogues messages run test test-clocks test-faults bench bench-accrual bench-idle restore-drill lint format clean

help:
	@echo "make run     set up .venv, migrate, create demo data, start the whole stack"
	@echo "make test    run the whole test suite (REDIS_URL and DATABASE_URL are honoured)"
	@echo "make test-clocks  the suite again with the clock at a month end, a year end and a leap day"
	@echo "make test-faults  kill every server in turn under a 50-device cut; nothing lost"
	@echo "make bench   a mass cut on the whole stack: 5,000 devices and their households, 5 min"
	@echo "             (BENCH_ARGS=\"--devices N --duration S --db sqlite\"); also bench-accrual, bench-idle"
	@echo "make restore-drill  dump DATABASE_URL (else the local SQLite), restore it into a scratch"
	@echo "             database, check balances, ledger triggers and accrual there (docs/backups.md)"
	@echo "make lint    ruff check and format check, and the import contracts (the layers)"
	@echo "make messages  refresh locale/*/django.po and djangojs.po from the source (GNU gettext)"
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

# The Tamil and Hindi catalogues, compiled with Babel (no GNU gettext needed).
catalogues: $(VENV)/.requirements
	$(PY) -m devtools.catalogues

# After changing marked text: new msgids into the .po files, for translators (needs xgettext).
messages: $(VENV)/.requirements
	DJANGO_DEBUG=1 $(PY) manage.py makemessages --no-obsolete --no-location -l ta -l hi \
		-i '.venv/*' -i 'var/*' -i 'bench/*' -i 'faults/*' -i 'devtools/*' -i '*/tests/*'
	DJANGO_DEBUG=1 $(PY) manage.py makemessages --no-obsolete --no-location -d djangojs -l ta -l hi \
		-i '.venv/*' -i 'var/*' -i 'static/js/vendor/*' -i 'node_modules/*'

# `make run` is a local demo: DEBUG on unless the environment says otherwise.
run: export DJANGO_DEBUG ?= 1
run: $(VENV)/.requirements catalogues
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_data
	$(PY) -m devtools.stack

# axe-core for the accessibility tests (skipped, and said so, where npm is missing).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the accessibility tests will be skipped (apt-get install npm)"; fi

test: $(VENV)/.requirements-dev catalogues node_modules/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# The whole suite with the wall clock set (and ticking) a few minutes before midnight at a
# month end, a year end and a leap day, in the tests and every server they start.
CLOCKS ?= 2026-11-30T23:57:00+05:30 2026-12-31T23:57:00+05:30 2028-02-29T23:57:00+05:30
test-clocks: $(VENV)/.requirements-dev catalogues node_modules/.installed
	@for clock in $(CLOCKS); do \
		echo "== make test with the clock at $$clock =="; \
		CELC_TEST_CLOCK=$$clock $(PY) -m pytest $(PYTEST_ARGS) || exit 1; \
	done

test-faults: $(VENV)/.requirements-dev catalogues
	$(PY) -m pytest faults $(PYTEST_ARGS)

# Benchmarks (not tests): results in bench/results/, summarised in docs/performance.md.
BENCH_ARGS ?=
bench: $(VENV)/.requirements-dev
	$(PY) -m bench.masscut $(BENCH_ARGS)

bench-accrual: $(VENV)/.requirements-dev
	$(PY) -m bench.accrual --outages 100000 --runs 120 --shards 2 $(BENCH_ARGS)

bench-idle: $(VENV)/.requirements-dev
	$(PY) -m bench.ticks --devices 10000 --duration 60 --idle $(BENCH_ARGS)

# Prove the backups: dump, restore into a scratch database, check, drop (docs/backups.md).
# RESTORE_DRILL_ARGS="--from-dump FILE" drills an existing backup instead; "--keep" keeps the copy.
RESTORE_DRILL_ARGS ?=
restore-drill: export DJANGO_DEBUG ?= 1
restore-drill: $(VENV)/.requirements
	$(PY) manage.py restore_drill $(RESTORE_DRILL_ARGS)

lint: $(VENV)/.requirements-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.requirements-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache node_modules
