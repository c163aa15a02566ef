# One command per chore. Every target sets up .venv first when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.labkit-installed
NODE_STAMP := tests/interop/node_modules/.labkit-installed

.PHONY: setup lab test lint format clean-notebooks catalog bench clean

setup: $(STAMP) $(NODE_STAMP)

# Re-installs only when pyproject.toml changes: a second `make setup` is instant.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# The independent (non-Python) interop client; skipped when Node is absent.
$(NODE_STAMP): tests/interop/package.json tests/interop/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd tests/interop && npm ci --silent --no-audit --no-fund && touch node_modules/.labkit-installed; \
	else echo "npm not found: the Node interop tests will be skipped"; fi

# JupyterLab refuses to run as root unless told; containers often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tools.notebooks --verify notebooks
	$(BIN)/python -m tools.catalog --check
	$(BIN)/python -m pytest --nbval --nbval-current-env tests notebooks

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-notebooks: setup
	$(BIN)/python -m tools.notebooks --clean notebooks

# After adding or changing a message: re-extract, merge into labkit.po, compile.
catalog: setup
	$(BIN)/python -m tools.catalog --update

bench: setup
	$(BIN)/python -m pip install -q -e '.[test,fast]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) tests/interop/node_modules artifacts .pytest_cache .ruff_cache
