"""Read one report file of any supported format into a `Document` (dispatch by suffix)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tsunagari.errors import InputError
from tsunagari.loaders.base import DEFAULT_LIMITS, LoadLimits
from tsunagari.loaders.pdf import read_pdf
from tsunagari.loaders.sidecar import SIDECAR_SUFFIXES, read_sidecar
from tsunagari.loaders.textfile import read_text
from tsunagari.loaders.word import read_docx
from tsunagari.types import Document

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
__all__ = ["SIDECAR_SUFFIXES", "SUPPORTED_SUFFIXES", "LoadLimits", "content_hash", "load_bytes",
           "load_document", "read_sidecar"]


def content_hash(data: bytes) -> str:
    """SHA-256 of a file's bytes (identifies a report independent of its name)."""
    return hashlib.sha256(data).hexdigest()


def load_bytes(name: str, data: bytes, meta: dict | None = None, path: str = "",
               limits: LoadLimits = DEFAULT_LIMITS) -> Document:
    """A Document from a file's bytes; raises InputError (Japanese, naming the file) and no other
    exception for any bytes, including files past the caps in `limits`."""
    suffix = Path(name).suffix.lower()
    meta = meta or {}
    if not data.strip():
        raise InputError(f"{name} は空のファイルです。")
    if suffix == ".pdf":
        loaded = read_pdf(name, data)
    elif suffix == ".docx":
        loaded = read_docx(name, data, limits)
    elif suffix in (".txt", ".md"):
        loaded = read_text(name, data, markdown=suffix == ".md")
    else:
        raise InputError(
            f"{name} は対応していない形式です（{suffix or '拡張子なし'}）。"
            f"対応形式: {' '.join(SUPPORTED_SUFFIXES)}"
        )
    first_page = int(meta.get("first_page", loaded.first_page) or 1)
    return Document(
        doc_id=str(meta.get("doc_id") or Path(name).stem),
        title=str(meta.get("title") or loaded.title or Path(name).stem),
        path=path or name,
        text=loaded.text,
        content_hash=content_hash(data),
        first_page=first_page,
        publisher=str(meta.get("publisher", "")),
        survey_period=str(meta.get("survey_period") or meta.get("date") or ""),
        format=str(meta.get("format") or loaded.format),
        pages=loaded.pages,
        profile=str(meta.get("profile") or ""),
        short_title=str(meta.get("short_title") or ""),
        year=str(meta.get("year") or ""),
        points=tuple(str(x).strip() for x in meta.get("points") or ()),
    )


def load_document(path: Path, meta: dict | None = None,
                  limits: LoadLimits = DEFAULT_LIMITS) -> Document:
    """Load one report file with its sidecar metadata (read from disk unless given)."""
    path = Path(path)
    meta = read_sidecar(path) if meta is None else meta
    return load_bytes(path.name, path.read_bytes(), meta, str(path), limits)
