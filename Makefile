# Vigil: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# the benchmark peer (Quix Streams) has a virtualenv of its own, see bench/peer-requirements.in
PEER := .vigil/peer-venv
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements-dev.lock pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install lint typecheck test test-cluster unit schemas lock stack-up stack-down stack-status demo demo-stop bench soak evaluate clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv with the runtime and the dev lock installed

lock: ## Re-resolve requirements.lock (runtime) and requirements-dev.lock (+ dev tools) with uv
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile --python-version 3.11 pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile --python-version 3.11 --extra dev pyproject.toml -o requirements-dev.lock
	$(BIN)/uv pip compile --python-version 3.11 bench/peer-requirements.in -o requirements-peer.lock

lint: install ## ruff, and import-linter's architecture contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install ## mypy --strict
	$(BIN)/mypy vigil shared services bench tests

unit: install ## Unit tests only (pure logic, no broker or database)
	$(BIN)/python -m pytest tests/unit -q $(PYTEST_ARGS)

test: install ## Lint, typecheck, then every test (starts Kafka and PostgreSQL when not given)
	@bash deploy/local/ensure-tools.sh
	$(MAKE) --no-print-directory lint typecheck
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

test-cluster: install ## Slow tier: 3-broker cluster, RF 3, brokers and instances killed (~5 min)
	$(BIN)/python -m pytest tests/cluster -m cluster -q -s -ra -p no:cacheprovider $(PYTEST_ARGS)

schemas: install ## Regenerate deploy/schemas from the contracts
	$(BIN)/vigil schemas --out deploy/schemas

stack-up: install ## Start the local Kafka + PostgreSQL stack
	$(BIN)/vigil stack up

stack-down: install ## Stop the local stack
	$(BIN)/vigil stack down

stack-status: install ## Show the local stack
	$(BIN)/vigil stack status

demo: install ## Run the whole system end to end on a demo workload
	$(BIN)/python -m bench.demo $(DEMO_ARGS)

demo-stop: install ## Stop what `make demo DEMO_ARGS=--keep-running` left running
	$(BIN)/python -m bench.demo --stop

bench: install ## Benchmark: throughput ratios, latency and its curve, memory (bench/results/); BENCH_ARGS=--soak: the 10M-signal soak
	test -x $(PEER)/bin/python || $(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip install -q -r requirements-peer.lock
	$(BIN)/python -m bench.run --peer-python $(PEER)/bin/python $(BENCH_ARGS)

soak: install ## Poison soak (not in `make test`): mixed traffic, 1% poison, no loss (SOAK_ARGS=--minutes 2)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

evaluate: install ## Playbook precision/recall on a labelled population, 7 arrival orders, default and custom scorecard (bench/results/evaluate.md)
	$(BIN)/python -m bench.evaluate $(EVALUATE_ARGS)

clean: ## Remove the virtualenv and local stack data
	-$(BIN)/vigil stack down
	rm -rf $(VENV) .vigil .mypy_cache .ruff_cache .pytest_cache
