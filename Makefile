# Each target sets up its own virtualenv: on a fresh machine `make demo` and `make test`
# are the only set-up. Python 3.11+ must be on PATH.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
B      ?=

.PHONY: demo test test-unit test-integration bench lint fmt up down status clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ember demo

test: $(STAMP)
	$(BIN)/python -m pytest tests

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

# make bench            every benchmark;  make bench B=settlement  one of them
bench: $(STAMP)
	$(BIN)/python -m bench $(B)

lint: $(STAMP)
	$(BIN)/ruff check layers functions tests bench
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix layers functions tests bench
	$(BIN)/ruff format layers functions tests bench

up: $(STAMP)
	$(BIN)/ember up

down: $(STAMP)
	$(BIN)/ember down

status: $(STAMP)
	$(BIN)/ember status

clean:
	rm -rf $(VENV) .ember .pytest_cache .mypy_cache .ruff_cache .hypothesis
