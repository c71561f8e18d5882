"""Chunk a loaded document into structure-carrying passages (split only at sentence ends)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

from tsunagari.pdftext import Page, recover
from tsunagari.sources import SourceRow, parse_source_table, source_lookup
from tsunagari.structure import Context, Paragraph, parse
from tsunagari.textja import Splitter, split_sentences
from tsunagari.types import Chunk, Document


# Bump when chunking changes, so cached chunks (data_dir/cache) are rebuilt.
CHUNKER_VERSION = "2"
LEGACY_FORMATS = ("pdf-text",)


@dataclass(frozen=True)
class _Piece:
    """A sentence (or heading line) with its speaker and printed pages."""

    text: str
    page: int
    pages: tuple[int, ...]
    speaker: str = ""
    kind: str = "body"
    refs: tuple[int, ...] = ()
    para_start: bool = False


def _paragraph_pieces(p: Paragraph, splitter: Splitter) -> list[_Piece]:
    """Split a paragraph into sentences, each with the pages it touches."""
    out: list[_Piece] = []
    offset = 0
    marks = list(p.page_marks) or [(0, 0)]
    sentences = [p.text] if p.kind != "body" else splitter(p.text)
    for k, sentence in enumerate(sentences):
        start, end = offset, offset + len(sentence)
        offset = end
        first = max(((o, pg) for o, pg in marks if o <= start), default=marks[0])[1]
        pages = sorted({first} | {pg for o, pg in marks if start < o < end})
        out.append(_Piece(sentence.strip(), first, tuple(pages), p.speaker, p.kind,
                          p.refs if k == 0 else (), para_start=k == 0))
    return [x for x in out if x.text]


def _units(paragraphs: list[Paragraph]) -> list[list[Paragraph]]:
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


def _pack(pieces: list[_Piece], size: int) -> list[list[_Piece]]:
    """Pack sentences into balanced groups of about `size` characters."""
    total = sum(len(x.text) for x in pieces)
    if total <= size * 1.25 or len(pieces) <= 1:
        return [pieces]
    n = math.ceil(total / size)
    target = total / n
    groups: list[list[_Piece]] = [[]]
    length = 0
    for x in pieces:
        if groups[-1] and length + len(x.text) / 2 > target and len(groups) < n:
            groups.append([])
            length = 0
        groups[-1].append(x)
        length += len(x.text)
    return [g for g in groups if g]


def _render(pieces: list[_Piece], in_column: bool) -> tuple[str, tuple[tuple[int, int], ...]]:
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


def _chunk_id(doc_id: str, ctx: Context, text: str) -> str:
    key = "\x1f".join((doc_id, ctx.section, ctx.case, ctx.column, text))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def chunk_document(
    doc: Document, size: int = 400, splitter: Splitter = split_sentences
) -> list[Chunk]:
    """Turn a document into chunks; a case or a Q&A never shares a chunk with the next.

    The first report (format "pdf-text": text extracted from a PDF with hard-wrapped lines and
    printed page numbers) uses its dedicated profile; every other report the generic one.
    """
    if doc.format not in LEGACY_FORMATS:
        from tsunagari.genchunk import chunk_generic

        return chunk_generic(doc, size, splitter)
    lines, pages = recover(doc.text, doc.first_page)
    paragraphs = parse(lines)
    lookup = source_lookup(parse_source_table(lines))
    footnotes = _footnote_map(pages)
    chunks: list[Chunk] = []
    for unit in _units(paragraphs):
        ctx = unit[-1].ctx
        lead, body = _split_lead(unit, splitter)
        if not body or all(x.text.startswith("※") for x in body):
            continue
        in_column = bool(ctx.column)
        for group in _pack(body, size):
            pieces = lead + group
            text, marks = _render(pieces, in_column)
            all_pages = sorted({pg for x in pieces for pg in x.pages})
            refs = [r for x in pieces for r in x.refs]
            chunk = _make_chunk(doc, ctx, unit, text, marks, all_pages, refs, footnotes, lookup)
            headings = [x.text for x in pieces
                        if x.kind == "heading" and x.text.startswith(("＜", "～", "〜"))]
            if headings:
                chunk = replace(chunk, heading=" ".join(dict.fromkeys(headings)))
            chunks.append(chunk)
    chunks.extend(_table_chunks(doc, lines, lookup))
    return chunks


def _split_lead(unit: list[Paragraph], splitter: Splitter) -> tuple[list[_Piece], list[_Piece]]:
    """Leading labels/headings (and a column's question) vs. the rest of the unit."""
    lead: list[_Piece] = []
    body: list[_Piece] = []
    ctx = unit[-1].ctx
    if ctx.column and ctx.heading and not any(p.text == ctx.heading for p in unit):
        lead.append(_Piece(ctx.heading, _first_page(unit[0]), (_first_page(unit[0]),),
                           kind="heading"))
    for p in unit:
        pieces = _paragraph_pieces(p, splitter)
        leading = not body and (p.kind in ("label", "heading") or (
            ctx.column and p.speaker == "ヒアリング者"))
        (lead if leading else body).extend(pieces)
    if not body and lead and ctx.column and any(x.speaker == "ヒアリング者" for x in lead):
        return [], lead
    return lead, body


def _first_page(p: Paragraph) -> int:
    return p.page_marks[0][1] if p.page_marks else 0


def _footnote_map(pages: list[Page]) -> dict[int, str]:
    out: dict[int, str] = {}
    for page in pages:
        for note in page.footnotes:
            number, _, text = note.partition(" ")
            if number.isdigit():
                out[int(number)] = text.strip()
    return out


def _make_chunk(
    doc: Document,
    ctx: Context,
    unit: list[Paragraph],
    text: str,
    marks: tuple[tuple[int, int], ...],
    pages: list[int],
    refs: list[int],
    footnotes: dict[int, str],
    lookup: dict[tuple[str, str], SourceRow],
) -> Chunk:
    row = lookup.get((ctx.section[:3], ctx.municipality)) if ctx.municipality else None
    speakers = tuple(dict.fromkeys(p.speaker for p in unit if p.speaker))
    question = next((p.text for p in unit if p.speaker == "ヒアリング者"), "")
    if ctx.chapter_no == 3 and ctx.column:
        kind = "interview"
    elif ctx.case:
        kind = "case"
    else:
        kind = "body"
    return Chunk(
        chunk_id=_chunk_id(doc.doc_id, ctx, text),
        doc_id=doc.doc_id,
        doc_title=doc.title,
        text=text,
        pages=tuple(pages),
        page_marks=marks,
        chapter=ctx.chapter,
        section=ctx.section,
        section_title=ctx.section_title,
        heading=ctx.heading,
        point=ctx.point,
        case=ctx.case,
        municipality=ctx.municipality,
        column=ctx.column,
        column_city=ctx.column_city,
        region=ctx.region,
        city_size=ctx.city_size,
        speakers=speakers,
        question=question,
        source_report=row.report if row else "",
        source_page=row.page if row else "",
        footnotes=tuple(footnotes[r] for r in refs if r in footnotes),
        kind=kind,
    )


def _table_chunks(
    doc: Document, lines: list, lookup: dict[tuple[str, str], SourceRow]
) -> list[Chunk]:
    """One chunk per point section of table 2-6, so '出典' questions can be answered."""
    by_section: dict[str, list[SourceRow]] = {}
    for row in lookup.values():
        by_section.setdefault(row.section, []).append(row)
    out = []
    for section, rows in sorted(by_section.items()):
        # Rows as printed (section number on a section's first row, the report's
        # spelling of the name), with the canonical name added where it differs.
        body = "\n".join(
            (f"{section} " if i == 0 else "") + f"{r.name_in_report} {r.report} {r.page}"
            + (f"（{r.municipality}）" if r.name_in_report != r.municipality else "")
            for i, r in enumerate(rows)
        )
        text = f"2-6. 各アクション事例の引用報告書一覧（{section}）\n{body}"
        pages = tuple(sorted({r.pdf_page for r in rows}))
        ctx = Context(chapter="第2章", chapter_no=2, section="2-6",
                      section_title="各アクション事例の引用報告書一覧")
        point = int(section.split("-")[1]) if section.count("-") == 1 else None
        out.append(
            Chunk(
                chunk_id=_chunk_id(doc.doc_id, ctx, text),
                doc_id=doc.doc_id,
                doc_title=doc.title,
                text=text,
                pages=pages,
                page_marks=((0, pages[0]),),
                chapter="第2章",
                section="2-6",
                section_title=ctx.section_title,
                point=point,
                kind="table",
            )
        )
    return out
