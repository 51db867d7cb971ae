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
.PHONY: help pack test test-all lab lint clean lock sample-data validate

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$$(sed -n 's/^uv==//p' requirements.lock)"
	$(UV) pip sync --quiet --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (boardpack)" >/dev/null
	@touch $(STAMP)

# Accessibility check and screenshots: Debian's Chromium (never a downloaded browser build) and
# the pinned npm packages in tools/a11y (axe-core, playwright-core). Needs root for apt-get.
A11Y := tools/a11y
CHROMIUM := /usr/bin/chromium
BROWSER_STAMP := $(A11Y)/node_modules/.installed

$(BROWSER_STAMP): $(A11Y)/package.json $(A11Y)/package-lock.json
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "error: $(CHROMIUM) is missing; as root run: apt-get update && apt-get install -y --no-install-recommends chromium fonts-dejavu-core" >&2; exit 1; \
	  fi; \
	  echo "Installing Debian chromium (headless browser for the accessibility check)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	fi
	@command -v npm >/dev/null || { echo "error: npm (Node.js >= 20) is needed for tools/a11y; install nodejs and npm" >&2; exit 1; }
	cd $(A11Y) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

pack: $(STAMP) ## Build the latest complete quarter's pack from the sample data (ICB=QWU QUARTER=...)
	$(BIN)/boardpack build --icb $(ICB) $(if $(QUARTER),--quarter "$(QUARTER)")

test: $(STAMP) $(BROWSER_STAMP) ## Run the tests: unit, integration and e2e (real kernels, real pack, Chromium)
	$(BIN)/python -m pytest -m "not slow" --durations=15

test-all: $(STAMP) $(BROWSER_STAMP) ## Run every test, the slow tier too (national scale, every executor, whole bad-input corpus)
	$(BIN)/python -m pytest --durations=15

lab: $(STAMP) ## Open JupyterLab on the project's kernel
	$(BIN)/jupyter lab notebooks/

lint: $(STAMP) ## Run the pre-commit hooks on every file (ruff, ruff format, nbstripout, whitespace, YAML)
	$(BIN)/pre-commit run --all-files

lock: ## Re-resolve requirements.lock from pyproject.toml (needs the registry)
	$(UV) pip compile pyproject.toml --extra dask --extra test --extra dev --python-version 3.11 -o requirements.lock

clean: ## Remove the environment, caches and generated data (published packs are kept)
	rm -rf $(VENV) .cache data/sample build .pytest_cache .hypothesis src/*.egg-info
