"""The .docx reading tsunagari had before it walked the XML itself (python-docx objects), kept as
the reference the new reader must match on normal documents."""

from __future__ import annotations

import io
import re

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^(?:Heading|見出し)\s*([1-9])$", re.IGNORECASE)


def _heading_level(style_name: str) -> int:
    if style_name in ("Title", "表題"):
        return 1
    m = _HEADING_STYLE.match(style_name.strip())
    return int(m.group(1)) if m else 0


def _breaks(element, rendered: bool) -> int:
    if rendered:
        return len(element.findall(f".//{_W}lastRenderedPageBreak"))
    return sum(1 for br in element.iter(f"{_W}br") if br.get(f"{_W}type") == "page")


def reference_pages(data: bytes) -> list[str]:
    """Page texts of a .docx as python-docx reads it (paragraph.style, table.rows, cell.text)."""
    from docx import Document as open_docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    doc = open_docx(io.BytesIO(data))
    body = doc.element.body
    rendered = any(True for _ in body.iter(f"{_W}lastRenderedPageBreak"))
    pages: list[list[str]] = [[]]
    for child in body.iterchildren():
        if child.tag == f"{_W}p":
            para = Paragraph(child, doc)
            for _ in range(_breaks(child, rendered)):
                pages.append([])
            text = para.text.strip()
            if not text:
                pages[-1].append("")
                continue
            style = para.style.name if para.style is not None else ""
            level = _heading_level(style)
            pages[-1].append(f"{'#' * level} {text}" if level else text)
            pages[-1].append("")
        elif child.tag == f"{_W}tbl":
            for row in Table(child, doc).rows:
                cells = [c.text.strip() for c in row.cells]
                pages[-1].append("\t".join(dict.fromkeys(c for c in cells if c)))
            pages[-1].append("")
    return ["\n".join(p).strip("\n") for p in pages]
