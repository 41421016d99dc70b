# modelchain — every target runs on the Node 24 that the `node` npm package pins
# (node_modules/.bin comes first on PATH), whatever the system Node is.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
NODE_BIN := $(CURDIR)/node_modules/.bin
# The compiler is TypeScript 7 (the native port), installed under the alias `tsgo`; the package
# named `typescript` is 5.9 only because typescript-eslint needs its JavaScript API.
TSC := node $(CURDIR)/node_modules/tsgo/bin/tsc
export PATH := $(NODE_BIN):$(PATH)

STATE_DIR ?= $(CURDIR)/.state
LEDGER_DIR ?= $(STATE_DIR)/ledger

.PHONY: pytools help deps build typecheck format format-check lint test run walkthrough bench clean crds chart-readme envtest-assets image kind-up kind-down e2e

help:
	@echo "make run    set up and run modelchain (operator, or the offline demo when no cluster)"
	@echo "make test   set up and run the whole test suite"
	@echo "make bench  run the benchmarks in bench/ (ratios against a same-run baseline)"

# npm ci only when the lock file changed since the last install.
node_modules/.modelchain-installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.modelchain-installed

# dist/: the bin entries bundled with esbuild (scripts/build.ts), after the type check.
build: deps typecheck
	node scripts/build.ts

typecheck: deps
	$(TSC) -p tsconfig.json --noEmit

# prettier (width 110) for every TypeScript file; `make format` rewrites, `make test` checks.
PRETTIER_FILES := '**/*.ts'

format: deps
	prettier --write --log-level warn $(PRETTIER_FILES)

format-check: deps
	prettier --check --log-level warn $(PRETTIER_FILES)

# eslint with typescript-eslint's type-aware rules (eslint.config.js).
lint: deps
	eslint --max-warnings 0 .

# The real control plane (kube-apiserver, etcd, kube-controller-manager) for the envtest
# suites: KUBEBUILDER_ASSETS when set, else built from source with Go (cached after the first
# build), else those suites print why they are skipped.
ENVTEST_BUILD := test/envtest/assets/build.sh

envtest-assets:
	@$(ENVTEST_BUILD)

# The Motoko ledger canister, compiled with the `motoko` npm package (moc + mo:core).
# canister-check fails when the Candid main.mo emits differs from the committed ledger.did.
.PHONY: canister canister-check
canister: deps
	node canister/build.ts

canister-check: deps
	node canister/build.ts --check

# The field's real Python tools the tests drive (model-signing, ...), in cached venvs.
# The Python tools make test uses (model-signing, moto, huggingface_hub); the mlflow group, for test-mlflow.
pytools:
	@test/pytools/setup.sh signing s3 hf >/dev/null

# The MLflow import suite against a real `mlflow server`: outside make test's 10-minute loop
# (its venv takes 1.5-3 minutes to install cold, the suite 1-1.5 minutes); .ci/run runs it.
.PHONY: test-mlflow
test-mlflow: deps
	@test/pytools/setup.sh mlflow s3 >/dev/null
	@if [ -z "$${KUBEBUILDER_ASSETS:-}" ] && command -v go >/dev/null 2>&1; then \
	  export KUBEBUILDER_ASSETS="$$($(ENVTEST_BUILD))"; fi; \
	MODELCHAIN_TEST_MLFLOW=1 vitest run test/mlflow

test: deps typecheck format-check lint canister-check pytools
	@if [ -n "$${KUBEBUILDER_ASSETS:-}" ]; then \
	  echo "make test: real control plane from KUBEBUILDER_ASSETS=$$KUBEBUILDER_ASSETS"; \
	elif command -v go >/dev/null 2>&1; then \
	  export KUBEBUILDER_ASSETS="$$($(ENVTEST_BUILD))"; echo "make test: real control plane from $$KUBEBUILDER_ASSETS"; \
	else \
	  echo "make test: Go is not installed and KUBEBUILDER_ASSETS is unset; the real-control-plane suites will be skipped"; \
	fi; \
	vitest run

run: deps
	scripts/run.sh

# The ledger walkthrough: append sample entries to a file ledger, prove and verify them. It has a
# ledger of its own: its made-up entries must never land in the one `make run`'s operator writes.
WALKTHROUGH_LEDGER ?= $(STATE_DIR)/walkthrough/ledger

walkthrough: deps
	scripts/ledger-walkthrough.sh "$(WALKTHROUGH_LEDGER)"

# CRDs are generated from src/api/schemas.ts into crds/, and from those into the chart's
# templates/crds/ (behind crds.enabled); test/api and test/helm check both are up to date.
# src/api/kube-schemas.json (the Pod and container shapes a ModelDeployment embeds) comes from the
# OpenAPI document of the Kubernetes release test/envtest pins, through Go's module cache.
crds: deps
	@if command -v go >/dev/null 2>&1; then node scripts/gen-kube-schemas.ts; \
	else echo "make crds: Go is not installed; keeping the committed src/api/kube-schemas.json"; fi
	node scripts/gen-crds.ts

# The values table of helm/modelchain/README.md, from values.yaml and values.schema.json.
chart-readme: deps
	node scripts/gen-chart-readme.ts

bench: deps
	node bench/run.ts

# Container image, kind, and the end-to-end suite; not part of `make test`.
IMAGE ?= modelchain:dev
KIND_CLUSTER ?= modelchain

DOCKER ?= docker
# e.g. --network=host where the engine has no bridge (test/cluster/images.sh).
DOCKER_BUILD_FLAGS ?=

image:
	@command -v $(DOCKER) >/dev/null || { echo "make image: docker is not installed"; exit 1; }
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -t $(IMAGE) .

kind-up:
	@command -v kind >/dev/null || { echo "make kind-up: kind is not installed (and needs docker)"; exit 1; }
	kind get clusters | grep -qx "$(KIND_CLUSTER)" || kind create cluster --name "$(KIND_CLUSTER)" --wait 120s

kind-down:
	@command -v kind >/dev/null || { echo "make kind-down: kind is not installed"; exit 0; }
	kind delete cluster --name "$(KIND_CLUSTER)"

# End to end: by default on a real single-node cluster in a network namespace of its own
# (test/cluster/e2e.sh: needs root, Go and Debian's docker.io, containerd, runc, debootstrap);
# E2E_CLUSTER=kind runs test/e2e/run.sh on kind instead, where docker and kind exist.
E2E_CLUSTER ?= netns

e2e: deps
	@if [ "$(E2E_CLUSTER)" = kind ]; then test/e2e/run.sh; else test/cluster/e2e.sh; fi

clean:
	rm -rf dist .state
