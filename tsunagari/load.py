"""Load reports from the corpus directory into `Document`s (any supported format plus sidecar)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tsunagari.errors import InputError
from tsunagari.types import Document

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
TEXT_SUFFIXES = {".txt", ".md"}


def content_hash(data: bytes) -> str:
    """SHA-256 of a file's bytes (identifies a report independent of its name)."""
    return hashlib.sha256(data).hexdigest()


def read_sidecar(path: Path) -> dict:
    """Metadata from `<stem>.toml` / `<stem>.yaml` / `<stem>.yml` next to the report, or {}."""
    from tsunagari.loaders.sidecar import read_sidecar as _read

    return _read(Path(path))


def load_text(path: Path) -> Document:
    """Load one report (any supported format, despite the historical name) with its sidecar."""
    from tsunagari.loaders import load_document

    return load_document(Path(path))


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Load every readable report in `corpus_dir`, sorted by file name (bad files are skipped;
    `tsunagari.scan` reports them)."""
    from tsunagari.scan import scan_corpus

    files, _ = scan_corpus(Path(corpus_dir))
    docs = []
    for f in files:
        try:
            docs.append(f.load())
        except InputError:
            continue
    return docs
