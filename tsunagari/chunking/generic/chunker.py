"""Chunk reports other than the first: structure when found, else page/paragraph-based packs."""

from __future__ import annotations

import re
from dataclasses import replace

from tsunagari.chunking.generic.layout import paragraphs
from tsunagari.chunking.generic.structure import parse_generic
from tsunagari.chunking.pieces import Piece, chunk_id, render, split_lead, units
from tsunagari.chunking.structure import Context, Paragraph
from tsunagari.japanese import Splitter, split_sentences
from tsunagari.types import Chunk, Document

_SOFT_BREAK = re.compile(r"(?<=[、，,；;）」])")


def _split_long(piece: Piece, size: int) -> list[Piece]:
    """A 'sentence' over 2×size (tables, lists without 。) cut at 、 or, if need be, by length."""
    if len(piece.text) <= 2 * size:
        return [piece]
    parts: list[str] = []
    cur = ""
    for frag in _SOFT_BREAK.split(piece.text):
        while len(frag) > size:
            if cur:
                parts.append(cur)
                cur = ""
            parts.append(frag[:size])
            frag = frag[size:]
        if len(cur) + len(frag) > size and cur:
            parts.append(cur)
            cur = ""
        cur += frag
    if cur:
        parts.append(cur)
    return [replace(piece, text=t, para_start=piece.para_start and i == 0)
            for i, t in enumerate(parts)]


def _pack(pieces: list[Piece], size: int) -> list[list[Piece]]:
    """Greedy packs of about `size` characters that prefer to end at a paragraph or page."""
    groups: list[list[Piece]] = []
    cur: list[Piece] = []
    length = 0
    for x in pieces:
        n = len(x.text)
        boundary = x.para_start or (cur and x.page != cur[-1].page)
        if cur and (length + n > size * 1.25 or (boundary and length >= size * 0.6)):
            groups.append(cur)
            cur, length = [], 0
        cur.append(x)
        length += n
    if cur:
        if groups and length < size * 0.25 and sum(len(y.text) for y in groups[-1]) + length \
                <= size * 1.5:
            groups[-1].extend(cur)  # do not leave a tiny tail
        else:
            groups.append(cur)
    return groups


def _make(doc: Document, ctx: Context, unit: list[Paragraph], pieces: list[Piece]) -> Chunk:
    text, marks = render(pieces, bool(ctx.column))
    speakers = tuple(dict.fromkeys(p.speaker for p in unit if p.speaker))
    question = next((p.text for p in unit if p.speaker == "ヒアリング者"), "")
    kind = "interview" if ctx.column and speakers else "case" if ctx.case else "body"
    headings = [x.text for x in pieces
                if x.kind == "heading" and x.text.startswith(("＜", "～", "〜"))]
    return Chunk(
        chunk_id=chunk_id(doc.doc_id, ctx, text),
        doc_id=doc.doc_id, doc_title=doc.title, text=text,
        pages=tuple(sorted({pg for x in pieces for pg in x.pages})), page_marks=marks,
        chapter=ctx.chapter, section=ctx.section, section_title=ctx.section_title,
        heading=" ".join(dict.fromkeys(headings)) if headings else ctx.heading,
        point=ctx.point, case=ctx.case, municipality=ctx.municipality, column=ctx.column,
        column_city=ctx.column_city, region=ctx.region, city_size=ctx.city_size,
        speakers=speakers, question=question, kind=kind,
    )


def chunk_generic(doc: Document, size: int = 400,
                  splitter: Splitter = split_sentences) -> list[Chunk]:
    """Chunks of any report: one structural unit never shares a chunk with the next."""
    chunks: list[Chunk] = []
    for unit in units(parse_generic(paragraphs(doc), doc.points)):
        ctx = unit[-1].ctx
        lead, body = split_lead(unit, splitter)
        body = [y for x in body for y in _split_long(x, size)]
        if not body:
            continue
        lead = [y for x in lead for y in _split_long(x, size)][:3]
        for group in _pack(body, size):
            chunks.append(_make(doc, ctx, unit, lead + group))
    seen: set[str] = set()
    unique = []
    for c in chunks:  # identical passages in one section (repeated boilerplate) are kept once
        if c.chunk_id not in seen:
            seen.add(c.chunk_id)
            unique.append(c)
    return unique
