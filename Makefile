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
	@echo "make bench  - benchmarks (see docs/benchmarks.md); BENCH=<name> runs one"
	@echo "              BENCH=chaos (run only by name): 1,000 payments through every fault at once, ~12 min"
	@echo "make lock   - recompile requirements*.lock from pyproject.toml"

# The virtual environment, installed from the committed lock (pinned, hash-checked).
$(STAMP): requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# pip says nothing for about a minute with --quiet: count the packages as they come.
	@total=$$(grep -c '^[A-Za-z0-9].*==' requirements-dev.lock); \
	echo "Installing $$total pinned packages from requirements-dev.lock (about a minute) ..."; \
	$(BIN)/python -m pip install --require-hashes --no-deps --progress-bar off \
		-r requirements-dev.lock 2>&1 | awk -v total=$$total ' \
		/^(Collecting|Processing) / { n++; if (n % 10 == 0 || n == total) printf "  %d/%d fetched\n", n, total; fflush() } \
		/^Installing collected packages/ { print "  unpacking into $(VENV) ..."; fflush() } \
		/^Successfully installed/ { print "  done." } \
		/ERROR|[Ee]rror:/ { print }'
	@touch $@

install: $(STAMP)

run: install
	@$(BIN)/python manage.py migrate --noinput
	@$(BIN)/python manage.py demo_data
	@echo "  Ctrl-C stops everything."
	@echo
	@# Ctrl-C: honcho stops every process (scripts/procfile-process keeps each stop clean)
	@# and answers 130, which is how a run ends, not an error.
	@PATH="$(CURDIR)/$(BIN):$$PATH" \
		PYTHONWARNINGS="ignore:You're running the worker with superuser privileges" \
		$(BIN)/python scripts/run-procfile start || [ $$? -eq 130 ]

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
