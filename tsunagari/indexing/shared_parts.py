"""The shared chunk store's parts: the store's text cut into content-addressed parts and
how each is stored in Chroma.

A part is stored zlib-compressed and hex-encoded: Chroma full-text-indexes every document
(trigrams), and with raw Japanese text each upload got slower as the collection grew (0.05 s →
0.57 s per 58 KB part after 60 parts); hex keeps the trigram set tiny and uploads flat (~0.03 s
per 200-row part).
"""

from __future__ import annotations

import zlib

from tsunagari.indexing.store import Manifest, sha256_text


def split_parts(text: str, rows: int, doc_rows: list[int] | None = None) -> list[str]:
    """The store's text in parts of at most `rows` lines, never spanning two reports when
    `doc_rows` (lines per report, in store order: the manifest's documents) fits the text; so a
    changed report changes only its own parts. Joined back, the parts are `text` exactly.

    >>> split_parts("a\\nb\\nc\\n", 2)
    ['a\\nb\\n', 'c\\n']
    >>> split_parts("a\\nb\\nc\\n", 2, [1, 2])
    ['a\\n', 'b\\nc\\n']
    >>> split_parts("a\\nb\\nc\\nd\\n", 2, [3, 1])
    ['a\\nb\\n', 'c\\n', 'd\\n']
    >>> "".join(split_parts("a\\u2028b\\nc", 1)) == "a\\u2028b\\nc"
    True
    >>> split_parts("a\\u2028b\\nc", 1)
    ['a\\u2028b\\n', 'c']
    """
    # Only "\n" ends a row (str.splitlines would also split at U+2028 inside a chunk's text).
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    if not doc_rows or sum(doc_rows) != len(lines) or min(doc_rows) < 0:
        doc_rows = [len(lines)]
    parts, start = [], 0
    for n in doc_rows:
        end = start + n
        parts += ["".join(lines[i:min(i + rows, end)]) for i in range(start, end, rows)]
        start = end
    return parts


def manifest_rows(manifest: Manifest | None) -> list[int]:
    """Lines per report in store order, from the manifest ([] when it does not say)."""
    counts = [d.get("chunks") for d in (manifest.documents if manifest else [])]
    return counts if all(isinstance(c, int) for c in counts) else []


def part_id(part: str) -> str:
    return "part-" + sha256_text(part)


def encode_part(part: str) -> str:
    """A part as stored in Chroma (see the module docstring).

    >>> decode_part(encode_part("見守り\\n")) == "見守り\\n"
    True
    """
    return zlib.compress(part.encode("utf-8"), 6).hex()


def decode_part(document: str | None) -> str | None:
    """A stored part's text, None when it is not one (checked again by the store's SHA-256)."""
    try:
        return zlib.decompress(bytes.fromhex(document or "")).decode("utf-8")
    except (ValueError, zlib.error):  # UnicodeDecodeError is a ValueError
        return None


def upload_batches(missing: list[tuple[str, str]], rows: int) -> list[list[tuple[str, str]]]:
    """Missing parts grouped into requests of about `rows` rows (one report's small part each
    would make one request per report).

    >>> [len(b) for b in upload_batches([("a", "x\\n"), ("b", "y\\n"), ("c", "z\\nw\\n")], 2)]
    [2, 1]
    """
    batches: list[list[tuple[str, str]]] = []
    size = 0
    for pid, part in missing:
        n = part.count("\n") or 1
        if not batches or size + n > rows:
            batches.append([])
            size = 0
        batches[-1].append((pid, part))
        size += n
    return batches
