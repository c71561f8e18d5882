"""Word (.docx) reports: paragraphs and tables in order, headings by style as Markdown `#`."""

from __future__ import annotations

import io
import re

from tsunagari.errors import InputError
from tsunagari.loaders.base import Loaded, first_heading

_HEADING_STYLE = re.compile(r"^(?:Heading|見出し)\s*([1-9])$", re.I)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _heading_level(style_name: str) -> int:
    """Markdown level of a paragraph style: Title → 1, Heading N / 見出し N → N, else 0.

    >>> _heading_level("Heading 2"), _heading_level("見出し 1"), _heading_level("Title")
    (2, 1, 1)
    >>> _heading_level("Normal")
    0
    """
    if style_name in ("Title", "表題"):
        return 1
    m = _HEADING_STYLE.match(style_name.strip())
    return int(m.group(1)) if m else 0


def _breaks(element, rendered: bool) -> int:
    """Page breaks inside a paragraph element (rendered ones, or explicit `w:br type=page`)."""
    if rendered:
        return len(element.findall(f".//{_W}lastRenderedPageBreak"))
    return sum(1 for br in element.iter(f"{_W}br") if br.get(f"{_W}type") == "page")


def read_docx(name: str, data: bytes) -> Loaded:
    """Text of a .docx file with `#` headings; pages split at page breaks when present."""
    from docx import Document as open_docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        doc = open_docx(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - zip/xml errors of damaged files
        raise InputError(
            f"{name} は Word ファイルとして読み込めません（壊れているか .docx ではありません）。"
        ) from exc
    body = doc.element.body
    rendered = any(True for _ in body.iter(f"{_W}lastRenderedPageBreak"))
    pages: list[list[str]] = [[]]
    for child in body.iterchildren():
        if child.tag == f"{_W}p":
            para = Paragraph(child, doc)
            # A break before the text (Word renders breaks where the page starts).
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
    texts = ["\n".join(p).strip("\n") for p in pages]
    if not any(t.strip() for t in texts):
        raise InputError(f"{name} には文字が含まれていません。")
    text = "\n\n".join(texts)
    known_pages = tuple(texts) if len(texts) > 1 else ()
    return Loaded(text=text, format="docx", pages=known_pages, title=first_heading(text))
