# Smart Licensing partner portal: `make run` serves it with demo data, `make test` runs the suite.
#
# The virtualenv is (re)installed only when pyproject.toml changes: the stamp file records the
# last successful install.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
STAMP   := $(VENV)/.installed
# Python 3.11 or 3.12 (pyproject requires <3.13); fall back to python3.
PYTHON  ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
HOST    ?= 127.0.0.1:8000
# pytest-xdist workers; PYTEST_WORKERS=0 runs in one process (easier to read tracebacks).
PYTEST_WORKERS ?= 2
PYTEST_ARGS    ?=
# make bench: a PostgreSQL database of its own (wiped and reseeded on every run), and the size.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal_bench
SCALE ?= 1.0
CHROMIUM := /usr/bin/chromium

.PHONY: help venv run test worker beat bench

help:
	@echo "make run     install, migrate, load demo data, serve http://$(HOST) (prints the demo logins)"
	@echo "make test    the whole test suite (PYTEST_WORKERS=$(PYTEST_WORKERS), PYTEST_ARGS=...)"
	@echo "make worker  a Celery worker (needs CELERY_BROKER_URL or REDIS_URL)"
	@echo "make beat    the Celery beat scheduler (outbox re-dispatch, reminders)"
	@echo "make bench   seed the DESIGN.md §6 scale dataset into PostgreSQL and time pages vs bare SQL (SCALE=$(SCALE))"
	@echo "make venv    create/refresh $(VENV) from pyproject.toml"

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	touch $@

run: venv
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST)

# Browser tests drive Debian's chromium; install it when missing and we may (root). Without it
# they skip with a reason, the rest of the suite still runs.
test: venv
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing chromium for the browser tests..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
			|| echo "warning: could not install chromium; browser tests will be skipped"; \
	fi
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

worker: venv
	$(BIN)/celery -A portal worker -l info

beat: venv
	$(BIN)/celery -A portal beat -l info

# The benchmark wipes and reseeds BENCH_DATABASE_URL (the seeder refuses a database whose name
# lacks "bench"), then times the pages on gunicorn; results land in bench/results/.
bench: venv
	@url='$(BENCH_DATABASE_URL)'; db=$${url##*/}; server=$${url%/*}; \
	psql "$$server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$$db'" | grep -q 1 \
		|| psql "$$server/postgres" -qc "CREATE DATABASE $$db"
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py migrate --no-input -v 0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_seed --scale $(SCALE)
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_run
