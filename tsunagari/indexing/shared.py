"""Server mode: the chunk store and manifest shared through Chroma, so replicas need no files.

Ingest PUBLISHES the committed chunk store (with its BM25 tokens) and manifest to one Chroma
collection (`settings.shared_collection`): the store's lines in content-addressed parts (id =
SHA-256 of the part, at most `shared_part_rows` lines each) and one `manifest` record holding
the manifest and the ordered part ids. Order: upload missing parts → replace the manifest record
→ delete parts referenced by neither the current nor the previous manifest (a replica mid-read
may still need those). A publish that fails leaves Chroma at the previous version.

A replica SYNCS before opening and when the shared version changes: it reads the manifest
record, fetches the parts, checks the reassembled text against the manifest's `chunks_sha256`
and installs it into its own data dir with `write_store` (as ingest does), so the normal open
path and its damage checks are unchanged. The data dir where ingest runs is marked (`publisher`)
and never overwritten by the shared copy. Records carry a dummy one-dimensional embedding and
the collection has no embedding function (Chroma's default one would download a model).
Embedded mode (no `chroma_host`) never touches any of this.

SIGNING: `shared_signing.py`. Parts: `shared_parts.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Literal

from tsunagari.config import Settings, signing_key
from tsunagari.errors import (
    ConfigError,
    IndexDamagedError,
    IndexMissingError,
    TsunagariError,
    UntrustedStoreError,
)
from tsunagari.indexing import bm25index, freshness, termindex
from tsunagari.indexing.freshness import Publication
from tsunagari.indexing.store import (
    Manifest,
    StoreHealth,
    atomic_write,
    data_paths,
    manifest_from_dict,
    read_manifest,
    read_store_bytes,
    sha256_text,
    write_store,
)
from tsunagari.indexing import vectors
from tsunagari.indexing.shared_parts import (
    decode_part,
    encode_part,
    manifest_rows,
    part_id,
    split_parts,
    upload_batches,
)
from tsunagari.indexing.shared_signing import canonical, check_signature, server_label, sign
from tsunagari.indexing.vectors import chroma_client, connect_error, server_headers, server_url

log = logging.getLogger(__name__)

MANIFEST_ID = "manifest"
DUMMY_EMBEDDING = [0.0]
FETCH_PARTS = 8  # parts per `get` when syncing (8 × 200 rows ≈ 2-4 MB compressed, hex)
SYNC_ATTEMPTS = 3


@dataclass(frozen=True)
class SharedVersion:
    """The index version published in Chroma: the manifest plus its ordered part ids."""

    manifest: Manifest
    parts: tuple[str, ...]
    previous_parts: tuple[str, ...] = ()
    signature: str = ""  # "hmac-sha256:<hex>" ("" when unsigned)
    signed: bytes = b""  # the canonical bytes the signature covers, from the record as read
    publication: Publication = Publication(0, "", "")  # its number (freshness.py)

    @property
    def sha256(self) -> str:
        return self.manifest.chunks_sha256

    @property
    def key(self) -> str:
        return f"{self.manifest.chunks_sha256}@{self.manifest.refreshed_at}"


@dataclass(frozen=True)
class PublishStats:
    """What one publish changed in Chroma."""

    parts: int
    uploaded: int = 0
    deleted: int = 0
    changed: bool = False  # the manifest record was replaced


@dataclass(frozen=True)
class SyncResult:
    """What a sync did to the local data dir.

    state: "synced" (store and manifest installed), "manifest" (only the manifest changed, e.g.
    a re-ingest with nothing changed), "current" (already the shared version), "publisher" (this
    data dir is where ingest runs: left as it is), "none" (nothing published, or embedded mode).
    """

    state: Literal["synced", "manifest", "current", "publisher", "none"]
    version: str = ""
    fetched: int = 0  # parts downloaded (the others were already in the local store)

    @property
    def changed(self) -> bool:
        return self.state in ("synced", "manifest")


UNCHANGED = "このマシンの索引のファイルは変更していません。"


def _unreachable(settings: Settings, exc: Exception, tail: str = UNCHANGED) -> ConfigError:
    """The Japanese error for a failed request (details in the server log, not in the text)."""
    if not isinstance(exc, ConfigError):
        log.warning("Chroma server %s: %s: %s", server_url(settings), type(exc).__name__, exc)
    error = ConfigError((str(exc) if isinstance(exc, ConfigError)
                         else connect_error(settings, exc)) + tail)
    error.transport = True  # the server was not reached (not, say, an unreadable key file)
    return error


_CLIENTS: dict[str, object] = {}


def _client(settings: Settings):
    """One HTTP client per server, credentials and process: creating one costs ~45 ms (it checks
    the server), which the periodic check of a replica should not pay each time."""
    key = "|".join([server_url(settings), sha256_text(json.dumps(server_headers(settings))),
                    str(settings.chroma_ssl_verify), str(settings.chroma_ca_bundle)])
    client = _CLIENTS.get(key)
    if client is None:
        client = _CLIENTS[key] = chroma_client(settings)
    return client


def store_collection(settings: Settings, client=None, tail: str = UNCHANGED):
    """The shared collection, created without an embedding function (never a model download).
    `tail` ends the Japanese message when the server cannot be reached."""
    try:
        client = client or _client(settings)
        return client.get_or_create_collection(settings.shared_collection,
                                               embedding_function=None)
    except Exception as exc:  # chromadb raises many transport/HTTP error types
        raise _unreachable(settings, exc, tail) from exc


def _version_from_record(document: str | None) -> SharedVersion | None:
    try:
        data = json.loads(document or "")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    manifest = manifest_from_dict(data.get("manifest"))
    parts, previous = data.get("parts"), data.get("previous_parts", [])
    if manifest is None or not isinstance(parts, list) or not isinstance(previous, list):
        return None
    signature = data.get("signature", "")
    signed = canonical(data.get("manifest"), [str(p) for p in parts], data.get("publication"))
    return SharedVersion(manifest, tuple(map(str, parts)), tuple(map(str, previous)),
                         signature if isinstance(signature, str) else "", signed,
                         freshness.publication_of(data.get("publication"), signed))


def shared_version(settings: Settings, client=None) -> SharedVersion | None:
    """The published version (one `get` by id), or None when nothing was published."""
    collection = store_collection(settings, client)
    try:
        return shared_version_of(collection)
    except Exception as exc:
        raise _unreachable(settings, exc) from exc


def shared_version_of(collection) -> SharedVersion | None:
    got = collection.get(ids=[MANIFEST_ID], include=["documents"])
    return _version_from_record(got["documents"][0]) if got["ids"] else None


def _add_parts(collection, batch: list[tuple[str, str]]) -> None:
    """One upload request for several parts."""
    collection.add(ids=[pid for pid, _ in batch],
                   documents=[encode_part(part) for _, part in batch],
                   embeddings=[DUMMY_EMBEDDING] * len(batch),
                   metadatas=[{"kind": "part", "rows": part.count("\n"), "encoding": "zlib-hex"}
                              for _, part in batch])


def _existing_ids(collection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        found.update(collection.get(ids=ids[i:i + 500], include=[])["ids"])
    return found


def publish(settings: Settings, client=None) -> PublishStats:
    """Publish the committed local store and manifest to Chroma (server mode; see the module
    docstring). Uploads only parts Chroma lacks; does nothing when Chroma has this version."""
    if not settings.chroma_host:
        return PublishStats(0)
    store = read_store_bytes(data_paths(settings)["chunks"])
    if store is None:
        raise IndexMissingError("公開する索引がありません。`python -m ingest` を実行してください。")
    manifest = store.manifest
    if manifest is None or store.sha256 != manifest.chunks_sha256:
        raise IndexDamagedError("索引のファイルが manifest.json の記録と一致しないため、Chroma サーバーへ"
                                "公開しませんでした。`python -m ingest` を実行してください。")
    parts = split_parts(store.data.decode("utf-8"), settings.shared_part_rows,
                        manifest_rows(manifest))
    ids = [part_id(p) for p in parts]
    tail = ("このマシンの索引は更新しましたが、Chroma サーバーは前の版のままです（ほかのマシンは前の版で"
            "答え続けます）。もう一度 `python -m ingest` を実行すると公開します。")
    key = signing_key(settings)
    if not key:
        log.warning("publishing an UNSIGNED store: no shared_signing_key configured")
    collection = store_collection(settings, client, tail)
    try:
        stats, published = _publish(collection, manifest, parts, ids, settings.shared_part_rows,
                                    key, settings)
    except Exception as exc:
        raise _unreachable(settings, exc, tail) from exc
    try:
        freshness.remember(settings, server_label(settings), published)
    except OSError:  # published all the same; the next publish counts from Chroma's record
        log.warning("could not record the publication number locally", exc_info=True)
    return stats


def _trusted(version: SharedVersion, key: bytes) -> bool:
    """Whether a record carries our signature (or, without a key, none)."""
    if not key:
        return not version.signature
    return bool(version.signature) and hmac.compare_digest(sign(key, version.signed),
                                                           version.signature)


def _publish(collection, manifest: Manifest, parts: list[str], ids: list[str],
             rows: int, key: bytes, settings: Settings) -> tuple[PublishStats, Publication]:
    current = shared_version_of(collection)
    trusted = current is not None and _trusted(current, key)
    if trusted and list(current.parts) == ids and current.manifest == manifest:
        return PublishStats(len(ids)), current.publication  # already published, signed as now
    server = server_label(settings)
    number = {"sequence": freshness.next_sequence(
                  settings, server, current.publication.sequence if trusted else 0),
              "published_at": freshness.now_utc()}
    record = {"manifest": json.loads(manifest.to_json()), "parts": ids, "publication": number}
    signed = canonical(record["manifest"], ids, number)
    if key:
        record["signature"] = sign(key, signed)
    existing = _existing_ids(collection, list(dict.fromkeys(ids)))
    missing = list({pid: part for pid, part in zip(ids, parts) if pid not in existing}.items())
    for batch in upload_batches(missing, rows):
        _add_parts(collection, batch)
    uploaded = len(missing)
    previous = list(current.parts) if current is not None and list(current.parts) != ids else []
    if current is not None and list(current.parts) == ids:
        previous = list(current.previous_parts)  # same store, new manifest: keep what it kept
    record["previous_parts"] = previous
    collection.upsert(ids=[MANIFEST_ID], documents=[json.dumps(record, ensure_ascii=False)],
                      embeddings=[DUMMY_EMBEDDING],
                      metadatas=[{"kind": "manifest", "chunks_sha256": manifest.chunks_sha256,
                                  "refreshed_at": manifest.refreshed_at, "parts": len(ids)}])
    keep = {MANIFEST_ID, *ids, *previous}
    stale = [i for i in collection.get(include=[])["ids"] if i not in keep]
    if stale:
        collection.delete(ids=stale)
    return (PublishStats(len(ids), uploaded, len(stale), True),
            freshness.publication_of(number, signed))


def mark_publisher(settings: Settings) -> None:
    """Mark this data dir as the one where ingest runs for this Chroma server (server mode)."""
    if settings.chroma_host:
        atomic_write(data_paths(settings)["publisher"],
                     json.dumps({"chroma": server_label(settings)}) + "\n")


def is_publisher(settings: Settings) -> bool:
    """Whether ingest runs in this data dir for this Chroma server (its store is never replaced)."""
    try:
        data = json.loads(data_paths(settings)["publisher"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("chroma") == server_label(settings)


def _local_bytes(settings: Settings) -> bytes | None:
    """The local chunk store as bytes (None when it cannot be read)."""
    try:
        return data_paths(settings)["chunks"].read_bytes()
    except OSError:
        return None


def _local_parts(data: bytes | None, manifest: Manifest | None, rows: int) -> dict[str, str]:
    """The local store's parts by id (split as ingest splits them): a replica fetches only the
    parts it does not have. Ids are content hashes, so a damaged local part is never reused."""
    try:
        text = data.decode("utf-8") if data is not None else ""
    except UnicodeDecodeError:
        return {}
    parts = split_parts(text, rows, manifest_rows(manifest)) if text else []
    return {part_id(p): p for p in parts}


def _fetch_text(collection, version: SharedVersion, have: dict[str, str]
                ) -> tuple[str | None, int]:
    """The store's text reassembled from its parts (local ones reused; None when a part is gone,
    republished meanwhile) and how many parts were downloaded."""
    texts = {p: have[p] for p in version.parts if p in have}
    missing = [p for p in dict.fromkeys(version.parts) if p not in texts]
    for i in range(0, len(missing), FETCH_PARTS):
        got = collection.get(ids=missing[i:i + FETCH_PARTS], include=["documents"])
        for pid, document in zip(got["ids"], got["documents"]):
            if (text := decode_part(document)) is not None:
                texts[pid] = text
    if any(p not in texts for p in version.parts):
        return None, len(missing)
    return "".join(texts[p] for p in version.parts), len(missing)


def sync(settings: Settings, read_file: bool = True, client=None) -> SyncResult:
    """See `_sync`; also remembers whether the server could be reached (`unreachable_notice`)."""
    try:
        result = _sync(settings, read_file, client)
    except ConfigError as exc:
        if settings.chroma_host and getattr(exc, "transport", False):
            _UNREACHABLE.add(_key(settings))
            if settings.retrieval_mode != "bm25":  # dense search would wait for it too
                vectors.mark_down(settings)
        raise
    _UNREACHABLE.discard(_key(settings))
    if settings.chroma_host:
        vectors.mark_up(settings)
    return result


def _sync(settings: Settings, read_file: bool = True, client=None) -> SyncResult:
    """Make this data dir hold the version published in Chroma (server mode; else a no-op).

    `read_file=False` trusts the local manifest's checksum (the cheap periodic check); opening
    hashes the local file so a damaged copy is fetched again. Raises IndexDamagedError when the
    shared store does not match its checksum after retries, ConfigError when the server cannot
    be reached; nothing local is changed then.
    """
    if not settings.chroma_host:
        return SyncResult("none")
    collection = store_collection(settings, client)
    try:
        for _attempt in range(SYNC_ATTEMPTS):
            version = shared_version_of(collection)
            if version is None:
                return SyncResult("none")
            if is_publisher(settings):
                return SyncResult("publisher", version.key)
            try:
                check_signature(settings, version)
                if signing_key(settings):  # unsigned, anyone could write any number
                    freshness.check(settings, server_label(settings), version.publication)
            except UntrustedStoreError as exc:
                _REFUSED[_key(settings)] = exc
                log.warning("shared store refused: %s", exc)
                raise
            _REFUSED.pop(_key(settings), None)
            local = read_manifest(settings)
            # The local file is read at most once per attempt (its checksum, its parts, and
            # whether the store being replaced was whole all come from these bytes).
            data = _local_bytes(settings) if read_file else None
            local_sha = (hashlib.sha256(data).hexdigest() if data is not None else "") \
                if read_file else (local.chunks_sha256 if local else "")
            if local_sha == version.sha256:
                if local is not None and _same(local, version.manifest):
                    _remember(settings, version)
                    return SyncResult("current", version.key)
                atomic_write(data_paths(settings)["manifest"],
                             replace(version.manifest, also_sha256="").to_json())
                _remember(settings, version)
                return SyncResult("manifest", version.key)
            if not read_file:
                data = _local_bytes(settings)
                local_sha = hashlib.sha256(data).hexdigest() if data is not None else ""
            have = _local_parts(data, local, settings.shared_part_rows)
            text, fetched = _fetch_text(collection, version, have)
            if text is None or sha256_text(text) != version.sha256:
                log.warning("shared store incomplete or changed while reading; retrying")
                time.sleep(0.2)
                continue
            whole = bool(local_sha) and local is not None and local_sha in local.accepted_sha256()
            _install(settings, text, version.manifest, local_sha if whole else "")
            _remember(settings, version)
            return SyncResult("synced", version.key, fetched)
    except (TsunagariError, OSError):
        raise
    except Exception as exc:
        raise _unreachable(settings, exc) from exc
    raise IndexDamagedError(
        f"Chroma サーバー（{server_label(settings)}）の索引が記録（チェックサム）と一致しないため、"
        "使いませんでした。このマシンの索引のファイルは変更していません。索引を作るマシンで "
        "`python -m ingest` をもう一度実行してください。"
    )


def _remember(settings: Settings, version: SharedVersion) -> None:
    """This data dir now holds `version`: an older record is refused from now on (signed
    stores only: an unsigned record's number proves nothing and must not block signed ones)."""
    if not signing_key(settings):
        return
    known = freshness.remembered(settings, server_label(settings))
    if known is None or known != version.publication:
        freshness.remember(settings, server_label(settings), version.publication)


def _same(local: Manifest, shared: Manifest) -> bool:
    """The same version: `also_sha256` is local (the store a reader may still be reading)."""
    return replace(local, also_sha256="") == replace(shared, also_sha256="")


def _install(settings: Settings, text: str, manifest: Manifest, previous: str) -> None:
    """Write the shared store into the local data dir the crash-safe way ingest does: a reader
    of the previous local store (`previous`: its checksum if it was whole, else "") still finds
    it accepted."""
    data_paths(settings)["dir"].mkdir(parents=True, exist_ok=True)
    sha = write_store(settings, text, manifest,
                      StoreHealth("ok", sha256=previous) if previous else None)
    # Derived caches of older stores go, as at ingest (the previous one may still be in use).
    keep = [sha, previous]
    bm25index.keep_only(data_paths(settings)["bm25"], keep)
    termindex.keep_only(termindex.derived_dir(settings), keep)


_CHECKED: dict[tuple[str, str], float] = {}
_CHECK_LOCK = threading.Lock()
# The last refusal of the published store per data dir and server (cleared by a good sync).
_REFUSED: dict[tuple[str, str], UntrustedStoreError] = {}
# Data dirs whose last sync could not reach the server (cleared by the next one that did).
_UNREACHABLE: set[tuple[str, str]] = set()


def unreachable_notice(settings: Settings) -> str:
    """A Japanese notice while the last check could not reach the Chroma server."""
    if not settings.chroma_host or _key(settings) not in _UNREACHABLE:
        return ""
    return ("共有の索引サーバーにつながらないため、手元の写しで答えています（新しい版があっても、"
            "つながるまで取り込めません）。")


def _key(settings: Settings) -> tuple[str, str]:
    return (str(settings.data_dir), server_label(settings))


def refused_notice(settings: Settings) -> str:
    """A Japanese notice while the published store is refused (answers use the local copy)."""
    refused = _REFUSED.get(_key(settings)) if settings.chroma_host else None
    if refused is None:
        return ""
    if isinstance(refused, freshness.StaleStoreError):
        return ("共有の索引サーバーにある索引は、いま使っている版より古い版（または同じ番号の別の版）"
                "のため使わず、手元の写しで答えています。")
    return ("共有の索引サーバーにある索引は署名を確かめられないため使わず、手元の写し（前に確かめた版）で"
            "答えています。")


def refresh_if_changed(settings: Settings, force: bool = False) -> bool:
    """Throttled check (every `replica_check_seconds`) for a refresh published in Chroma; syncs
    the local data dir when there is one. True when the local index changed.

    Errors (server briefly unreachable) are logged and the current index is kept. While the
    server is marked down for dense search (`vectors.mark_down`, after a failed request), the
    check waits for the same retry time: a silent server costs a question at most one
    `chroma_timeout_seconds`, not one per call.
    """
    if not settings.chroma_host:
        return False
    key = _key(settings)
    now = time.monotonic()
    with _CHECK_LOCK:
        last = _CHECKED.get(key)
        if not force and last is not None and now - last < settings.replica_check_seconds:
            return False
        if not force and not vectors.retry_due(settings):
            return False  # the server just failed: answer from the copy, retry when due
        _CHECKED[key] = now
    try:
        return sync(settings, read_file=False).changed
    except (ConfigError, IndexDamagedError, UntrustedStoreError, OSError) as exc:
        # OSError: the data dir cannot be written (full disk); the intact old copy stays.
        log.warning("replica check failed: %s", exc)
        return False


def origin_line(settings: Settings) -> str:
    """A Japanese status line on where the index comes from ("" in embedded mode)."""
    if not settings.chroma_host:
        return ""
    if is_publisher(settings):
        line = (f"索引の共有: このマシンで作成し、Chroma サーバー（{server_label(settings)}）に"
                "公開しています")
    else:
        line = (f"索引: Chroma サーバー（{server_label(settings)}）から取得（このマシンのファイルは"
                "その写し）")
    return line + signing_status(settings)


def signing_status(settings: Settings) -> str:
    """The signing state for the status line (a warning when unsigned)."""
    try:
        key = signing_key(settings)
    except ConfigError as exc:
        return f"。注意: {exc}"
    if key:
        return "。署名鍵で署名を確かめています"
    return ("。注意: 署名鍵が設定されていないため、共有の索引が索引を作るマシンのものか確かめていません"
            "（TSUNAGARI_SHARED_SIGNING_KEY_FILE）")


def drift_notice(settings: Settings, result: SyncResult) -> str:
    """Where ingest runs: a Japanese warning when Chroma serves another version than this data
    dir's (a publish failed, or another machine refreshed), else ""."""
    manifest = read_manifest(settings)
    if result.state != "publisher" or manifest is None:
        return ""
    if result.version == f"{manifest.chunks_sha256}@{manifest.refreshed_at}":
        return ""
    return ("注意: Chroma サーバーで共有している索引は、このマシンの索引と異なります（公開に失敗したか、"
            "別のマシンで更新されました）。`python -m ingest` を実行すると、このマシンの索引を公開します。")
