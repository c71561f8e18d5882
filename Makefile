# tsunagari — `make run` (install, build the index if missing, start the app) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TSUNAGARI_DATA_DIR ?= data
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY ?= False

.PHONY: setup run test bench ingest eval clean

setup: $(STAMP)

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

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m tsunagari.bench

clean:
	rm -rf $(TSUNAGARI_DATA_DIR) .pytest_cache
