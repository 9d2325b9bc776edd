# Baoxiao developer tasks; `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Marks a finished `pip install`; redone whenever pyproject.toml changes.
STAMP := $(VENV)/.installed
ALEMBIC := $(BIN)/alembic -c src/baoxiao/migrations/alembic.ini
# Only the folders that exist (bench/ arrives later).
LINT_PATHS := $(wildcard src tests bench)
# Extra pytest arguments, e.g. make test PYTEST_ARGS='--db sqlite -x -k claims'
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core; a module's tests stay on one worker, so
# its module fixtures (the access-matrix world) are built once. PYTEST_WORKERS=0: serial.
PYTEST_WORKERS ?= auto

.PHONY: help install demo serve test lint format migration messages bench bench-outbox bench-kills bench-route clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "  %-10s %s\n", $$1, $$2 }'

install: $(STAMP) ## Create .venv and install baoxiao with its dev tools

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(STAMP) ## Run with demo data on http://127.0.0.1:$BAOXIAO_PORT (default 8000)
	$(BIN)/baoxiao demo --host 127.0.0.1 --port $${BAOXIAO_PORT:-8000}

serve: $(STAMP) ## Run the server from the settings (BAOXIAO_* variables, .env)
	$(BIN)/baoxiao serve

test: $(STAMP) ## Run the tests on SQLite and PostgreSQL; pass PYTEST_ARGS='...'
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, ruff format --check, mypy, import contracts
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy src
	$(BIN)/lint-imports

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

# Autogenerates against a throwaway SQLite file brought to head first, so your own
# var/ database is never involved. MIGRATION_DB_URL=postgresql+psycopg://... uses an
# empty (or up to date) PostgreSQL database instead.
migration: $(STAMP) ## New revision from the models: make migration m="add budgets"
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"' >&2; exit 2; }
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	export BAOXIAO_DATABASE_URL="$${MIGRATION_DB_URL:-sqlite:///$$tmp/autogen.db}" && \
	$(ALEMBIC) upgrade head && \
	$(ALEMBIC) revision --autogenerate -m "$(m)"

# The .po files are the source: the app compiles them at start-up (no .mo to build).
messages: $(STAMP) ## Extract the web app's messages and update the zh_CN and en catalogs
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header --sort-output -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d src/baoxiao/web/translations \
		--no-fuzzy-matching --ignore-obsolete --width 100

bench: $(STAMP) ## Time the claim life cycle
	$(BIN)/python bench/lifecycle.py

bench-outbox: $(STAMP) ## Outbox delivery on PostgreSQL: events/s and commit-to-receipt p50/p99
	$(BIN)/python bench/outbox.py

bench-kills: $(STAMP) ## 5,000 events while worker processes are SIGKILLed (PostgreSQL)
	$(BIN)/python bench/delivery_kills.py
bench-route: $(STAMP) ## Time approval route resolution on a 10,000-person org
	$(BIN)/python bench/route.py

clean: ## Remove caches and build output (keeps .venv and var/)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .import_linter_cache build dist src/*.egg-info
	find . -path ./.venv -prune -o -type d -name __pycache__ -exec rm -rf {} +
