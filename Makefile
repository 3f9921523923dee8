# Two commands for a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SEED ?= 0
CONFIG ?=
PYTEST_ARGS ?=

# One stamp per set of extras: `make run` installs the server's runtime only (no extras),
# `make load` adds Locust and Faker ([load]), `make test` everything the tests use ([dev]).
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
LOAD_STAMP := $(VENV)/.installed-load

.PHONY: run test test-fast install clean readme readme-check smoke dist

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml setup.py | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(LOAD_STAMP): pyproject.toml setup.py | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[load]'
	touch $@ $(RUN_STAMP)

$(STAMP): pyproject.toml setup.py | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(LOAD_STAMP) $(RUN_STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/mock-server --host $(HOST) --port $(PORT) --seed $(SEED) $(if $(CONFIG),--config $(CONFIG))

# The tests run on TEST_WORKERS processes (pytest-xdist), each file's tests on one worker in file
# order (docs/development.md "Parallel tests"); TEST_WORKERS=0 runs them all in one process.
TEST_WORKERS ?= 2
PARALLEL := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PARALLEL) $(PYTEST_ARGS)

# The examples of README.md and docs/*.md as transcripts (tests/transcript.py): check them, or rewrite the answers.
readme-check: $(STAMP)
	$(BIN)/python tests/transcript.py

readme: $(STAMP)
	$(BIN)/python tests/transcript.py --update

# Build the container image and run it (docker, or podman; see docs/server.md "Container image").
smoke:
	scripts/container-smoke

# The wheel and the sdist in dist/ (the `build` package; docs/install.md says how to install them).
DIST ?= dist
dist: $(STAMP)
	$(BIN)/python -m build --outdir $(DIST) .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

# Load tests and benchmark (loadtests/README.md). Results go to $(RESULTS)/ (gitignored).
USERS ?= 20
SPAWN_RATE ?= 10
DURATION ?= 30s
WORKERS ?= 2
RESULTS ?= results
BENCH_ARGS ?=
LOAD_ARGS ?=
PROFILE ?=

.PHONY: load load-distributed bench bench-webhooks bench-profiles

load: $(LOAD_STAMP)
	$(BIN)/python -m loadtests.run --users $(USERS) --spawn-rate $(SPAWN_RATE) --duration $(DURATION) --results $(RESULTS) $(if $(PROFILE),--profile $(PROFILE)) $(LOAD_ARGS)

load-distributed: $(LOAD_STAMP)
	$(BIN)/python -m loadtests.run --users $(USERS) --spawn-rate $(SPAWN_RATE) --duration $(DURATION) --results $(RESULTS) --workers $(WORKERS) $(if $(PROFILE),--profile $(PROFILE))

bench: $(LOAD_STAMP)
	$(BIN)/python -m loadtests.bench $(BENCH_ARGS)

# Webhook delivery rate and memory: a 1,000,000-recipient campaign advanced by a day (loadtests/webhook_bench.py).
bench-webhooks: $(LOAD_STAMP)
	$(BIN)/python -m loadtests.webhook_bench $(BENCH_ARGS)

# A 1,000,000-recipient campaign under a traffic profile against ideal: memory and webhook figures (docs/profiles.md).
bench-profiles: $(LOAD_STAMP)
	$(BIN)/python -m loadtests.profile_bench $(BENCH_ARGS)
