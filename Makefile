# Two entry points for a fresh machine with python3 and make:
#   make run    start the service on SQLite with the demo jurisdictions and demo users
#   make test   run every test (set DISPATCH_TEST_POSTGRES_URL to include PostgreSQL)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/dispatch serve --demo

test: $(STAMP)
	$(BIN)/ruff check dispatch geo tests scripts
	$(BIN)/mypy dispatch geo
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/dispatch demo

bench: $(STAMP)
	$(BIN)/python scripts/bench_all.py

lint: $(STAMP)
	$(BIN)/ruff check dispatch geo tests scripts
	$(BIN)/ruff format --check dispatch geo tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy dispatch geo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dispatch.db*
