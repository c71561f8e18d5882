"""Table chunks: one chunk per row of a table, the row read with its header.

A row becomes 「表1 取組事例の概要 自治体名: 芽室町 / 担当部署: 保健福祉課 / …」, so a question
about one cell (「芽室町の担当部署は？」) finds the row with the names of its columns, cited to
the page the table is printed on. A row whose first column names local public bodies
(自治体名, 市町村名 …) carries that body as its municipality.
"""

from __future__ import annotations

import hashlib
import re

from tsunagari.chunking.generic.layout import RawParagraph
from tsunagari.chunking.structure import Context
from tsunagari.types import Chunk, Document

_BODY_COLUMN = re.compile(r"自治体|市区町村|市町村|都道府県")


def row_text(caption: str, header: tuple[str, ...], row: tuple[str, ...]) -> str:
    """A row with its header.

    >>> row_text("表1 概要", ("自治体名", "担当部署"), ("芽室町", "保健福祉課"))
    '表1 概要 自治体名: 芽室町 / 担当部署: 保健福祉課'
    """
    cells = " / ".join(f"{h}: {c}" if h else c for h, c in zip(header, row) if c)
    return f"{caption} {cells}".strip()


def table_chunks(doc: Document, ctx: Context, table: RawParagraph) -> list[Chunk]:
    """One chunk (kind "table") per body row of `table`, standing where the table stands."""
    if len(table.rows) < 2:
        return []
    header, *rows = table.rows
    page = table.marks[0][1] if table.marks else doc.first_page
    by_body = bool(_BODY_COLUMN.search(header[0]))
    out = []
    for row in rows:
        text = row_text(table.caption, header, row)
        if not any(row):
            continue
        key = "\x1f".join((doc.doc_id, "table", ctx.section, table.caption, text))
        out.append(Chunk(
            chunk_id=hashlib.sha256(key.encode("utf-8")).hexdigest()[:20],
            doc_id=doc.doc_id, doc_title=doc.title, text=text, pages=(page,),
            page_marks=((0, page),), chapter=ctx.chapter, section=ctx.section,
            section_title=ctx.section_title, heading=table.caption or ctx.heading,
            point=ctx.point, case=ctx.case,
            municipality=row[0].strip() if by_body and row[0].strip() else ctx.municipality,
            region=ctx.region, city_size=ctx.city_size, kind="table",
        ))
    return out
