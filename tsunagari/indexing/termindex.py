"""Which terms occur in the corpus: character-bigram postings over each chunk's compacted text.

`TermIndex.contains(term)` answers "does the compacted term occur in the compacted text of some
chunk" (compacted: NFKC, all whitespace removed; a chunk's text is its `index_text()`, its
source report and its footnotes, as `chunk_terms_text` joins them). A term of one character is
looked up in the set of characters, one of two in the set of bigrams; a longer term takes the
chunks holding all of its bigrams (rarest first) and verifies the substring in their texts.

The index of a chunk store is saved in `data_dir/derived/terms-<SHA-256 of chunks.jsonl>/`:
the compacted texts in one UTF-8 file (chunks separated by a newline, which no compacted text
holds, so a match never spans two chunks), and numpy arrays (byte offsets of the texts, sorted
bigram keys, CSR postings of chunk numbers, the characters). Texts and postings are
memory-mapped, so opening reads only the small arrays. Ingest builds it right after committing
the chunk store; a reader that finds it missing, stale or damaged builds it from the chunks it
holds (and saves it when it can). A directory is written under a temporary name and renamed
into place, so a reader sees a whole index or none.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
import time
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from tsunagari.config import Settings
from tsunagari.indexing.store import data_paths, read_manifest
from tsunagari.japanese import normalize
from tsunagari.types import Chunk

log = logging.getLogger(__name__)

# Bump when what is saved (or how it is built) changes: older directories are then rebuilt.
FORMAT = 1
PREFIX = "terms-"
_TMP_PREFIX = ".tmp-terms-"
_TMP_MAX_AGE_S = 3600  # a temporary directory this old is a leftover of a killed run
META_FILE = "meta.json"
TEXTS_FILE = "texts.utf8"
# Small arrays are read whole and checksummed at open; postings are memory-mapped.
_SMALL = ("starts", "keys", "ptr", "chars")
_DTYPES = {"starts": np.int64, "keys": np.uint64, "ptr": np.int64, "chars": np.uint32,
           "postings": np.uint32}
_BATCH = 8192  # chunks per build step (bounds the build's memory)
_GAP = 4  # candidate chunks this close are verified with one search over the span
_SEP = 0x0A  # "\n" between chunk texts
_DOC_BITS = np.uint64(22)  # chunk number within a batch (< 2**22) under a 42-bit bigram key
_DOC_MASK = np.uint64((1 << 22) - 1)


class _CharNFKC(dict):
    """Code point → NFKC of that character alone (a `str.translate` table, filled as needed)."""

    def __missing__(self, cp: int) -> str:
        value = self[cp] = normalize(chr(cp))
        return value


_NFKC_OF = _CharNFKC()


def compact(text: str) -> str:
    """NFKC with every whitespace removed: the form in which terms are compared.

    Each character is mapped to its own NFKC; when the result is NFKC-normalized it equals
    NFKC(text) (both have the NFKD of `text`, and a normalized string is its own NFKC), else
    the whole text is normalized: the same as `normalize`, 2.5x faster on report text.
    `str.split()` splits at the characters `\\s` matches.

    >>> compact("ＰＦ 推進\\n会議")
    'PF推進会議'
    """
    mapped = text.translate(_NFKC_OF)
    if not unicodedata.is_normalized("NFKC", mapped):
        mapped = normalize(text)
    return "".join(mapped.split())


def chunk_terms_text(chunk: Chunk) -> str:
    """The compacted text of a chunk in which its terms are looked up."""
    return compact("\n".join([chunk.index_text(), chunk.source_report, " ".join(chunk.footnotes)]))


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2's hash-based np.unique is ~100x slower on these arrays)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _runs(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Runs of equal values in `sorted_keys`: their numbers in `keys`, first index, length."""
    first = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) \
        if len(sorted_keys) else np.zeros(0, np.int64)
    lengths = np.diff(np.r_[first, len(sorted_keys)])
    return np.searchsorted(keys, sorted_keys[first]), first, lengths


def _bigram_keys(cps: np.ndarray) -> np.ndarray:
    return (cps[:-1].astype(np.uint64) << np.uint64(21)) | cps[1:].astype(np.uint64)


class TermIndex:
    """Substring look-ups over the compacted texts of a list of chunks (see the module doc)."""

    def __init__(self, texts: bytes | mmap.mmap, arrays: dict[str, np.ndarray],
                 source: str = "built") -> None:
        self._texts = texts
        self.starts = arrays["starts"]
        self.keys = arrays["keys"]
        self.ptr = arrays["ptr"]
        self.postings = arrays["postings"]
        self.chars = arrays["chars"]
        self.chunks = len(self.starts) - 1
        self.source = source  # "built" (in memory) or "saved" (memory-mapped)

    @classmethod
    def from_chunks(cls, chunks: Iterable[Chunk]) -> TermIndex:
        """An index built in memory (unit tests, callers without a data dir)."""
        return cls.from_texts([chunk_terms_text(c) for c in chunks])

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> TermIndex:
        """An index of already compacted texts (one per chunk)."""
        data = "".join(t + "\n" for t in texts).encode("utf-8")
        starts = np.zeros(len(texts) + 1, dtype=np.int64)
        starts[1:] = np.cumsum([len(t.encode("utf-8")) + 1 for t in texts], dtype=np.int64)
        # Per batch of chunks: its (bigram key, chunk) pairs, sorted, as key << 22 | chunk.
        batches: list[np.ndarray] = []
        chars = np.zeros(0, dtype=np.uint32)
        for b0 in range(0, len(texts), _BATCH):
            cps = _codepoints("\n".join(texts[b0:b0 + _BATCH]))
            sep = cps == _SEP
            chars = _sorted_unique(np.concatenate([chars, cps[~sep]]))
            doc = np.cumsum(sep, dtype=np.uint64)  # chunk number within the batch
            inside = ~(sep[:-1] | sep[1:])
            batches.append(_sorted_unique((_bigram_keys(cps)[inside] << _DOC_BITS)
                                          | doc[:-1][inside]))
        keys = _sorted_unique(np.concatenate(
            [_sorted_unique(b >> _DOC_BITS) for b in batches] or [np.zeros(0, np.uint64)]))
        # CSR without sorting all pairs at once: count per key, then fill batch by batch
        # (batches are in chunk order, so every posting list comes out sorted).
        runs = [_runs(b >> _DOC_BITS, keys) for b in batches]
        ptr = np.zeros(len(keys) + 1, dtype=np.int64)
        for ids, first, lengths in runs:
            ptr[1:][ids] += lengths
        np.cumsum(ptr, out=ptr)
        postings = np.empty(int(ptr[-1]), dtype=np.uint32)
        write = ptr[:-1].copy()
        for n, (b, (ids, first, lengths)) in enumerate(zip(batches, runs)):
            where = np.repeat(write[ids] - first, lengths) + np.arange(len(b))
            postings[where] = (b & _DOC_MASK) + np.uint64(n * _BATCH)
            write[ids] += lengths
            batches[n] = b[:0]  # free the pairs as soon as they are placed
        arrays = {"starts": starts, "keys": keys, "ptr": ptr, "postings": postings,
                  "chars": chars}
        return cls(data, arrays)

    def contains(self, term: str) -> bool:
        """Whether the compacted term occurs in the compacted text of some chunk."""
        t = compact(term)
        if not t:
            return True
        cps = _codepoints(t)
        if len(cps) == 1:
            i = int(np.searchsorted(self.chars, cps[0]))
            return i < len(self.chars) and int(self.chars[i]) == int(cps[0])
        wanted = _sorted_unique(_bigram_keys(cps))
        idx = np.searchsorted(self.keys, wanted)
        if np.any(idx >= len(self.keys)) or np.any(self.keys[np.minimum(idx, len(self.keys) - 1)]
                                                   != wanted):
            return False  # a bigram of the term occurs nowhere
        if len(cps) == 2:
            return True
        lo, hi = self.ptr[idx], self.ptr[idx + 1]
        cand: np.ndarray | None = None
        for j in np.argsort(hi - lo, kind="stable"):  # rarest bigram first
            plist = self.postings[int(lo[j]):int(hi[j])]
            if cand is None:
                cand = np.asarray(plist)
            else:
                pos = np.minimum(np.searchsorted(plist, cand), len(plist) - 1)
                cand = cand[plist[pos] == cand]
            if len(cand) == 0:
                return False
        assert cand is not None
        return self._verify(t.encode("utf-8"), cand[cand < self.chunks])

    def _verify(self, needle: bytes, cand: np.ndarray) -> bool:
        """Whether `needle` occurs in one of the candidate chunks (UTF-8 byte search; separators
        keep a match inside one chunk, so nearby candidates are searched as one span)."""
        if len(cand) == 0:
            return False
        breaks = np.flatnonzero(np.diff(cand) > _GAP)
        firsts = np.r_[cand[0], cand[breaks + 1]]
        lasts = np.r_[cand[breaks], cand[-1]]
        begin = self.starts[firsts]
        end = self.starts[lasts + 1]
        texts = self._texts
        return any(texts.find(needle, int(b), int(e)) != -1 for b, e in zip(begin, end))

    # --- on disk ---------------------------------------------------------------------------

    def save(self, directory: Path, sha256: str) -> None:
        """Write the index into `directory` (which must not exist yet)."""
        directory.mkdir(parents=True)
        sums = {}
        with open(directory / TEXTS_FILE, "wb") as f:
            f.write(self._texts)
        for name in (*_SMALL, "postings"):
            array = np.ascontiguousarray(getattr(self, name), dtype=_DTYPES[name])
            np.save(directory / f"{name}.npy", array)
            if name in _SMALL:
                sums[name] = zlib.crc32((directory / f"{name}.npy").read_bytes())
        sizes = {p.name: p.stat().st_size for p in directory.iterdir()}
        meta = {"format": FORMAT, "sha256": sha256, "chunks": self.chunks, "sizes": sizes,
                "crc32": sums}
        (directory / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        for p in directory.iterdir():
            with open(p, "rb") as f:
                os.fsync(f.fileno())

    @classmethod
    def load(cls, directory: Path, sha256: str, chunks: int) -> TermIndex | None:
        """The saved index of exactly this chunk store, memory-mapped; None (logged) when it is
        missing, of another store or format, or damaged (sizes, checksums, structure)."""
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("term index %s unreadable (%s): rebuilding it", directory, exc)
            return None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT \
                or meta.get("sha256") != sha256 or meta.get("chunks") != chunks:
            log.info("term index %s is of another chunk store or format: rebuilding it", directory)
            return None
        try:
            return cls._load_checked(directory, meta)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("term index %s is damaged (%s): rebuilding it", directory, exc)
            return None

    @classmethod
    def _load_checked(cls, directory: Path, meta: dict) -> TermIndex:
        for name, size in meta["sizes"].items():
            if (directory / name).stat().st_size != size:
                raise ValueError(f"{name} has the wrong size")
        arrays: dict[str, np.ndarray] = {}
        for name in _SMALL:
            raw = (directory / f"{name}.npy").read_bytes()
            if zlib.crc32(raw) != meta["crc32"][name]:
                raise ValueError(f"{name} checksum differs")
            arrays[name] = np.load(directory / f"{name}.npy", allow_pickle=False)
        arrays["postings"] = np.load(directory / "postings.npy", mmap_mode="r",
                                     allow_pickle=False)
        for name, dtype in _DTYPES.items():
            if arrays[name].dtype != dtype or arrays[name].ndim != 1:
                raise ValueError(f"{name} has the wrong type")
        starts, ptr, keys = arrays["starts"], arrays["ptr"], arrays["keys"]
        size = meta["sizes"][TEXTS_FILE]
        if len(starts) != meta["chunks"] + 1 or starts[0] != 0 or starts[-1] != size \
                or np.any(np.diff(starts) < 1) or len(ptr) != len(keys) + 1 or ptr[0] != 0 \
                or ptr[-1] != len(arrays["postings"]) or np.any(np.diff(ptr) < 1) \
                or np.any(keys[1:] <= keys[:-1]):
            raise ValueError("inconsistent arrays")
        texts: bytes | mmap.mmap = b""
        if size:
            with open(directory / TEXTS_FILE, "rb") as f:
                texts = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return cls(texts, arrays, "saved")


def derived_dir(settings: Settings) -> Path:
    return data_paths(settings)["derived"]


def save_index(root: Path, sha256: str, index: TermIndex) -> Path:
    """Save `index` as `root/terms-<sha256>` (tmp dir + rename; kept if already there)."""
    target = root / f"{PREFIX}{sha256}"
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"{_TMP_PREFIX}{sha256[:16]}-{os.getpid()}-{time.monotonic_ns()}"
    try:
        index.save(tmp, sha256)
        if target.exists():  # damaged or stale (a whole one is never rebuilt): replace it
            shutil.rmtree(target, ignore_errors=True)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def keep_only(root: Path, sha256s: Iterable[str]) -> None:
    """Delete term indexes of other chunk stores, and leftovers of killed runs."""
    keep = {f"{PREFIX}{s}" for s in sha256s if s}
    if not root.is_dir():
        return
    now = time.time()
    for path in root.iterdir():
        stale_tmp = path.name.startswith(_TMP_PREFIX) and now - path.stat().st_mtime > \
            _TMP_MAX_AGE_S
        if (path.name.startswith(PREFIX) and path.name not in keep) or stale_tmp:
            shutil.rmtree(path, ignore_errors=True)


def build_for_store(settings: Settings, sha256: str, chunks: Sequence[Chunk]) -> TermIndex:
    """Build and save the index of the chunk store `sha256` (at ingest, right after the commit;
    kept when a whole one is saved already).

    Indexes of stores the manifest no longer accepts are removed. A failure to save is logged,
    not raised: the chunk store is committed already, and a reader builds a missing index."""
    root = derived_dir(settings)
    saved = TermIndex.load(root / f"{PREFIX}{sha256}", sha256, len(chunks))
    index = saved or TermIndex.from_chunks(chunks)
    try:
        if saved is None:
            save_index(root, sha256, index)
        manifest = read_manifest(settings)
        keep_only(root, [sha256, *(manifest.accepted_sha256() if manifest else ())])
    except OSError as exc:
        log.warning("term index not saved in %s (%s)", root, exc)
    return index


def open_index(settings: Settings, sha256: str, chunks: Sequence[Chunk]) -> TermIndex:
    """The term index of `chunks`, read from the chunk store with checksum `sha256`.

    Memory-maps the saved index; builds (and saves) it when it is missing, stale or damaged.
    Without a checksum (chunks not from a chunk store) it is built in memory only.
    """
    if not sha256:
        return TermIndex.from_chunks(chunks)
    root = derived_dir(settings)
    saved = TermIndex.load(root / f"{PREFIX}{sha256}", sha256, len(chunks))
    if saved is not None:
        return saved
    start = time.perf_counter()
    built = build_for_store(settings, sha256, chunks)
    log.info("term index of %d chunks built in %.1f s", len(chunks), time.perf_counter() - start)
    # Memory-mapped rather than held in memory, when it could be saved.
    return TermIndex.load(root / f"{PREFIX}{sha256}", sha256, len(chunks)) or built
