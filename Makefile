# LabelHub: `make run` (app with demo data on embedded defaults) and `make test` (every test).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TOOLS := tools
BUN_VERSION := 1.4.4
export PATH := $(CURDIR)/$(TOOLS)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export REFLEX_DIR := $(CURDIR)/.cache/reflex
export BUN_INSTALL_CACHE_DIR := $(CURDIR)/.cache/bun
export BUN_RUNTIME_TRANSPILER_CACHE_PATH := $(CURDIR)/.cache/bun-transpiler
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
# the registry npm is configured with here (Reflex otherwise probes a mirror first)
export NPM_CONFIG_REGISTRY ?= $(shell npm config get registry 2>/dev/null)
PORT ?= 3000

.PHONY: run run-app test test-sqlite test-postgresql install install-dev install-worker browser-deps service-deps bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

$(TOOLS)/node_modules/.bin/bun:
	npm install --silent --prefix $(TOOLS) bun@$(BUN_VERSION)

install: $(VENV)/.installed $(TOOLS)/node_modules/.bin/bun

# torch + torchvision for the worker and the dataset client's training test (pip takes them from the
# machine's local wheel store here; about a minute)
$(VENV)/.installed-worker: inference_worker/requirements.txt $(VENV)/.installed
	$(BIN)/pip install -q -r inference_worker/requirements.txt
	touch $@

install-worker: $(VENV)/.installed-worker

install-dev: install $(VENV)/.installed-dev $(VENV)/.installed-worker browser-deps service-deps

browser-deps:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }

# PostgreSQL (the fixtures start a throwaway cluster with its initdb/pg_ctl) and redis-server (the
# two-worker state test): Debian packages, installed only when missing (about 10 s)
service-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  echo "Installing Debian's postgresql for the PostgreSQL test run"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null; }
	@command -v redis-server >/dev/null || { \
	  echo "Installing Debian's redis-server for the Redis tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null; }

## make run: install, migrate, seed the demo market if the database is empty, serve on http://localhost:3000
## with one inference worker beside the app (installs torch for it: install-worker).
## make run WORKER=0 (or make run-app): the app alone, without torch; auto-label jobs wait in the queue.
WORKER ?= 1
run: install $(if $(filter 0,$(WORKER)),,$(VENV)/.installed-worker)
	$(BIN)/labelhub migrate
	$(BIN)/labelhub demo --if-empty
	@if [ "$(WORKER)" = "0" ]; then \
	  $(BIN)/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT); \
	else \
	  $(BIN)/python -m inference_worker & worker=$$!; \
	  trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(BIN)/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT); \
	fi

run-app:
	$(MAKE) --no-print-directory run WORKER=0

## make test: install everything and run the suite twice: every test on SQLite (browser tests
## included), then every test but the browser ones on a throwaway PostgreSQL 15 cluster (the
## browser tests drive the app over HTTP; their database layer is the one the second run covers)
test: install-dev
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgresql

test-sqlite:
	LABELHUB_TEST_DATABASE=sqlite $(BIN)/python -m pytest -q

test-postgresql:
	LABELHUB_TEST_DATABASE=postgresql $(BIN)/python -m pytest -q --ignore=tests/browser

bench: install-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py --sizes 100000 1000000
	$(BIN)/python bench/download.py
	$(BIN)/python bench/page.py

lint:
	$(BIN)/ruff check labelhub_app inference_worker tests bench

clean:
	rm -rf .web .states .cache
