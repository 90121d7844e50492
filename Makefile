# The two commands a newcomer needs: `make run` and `make test`. Both set everything up on a
# fresh machine that has only Python 3.11+ (and make).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install run test lint typecheck pytest browser bench lock clean

help:
	@echo "make run    - install, migrate, load demo data, start web + worker + beat + sandbox"
	@echo "make test   - install, lint (ruff, import contracts), type-check (mypy), the whole pytest suite"
	@echo "make bench  - benchmarks (see docs/benchmarks.md)"
	@echo "make lock   - recompile requirements*.lock from pyproject.toml"

# The virtual environment, installed from the committed lock (pinned, hash-checked).
$(STAMP): requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing dependencies from requirements-dev.lock ..."
	@$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock \
		2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	@touch $@

install: $(STAMP)

run: install
	@$(BIN)/python manage.py migrate --noinput
	@$(BIN)/python manage.py demo_data
	@echo
	@echo "  Agent desk:  http://127.0.0.1:8000/      (admin: http://127.0.0.1:8000/admin/)"
	@echo "  Caller keypad and sandbox: http://127.0.0.1:8000/sandbox/"
	@echo "  Ctrl-C stops everything."
	@echo
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy .

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; no download).
browser:
	@scripts/install-chromium

# Everything but the browser tests and the tests with real workers on two processes
# (pytest-xdist), then those on their own: they time what the agent sees, or kill and restart
# real processes, and want the machine to themselves.
pytest: install browser
	$(BIN)/pytest -n 2 -m "not browser and not live"
	$(BIN)/pytest -m "browser or live"

test: lint typecheck pytest

bench: install
	$(BIN)/python -m tests.bench $(BENCH)

lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements.lock
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements-dev.lock

clean:
	rm -rf var staticfiles .pytest_cache .mypy_cache .ruff_cache
