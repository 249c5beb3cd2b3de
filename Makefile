# kefu: the two commands the README starts with are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 7860

.PHONY: setup provision ingest run test test-fast eval calibrate lint format bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed provision

provision: $(VENV)/.installed
	$(PY) -m bot provision

ingest: setup
	$(PY) ingest.py

run: ingest
	$(PY) app.py --host $(HOST) --port $(PORT)

test: setup
	$(PY) -m pytest

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow and not browser and not integration"

eval: ingest
	$(PY) -m eval

calibrate: ingest
	$(PY) -m bot calibrate

bench: ingest
	$(PY) -m eval.bench

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf data/chroma data/index_manifest.json
