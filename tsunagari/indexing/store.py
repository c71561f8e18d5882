"""The chunk store and manifest in data_dir: every on-disk path, atomic writes, reading back."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsunagari.config import Settings
from tsunagari.errors import IndexMissingError
from tsunagari.types import Chunk

CHUNKS_FILE = "chunks.jsonl"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "ingest.lock"


@dataclass
class Manifest:
    """Summary of the built index, shown in the app and CLI."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 0
    refreshed_at: str = ""
    embedders: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)


def data_paths(settings: Settings) -> dict[str, Path]:
    """Every on-disk location, all under `settings.data_dir`."""
    d = Path(settings.data_dir)
    return {
        "dir": d,
        "chunks": d / CHUNKS_FILE,
        "manifest": d / MANIFEST_FILE,
        "chroma": d / "chroma",
        "records": d / "records.sqlite",
        "lock": d / LOCK_FILE,
        "cache": d / "cache",
    }


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` so a reader sees the old or the new file, never a mix."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def load_chunks(path: Path) -> list[Chunk]:
    """Chunks from the chunk store (tokens are dropped)."""
    return [c for c, _ in load_chunks_with_tokens(path)]


def load_chunks_with_tokens(path: Path) -> list[tuple[Chunk, list[str]]]:
    """Chunks with the BM25 tokens stored at ingest time."""
    if not path.exists():
        raise IndexMissingError(
            "索引がまだありません。`python -m ingest` を実行するか、アプリの「索引を作成」を押してください。"
        )
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                tokens = row.pop("tokens", [])
                out.append((Chunk.from_dict(row), tokens))
    return out


def read_manifest(settings: Settings) -> Manifest | None:
    """The manifest of the current index, or None when there is none."""
    path = data_paths(settings)["manifest"]
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # unreadable: treated as absent; the next ingest rewrites it
    known = Manifest.__dataclass_fields__.keys()
    return Manifest(**{k: v for k, v in data.items() if k in known})
