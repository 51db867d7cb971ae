# Quarterly R&I board pack. `make pack` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
QUARTER ?=
ICB ?= QWU

.DEFAULT_GOAL := help
.PHONY: help pack test lab clean lock sample-data validate

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$$(sed -n 's/^uv==//p' requirements.lock)"
	$(UV) pip sync --quiet --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (boardpack)" >/dev/null
	@touch $(STAMP)

pack: $(STAMP) ## Build the latest complete quarter's pack from the sample data (ICB=QWU QUARTER=...)
	$(BIN)/boardpack sample-data --icb $(ICB) --out data/sample/$(ICB) $(if $(QUARTER),--to "$(QUARTER)")
	$(BIN)/boardpack validate --data data/sample/$(ICB) $(if $(QUARTER),--quarter "$(QUARTER)")

test: $(STAMP) ## Run the test suite
	$(BIN)/python -m pytest

lab: $(STAMP) ## Open JupyterLab on the project's kernel
	$(BIN)/jupyter lab notebooks/

lock: ## Re-resolve requirements.lock from pyproject.toml (needs the registry)
	$(UV) pip compile pyproject.toml --extra dask --extra test --extra dev --python-version 3.11 -o requirements.lock

clean: ## Remove the environment, caches and generated data (published packs are kept)
	rm -rf $(VENV) .cache data/sample build .pytest_cache .hypothesis src/*.egg-info
