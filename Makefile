# usvc — the two commands that matter: `make run` and `make test`.
.PHONY: run test components build check fmt clippy bench load swap-load release clean scaffold-check monitoring-check deploy-check openapi api-fuzz

CARGO ?= cargo
COMPONENTS_DIR ?= target/components

## Build the components, then serve on embedded defaults (SQLite under ./data, no other service).
run: components
	USVC_COMPONENTS_DIR=$(COMPONENTS_DIR) $(CARGO) run --release -p usvc-host --bin usvc

## Build the components, then run every test: unit, component (wasmtime) and integration
## (HTTP against SQLite and the PostgreSQL on 127.0.0.1:5432).
test: components
	$(CARGO) test --workspace --no-fail-fast

## Compile every crate under components/ into a Wasm component in $(COMPONENTS_DIR).
components:
	USVC_COMPONENTS_OUT=$(COMPONENTS_DIR) scripts/build-components.sh

build:
	$(CARGO) build --release -p usvc-host

fmt:
	$(CARGO) fmt --all

clippy: components
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## `usvc components new` for every kind, in a copy of the workspace: each new crate must build
## and pass its generated test.
scaffold-check: components
	scripts/scaffold-check.sh

## The Prometheus rules: valid, their unit tests passing, every metric they name exported.
monitoring-check:
	scripts/monitoring-check.sh

## The deployment files: manifests and workflows parse, and name only real variables, routes and
## commands.
deploy-check:
	python3 scripts/deploy-check.py

## Write docs/openapi.yaml from the code (a test fails while it is stale).
openapi:
	$(CARGO) run --quiet -p usvc-host --bin usvc -- openapi > docs/openapi.yaml.tmp
	mv docs/openapi.yaml.tmp docs/openapi.yaml

## Fuzz the running service's HTTP API with schemathesis against its own /openapi.json.
api-fuzz: components
	scripts/api-fuzz.sh

## Format, lint and test: what CI runs.
check: components
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	python3 scripts/module-cycles.py crates/*/src host/src
	scripts/monitoring-check.sh
	python3 scripts/deploy-check.py
	$(CARGO) test --workspace --no-fail-fast
	scripts/scaffold-check.sh

bench: components
	$(CARGO) bench -p usvc-tests --bench onboarding --bench deploy

# Logins saturating the CPU with production Argon2id while /v1/users/me is probed (release).
load: components
	$(CARGO) bench -p usvc-tests --bench login_load

# Registrations, confirmations and logins while the onboarding component swaps every second;
# fails if any request failed (release).
swap-load: components
	$(CARGO) bench -p usvc-tests --bench swap_load

clean:
	$(CARGO) clean
