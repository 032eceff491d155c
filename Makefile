# Two entry points for a fresh clone: `make render` and `make test`. Both create the
# virtualenv that Pulumi.yaml names (venv/), so the Pulumi CLI and these targets share it.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
STACK ?= dev
RENDER_DIR ?= build/render/$(STACK)
# Tool settings live here: the top level holds only what the project needs (see README).
SOURCES := aisinfra tests bench __main__.py
RUFF_RULES := E,F,W,I,B,UP,N,SIM,RUF
MYPY_FLAGS := --python-version 3.11 --disallow-untyped-defs --warn-unused-ignores --warn-redundant-casts --explicit-package-bases

.PHONY: render test lint typecheck unit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

render: $(VENV)/.runtime-installed
	$(BIN)/python -m aisinfra render $(STACK) --out $(RENDER_DIR)

test: lint typecheck unit

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check --line-length 120 --target-version py311 --select $(RUFF_RULES) $(SOURCES)
	$(BIN)/ruff format --check --line-length 120 --target-version py311 $(SOURCES)

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy $(MYPY_FLAGS) aisinfra bench __main__.py

unit: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
