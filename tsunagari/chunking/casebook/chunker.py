"""Chunk the first report (the casebook): text extracted from a PDF with hard-wrapped lines and
printed page numbers, its cases, interview columns, footnotes and table 2-6 of original reports."""

from __future__ import annotations

import math
from dataclasses import replace

from tsunagari.chunking.casebook.sources import SourceRow, parse_source_table, source_lookup
from tsunagari.chunking.casebook.structure import parse
from tsunagari.chunking.pages import Page, recover
from tsunagari.chunking.pieces import Piece, chunk_id, render, split_lead, units
from tsunagari.chunking.structure import Context, Paragraph
from tsunagari.japanese import Splitter, split_sentences
from tsunagari.types import Chunk, Document


def _pack(pieces: list[Piece], size: int) -> list[list[Piece]]:
    """Pack sentences into balanced groups of about `size` characters."""
    total = sum(len(x.text) for x in pieces)
    if total <= size * 1.25 or len(pieces) <= 1:
        return [pieces]
    n = math.ceil(total / size)
    target = total / n
    groups: list[list[Piece]] = [[]]
    length = 0
    for x in pieces:
        if groups[-1] and length + len(x.text) / 2 > target and len(groups) < n:
            groups.append([])
            length = 0
        groups[-1].append(x)
        length += len(x.text)
    return [g for g in groups if g]


def chunk_casebook(
    doc: Document, size: int = 400, splitter: Splitter = split_sentences
) -> list[Chunk]:
    """Chunks of the first report; a case or a Q&A never shares a chunk with the next."""
    lines, pages = recover(doc.text, doc.first_page)
    paragraphs = parse(lines)
    lookup = source_lookup(parse_source_table(lines))
    footnotes = _footnote_map(pages)
    chunks: list[Chunk] = []
    for unit in units(paragraphs):
        ctx = unit[-1].ctx
        lead, body = split_lead(unit, splitter)
        if not body or all(x.text.startswith("※") for x in body):
            continue
        in_column = bool(ctx.column)
        for group in _pack(body, size):
            pieces = lead + group
            text, marks = render(pieces, in_column)
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
        chunk_id=chunk_id(doc.doc_id, ctx, text),
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
                chunk_id=chunk_id(doc.doc_id, ctx, text),
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
