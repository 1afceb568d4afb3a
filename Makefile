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

.DEFAULT_GOAL := help
.PHONY: help install run test check bench serve clean

help: ## Show this help.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

# The venv's own pip first: pip 26 resolves this project in about half the CPU of Python 3.11's bundled pip 23.2
# (which spends ~30 s evaluating ~140,000 index links), and the upgrade takes ~2 s. Nothing is compiled ahead:
# a run compiles the ~4,900 modules it imports (of ~10,600) as it first imports them, which measured nothing
# against compiling all of them (~15 s) at install.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "voxbatch needs Python 3.11+")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing voxbatch and its dependencies into $(VENV) (first time only)..."
	@$(PY) -m pip install --quiet --no-compile 'pip>=26,<27' 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
	@$(PY) -m pip install --quiet --no-compile -e '.[dev]' 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
	@env -u PYTHONDONTWRITEBYTECODE $(PY) -c 'import voxbatch, flows, tasks, prefect, espeakng_loader, pocketsphinx, imageio_ffmpeg'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install voxbatch (done automatically by run/test).

run: $(STAMP) ## Run the demo manifests end to end on the embedded local server (audiobooks, then transcripts).
	@env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/voxbatch tts manifests/audiobook-demo.csv --out out/audiobooks
	@env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/voxbatch stt manifests/transcripts-demo.csv --out out/transcripts

# The suite starts ~40 Python processes (voxbatch commands, Prefect flow runs, Dask workers) that import the same
# modules: with bytecode caching on (even where the machine sets PYTHONDONTWRITEBYTECODE) the first to import a
# module compiles it and the others load it, ~0.3 CPU-s less per process for this repository's ~200 alone.
test: $(STAMP) ## Run the whole test suite (TEST_WORKERS processes, one test file each at a time).
	@env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

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
