"""Load reports from the corpus directory into `Document`s (text plus TOML sidecar metadata)."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from tsunagari.errors import InputError
from tsunagari.types import Document

TEXT_SUFFIXES = {".txt", ".md"}


def content_hash(data: bytes) -> str:
    """SHA-256 of a file's bytes (identifies a report independent of its name)."""
    return hashlib.sha256(data).hexdigest()


def read_sidecar(path: Path) -> dict:
    """Metadata from `<stem>.toml` next to the report, or {}."""
    sidecar = path.with_suffix(".toml")
    if not sidecar.exists():
        return {}
    try:
        return tomllib.loads(sidecar.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"メタデータファイル {sidecar.name} を読み込めません：{exc}") from exc


def load_text(path: Path) -> Document:
    """Load one UTF-8 text report with its sidecar."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} は UTF-8 として読み込めません。") from exc
    if not text.strip():
        raise InputError(f"{path.name} は空のファイルです。")
    meta = read_sidecar(path)
    return Document(
        doc_id=str(meta.get("doc_id") or path.stem),
        title=str(meta.get("title") or path.stem),
        path=str(path),
        text=text,
        content_hash=content_hash(data),
        first_page=int(meta.get("first_page", 1)),
        publisher=str(meta.get("publisher", "")),
        survey_period=str(meta.get("survey_period", "")),
        format=str(meta.get("format", "text")),
    )


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Load every supported report in `corpus_dir`, sorted by file name."""
    if not corpus_dir.is_dir():
        raise InputError(f"資料フォルダ {corpus_dir} が見つかりません。")
    return [load_text(p) for p in sorted(corpus_dir.iterdir()) if p.suffix.lower() in TEXT_SUFFIXES]
