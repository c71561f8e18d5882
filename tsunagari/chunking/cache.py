"""Per-report cache of chunks and BM25 tokens in data_dir, keyed by content, sidecar and chunker."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsunagari.chunking import CHUNKER_VERSION
from tsunagari.types import Chunk


@dataclass(frozen=True)
class CachedDoc:
    """A chunked report: its manifest fields and (chunk, tokens) rows."""

    doc: dict[str, Any]
    rows: tuple[tuple[Chunk, tuple[str, ...]], ...]


def cache_key(*, data_hash: str, meta_hash: str, name: str, chunk_size: int,
              tokenizer_id: str) -> str:
    """The key of one report's chunks: any change of bytes, sidecar, name or chunker misses."""
    raw = "\x1f".join((data_hash, meta_hash, name, str(chunk_size), CHUNKER_VERSION,
                       tokenizer_id))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


class ChunkCache:
    """Files `<key>.json` under one directory; writes are atomic, unreadable entries are misses."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)

    def get(self, key: str) -> CachedDoc | None:
        path = self.dir / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = tuple((Chunk.from_dict(r["chunk"]), tuple(r["tokens"])) for r in data["rows"])
            return CachedDoc(data["doc"], rows)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, entry: CachedDoc) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        rows = [{"chunk": c.to_dict(), "tokens": list(t)} for c, t in entry.rows]
        tmp = self.dir / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"doc": entry.doc, "rows": rows}, ensure_ascii=False),
                       encoding="utf-8")
        os.replace(tmp, self.dir / f"{key}.json")

    def keep_only(self, keys: set[str]) -> int:
        """Delete entries not in `keys` (after a refresh is committed); returns how many."""
        if not self.dir.is_dir():
            return 0
        removed = 0
        for path in self.dir.iterdir():
            if path.suffix in (".json", ".tmp") and path.stem not in keys:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
