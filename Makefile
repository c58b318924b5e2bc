# The README's two commands, `make run` and `make test`, set everything up on a fresh machine:
# a pinned uv in .tools/, then the locked dependencies in .venv/.
UV_VERSION := 0.13.9
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Use the machine's Python; never download an interpreter behind the operator's back.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Bytecode is compiled at install and cached after: an environment that sets
# PYTHONDONTWRITEBYTECODE (this CI machine does) otherwise compiles every module from source in
# every process, which made each `shopcore` command and each test worker spend 10-15 s of CPU
# before doing anything (collecting the suite: 24 s -> 11 s).
export UV_COMPILE_BYTECODE := 1
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install system-packages run check test lint typecheck imports unit bench bench-scale bench-brokers faults lock fmt clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

# The API on the embedded default (SQLite in the working directory, demo catalog).
run: install
	$(BIN)/shopcore serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# Debian packages the tests start themselves, installed when missing: headless Chromium for the
# browser tests (tests/integration/test_docs_site_offline.py: the docs site and /docs render
# with no internet) and PgBouncer (the contract suites and the API through a pooler in
# transaction mode). Without root this only says so: those tests then skip, except under
# CI=true, where they fail.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium fonts-dejavu-core"; \
	command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing="$$missing pgbouncer"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $$missing; \
		else \
			echo "not installed:$$missing: the tests that need them will skip (apt-get install$$missing)"; \
		fi; \
	fi

# Every test, on every core (pytest-xdist; each worker has its own PostgreSQL database and Redis
# key prefix), with coverage. Under 7 minutes on the 2-core CI machine.
unit: install system-packages
	$(BIN)/pytest -n auto --dist worksteal --cov --cov-report=term --cov-fail-under=90

test: lint typecheck imports unit

# The inner loop, under 90 seconds: the same static checks, then the tests that need no server
# (no PostgreSQL, Redis or OS process of the shop: unit, contracts and e2e on memory and SQLite),
# with a tenth of the hypothesis examples.
check: lint imports typecheck
	$(BIN)/pytest -n auto --dist worksteal -q --hypothesis-profile=dev \
		-m "not postgres and not redis and not processes"

# Not part of `make test`: the benchmark of bench/README.md against PostgreSQL and Redis on
# this machine (installs wrk and nginx from Debian's packages when missing); under 10 minutes.
bench: install
	$(BIN)/python -m bench.run

# Not part of `make bench` nor `make test`: the production path (4 API processes behind nginx,
# 2 workers, a streaming replica and PgBouncer, all started by the run) against one process,
# confirming the per-process figures the sizing rests on (bench/scale_out.py, ~2 minutes).
bench-scale: install system-packages
	$(BIN)/python -m bench.scale_out

# Not part of `make test`: Redis Streams against NATS JetStream (4222) and RabbitMQ (5672) doing
# the relay's and the consumer groups' work (bench/brokers/, decision 0003); about 8 minutes.
bench-brokers: install
	$(BIN)/python -m bench.brokers

# Not part of `make test`: the operator's fault run as a soak (tests/faults/): two APIs and two
# workers on PostgreSQL and a Redis of its own, SHOPPERS customers for SECONDS seconds while
# workers, APIs, Redis and the database's connections are killed one at a time; prints the
# answers, the faults and every invariant, and fails if one broke. SEED replays a run's plan.
SEED ?=
SECONDS ?= 60
SHOPPERS ?= 40
faults: install
	$(BIN)/python -m tests.faults $(if $(SEED),--seed $(SEED)) --seconds $(SECONDS) --shoppers $(SHOPPERS)

lock: $(UV)
	$(UV) lock

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache .hypothesis .coverage
