"""Build and open the index: a chunk store + BM25 on disk, and vectors in Chroma via LangChain's indexing API."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsunagari.chunk import chunk_document
from tsunagari.config import Settings, collection_name
from tsunagari.errors import IndexBusyError, IndexMissingError
from tsunagari.load import load_corpus
from tsunagari.textja import Tokenizer, default_tokenizer
from tsunagari.types import Chunk, Document

CHUNKS_FILE = "chunks.jsonl"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "ingest.lock"


@dataclass(frozen=True)
class IngestReport:
    """What one ingest run changed."""

    added: int
    updated: int
    deleted: int
    unchanged: int
    chunks: int
    documents: int
    seconds: float
    dense: bool
    embedder: str
    notices: tuple[str, ...] = ()
    embedded: int = 0


@dataclass
class Manifest:
    """Summary of the built index, shown in the app and CLI."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 0
    refreshed_at: str = ""
    embedders: list[str] = field(default_factory=list)


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
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def chroma_client(settings: Settings):
    """A Chroma client: embedded and persistent under the data dir."""
    # chromadb is heavy (and starts telemetry machinery): import only when vectors are needed.
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path = data_paths(settings)["chroma"]
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )


def vector_store(settings: Settings, embedder, client=None):
    """The LangChain Chroma store for this embedder (one collection per embedder)."""
    from langchain_chroma import Chroma

    return Chroma(
        collection_name=collection_name(getattr(embedder, "name", settings.embedder)),
        embedding_function=embedder,
        client=client or chroma_client(settings),
        collection_metadata={"hnsw:space": "cosine"},
    )


def _chroma_metadata(chunk: Chunk) -> dict[str, Any]:
    """Flat scalar metadata for Chroma (used for filtering and to map back to chunks)."""
    return {
        "chunk_id": chunk.chunk_id,
        "source": chunk.doc_id,
        "doc_id": chunk.doc_id,
        "section": chunk.section,
        "chapter": chunk.chapter,
        "point": chunk.point or 0,
        "municipality": chunk.municipality,
        "column": chunk.column,
        "kind": chunk.kind,
    }


class _Lock:
    """An exclusive lock file; a stale lock (dead pid) is taken over."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> _Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                return self
            except FileExistsError:
                if _pid_alive(self.path):
                    raise IndexBusyError(
                        "別の索引の更新が実行中です。終わってからもう一度実行してください。"
                    ) from None
                self.path.unlink(missing_ok=True)
        raise IndexBusyError("索引の更新を開始できませんでした。")

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def _pid_alive(path: Path) -> bool:
    try:
        pid = int(path.read_text().strip() or "0")
        os.kill(pid, 0)
        return pid != 0
    except (ValueError, ProcessLookupError, FileNotFoundError):
        return False
    except PermissionError:
        return True


def chunk_corpus(docs: list[Document], settings: Settings) -> list[Chunk]:
    """Chunks of all documents, in corpus order."""
    return [c for d in docs for c in chunk_document(d, settings.chunk_size)]


def build_index(
    settings: Settings,
    embedder=None,
    progress: Callable[[Iterable], Iterable] | None = None,
    tokenizer: Tokenizer | None = None,
    notices: tuple[str, ...] = (),
) -> IngestReport:
    """(Re)build the index from the corpus; idempotent and cheap when nothing changed."""
    start = time.perf_counter()
    paths = data_paths(settings)
    paths["dir"].mkdir(parents=True, exist_ok=True)
    tokenizer = tokenizer or default_tokenizer()
    with _Lock(paths["lock"]):
        docs = load_corpus(Path(settings.corpus_dir))
        chunks = chunk_corpus(docs, settings)
        old_ids = {c.chunk_id for c in load_chunks(paths["chunks"])} if paths["chunks"].exists() \
            else set()
        new_ids = {c.chunk_id for c in chunks}
        embedded = 0
        if embedder is not None:
            result = _index_vectors(settings, embedder, chunks, progress)
            added, updated = result["num_added"], result["num_updated"]
            deleted, unchanged = result["num_deleted"], result["num_skipped"]
            embedded = added + updated
        else:
            added, deleted = len(new_ids - old_ids), len(old_ids - new_ids)
            updated, unchanged = 0, len(new_ids & old_ids)
        lines = []
        iterator = progress(chunks) if (progress and embedder is None) else chunks
        for c in iterator:
            row = c.to_dict()
            row["tokens"] = tokenizer(c.index_text())
            lines.append(json.dumps(row, ensure_ascii=False))
        _atomic_write(paths["chunks"], "\n".join(lines) + "\n")
        manifest = Manifest(
            documents=[
                {"doc_id": d.doc_id, "title": d.title, "path": Path(d.path).name,
                 "content_hash": d.content_hash,
                 "chunks": sum(1 for c in chunks if c.doc_id == d.doc_id)}
                for d in docs
            ],
            chunks=len(chunks),
            refreshed_at=time.strftime("%Y-%m-%d %H:%M:%S"),
            embedders=[getattr(embedder, "name", "none")] if embedder else [],
        )
        _atomic_write(paths["manifest"], json.dumps(manifest.__dict__, ensure_ascii=False,
                                                    indent=2))
    return IngestReport(
        added=added, updated=updated, deleted=deleted, unchanged=unchanged,
        chunks=len(chunks), documents=len(docs), seconds=time.perf_counter() - start,
        dense=embedder is not None, embedder=getattr(embedder, "name", "none"),
        notices=notices, embedded=embedded,
    )


def _index_vectors(settings: Settings, embedder, chunks: list[Chunk], progress) -> dict[str, int]:
    """Upsert chunk vectors with LangChain's record manager (unchanged chunks are skipped)."""
    from langchain_classic.indexes import SQLRecordManager, index
    from langchain_core.documents import Document as LCDocument

    store = vector_store(settings, embedder)
    name = collection_name(getattr(embedder, "name", settings.embedder))
    records = SQLRecordManager(
        namespace=f"chroma/{name}", db_url=f"sqlite:///{data_paths(settings)['records']}"
    )
    records.create_schema()
    docs = (
        LCDocument(page_content=c.index_text(), metadata=_chroma_metadata(c)) for c in chunks
    )
    source = progress(docs, total=len(chunks)) if progress else docs
    return dict(
        index(source, records, store, cleanup="full", source_id_key="source",
              key_encoder="sha256", batch_size=32)
    )


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
    return Manifest(**json.loads(path.read_text(encoding="utf-8")))
