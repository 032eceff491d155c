# Two entry points for a fresh clone: `make render` and `make test`. Both create the
# virtualenv that Pulumi.yaml names (venv/), so the Pulumi CLI and these targets share it.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
STACK ?= dev
RENDER_DIR ?= build/render/$(STACK)
# Tool settings (ruff, mypy, pytest) live in pyproject.toml, where editors find them too.

.PHONY: render test docs lint typecheck unit mutate bugs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The review commands also need Helm's engine and the Kubernetes schemas; `pulumi up` does not.
$(VENV)/.review-installed: requirements.txt requirements-review.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-review.txt
	touch $(VENV)/.runtime-installed $@

$(VENV)/.dev-installed: requirements.txt requirements-review.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $(VENV)/.review-installed $@

# `make render CHART=DIR` renders that chart directory instead of the stack's chart.path. Exit 3
# (no chart here, so the chart's objects were not reviewed) names the command to run instead.
SHARED_CHART := ../shared/reference/ais-chart/chart
render: $(VENV)/.review-installed
	@$(BIN)/python -m aisinfra render $(STACK) --out $(RENDER_DIR) $(if $(CHART),--chart $(CHART)); status=$$?; \
	if [ $$status -eq 3 ]; then \
	  if [ -d $(SHARED_CHART) ]; then echo "To review the chart's objects too: make render CHART=$(SHARED_CHART)"; \
	  else echo "To review the chart's objects too: make render CHART=/path/to/ais-k8s/helm/ais/charts"; fi; \
	  exit 0; \
	fi; exit $$status

test: lint typecheck unit

# docs/worksheet.md and docs/stack-file.schema.json from the worksheet's model; a test fails
# when the committed ones differ.
docs: $(VENV)/.runtime-installed
	$(BIN)/python -m aisinfra docs

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

unit: $(VENV)/.dev-installed
	$(BIN)/python -m pytest

# Mutation testing of the safety-critical modules; minutes, so not part of `make test`
# (docs/testing.md). `make mutate MODULES="safety naming"` runs some of them.
mutate: $(VENV)/.dev-installed
	$(BIN)/python -m tests.mutate $(MODULES)

# The deliberate bugs of docs/testing.md, each applied alone to a fresh clone of HEAD: each must
# fail a test outside its module's unit tests. Minutes, so not part of `make test`.
bugs: $(VENV)/.dev-installed
	$(BIN)/python -m tests.deliberate_bugs $(BUGS)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
