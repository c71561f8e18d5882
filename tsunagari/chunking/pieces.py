"""Pieces shared by every chunker: sentences with pages and speakers, units that stay together,
rendering pieces into chunk text, and stable chunk ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tsunagari.chunking.structure import Context, Paragraph
from tsunagari.japanese import Splitter


@dataclass(frozen=True)
class Piece:
    """A sentence (or heading line) with its speaker and printed pages."""

    text: str
    page: int
    pages: tuple[int, ...]
    speaker: str = ""
    kind: str = "body"
    refs: tuple[int, ...] = ()
    para_start: bool = False


def paragraph_pieces(p: Paragraph, splitter: Splitter) -> list[Piece]:
    """Split a paragraph into sentences, each with the pages it touches."""
    out: list[Piece] = []
    offset = 0
    marks = list(p.page_marks) or [(0, 0)]
    sentences = [p.text] if p.kind != "body" else splitter(p.text)
    for k, sentence in enumerate(sentences):
        start, end = offset, offset + len(sentence)
        offset = end
        first = max(((o, pg) for o, pg in marks if o <= start), default=marks[0])[1]
        pages = sorted({first} | {pg for o, pg in marks if start < o < end})
        out.append(Piece(sentence.strip(), first, tuple(pages), p.speaker, p.kind,
                          p.refs if k == 0 else (), para_start=k == 0))
    return [x for x in out if x.text]


def units(paragraphs: list[Paragraph]) -> list[list[Paragraph]]:
    """Group paragraphs that must stay together: one case, one Q&A, one section part."""
    units: list[list[Paragraph]] = []
    for p in paragraphs:
        if p.kind == "table":
            continue
        if units and units[-1][-1].ctx.topic_key == p.ctx.topic_key:
            units[-1].append(p)
        else:
            units.append([p])
    return units


def render(pieces: list[Piece], in_column: bool) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Join pieces into chunk text (speaker labels where the speaker changes)."""
    parts: list[str] = []
    marks: list[tuple[int, int]] = []
    length = 0
    last_speaker = None
    prev_kind = ""
    for x in pieces:
        text = x.text
        labelled = False
        if in_column and x.kind == "body" and x.speaker and x.speaker != last_speaker:
            text = f"{x.speaker}：{text}"
            last_speaker = x.speaker
            labelled = True
        sep = "\n" if parts and (x.para_start or labelled or x.kind != prev_kind) else ""
        if sep:
            length += len(sep)
        if not marks or marks[-1][1] != x.page:
            marks.append((length, x.page))
        for pg in x.pages:
            if pg != x.page and (not marks or marks[-1][1] != pg):
                marks.append((length + len(text) - 1, pg))
        parts.append(sep + text)
        length += len(text)
        prev_kind = x.kind
    return "".join(parts), tuple(marks)


def chunk_id(doc_id: str, ctx: Context, text: str) -> str:
    """A stable id from where the text stands and the text itself."""
    key = "\x1f".join((doc_id, ctx.section, ctx.case, ctx.column, text))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def split_lead(unit: list[Paragraph], splitter: Splitter) -> tuple[list[Piece], list[Piece]]:
    """Leading labels/headings (and a column's question) vs. the rest of the unit."""
    lead: list[Piece] = []
    body: list[Piece] = []
    ctx = unit[-1].ctx
    if ctx.column and ctx.heading and not any(p.text == ctx.heading for p in unit):
        lead.append(Piece(ctx.heading, first_page(unit[0]), (first_page(unit[0]),),
                           kind="heading"))
    for p in unit:
        pieces = paragraph_pieces(p, splitter)
        leading = not body and (p.kind in ("label", "heading") or (
            ctx.column and p.speaker == "ヒアリング者"))
        (lead if leading else body).extend(pieces)
    if not body and lead and ctx.column and any(x.speaker == "ヒアリング者" for x in lead):
        return [], lead
    return lead, body


def first_page(p: Paragraph) -> int:
    """The printed page a paragraph starts on (0 when unknown)."""
    return p.page_marks[0][1] if p.page_marks else 0
