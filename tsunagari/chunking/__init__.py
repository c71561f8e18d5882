"""Chunking: loaded documents → structure-carrying passages (split only at sentence ends).

The first report (format "pdf-text") has its own profile in `casebook/`; every other report
goes through the generic profile in `generic/`. Both share `structure` and `pieces`.
"""

from __future__ import annotations

from tsunagari.chunking.casebook.chunker import chunk_casebook
from tsunagari.chunking.generic.chunker import chunk_generic
from tsunagari.japanese import Splitter, split_sentences
from tsunagari.types import Chunk, Document

# Bump when chunking changes, so cached chunks (data_dir/cache) are rebuilt.
CHUNKER_VERSION = "3"
CASEBOOK_FORMATS = ("pdf-text",)


def chunk_document(
    doc: Document, size: int = 400, splitter: Splitter = split_sentences
) -> list[Chunk]:
    """Turn a document into chunks with the profile that fits its format."""
    if doc.format in CASEBOOK_FORMATS:
        return chunk_casebook(doc, size, splitter)
    return chunk_generic(doc, size, splitter)
