# tsunagari — `make run` (install, build the index if missing, start the app) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TSUNAGARI_DATA_DIR ?= data
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY ?= False

.PHONY: setup system-deps run test test-browser test-llm bench bench-load ingest eval clean

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

# Binds to localhost unless TSUNAGARI_SERVER_ADDRESS (or STREAMLIT_SERVER_ADDRESS) says otherwise;
# uploads are capped at the corpus file limit. More Streamlit options: make run STREAMLIT_ARGS="..."
# (given last, so they win, e.g. STREAMLIT_ARGS="--server.address 0.0.0.0").
STREAMLIT_ARGS ?=
run: setup
	test -f $(TSUNAGARI_DATA_DIR)/chunks.jsonl || $(PY) -m ingest --if-missing
	flags="$$($(PY) -m tsunagari admin server-flags)" && \
	  $(VENV)/bin/streamlit run app.py --server.headless true --browser.gatherUsageStats false \
	  $$flags $(STREAMLIT_ARGS)

test: setup system-deps
	$(PY) -m pytest -q
	$(PY) -m eval --check

test-browser: setup system-deps
	$(PY) -m pytest -q -m browser tests/app/test_browser.py

# End to end against a real LLM server on localhost: llama-cpp-python + Gemma 3 270M from PyPI.
# llama.cpp is built from source (6-20 min on 2 cores; needs cc and cmake) for a portable x86-64-v3
# baseline, never -march=native: some CI hosts advertise AVX-512/AMX that their VM does not enable,
# and a native build dies there with SIGILL. The stamp names the flags, so a build made with other
# flags (or an older native one) is replaced, and --no-cache-dir keeps pip's wheel cache from
# handing a native wheel back.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
  -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF \
  -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
  -DGGML_AMX_BF16=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF
LLAMA_VERSION := $(shell sed -n 's/^llama-cpp-python\[server\]==//p' requirements-llm.txt)
LLAMA_STAMP := $(VENV)/.llama-$(LLAMA_VERSION)-$(shell printf '%s' '$(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)

$(LLAMA_STAMP): requirements-llm.txt | $(STAMP)
	rm -f $(VENV)/.llama-*
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" FORCE_CMAKE=1 $(PY) -m pip install --quiet --no-cache-dir \
	  --force-reinstall --no-deps --no-binary llama-cpp-python "llama-cpp-python==$(LLAMA_VERSION)"
	$(PY) -m pip install --quiet -r requirements-llm.txt
	printf '%s\n' '$(LLAMA_CMAKE_ARGS)' > $@

test-llm: setup $(LLAMA_STAMP)
	$(PY) -m pytest -q -m llm tests/generation/test_llm_e2e.py

eval: setup
	$(PY) -m eval --system tsunagari bm25 dense vanilla

# All benchmarks, the load one (N chat sessions against the real app server) last.
bench: setup system-deps
	$(PY) -m tsunagari.evaluation.bench

bench-load: setup system-deps
	$(PY) -m tsunagari.evaluation.bench_load

clean:
	rm -rf $(TSUNAGARI_DATA_DIR) .pytest_cache
