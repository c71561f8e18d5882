"""Refresh the index from the corpus in crash-safe phases: embed, commit the chunk store, clean up.

Phase 1 adds vectors of new chunks (old ones stay); phase 2 atomically replaces the chunk store,
then the manifest (the chunk store is the source of truth: retrieval ignores vectors whose
chunk is not in it); phase 3 deletes stale vectors. A run killed at any point leaves the
previous index usable, and the next run finishes the job (records and orphans are repaired).
A damaged chunk store (e.g. a partial copy) is treated as absent and rebuilt from the corpus;
the vectors already in Chroma are reused through the record manager.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tsunagari.chunking import cases_of, chunk_document, registry
from tsunagari.chunking.cache import CachedDoc, ChunkCache, cache_key
from tsunagari.config import Settings
from tsunagari.errors import InputError
from tsunagari.indexing import bm25index, shared, termindex, vectors
from tsunagari.indexing.lock import IndexLock
from tsunagari.indexing.store import (
    CHUNKS_FILE,
    Manifest,
    StoreHealth,
    data_paths,
    inspect_store,
    read_manifest,
    sha256_text,
    write_store,
)
from tsunagari.japanese import Tokenizer, default_tokenizer
from tsunagari.loaders.scan import FileChange, FileProblem, SourceFile, scan_corpus
from tsunagari.types import Chunk

Log = Callable[[str], None]
logger = logging.getLogger(__name__)
INTERRUPTED_NOTICE = "前回の索引の更新が途中で終了していたため、続きから処理しました。"


def repaired_notice(health: StoreHealth) -> str:
    return (f"索引のファイル（{CHUNKS_FILE}）が壊れていたため、資料から作り直しました"
            f"（{health.problem}。{health.summary()}）。")


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
    # Server mode: what was published to Chroma for replicas (None in embedded mode).
    published: shared.PublishStats | None = None


@dataclass(frozen=True)
class DocResult:
    """One report as it will be committed: manifest fields and (chunk, tokens) rows."""

    doc: dict
    rows: tuple[tuple[Chunk, tuple[str, ...]], ...]
    key: str
    kept: bool = False


def _tokenizer_id(tokenizer) -> str:
    name = getattr(tokenizer, "__qualname__", None) or type(tokenizer).__qualname__
    version = getattr(tokenizer, "version", "")
    return f"{name}@{version}" if version else name


OldRows = dict[str, list[tuple[Chunk, tuple[str, ...]]]]


def read_old_rows(path: Path) -> tuple[OldRows, StoreHealth]:
    """The previous chunk store by doc_id, and its health; a damaged store counts as absent."""
    rows, health = inspect_store(path)
    by_doc: OldRows = {}
    if health.ok:
        for c, tokens in rows:
            by_doc.setdefault(c.doc_id, []).append((c, tuple(tokens)))
    return by_doc, health


def _chunk_file(f: SourceFile, settings: Settings, tokenizer, cache: ChunkCache,
                key: str) -> CachedDoc:
    hit = cache.get(key)
    if hit is not None:
        return hit
    doc = f.load()
    profile = registry.profile_for(doc)
    chunks = chunk_document(doc, settings.chunk_size)
    if not chunks:
        raise InputError(f"{f.name} から索引にできる本文が見つかりませんでした。")
    rows = tuple((c, tuple(tokenizer(c.index_text()))) for c in chunks)
    entry = CachedDoc({"doc_id": doc.doc_id, "title": doc.title, "path": f.name,
                       "content_hash": doc.content_hash, "meta_hash": f.meta_hash,
                       "format": doc.format, "pages": len(doc.pages), "chunks": len(chunks),
                       "profile": profile.name, "cases": list(cases_of(chunks))},
                      rows)
    cache.put(key, entry)
    return entry


def collect(settings: Settings, tokenizer, old_docs: list[dict], old_rows: dict,
            log: Log) -> tuple[list[DocResult], list[FileProblem]]:
    """Chunk every report (cached when unchanged); bad files become problems, and a report that
    was indexed before keeps its previous chunks."""
    cache = ChunkCache(data_paths(settings)["cache"])
    old_by_file = {d.get("path"): d for d in old_docs}
    files, problems = scan_corpus(Path(settings.corpus_dir), settings.max_file_mb,
                                  prefer=frozenset(old_by_file))
    results: list[DocResult] = []
    failed: list[FileProblem] = []
    for i, f in enumerate(files, start=1):
        log(f"[{i}/{len(files)}] {f.name}")
        key = cache_key(data_hash=f.data_hash, meta_hash=f.meta_hash, name=f.name,
                        chunk_size=settings.chunk_size, tokenizer_id=_tokenizer_id(tokenizer))
        try:
            entry = _chunk_file(f, settings, tokenizer, cache, key)
        except InputError as exc:
            failed.append(FileProblem(f.name, str(exc)))
            continue
        results.append(DocResult(entry.doc, entry.rows, key))
    final: list[FileProblem] = []
    taken = {r.doc["doc_id"] for r in results}
    for p in sorted([*problems, *failed], key=lambda p: p.file):
        old = old_by_file.get(p.file)
        if p.kind == "error" and old and old["doc_id"] not in taken and old_rows.get(old["doc_id"]):
            rows = tuple(old_rows[old["doc_id"]])
            results.append(DocResult({**old, "stale": True}, rows, old.get("cache_key", ""), True))
            taken.add(old["doc_id"])
            final.append(FileProblem(p.file, f"{p.message}（以前に索引した内容をそのまま残しています）",
                                     "kept"))
        else:
            final.append(p)
    results.sort(key=lambda r: r.doc["path"])
    return results, final


def file_changes(results: list[DocResult], old_docs: list[dict], old_rows: dict
                 ) -> list[FileChange]:
    """Per-report status against the previous index."""
    old_by_id = {d["doc_id"]: d for d in old_docs}
    out = []
    for r in results:
        doc_id = r.doc["doc_id"]
        new_ids = {c.chunk_id for c, _ in r.rows}
        old_ids = {c.chunk_id for c, _ in old_rows.get(doc_id, [])}
        if r.kept:
            status = "kept"
        elif doc_id not in old_by_id and not old_ids:
            status = "new"
        elif new_ids != old_ids or old_by_id.get(doc_id, {}).get("content_hash") != \
                r.doc["content_hash"]:
            status = "changed"
        else:
            status = "unchanged"
        out.append(FileChange(r.doc["path"], doc_id, r.doc["title"], status, len(r.rows),
                              len(new_ids - old_ids), len(old_ids - new_ids),
                              str(r.doc.get("profile", "")), tuple(r.doc.get("cases", ()))))
    current = {r.doc["doc_id"] for r in results}
    for doc_id, rows in old_rows.items():
        if doc_id not in current:
            old = old_by_id.get(doc_id, {})
            out.append(FileChange(old.get("path", doc_id), doc_id,
                                  old.get("title", rows[0][0].doc_title), "removed", 0, 0,
                                  len({c.chunk_id for c, _ in rows})))
    return out


def commit(settings: Settings, results: list[DocResult], embedders: list[str],
           problems: list[FileProblem], previous: StoreHealth | None = None) -> str:
    """Phase 2: the BM25 index of the new chunk store, then the chunk store and the manifest
    (`write_store`: each replaced atomically, in an order a reader never finds rejected); returns
    the store's SHA-256.

    The BM25 index and chunk snapshot of the new store are saved first, under its checksum
    (bm25index.py): once the store is swapped in, a reader finds them; a run killed before that
    leaves an unused directory. The previous store's directory is kept for readers that read it
    just before the swap; older ones are deleted.
    """
    paths = data_paths(settings)
    rows = [row for r in results for row in r.rows]
    lines = []
    for c, tokens in rows:
        row = c.to_dict()
        row["tokens"] = list(tokens)
        lines.append(json.dumps(row, ensure_ascii=False))
    text = "\n".join(lines) + "\n"
    sha = sha256_text(text)
    before = previous.sha256 if previous is not None and previous.ok else ""
    try:
        bm25index.save(paths["bm25"], sha, rows)
    except OSError as exc:  # readers then build it from the store: a slower open, same answers
        logger.warning("could not save the BM25 index in %s: %s", paths["bm25"], exc)
    manifest = Manifest(
        documents=[{**r.doc, "chunks": len(r.rows), "cache_key": r.key} for r in results],
        chunks=len(lines),
        refreshed_at=time.strftime("%Y-%m-%d %H:%M:%S"),
        embedders=embedders,
        problems=[{"file": p.file, "message": p.message, "kind": p.kind} for p in problems],
    )
    written = write_store(settings, text, manifest, previous)
    bm25index.keep_only(paths["bm25"], [sha, before])
    return written


def nothing_to_index(problems: list[FileProblem]) -> InputError:
    lines = "\n".join(f"- {p.message}" for p in problems)
    return InputError("索引にできる資料がありません。索引は変更していません。"
                      + (f"\n{lines}" if lines else ""))


def build_index(
    settings: Settings,
    embedder=None,
    progress: Callable[[Iterable], Iterable] | None = None,
    tokenizer: Tokenizer | None = None,
    notices: tuple[str, ...] = (),
    log: Callable[[str], None] | None = None,
) -> IngestReport:
    """Refresh the index from the corpus; cheap when nothing changed, crash-safe (see the module docstring).

    Bad files become `problems` (the rest is indexed); raises InputError when no report at
    all can be indexed (the previous index is left as it was) and IndexBusyError when another
    refresh runs.
    """
    start = time.perf_counter()
    log = log or (lambda _msg: None)
    paths = data_paths(settings)
    paths["dir"].mkdir(parents=True, exist_ok=True)
    tokenizer = tokenizer or default_tokenizer()
    with IndexLock(paths["lock"], settings.lock_max_age_hours * 3600) as lock:
        if lock.interrupted:
            notices = (*notices, INTERRUPTED_NOTICE)
        old = read_manifest(settings)
        old_docs = old.documents if old else []
        old_rows, old_health = read_old_rows(paths["chunks"])
        if old_health.state == "damaged":
            notices = (*notices, repaired_notice(old_health))
        log("資料を確認しています…")
        results, problems = collect(settings, tokenizer, old_docs, old_rows, log)
        if not results:
            raise nothing_to_index(problems)
        chunks = [c for r in results for c, _ in r.rows]
        old_ids = {c.chunk_id for rows in old_rows.values() for c, _ in rows}
        new_ids = {c.chunk_id for c in chunks}
        name = getattr(embedder, "name", "none")
        if embedder is not None:
            log(f"埋め込みを計算しています（{name}）…")
            added = vectors.add_vectors(settings, embedder, chunks, progress)
        log("索引を書き込んでいます…")
        sha = commit(settings, results, [name] if embedder is not None else [], problems,
                     old_health)
        termindex.build_for_store(settings, sha, chunks)
        published = None
        if settings.chroma_host:
            # Before stale vectors go: replicas switch to the new store first (phase 2b).
            shared.mark_publisher(settings)
            log("索引を Chroma サーバーに公開しています…")
            published = shared.publish(settings)
        if embedder is not None:
            deleted = vectors.remove_stale(settings, embedder, chunks)
            counts = (added.added, added.updated, deleted, added.skipped)
            embedded = added.added + added.updated
        else:
            counts = (len(new_ids - old_ids), 0, len(old_ids - new_ids), len(new_ids & old_ids))
            embedded = 0
        ChunkCache(paths["cache"]).keep_only({r.key for r in results})
        changes = file_changes(results, old_docs, old_rows)
    notices = (*notices, *(p.message for p in problems))
    return IngestReport(
        added=counts[0], updated=counts[1], deleted=counts[2], unchanged=counts[3],
        chunks=len(chunks), documents=len(results), seconds=time.perf_counter() - start,
        dense=embedder is not None, embedder=name, notices=notices, embedded=embedded,
        files=tuple(changes), problems=tuple(problems), published=published,
    )
