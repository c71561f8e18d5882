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
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Literal

from tsunagari.config import Settings
from tsunagari.errors import ConfigError, IndexDamagedError, IndexMissingError
from tsunagari.indexing.store import (
    Manifest,
    StoreHealth,
    atomic_write,
    data_paths,
    manifest_from_dict,
    read_manifest,
    write_store,
)
from tsunagari.indexing.vectors import chroma_client

log = logging.getLogger(__name__)

MANIFEST_ID = "manifest"
DUMMY_EMBEDDING = [0.0]
FETCH_PARTS = 8  # parts per `get` when syncing (8 × 200 rows ≈ 4 MB per response)
SYNC_ATTEMPTS = 3


@dataclass(frozen=True)
class SharedVersion:
    """The index version published in Chroma: the manifest plus its ordered part ids."""

    manifest: Manifest
    parts: tuple[str, ...]
    previous_parts: tuple[str, ...] = ()

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

    @property
    def changed(self) -> bool:
        return self.state in ("synced", "manifest")


def server_label(settings: Settings) -> str:
    return f"{settings.chroma_host}:{settings.chroma_port}"


def _unreachable(settings: Settings, exc: Exception) -> ConfigError:
    return ConfigError(
        f"Chroma サーバー（{server_label(settings)}）との通信に失敗しました（{type(exc).__name__}）。"
        "サーバーが起動しているか、CHROMA_HOST / CHROMA_PORT を確認してください。"
        "このマシンの索引のファイルは変更していません。"
    )


def store_collection(settings: Settings, client=None):
    """The shared collection, created without an embedding function (never a model download)."""
    client = client or chroma_client(settings)
    try:
        return client.get_or_create_collection(settings.shared_collection,
                                               embedding_function=None)
    except ConfigError:
        raise
    except Exception as exc:  # chromadb raises many transport/HTTP error types
        raise _unreachable(settings, exc) from exc


def split_parts(text: str, rows: int) -> list[str]:
    """The store's text in parts of at most `rows` lines; joined back they are `text` exactly.

    >>> split_parts("a\\nb\\nc\\n", 2)
    ['a\\nb\\n', 'c\\n']
    >>> "".join(split_parts("a\\nb", 1)) == "a\\nb"
    True
    """
    lines = text.splitlines(keepends=True)
    return ["".join(lines[i:i + rows]) for i in range(0, len(lines), rows)]


def part_id(part: str) -> str:
    return "part-" + hashlib.sha256(part.encode("utf-8")).hexdigest()


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
    return SharedVersion(manifest, tuple(map(str, parts)), tuple(map(str, previous)))


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


def _add_part(collection, pid: str, part: str) -> None:
    collection.add(ids=[pid], documents=[part], embeddings=[DUMMY_EMBEDDING],
                   metadatas=[{"kind": "part", "rows": part.count("\n")}])


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
    paths = data_paths(settings)
    manifest = read_manifest(settings)
    try:
        data = paths["chunks"].read_bytes()
    except OSError as exc:
        raise IndexMissingError("公開する索引がありません。`python -m ingest` を実行してください。") \
            from exc
    if manifest is None or hashlib.sha256(data).hexdigest() != manifest.chunks_sha256:
        raise IndexDamagedError("索引のファイルが manifest.json の記録と一致しないため、Chroma サーバーへ"
                                "公開しませんでした。`python -m ingest` を実行してください。")
    parts = split_parts(data.decode("utf-8"), settings.shared_part_rows)
    ids = [part_id(p) for p in parts]
    collection = store_collection(settings, client)
    try:
        return _publish(collection, manifest, parts, ids)
    except (IndexDamagedError, IndexMissingError):
        raise
    except Exception as exc:
        raise _unreachable(settings, exc) from exc


def _publish(collection, manifest: Manifest, parts: list[str], ids: list[str]) -> PublishStats:
    current = shared_version_of(collection)
    record = {"manifest": json.loads(manifest.to_json()), "parts": ids}
    if current is not None and list(current.parts) == ids and current.manifest == manifest:
        return PublishStats(len(ids))
    existing = _existing_ids(collection, list(dict.fromkeys(ids)))
    uploaded = 0
    for pid, part in zip(ids, parts):
        if pid not in existing:
            _add_part(collection, pid, part)
            existing.add(pid)
            uploaded += 1
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
    return PublishStats(len(ids), uploaded, len(stale), True)


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


def _local_sha(settings: Settings, read_file: bool) -> str:
    """The local store's checksum: of the file itself, or as the manifest records it."""
    if read_file:
        try:
            return hashlib.sha256(data_paths(settings)["chunks"].read_bytes()).hexdigest()
        except OSError:
            return ""
    manifest = read_manifest(settings)
    return manifest.chunks_sha256 if manifest else ""


def _fetch_text(collection, version: SharedVersion) -> str | None:
    """The store's text reassembled from its parts; None when a part is gone (republished)."""
    texts: dict[str, str] = {}
    unique = list(dict.fromkeys(version.parts))
    for i in range(0, len(unique), FETCH_PARTS):
        got = collection.get(ids=unique[i:i + FETCH_PARTS], include=["documents"])
        texts.update(zip(got["ids"], got["documents"]))
    if any(p not in texts for p in unique):
        return None
    return "".join(texts[p] for p in version.parts)


def sync(settings: Settings, read_file: bool = True, client=None) -> SyncResult:
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
            local = read_manifest(settings)
            if _local_sha(settings, read_file) == version.sha256:
                if local is not None and _same(local, version.manifest):
                    return SyncResult("current", version.key)
                atomic_write(data_paths(settings)["manifest"],
                             replace(version.manifest, also_sha256="").to_json())
                return SyncResult("manifest", version.key)
            text = _fetch_text(collection, version)
            if text is None or hashlib.sha256(text.encode("utf-8")).hexdigest() != version.sha256:
                log.warning("shared store incomplete or changed while reading; retrying")
                time.sleep(0.2)
                continue
            _install(settings, text, version.manifest)
            return SyncResult("synced", version.key)
    except (IndexDamagedError, OSError):
        raise
    except Exception as exc:
        raise _unreachable(settings, exc) from exc
    raise IndexDamagedError(
        f"Chroma サーバー（{server_label(settings)}）の索引が記録（チェックサム）と一致しないため、"
        "使いませんでした。このマシンの索引のファイルは変更していません。索引を作るマシンで "
        "`python -m ingest` をもう一度実行してください。"
    )


def _same(local: Manifest, shared: Manifest) -> bool:
    """The same version: `also_sha256` is local (the store a reader may still be reading)."""
    return replace(local, also_sha256="") == replace(shared, also_sha256="")


def _install(settings: Settings, text: str, manifest: Manifest) -> None:
    """Write the shared store into the local data dir the crash-safe way ingest does: a reader
    of the previous local store (if it was whole) still finds it accepted."""
    data_paths(settings)["dir"].mkdir(parents=True, exist_ok=True)
    previous = _local_sha(settings, True)
    local = read_manifest(settings)
    whole = bool(previous) and local is not None and previous in local.accepted_sha256()
    write_store(settings, text, manifest, StoreHealth("ok", sha256=previous) if whole else None)


_CHECKED: dict[tuple[str, str], float] = {}
_CHECK_LOCK = threading.Lock()


def refresh_if_changed(settings: Settings, force: bool = False) -> bool:
    """Throttled check (every `replica_check_seconds`) for a refresh published in Chroma; syncs
    the local data dir when there is one. True when the local index changed.

    Errors (server briefly unreachable) are logged and the current index is kept.
    """
    if not settings.chroma_host:
        return False
    key = (str(settings.data_dir), server_label(settings))
    now = time.monotonic()
    with _CHECK_LOCK:
        last = _CHECKED.get(key)
        if not force and last is not None and now - last < settings.replica_check_seconds:
            return False
        _CHECKED[key] = now
    try:
        return sync(settings, read_file=False).changed
    except (ConfigError, IndexDamagedError) as exc:
        log.warning("replica check failed: %s", exc)
        return False


def origin_line(settings: Settings) -> str:
    """A Japanese status line on where the index comes from ("" in embedded mode)."""
    if not settings.chroma_host:
        return ""
    if is_publisher(settings):
        return (f"索引の共有: このマシンで作成し、Chroma サーバー（{server_label(settings)}）に"
                "公開しています")
    return f"索引: Chroma サーバー（{server_label(settings)}）から取得（このマシンのファイルはその写し）"
