# The targets developers run are the targets CI runs (.ci/run). Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared

.PHONY: install demo test lint format typecheck spec-lint check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## The main job: a local federation of three nodes with synthetic data (Ctrl-C stops it).
demo: $(STAMP)
	$(BIN)/openwerk demo

## The tests (PostgreSQL tests run when 127.0.0.1:5432 answers, and skip with a reason otherwise).
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

## The spec validates as OpenAPI 3.1 and lints with 0 errors against the NL API Design Rules.
spec-lint: $(STAMP)
	$(BIN)/python -m openapi_spec_validator spec/v1/openapi.yaml
	npx -y @stoplight/spectral-cli@6 lint -r $(SHARED)/adr/ruleset.yaml spec/v1/openapi.yaml

check: lint typecheck spec-lint test

bench: $(STAMP)
	$(BIN)/python bench/match.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
