"""The BM25 index and a chunk snapshot, saved per chunk store checksum and memory-mapped at open.

`bm25/<sha256>/` holds, for the chunk store whose SHA-256 is `<sha256>`: the bm25s index
(bm25s `save`, opened with `load(mmap=True)`), the document frequencies behind `idf` and a
snapshot of the chunks without tokens (a pickle: 100k chunks load in well under a second,
parsing the JSON lines takes ~20 s). Ingest saves it before it swaps the chunk store in.

A reader hashes the chunk store (~0.15 s per 100 MB) and uses the directory of that checksum
only when the manifest records the same checksum (`StoreBytes.certified`): the store was then
committed whole by ingest, and the snapshot was made from exactly those bytes. Anything else
goes through the checked path of store.py (`load_chunks_with_tokens`): a damaged or partial
store is reported as before, never answered from a snapshot. A certified store without a
usable directory (first open of a data dir that never ran ingest, e.g. written from Chroma;
a stale, unreadable or older-format one) is parsed, and its directory is built and saved on
the spot, so the next open is fast again; when saving fails the index stays in memory.

Each directory is written under a temporary name and renamed into place, so a reader sees a
complete directory or none.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import math
import os
import pickle
import secrets
import shutil
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsunagari.config import Settings
from tsunagari.indexing.store import (
    check_store_bytes,
    data_paths,
    load_store,
    read_manifest,
    read_store_bytes,
)
from tsunagari.types import Chunk

log = logging.getLogger(__name__)

# Bump when what is saved (or how it is built) changes: older directories are then ignored.
FORMAT = 2
META_FILE = "tsunagari.json"
DF_FILE = "df.npy"
CHUNKS_FILE = "chunks.pickle"
# bm25s cannot index a document without tokens; it stands in for an empty chunk.
EMPTY_DOC = "\u3000"
_TMP_PREFIX = ".tmp-"
_CHUNK_FIELDS = [f.name for f in dataclasses.fields(Chunk)]

Rows = Sequence[tuple[Chunk, Sequence[str]]]


@dataclass(frozen=True)
class Bm25Index:
    """A bm25s index over the chunk store (document i = chunk i) and each token's idf."""

    bm25: object  # bm25s.BM25
    idf: dict[str, float]
    fingerprint: str  # SHA-256 of the chunk store it indexes ("" when unknown)
    source: str  # "saved": memory-mapped from disk; "built": built from tokens in memory


@dataclass(frozen=True)
class OpenedStore:
    """The chunks of the current chunk store and their BM25 index."""

    chunks: list[Chunk]
    index: Bm25Index


def open_store(settings: Settings) -> OpenedStore:
    """The chunks and BM25 index of the chunk store of `settings` (see the module docstring).

    Raises IndexMissingError / IndexDamagedError like `load_chunks_with_tokens`.
    """
    paths = data_paths(settings)
    # Reading and hashing the store (I/O and hashlib release the GIL) runs while the snapshot
    # the manifest names is loaded: ~0.3 s less at 100k chunks. The guess is used only when
    # the hash then matches it, exactly as if it had been loaded after hashing.
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(read_store_bytes, paths["chunks"])
        guess = read_manifest(settings)
        guessed = guess.chunks_sha256 if guess is not None else ""
        early = load(paths["bm25"], guessed, quiet=True) if guessed else None
        store = reading.result()
    if store is not None and store.certified:
        saved = early if early is not None and guessed == store.sha256 \
            else load(paths["bm25"], store.sha256)  # (logs why there is none)
        if saved is not None:
            return saved
        rows, health = check_store_bytes(store.data, store.manifest, store.sha256)
        if health.ok:
            try:
                save(paths["bm25"], store.sha256, rows,
                     replace=index_dir(paths["bm25"], store.sha256).exists())
                saved = load(paths["bm25"], store.sha256)
            except OSError as exc:  # e.g. a read-only data dir: answer from memory
                log.warning("could not save the BM25 index in %s: %s", paths["bm25"], exc)
            return saved or OpenedStore([c for c, _ in rows],
                                        build([t for _, t in rows], store.sha256))
    rows, sha = load_store(paths["chunks"])  # the checked path: raises when damaged
    return OpenedStore([c for c, _ in rows], build([t for _, t in rows], sha))


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def build(token_lists: Sequence[Sequence[str]], fingerprint: str = "") -> Bm25Index:
    """Build the index in memory from each chunk's tokens (in chunk store order)."""
    bm25, df = _build(token_lists)
    n = max(len(token_lists), 1)
    return Bm25Index(bm25, {t: _idf(f, n) for t, f in df.items()}, fingerprint, "built")


def _build(token_lists: Sequence[Sequence[str]]) -> tuple[object, Counter]:
    import bm25s  # imported here: scipy/numba start-up is not needed for --help

    bm25 = bm25s.BM25()
    bm25.index([list(tokens) or [EMPTY_DOC] for tokens in token_lists], show_progress=False)
    return bm25, Counter(t for tokens in token_lists for t in set(tokens))


def index_dir(root: Path, fingerprint: str) -> Path:
    """Where the index of the chunk store with this SHA-256 is saved."""
    return Path(root) / fingerprint


def save(root: Path, fingerprint: str, rows: Rows, replace: bool = False) -> Path:
    """Build and save the index and chunk snapshot of a chunk store's (chunk, tokens) rows;
    a no-op when they are already saved, unless `replace` (a saved one proved unreadable)."""
    target = index_dir(root, fingerprint)
    if not replace and _read_meta(target, fingerprint) is not None:
        return target
    token_lists = [tokens for _, tokens in rows]
    bm25, df = _build(token_lists)
    Path(root).mkdir(parents=True, exist_ok=True)
    # Unique per writer: readers of several sessions may save the same store at once.
    tmp = Path(root) / f"{_TMP_PREFIX}{fingerprint[:16]}-{os.getpid()}-{secrets.token_hex(4)}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        bm25.save(tmp, show_progress=False)
        counts = np.zeros(len(bm25.vocab_dict), dtype=np.int64)
        for token, i in bm25.vocab_dict.items():
            counts[i] = df.get(token, 0)
        np.save(tmp / DF_FILE, counts)
        # pickle: the fastest way back to 100k Chunk objects; the file is written by this
        # package into the data dir, which is trusted like the Chroma store next to it.
        with open(tmp / CHUNKS_FILE, "wb") as f:
            pickle.dump(_shared([c for c, _ in rows]), f, protocol=pickle.HIGHEST_PROTOCOL)
        meta = {"format": FORMAT, "fingerprint": fingerprint, "documents": len(token_lists),
                "chunk_fields": _CHUNK_FIELDS}
        (tmp / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        _fsync_dir_files(tmp)
        if not replace and _read_meta(target, fingerprint) is not None:  # saved meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
            return target
        shutil.rmtree(target, ignore_errors=True)  # an unreadable leftover of the same store
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if _read_meta(target, fingerprint) is not None:  # another process won the rename
            return target
        raise
    _fsync(root)
    return target


def _shared(chunks: list[Chunk]) -> list[Chunk]:
    """The chunks with equal field values as one object each (titles, ids, empty fields…):
    pickle then stores each once, and loading 100k chunks takes about half the time."""
    seen: dict = {}
    shared = [{k: v if k == "text" else seen.setdefault((type(v), v), v)
               for k, v in dataclasses.asdict(c).items()} for c in chunks]
    return [dataclasses.replace(c, **fields) for c, fields in zip(chunks, shared)]


def load(root: Path, fingerprint: str, quiet: bool = False) -> OpenedStore | None:
    """The saved chunks and memory-mapped index of exactly this chunk store; None (logged
    unless `quiet`) when there are none or they are unreadable."""
    import bm25s  # imported here: scipy/numba start-up is not needed for --help

    directory = index_dir(root, fingerprint)
    meta = _read_meta(directory, fingerprint)
    if meta is None:
        if quiet:
            return None
        why = "stale (saved for another chunk store)" if _saved(root) else "missing"
        log.warning("BM25 index %s in %s: building it from the chunk store", why, root)
        return None
    try:
        bm25 = bm25s.BM25.load(directory, mmap=True, show_progress=False)
        counts = np.load(directory / DF_FILE, mmap_mode="r")
        with open(directory / CHUNKS_FILE, "rb") as f:
            chunks = _unpickle(f)
        n_docs = meta["documents"]
        if (len(counts) != len(bm25.vocab_dict) or bm25.scores["num_docs"] != n_docs
                or not isinstance(chunks, list) or len(chunks) != n_docs):
            raise ValueError("the saved files do not match each other")
    except (OSError, ValueError, KeyError, EOFError, AttributeError, TypeError,
            pickle.UnpicklingError) as exc:
        log.warning("BM25 index in %s is unreadable (%s): building it from the chunk store",
                    directory, exc)
        return None
    n = max(int(n_docs), 1)
    df = counts.tolist()
    idf = {t: _idf(df[i], n) for t, i in bm25.vocab_dict.items() if df[i] > 0}
    return OpenedStore(chunks, Bm25Index(bm25, idf, fingerprint, "saved"))


def _unpickle(f) -> object:
    """pickle.load without cyclic garbage collection meanwhile: 100k new chunks trigger
    collections that find nothing (measured 0.38 -> 0.31 s at 100k chunks)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(f)
    finally:
        if enabled:
            gc.enable()


def keep_only(root: Path, fingerprints: Sequence[str]) -> None:
    """Delete saved indexes (and leftovers of killed runs) other than `fingerprints`.

    Best effort: a reader may still have an old index memory-mapped (POSIX keeps its data
    until it is closed; elsewhere the delete fails and is retried at the next commit).
    """
    if not Path(root).is_dir():
        return
    for path in Path(root).iterdir():
        if path.name not in fingerprints:
            shutil.rmtree(path, ignore_errors=True)


def _saved(root: Path) -> list[Path]:
    if not Path(root).is_dir():
        return []
    return [p for p in Path(root).iterdir()
            if p.is_dir() and not p.name.startswith(_TMP_PREFIX)]


def _read_meta(directory: Path, fingerprint: str) -> dict | None:
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(meta, dict) or meta.get("format") != FORMAT
            or meta.get("fingerprint") != fingerprint
            or meta.get("chunk_fields") != _CHUNK_FIELDS):
        return None
    return meta


def _fsync_dir_files(directory: Path) -> None:
    for path in directory.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    _fsync(directory)


def _fsync(directory: Path) -> None:
    try:  # make renames durable; not possible on every platform
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
