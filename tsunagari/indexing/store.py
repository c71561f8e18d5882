"""The chunk store and manifest in data_dir: every on-disk path, atomic writes, reading back.

The chunk store is checked whenever it is read: every line must be a chunk, and its SHA-256 must
be one the manifest accepts (`Manifest.accepted_sha256`), so a partial copy is caught even when it
ends on a line boundary. Manifests written before the checksum was recorded are checked by their
line count (`chunks`) instead.

A store whose SHA-256 the manifest records was committed whole by ingest (`StoreBytes.certified`):
hashing it is enough to trust it, which lets a reader use the chunk snapshot saved for that
checksum (see bm25index.py) instead of parsing 100k JSON lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tsunagari.config import Settings
from tsunagari.errors import IndexDamagedError, IndexMissingError
from tsunagari.types import Chunk

CHUNKS_FILE = "chunks.jsonl"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "ingest.lock"
BM25_DIR = "bm25"
# Server mode only: marks the data dir where ingest runs (its store is published to Chroma and is
# never replaced by the shared copy). Its absence makes the data dir a cache of Chroma.
PUBLISHER_FILE = "publisher.json"
REPAIR_HINT = (
    "`python -m ingest` を実行して索引を作り直してください（アプリでは「資料の管理」の「索引を更新」）。"
    "別のマシンからのコピーが途中で終わった場合は、chunks.jsonl と manifest.json の両方をコピーし直しても"
    "かまいません。"
)

Row = tuple[Chunk, list[str]]


@dataclass
class Manifest:
    """Summary of the built index, shown in the app and CLI."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 0  # also the number of lines of chunks.jsonl
    refreshed_at: str = ""
    embedders: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    # SHA-256 of chunks.jsonl as committed ("" in manifests written before it was recorded).
    chunks_sha256: str = ""
    # The other whole chunk store a reader may meet around a commit: the next one while it is
    # being written, the previous one right after (a reader reads the store, then the manifest).
    also_sha256: str = ""

    def accepted_sha256(self) -> frozenset[str]:
        return frozenset(h for h in (self.chunks_sha256, self.also_sha256)
                         if h and isinstance(h, str))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class StoreHealth:
    """Whether the chunk store can be used, and what is wrong with it when it cannot."""

    state: Literal["ok", "missing", "damaged"]
    readable: int = 0  # lines that are chunks
    expected: int | None = None  # lines recorded in the manifest (None: no manifest)
    problem: str = ""  # Japanese: what is wrong
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def summary(self) -> str:
        """「読める行 40 行 / manifest.json の記録 87 行」."""
        recorded = f" / manifest.json の記録 {self.expected} 行" if self.expected else ""
        return f"読める行 {self.readable} 行{recorded}"

    def message(self) -> str:
        """The Japanese message shown by `ask`, `status` and the app."""
        return (f"索引のファイル（{CHUNKS_FILE}）が壊れています：{self.problem}"
                f"（{self.summary()}）。{REPAIR_HINT}")


def data_paths(settings: Settings) -> dict[str, Path]:
    """Every on-disk location, all under `settings.data_dir`."""
    d = Path(settings.data_dir)
    return {
        "dir": d,
        "chunks": d / CHUNKS_FILE,
        "manifest": d / MANIFEST_FILE,
        # Saved BM25 index and chunk snapshot, one directory per chunk store SHA-256 (bm25index.py).
        "bm25": d / BM25_DIR,
        "chroma": d / "chroma",
        "records": d / "records.sqlite",
        "lock": d / LOCK_FILE,
        "publisher": d / PUBLISHER_FILE,
        "cache": d / "cache",
        "derived": d / "derived",  # caches derived from the chunk store (see termindex.py)
    }


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` so a reader sees the old or the new file, never a mix.

    The temporary name is unique per process and thread, so two writers of the same file (two
    replicas syncing one data dir) never write into each other's temporary file.
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
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


def write_store(settings: Settings, text: str, manifest: Manifest,
                previous: StoreHealth | None = None) -> str:
    """Install a whole chunk store (`text`) and its manifest, each replaced atomically; returns
    the store's SHA-256.

    The manifest records the store's checksum. So that a reader (which reads the store, then the
    manifest) never finds a whole store rejected, the current manifest first also accepts the
    new store, and the new manifest still accepts the previous one (`previous`, if it was whole).
    `manifest.chunks_sha256` and `also_sha256` are set here.
    """
    paths = data_paths(settings)
    sha = sha256_text(text)
    before = previous.sha256 if previous is not None and previous.ok else ""
    current = read_manifest(settings)
    if current is not None and sha not in current.accepted_sha256():
        staged = dataclasses.replace(current, chunks_sha256=before or current.chunks_sha256,
                                     also_sha256=sha)
        atomic_write(paths["manifest"], staged.to_json())
    atomic_write(paths["chunks"], text)
    final = dataclasses.replace(manifest, chunks_sha256=sha,
                                also_sha256=before if before != sha else "")
    atomic_write(paths["manifest"], final.to_json())
    return sha


def manifest_stamp(settings: Settings) -> str:
    """The manifest file's mtime (ns) and size: changes with every refresh, even two within the
    same second (`refreshed_at` has 1-second resolution); "" when there is no manifest."""
    try:
        st = data_paths(settings)["manifest"].stat()
    except OSError:
        return ""
    return f"{st.st_mtime_ns}:{st.st_size}"


def manifest_from_dict(data: Any) -> Manifest | None:
    """A manifest from its JSON object (unknown keys ignored), None when it is not one."""
    if not isinstance(data, dict):
        return None
    known = Manifest.__dataclass_fields__.keys()
    try:
        return Manifest(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


def sha256_text(text: str) -> str:
    """The checksum recorded for a chunk store written as `text` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_chunks(path: Path) -> list[Chunk]:
    """Chunks from the chunk store (tokens are dropped)."""
    return [c for c, _ in load_chunks_with_tokens(path)]


def load_chunks_with_tokens(path: Path) -> list[Row]:
    """Chunks with the BM25 tokens stored at ingest time.

    Raises IndexMissingError when there is no index, IndexDamagedError when the store is not
    whole (see `inspect_store`).
    """
    return load_store(path)[0]


def load_store(path: Path) -> tuple[list[Row], str]:
    """`load_chunks_with_tokens`, and the SHA-256 of exactly the bytes the rows came from."""
    rows, health = inspect_store(path)
    if health.state == "missing":
        raise IndexMissingError(
            "索引がまだありません。`python -m ingest` を実行するか、アプリの「索引を作成」を押してください。"
        )
    if not health.ok:
        raise IndexDamagedError(health.message())
    return rows, health.sha256


def store_health(settings: Settings) -> StoreHealth:
    """The health of the chunk store of `settings` (for status displays).

    A store the manifest certifies is whole without parsing it (the same answer as
    `inspect_store`, in a fraction of the time at 100k chunks); any other store is parsed.
    """
    path = data_paths(settings)["chunks"]
    store = read_store_bytes(path)
    if store is not None and store.certified:
        readable = sum(1 for line in store.data.split(b"\n") if line.strip())
        return StoreHealth("ok", readable, store.manifest.chunks, "", store.sha256)
    return inspect_store(path)[1]


@dataclass(frozen=True)
class StoreBytes:
    """The chunk store's bytes as read, their SHA-256, and the manifest read just after them."""

    data: bytes
    sha256: str
    manifest: Manifest | None

    @property
    def certified(self) -> bool:
        """The manifest records this exact store, so ingest committed it whole."""
        return self.manifest is not None and self.sha256 in self.manifest.accepted_sha256()


def read_store_bytes(path: Path) -> StoreBytes | None:
    """The chunk store at `path` as bytes with its checksum; None when it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    manifest = _read_manifest_file(path.with_name(MANIFEST_FILE))
    return StoreBytes(data, hashlib.sha256(data).hexdigest(), manifest)


def _parse_row(raw: bytes) -> Row:
    row = json.loads(raw.decode("utf-8"))
    if not isinstance(row, dict) or not isinstance(row.get("chunk_id"), str):
        raise TypeError("not a chunk")
    tokens = row.pop("tokens", [])
    if not isinstance(tokens, list):
        raise TypeError("tokens are not a list")
    return Chunk.from_dict(row), tokens


def inspect_store(path: Path) -> tuple[list[Row], StoreHealth]:
    """Every readable row of the chunk store at `path`, and whether the store is whole.

    Damaged: a line that is not a chunk (a cut inside a line or a character), no rows, a store
    the manifest next to it does not accept (checksum, or line count for old manifests), or a
    manifest without its store. The store is read before the manifest: see `refresh.commit`.
    """
    path = Path(path)
    manifest_path = path.with_name(MANIFEST_FILE)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        manifest = _read_manifest_file(manifest_path)
        if manifest is None:
            return [], StoreHealth("missing")
        return [], StoreHealth("damaged", 0, manifest.chunks, f"{CHUNKS_FILE} がありません")
    except OSError as exc:
        return [], StoreHealth("damaged", 0, None, f"{CHUNKS_FILE} を読めません（{exc.strerror}）")
    return check_store_bytes(data, _read_manifest_file(manifest_path))


def check_store_bytes(data: bytes, manifest: Manifest | None,
                      sha: str | None = None) -> tuple[list[Row], StoreHealth]:
    """Parse the chunk store's bytes `data` and check them against `manifest` (see
    `inspect_store`); `sha` is their SHA-256 when the caller has it already."""
    expected = manifest.chunks if manifest else None
    sha = sha or hashlib.sha256(data).hexdigest()
    rows: list[Row] = []
    bad: list[int] = []
    raw_lines = data.split(b"\n")
    for line_no, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            rows.append(_parse_row(raw))
        except (ValueError, TypeError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            bad.append(line_no)
    problem = ""
    if bad and bad[0] == len(raw_lines):
        problem = f"最後の行（{bad[0]} 行目）が途中で切れています"
    elif bad:
        problem = f"{bad[0]} 行目を読めません" + (f"（ほか {len(bad) - 1} 行）" if len(bad) > 1 else "")
    elif not rows:
        problem = "中身が空です"
    elif manifest and manifest.accepted_sha256():
        if sha not in manifest.accepted_sha256():
            problem = "内容が manifest.json の記録と一致しません"
    elif manifest and manifest.chunks and manifest.chunks != len(rows):
        problem = "行数が manifest.json の記録と一致しません"
    state = "damaged" if problem else "ok"
    return rows, StoreHealth(state, len(rows), expected, problem, sha)


def _read_manifest_file(path: Path) -> Manifest | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent or unreadable: treated as absent; the next ingest rewrites it
    return manifest_from_dict(data)


def read_manifest(settings: Settings) -> Manifest | None:
    """The manifest of the current index, or None when there is none (or it is unreadable)."""
    return _read_manifest_file(data_paths(settings)["manifest"])
