"""Chunk vectors in Chroma via LangChain's record manager, in crash-safe phases (add, clean up)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tsunagari.config import Settings, chroma_token, collection_name
from tsunagari.errors import ConfigError
from tsunagari.indexing.store import data_paths
from tsunagari.types import Chunk

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class VectorStats:
    """Counts of one indexing pass (LangChain's `index` result)."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    deleted: int = 0


def namespace(settings: Settings, embedder) -> str:
    """Record-manager namespace: one per collection and per Chroma location."""
    name = collection_name(getattr(embedder, "name", settings.embedder))
    if settings.chroma_host:
        return f"chroma@{settings.chroma_host}:{settings.chroma_port}/{name}"
    return f"chroma/{name}"


# Embedded Chroma systems forgotten by `release_chroma_system`, stopped one release later.
_RETIRED: dict[str, object] = {}
_RETIRED_LOCK = threading.Lock()


def release_chroma_system(path: str) -> None:
    """Make the next embedded client for `path` reopen the store, without leaking the old one.

    chromadb keeps one System per persist directory in a private, process-wide cache; an
    embedded System does not see vectors another process added, so after a refresh the cache
    entry must go. The forgotten System is not stopped at once (a service opened before may
    still be answering a query with it): it is stopped at the next release for the same path,
    when no service uses it any more. At most one retired System per path is kept alive.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    with _RETIRED_LOCK:
        with SharedSystemClient._refcount_lock:
            system = SharedSystemClient._identifier_to_system.pop(path, None)
            # Clients of the old System must not count towards (and later stop) the new one.
            SharedSystemClient._identifier_to_refcount.pop(path, None)
        older = _RETIRED.pop(path, None)
        if system is not None:
            _RETIRED[path] = system
    if older is not None:
        try:
            older.stop()
        except Exception:  # stopping is best effort: never fail a refresh or a query on it
            log.warning("could not stop a retired Chroma system for %s", path, exc_info=True)


def server_headers(settings: Settings) -> dict[str, str]:
    """The headers that carry the Chroma token ({} when none is configured)."""
    token = chroma_token(settings)
    if not token:
        return {}
    if settings.chroma_token_header == "X-Chroma-Token":
        return {"X-Chroma-Token": token}
    return {"Authorization": f"Bearer {token}"}


def server_url(settings: Settings) -> str:
    scheme = "https" if settings.chroma_ssl else "http"
    return f"{scheme}://{settings.chroma_host}:{settings.chroma_port}"


def _ssl_verify(settings: Settings) -> bool | str | None:
    if not settings.chroma_ssl:
        return None
    if not settings.chroma_ssl_verify:
        return False
    if settings.chroma_ca_bundle is not None and str(settings.chroma_ca_bundle):
        if not settings.chroma_ca_bundle.is_file():
            raise ConfigError(f"TSUNAGARI_CHROMA_CA_BUNDLE のファイル（{settings.chroma_ca_bundle}）"
                              "がありません。")
        return str(settings.chroma_ca_bundle)
    return True


class ServerTimeoutError(ConnectionError):
    """The Chroma server did not answer within `chroma_timeout_seconds`."""


def _timed_out(exc: BaseException) -> bool:
    seen, depth = exc, 0
    while seen is not None and depth < 8:
        if isinstance(seen, (TimeoutError, ServerTimeoutError)) or "Timeout" in type(seen).__name__:
            return True
        seen, depth = seen.__cause__ or seen.__context__, depth + 1
    return False


def connect_error(settings: Settings, exc: BaseException) -> str:
    """A Japanese explanation of why the Chroma server refused or could not be reached."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 8:  # chromadb wraps the httpx/ssl error
        chain.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    text = " / ".join(chain)
    where = f"Chroma サーバー（{server_url(settings)}）"
    if _timed_out(exc):
        return (f"{where}が {settings.chroma_timeout_seconds:g} 秒以内に応答しませんでした"
                "（TSUNAGARI_CHROMA_TIMEOUT_SECONDS）。サーバーの状態とネットワークを確認してください。")
    # A 401/403 status or body; never a port or address that happens to contain "401".
    if re.search(r"(?<![:.\d])40[13](?!\d)", text) or "Unauthorized" in text or \
            "Forbidden" in text:
        if chroma_token(settings):
            return (f"{where}がトークンを受け付けませんでした（認証エラー）。"
                    "TSUNAGARI_CHROMA_TOKEN（または TSUNAGARI_CHROMA_TOKEN_FILE）がサーバーと同じか"
                    "確認してください。")
        return (f"{where}は認証が必要です（認証エラー）。TSUNAGARI_CHROMA_TOKEN または "
                "TSUNAGARI_CHROMA_TOKEN_FILE にサーバーのトークンを設定してください。")
    if "CERTIFICATE" in text.upper() or "SSLError" in text or "[SSL" in text:
        return (f"{where}の証明書を確認できませんでした（TLS のエラー）。TSUNAGARI_CHROMA_CA_BUNDLE に"
                "サーバーの証明書を発行した CA のファイルを設定するか、TSUNAGARI_CHROMA_SSL を確認"
                "してください。")
    return (f"{where}に接続できません。サーバーが起動しているか、CHROMA_HOST / CHROMA_PORT / "
            "TSUNAGARI_CHROMA_SSL を確認してください。")


def chroma_client(settings: Settings):
    """A Chroma client: a Chroma server when `chroma_host` is set (CHROMA_HOST/CHROMA_PORT, with
    the token and TLS settings), else the embedded store persisted under the data dir."""
    # chromadb is heavy (and starts telemetry machinery): import only when vectors are needed.
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_host:
        verify = _ssl_verify(settings)
        extra = {"chroma_server_ssl_verify": verify} if verify is not None else {}
        try:
            _heartbeat(settings, verify)
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl,
                headers=server_headers(settings),
                settings=ChromaSettings(anonymized_telemetry=False, **extra))
            _limit_requests(client, settings.chroma_timeout_seconds)
            # The client's constructor only checks the (public) heartbeat: ask for something
            # that needs the token, so a missing or wrong one is reported here, in Japanese.
            client.list_collections(limit=1)
            return client
        except Exception as exc:  # chromadb raises ValueError/ConnectionError/HTTP variants
            log.warning("Chroma server %s: %s: %s", server_url(settings), type(exc).__name__, exc)
            raise ConfigError(connect_error(settings, exc)) from exc
    path = data_paths(settings)["chroma"]
    path.mkdir(parents=True, exist_ok=True)
    _reload_if_refreshed_elsewhere(settings, str(path))
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )


def _heartbeat(settings: Settings, verify: bool | str | None) -> None:
    """One request with the timeout before chromadb's client is built: its constructor already
    asks the server (with no timeout), so a server that accepts but never answers would hang it.
    """
    import httpx

    try:
        httpx.get(f"{server_url(settings)}/api/v2/heartbeat", headers=server_headers(settings),
                  verify=True if verify is None else verify,
                  timeout=settings.chroma_timeout_seconds).raise_for_status()
    except httpx.TimeoutException as exc:
        raise ServerTimeoutError(f"no answer within {settings.chroma_timeout_seconds} s") from exc


def _limit_requests(client, seconds: float) -> None:
    """Give chromadb's HTTP session (httpx, created with timeout=None) our timeout. The session
    belongs to chromadb's per-server System, shared by its clients in this process."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds)
    else:  # a chromadb that builds its client otherwise: say so, keep working without
        log.warning("could not set a timeout on the Chroma HTTP client (%s)", type(session))


_OPENED_AT: dict[str, tuple[int, int]] = {}


def _reload_if_refreshed_elsewhere(settings: Settings, path: str) -> None:
    """Drop chromadb's per-process cache of an embedded store when the index was refreshed since
    it was opened (e.g. by `python -m ingest` while the app runs): an embedded client does not
    see vectors another process added. Clients opened before keep working on their snapshot."""
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


# Where dense search failed: store location -> monotonic time of the next try (fail soft).
_DOWN: dict[str, float] = {}
_DOWN_LOCK = threading.Lock()


def _location(settings: Settings) -> str:
    return server_url(settings) if settings.chroma_host else str(data_paths(settings)["chroma"])


def mark_down(settings: Settings) -> None:
    """The store could not be reached: searches skip it for `chroma_retry_seconds`."""
    with _DOWN_LOCK:
        _DOWN[_location(settings)] = time.monotonic() + settings.chroma_retry_seconds


def mark_up(settings: Settings) -> None:
    """The store answered again."""
    with _DOWN_LOCK:
        if _DOWN.pop(_location(settings), None) is not None:
            log.info("Chroma available again (%s)", _location(settings))


def retry_due(settings: Settings) -> bool:
    """Whether the store may be asked now (not down, or its retry time has come)."""
    retry_at = _DOWN.get(_location(settings))
    return retry_at is None or time.monotonic() >= retry_at


def vectors_down(settings: Settings) -> bool:
    """Whether the last dense search against this store failed (answers use BM25 meanwhile)."""
    return _location(settings) in _DOWN


def down_notice(settings: Settings) -> str:
    """The Japanese notice shown with answers while dense search is unavailable ("" if not)."""
    if not vectors_down(settings):
        return ""
    if settings.chroma_host:
        return "共有の索引サーバーにつながらないため、手元の写しをキーワード検索だけで使っています。"
    return "ベクトル検索の索引を読めないため、キーワード検索だけで答えています。"


class SearchVectors:
    """Dense search that fails soft: when the store cannot be reached (Chroma server stopped,
    unreadable embedded store) a search returns no hits, so hybrid retrieval answers with BM25
    over the local chunk store; the store is tried again after `chroma_retry_seconds`. Details
    go to the server log. Only reads: ingest writes through `vector_store` and fails loudly."""

    def __init__(self, settings: Settings, embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._store = None
        self._lock = threading.Lock()

    def similarity_search_by_vector(self, embedding, k: int = 4, filter=None) -> list:
        where = _location(self.settings)
        if not retry_due(self.settings):
            return []
        try:
            with self._lock:
                if self._store is None:
                    self._store = vector_store(self.settings, self.embedder)
                store = self._store
            docs = store.similarity_search_by_vector(embedding, k=k, filter=filter)
        except Exception as exc:  # httpx/chromadb/sqlite errors: answer from BM25 instead
            log.warning("dense search unavailable (%s): %s: %s", where, type(exc).__name__, exc)
            mark_down(self.settings)
            return []
        mark_up(self.settings)
        return docs


def search_vectors(settings: Settings, embedder) -> SearchVectors:
    """The dense store as the retriever reads it (fail soft, see SearchVectors)."""
    return SearchVectors(settings, embedder)


def chroma_metadata(chunk: Chunk) -> dict[str, Any]:
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


def record_manager(settings: Settings, embedder):
    from langchain_classic.indexes import SQLRecordManager

    records = SQLRecordManager(namespace=namespace(settings, embedder),
                               db_url=f"sqlite:///{data_paths(settings)['records']}")
    records.create_schema()
    return records


def _lc_docs(chunks: list[Chunk]):
    from langchain_core.documents import Document as LCDocument

    return [LCDocument(page_content=c.index_text(), metadata=chroma_metadata(c)) for c in chunks]


def _slowed(items, delay: float) -> Iterator:
    for item in items:
        time.sleep(delay)
        yield item


def repair(store, records) -> int:
    """Forget records whose vector is missing from Chroma (so they are embedded again)."""
    ids = set(store._collection.get(include=[])["ids"])
    missing = [k for k in records.list_keys() if k not in ids]
    if missing:
        records.delete_keys(missing)
    return len(missing)


def add_vectors(settings: Settings, embedder, chunks: list[Chunk], progress=None) -> VectorStats:
    """Phase 1: embed and add vectors of chunks not indexed yet; nothing is deleted."""
    from langchain_classic.indexes import index

    store = vector_store(settings, embedder)
    records = record_manager(settings, embedder)
    repair(store, records)
    docs = _lc_docs(chunks)
    source = progress(docs, total=len(docs)) if progress else docs
    delay = settings.test_embed_delay
    if delay > 0:
        source = _slowed(source, delay)
    r = index(source, records, store, cleanup=None, source_id_key="source",
              key_encoder="sha256", batch_size=32)
    return VectorStats(r["num_added"], r["num_updated"], r["num_skipped"], r["num_deleted"])


def remove_stale(settings: Settings, embedder, chunks: list[Chunk]) -> int:
    """Phase 3 (after the chunk store is committed): delete vectors of chunks no longer indexed.

    A second `index` pass with cleanup="full" re-hashes the current chunks (nothing is embedded
    again: they were added in phase 1) and deletes every other record; vectors without a
    record (left by a killed run) are deleted too. Returns how many vectors were deleted.
    """
    from langchain_classic.indexes import index

    store = vector_store(settings, embedder)
    records = record_manager(settings, embedder)
    r = index(_lc_docs(chunks), records, store, cleanup="full", source_id_key="source",
              key_encoder="sha256", batch_size=256)
    keys = set(records.list_keys())
    orphans = [i for i in store._collection.get(include=[])["ids"] if i not in keys]
    if orphans:
        store._collection.delete(ids=orphans)
    return int(r["num_deleted"]) + len(orphans)
