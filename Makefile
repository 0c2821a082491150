# The two set-up commands of the README: `make demo` (main job) and `make test` (the tests).
# Each creates .venv on a fresh machine and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU wheel of torch: on these machines it is a local file, installed in seconds. A GPU machine
# can override it (make TORCH_SPEC=torch demo) to get the CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install demo test lint format clean

$(BIN)/findna: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/findna

demo: install
	$(BIN)/findna demo

test: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests

format: install
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
