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
from tsunagari.errors import ConfigError, IndexMissingError
from tsunagari.scan import FileChange, FileProblem
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
    # Per report: what changed, and files that could not be (re)indexed.
    files: tuple[FileChange, ...] = ()
    problems: tuple[FileProblem, ...] = ()


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


def _atomic_write(path: Path, text: str) -> None:
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


def chroma_client(settings: Settings):
    """A Chroma client: a Chroma server when `chroma_host` is set (CHROMA_HOST/CHROMA_PORT),
    else the embedded store persisted under the data dir."""
    # chromadb is heavy (and starts telemetry machinery): import only when vectors are needed.
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                       settings=ChromaSettings(anonymized_telemetry=False))
        except Exception as exc:  # chromadb raises ValueError/ConnectionError variants
            raise ConfigError(
                f"Chroma サーバー（{settings.chroma_host}:{settings.chroma_port}）に接続できません。"
                "サーバーが起動しているか、CHROMA_HOST / CHROMA_PORT を確認してください。"
            ) from exc
    path = data_paths(settings)["chroma"]
    path.mkdir(parents=True, exist_ok=True)
    _reload_if_refreshed_elsewhere(settings, str(path))
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )


_OPENED_AT: dict[str, tuple[int, int]] = {}


def _reload_if_refreshed_elsewhere(settings: Settings, path: str) -> None:
    """Drop chromadb's per-process cache of an embedded store when the index was refreshed since
    it was opened (e.g. by `python -m ingest` while the app runs): an embedded client does not
    see vectors another process added. Clients opened before keep working on their snapshot."""
    from tsunagari.vectors import release_chroma_system

    try:
        st = data_paths(settings)["manifest"].stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)
    previous = _OPENED_AT.get(path)
    if previous is not None and previous != stamp:
        release_chroma_system(path)
    _OPENED_AT[path] = stamp


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


def chunk_corpus(docs: list[Document], settings: Settings) -> list[Chunk]:
    """Chunks of all documents, in corpus order."""
    return [c for d in docs for c in chunk_document(d, settings.chunk_size)]


def build_index(
    settings: Settings,
    embedder=None,
    progress: Callable[[Iterable], Iterable] | None = None,
    tokenizer: Tokenizer | None = None,
    notices: tuple[str, ...] = (),
    log: Callable[[str], None] | None = None,
) -> IngestReport:
    """Refresh the index from the corpus; cheap when nothing changed, crash-safe (see refresh.py).

    Bad files become `problems` (the rest is indexed); raises InputError when no report at
    all can be indexed (the previous index is left as it was) and IndexBusyError when another
    refresh runs.
    """
    from tsunagari import refresh, vectors
    from tsunagari.lock import IndexLock

    start = time.perf_counter()
    log = log or (lambda _msg: None)
    paths = data_paths(settings)
    paths["dir"].mkdir(parents=True, exist_ok=True)
    tokenizer = tokenizer or default_tokenizer()
    with IndexLock(paths["lock"]) as lock:
        if lock.interrupted:
            notices = (*notices, refresh.INTERRUPTED_NOTICE)
        old = read_manifest(settings)
        old_docs = old.documents if old else []
        old_rows = refresh._old_rows(paths["chunks"])
        log("資料を確認しています…")
        results, problems = refresh.collect(settings, tokenizer, old_docs, old_rows, log)
        if not results:
            raise refresh.nothing_to_index(problems)
        chunks = [c for r in results for c, _ in r.rows]
        old_ids = {c.chunk_id for rows in old_rows.values() for c, _ in rows}
        new_ids = {c.chunk_id for c in chunks}
        name = getattr(embedder, "name", "none")
        if embedder is not None:
            log(f"埋め込みを計算しています（{name}）…")
            added = vectors.add_vectors(settings, embedder, chunks, progress)
        log("索引を書き込んでいます…")
        refresh.commit(settings, results, [name] if embedder is not None else [], problems)
        if embedder is not None:
            deleted = vectors.remove_stale(settings, embedder, chunks)
            counts = (added.added, added.updated, deleted, added.skipped)
            embedded = added.added + added.updated
        else:
            counts = (len(new_ids - old_ids), 0, len(old_ids - new_ids), len(new_ids & old_ids))
            embedded = 0
        from tsunagari.chunkcache import ChunkCache

        ChunkCache(paths["cache"]).keep_only({r.key for r in results})
        changes = refresh.file_changes(results, old_docs, old_rows)
    notices = (*notices, *(p.message for p in problems))
    return IngestReport(
        added=counts[0], updated=counts[1], deleted=counts[2], unchanged=counts[3],
        chunks=len(chunks), documents=len(results), seconds=time.perf_counter() - start,
        dense=embedder is not None, embedder=name, notices=notices, embedded=embedded,
        files=tuple(changes), problems=tuple(problems),
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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # unreadable: treated as absent; the next ingest rewrites it
    known = Manifest.__dataclass_fields__.keys()
    return Manifest(**{k: v for k, v in data.items() if k in known})
