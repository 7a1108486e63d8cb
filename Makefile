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

.PHONY: run test install install-dev install-worker browser-deps bench lint clean

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

install-dev: install $(VENV)/.installed-dev $(VENV)/.installed-worker browser-deps

browser-deps:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }

## make run: install, migrate, seed the demo market if the database is empty, serve on http://localhost:3000
run: install
	$(BIN)/labelhub migrate
	$(BIN)/labelhub demo --if-empty
	$(BIN)/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

## make test: install everything and run every test, browser tests included
test: install-dev
	$(BIN)/python -m pytest -q

bench: install-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py --sizes 100000 1000000
	$(BIN)/python bench/download.py
	$(BIN)/python bench/page.py

lint:
	$(BIN)/ruff check labelhub_app inference_worker tests bench

clean:
	rm -rf .web .states .cache
