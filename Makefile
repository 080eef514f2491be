# Atrium: the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
DEBIAN_PACKAGES := libsqlite3-dev libssl-dev libpq-dev postgresql pkg-config openssl curl jq nginx-light
FUZZ_SECONDS ?= 60
BENCH_DIR ?= .build/bench
# Python tools for the conformance run and the Python client's tests, pinned, in a virtualenv
# inside the build folder.
VENV := .build/venv
PYTHON_TOOLS := schemathesis==4.32.5 openapi-spec-validator==0.9.0 pytest==9.2.0
VENV_STAMP := $(VENV)/.installed-schemathesis-4.32.5-validator-0.9.0-pytest-9.2.0

.PHONY: run test build release bench fuzz clean deps migrations check-migrations test-postgres doc-examples conformance \
	python-client-tests client-generate postgres-pass postgres-steps

## deps: make sure the C libraries Atrium links are installed (Debian packages).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; apt-get update -qq && apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing — run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi

## build: debug build of everything, tests included.
build: deps
	$(SWIFT) build --build-tests

## release: optimized server binary at .build/release/atrium.
release: deps
	$(SWIFT) build -c release --product atrium

## run: start the server on 127.0.0.1:8080 with its data in ./data.
run: release
	./.build/release/atrium serve $(ARGS)

## test: every test (unit, parser, socket, API), against a fresh build: first on SQLite, then the
## engine-dependent part again on PostgreSQL (see postgres-pass below).
test: deps check-migrations
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --num-workers 2
	$(MAKE) --no-print-directory python-client-tests
	$(MAKE) --no-print-directory doc-examples
	$(MAKE) --no-print-directory conformance
	$(MAKE) --no-print-directory postgres-pass

## doc-examples: run the curl examples of docs/api.md against a live server, checking statuses.
doc-examples:
	python3 ./scripts/doc_examples.py .build/debug/atrium

## conformance: validate GET /openapi.json and run Schemathesis against a live server (two users).
conformance: $(VENV_STAMP)
	python3 ./scripts/conformance.py $(VENV)/bin .build/debug/atrium

## python-client-tests: pytest for clients/python/atrium_client.py against live servers.
python-client-tests: $(VENV_STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider clients/python/tests

## client-generate: regenerate Sources/AtriumClient/Generated from a fresh server's /openapi.json.
client-generate:
	$(SWIFT) build --product atrium
	python3 ./scripts/gen_swift_client.py --from-binary .build/debug/atrium

$(VENV_STAMP):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(PYTHON_TOOLS)
	touch $@

## test-postgres: the PostgreSQL pass of `make test` alone, against a fresh build.
test-postgres: deps check-migrations
	$(SWIFT) build --build-tests
	$(MAKE) --no-print-directory postgres-pass

# The PostgreSQL pass: one throw-away cluster (scripts/with-postgres.sh: a temp directory, a Unix
# socket, run as the unprivileged `postgres` user when we are root, stopped and removed when the
# pass ends, fails or is interrupted) for all of it. Every server the tests start gets a fresh
# database on it (TestEngine.swift for the Swift suites, scripts/atrium_server.py for the rest).
# Which Swift suites run twice: those that reach the store through an engine —
#   AtriumAPITests      the API suite (servers over sockets; switches with ATRIUM_TEST_ENGINE),
#   AtriumStoreTests    the store layer,
#   AtriumPostgresTests the PostgreSQL driver, migrator, schema parity (skipped in the SQLite pass
#                       without a cluster; ATRIUM_REQUIRE_POSTGRES=1 makes that a failure here).
# Not again: the pure units (AtriumJSONTests, AtriumCryptoTests, AtriumHTTPTests, AtriumAuthTests,
# AtriumWebhooksTests, AtriumOutboundTests, AtriumAPIUnitTests), the SQLite driver's own tests
# (AtriumSQLiteTests) and the Swift SDK's (AtriumClientTests: its live server is SQLite's, and the
# API suite covers the contract on both engines).
# Every step runs even when an earlier one fails; the pass fails if any did.
POSTGRES_SWIFT_SUITES := AtriumAPITests|AtriumStoreTests|AtriumPostgresTests

postgres-pass: $(VENV_STAMP)
	ATRIUM_TEST_ENGINE=postgres ATRIUM_REQUIRE_POSTGRES=1 \
	  ./scripts/with-postgres.sh $(MAKE) --no-print-directory postgres-steps

postgres-steps:
	@test "$$ATRIUM_TEST_ENGINE" = postgres -a -n "$$ATRIUM_TEST_DATABASE_URL" \
	  || { echo "postgres-steps runs inside make postgres-pass"; exit 2; }
	@failed=""; \
	echo "== PostgreSQL: swift test ($(POSTGRES_SWIFT_SUITES))"; \
	$(SWIFT) test --skip-build --parallel --num-workers 2 --filter '$(POSTGRES_SWIFT_SUITES)' \
	  || failed="$$failed swift-test"; \
	for step in python-client-tests doc-examples conformance; do \
	  echo "== PostgreSQL: $$step"; \
	  $(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
	done; \
	if [ -n "$$failed" ]; then echo "PostgreSQL pass failed:$$failed"; exit 1; fi; \
	echo "PostgreSQL pass: every step passed"

## migrations: regenerate the embedded copies of migrations/sqlite/*.sql and migrations/postgres/*.sql.
migrations:
	./scripts/embed-migrations.sh

EMBEDDED_MIGRATIONS := Sources/AtriumStore/EmbeddedMigrations.swift Sources/AtriumStore/EmbeddedPostgresMigrations.swift

check-migrations:
	@tmp=$$(mktemp -d /tmp/atrium-embedded.XXXXXX); \
	for f in $(EMBEDDED_MIGRATIONS); do cp $$f $$tmp/$$(basename $$f); done; \
	./scripts/embed-migrations.sh; \
	for f in $(EMBEDDED_MIGRATIONS); do \
	  if ! cmp -s $$f $$tmp/$$(basename $$f); then \
	    echo "$$(basename $$f) was stale; regenerated it — commit the change"; fi; \
	done; rm -rf $$tmp

## bench: wrk against a release build with a seeded database, beside the Hummingbird reference.
bench: deps release
	@command -v wrk >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; else echo "missing Debian package wrk — run: sudo apt-get install -y wrk"; exit 1; fi; }
	python3 ./scripts/bench.py

## fuzz: libFuzzer on the HTTP request parser for FUZZ_SECONDS seconds.
fuzz: deps
	./scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build .build-* $(BENCH_DIR)
