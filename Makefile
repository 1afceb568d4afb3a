# voxbatch: `make run` and `make test` are the only commands a newcomer needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8765
FAULTS ?=
BENCH ?=
PYTEST_ARGS ?=
# pytest-xdist processes: most tests wait on servers and subprocesses, so three share 2 cores well (measured on a
# quiet 2-core machine in one hour: 3:32 with two, 3:20 with three, 3:20 with four). Each takes whole files in
# collection order (--no-loadscope-reorder), which tests/conftest.py makes slowest-first.
TEST_WORKERS ?= 3

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Bytecode caching on for every command here, even where the machine sets PYTHONDONTWRITEBYTECODE: the install
# compiles nothing ahead (below), so the first process to import a module compiles it and later ones load it.
unexport PYTHONDONTWRITEBYTECODE
# A pipe's failure is the recipe's (pip's output goes through grep)
SHELL := bash
.SHELLFLAGS := -o pipefail -c

.DEFAULT_GOAL := help
.PHONY: help install run test check bench serve clean

help: ## Show this help.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

# The venv's own pip first: pip 26 resolves this project in about half the time of Python 3.11's bundled pip 23.2
# (which spends ~30 CPU-s evaluating ~140,000 index links); the upgrade takes ~2 s, and if it cannot be had the
# bundled pip installs as before. Nothing is compiled ahead: a process compiles the modules it first imports (a
# whole test run imports ~4,900 of ~10,600), which measured nothing against compiling all of them (~15 s) here.
PIP_NOISE := is ignored: it is neither a file nor a directory
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "voxbatch needs Python 3.11+")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing voxbatch and its dependencies into $(VENV) (first time only)..."
	@$(PY) -m pip install --quiet --no-compile 'pip>=26' 2>&1 | { grep -v "$(PIP_NOISE)" || true; } \
		|| echo "(could not upgrade pip; installing with $$($(PY) -m pip --version | cut -d' ' -f1-2))"
	@$(PY) -m pip install --quiet --no-compile -e '.[dev]' 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	@$(PY) -c 'import voxbatch, flows, tasks, prefect, espeakng_loader, pocketsphinx, imageio_ffmpeg, soundfile, soxr; \
		import pytest, xdist, ruff, mypy'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install voxbatch (done automatically by run/test).

run: $(STAMP) ## Run the demo manifests end to end on the embedded local server (audiobooks, then transcripts).
	@$(VENV)/bin/voxbatch tts manifests/audiobook-demo.csv --out out/audiobooks
	@$(VENV)/bin/voxbatch stt manifests/transcripts-demo.csv --out out/transcripts

# The suite starts ~40 Python processes (voxbatch commands, Prefect flow runs, Dask workers) that import the same
# modules: with bytecode caching on (above), the first to import a module compiles it and the others load it.
test: $(STAMP) ## Run the whole test suite (TEST_WORKERS processes, one test file each at a time).
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

check: $(STAMP) ## Lint and type-check (ruff + mypy).
	@$(VENV)/bin/ruff check voxbatch flows tasks tests bench
	@$(VENV)/bin/ruff format --check voxbatch flows tasks tests bench
	@$(VENV)/bin/mypy

bench: $(STAMP) ## Run the benchmarks and print their results (see BENCHMARKS.md); BENCH="audiobook stitch" runs only those.
	@$(PY) -m bench $(BENCH)

serve: $(STAMP) ## Start the local Together-compatible audio server (HOST, PORT, FAULTS).
	@$(VENV)/bin/voxbatch serve --host $(HOST) --port $(PORT) $(if $(FAULTS),--faults "$(FAULTS)")

clean: ## Remove the virtualenv and generated output.
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
