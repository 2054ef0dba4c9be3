# riverbed: every set-up step lives here, so a fresh machine with only python3 can run it.
# `make run` starts the bank embedded (gateway on 127.0.0.1:8000); `make test` runs lint, types, architecture and every test.

VENV        := .venv
PY          := $(VENV)/bin/python
UV          := $(VENV)/bin/uv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.synced
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON := $(CURDIR)/$(PY)

.PHONY: install run test lint format types arch unit bench soak clean

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --locked --all-extras --quiet
	@touch $@

uv.lock: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) lock --quiet

run: install
	$(BIN)/riverbed run

lint: install
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

format: install
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

types: install
	$(BIN)/mypy

arch: install
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest tests/unit tests/contracts -q

test: lint types arch
	$(BIN)/pytest

bench: install
	$(PY) -m benchmarks

soak: install
	RIVERBED_SOAK=1 $(BIN)/pytest tests/reliability

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
