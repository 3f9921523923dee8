# Two commands for a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SEED ?= 0
CONFIG ?=
PYTEST_ARGS ?=

STAMP := $(VENV)/.installed

.PHONY: run test test-fast install clean readme readme-check smoke

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/mock-server --host $(HOST) --port $(PORT) --seed $(SEED) $(if $(CONFIG),--config $(CONFIG))

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The examples of README.md and docs/*.md as transcripts (tests/transcript.py): check them, or rewrite the answers.
readme-check: $(STAMP)
	$(BIN)/python tests/transcript.py

readme: $(STAMP)
	$(BIN)/python tests/transcript.py --update

# Build the container image and run it (docker, or podman; see docs/server.md "Container image").
smoke:
	scripts/container-smoke

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Load tests and benchmark (loadtests/README.md). Results go to $(RESULTS)/ (gitignored).
USERS ?= 20
SPAWN_RATE ?= 10
DURATION ?= 30s
WORKERS ?= 2
RESULTS ?= results
BENCH_ARGS ?=
LOAD_ARGS ?=

.PHONY: load load-distributed bench bench-webhooks

load: $(STAMP)
	$(BIN)/python -m loadtests.run --users $(USERS) --spawn-rate $(SPAWN_RATE) --duration $(DURATION) --results $(RESULTS) $(LOAD_ARGS)

load-distributed: $(STAMP)
	$(BIN)/python -m loadtests.run --users $(USERS) --spawn-rate $(SPAWN_RATE) --duration $(DURATION) --results $(RESULTS) --workers $(WORKERS)

bench: $(STAMP)
	$(BIN)/python -m loadtests.bench $(BENCH_ARGS)

# Webhook delivery rate and memory: a 1,000,000-recipient campaign advanced by a day (loadtests/webhook_bench.py).
bench-webhooks: $(STAMP)
	$(BIN)/python -m loadtests.webhook_bench $(BENCH_ARGS)
