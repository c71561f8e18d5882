"""Chunking: loaded documents → structure-carrying passages (split only at sentence ends).

Each report is chunked by its profile (`registry.profile_for`): the sidecar may name one
(`profile = "casebook"`); else the first report's layout (`format = "pdf-text"`) goes to the
casebook profile in `casebook/`, and every other report to the general profile in `generic/`.
Both are registered below with `registry.register`, as any later profile would be.
"""

from __future__ import annotations

from tsunagari.chunking import registry
from tsunagari.chunking.casebook.profile import PROFILE as CASEBOOK
from tsunagari.chunking.generic.profile import PROFILE as GENERAL
from tsunagari.japanese import Splitter, split_sentences
from tsunagari.types import Chunk, Document

# Bump when chunking changes, so cached chunks (data_dir/cache) are rebuilt.
CHUNKER_VERSION = "3"

for _profile in (CASEBOOK, GENERAL):
    registry.register(_profile, replace=True)


def cases_of(chunks: list[Chunk]) -> tuple[str, ...]:
    """The cases a report's chunks carry, in order: each body with a case, each interview
    column (「コラム1（A市）」)."""
    out: dict[str, None] = {}
    for c in chunks:
        if c.case and c.municipality:
            out.setdefault(c.municipality, None)
        elif c.column:
            out.setdefault(f"{c.column}（{c.column_city}）" if c.column_city else c.column, None)
    return tuple(out)


def chunk_document(
    doc: Document, size: int = 400, splitter: Splitter = split_sentences
) -> list[Chunk]:
    """Turn a document into chunks with the profile that fits it (InputError, in Japanese,
    when the sidecar names a profile nobody registered)."""
    return registry.profile_for(doc).chunk(doc, size, splitter)
