"""Lines and paragraphs of reports other than the first: pages, blank lines, Markdown headings
and Markdown tables (PDFs read with their layout come in the same forms, see loaders.pdflayout)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from tsunagari.chunking.pages import Line
from tsunagari.chunking.structure import join_lines
from tsunagari.types import Document

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_TABLE_ROW = re.compile(r"^\|.*\|$")
_TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+$")
_CAPTION = re.compile(r"^表\s*[0-9０-９]+(?:[-－.．][0-9０-９]+)*(?:\s|　|$)")
_HEADING_FORMATS = ("markdown", "docx", "text", "pdf")
_PAGE_FURNITURE = re.compile(
    r"^(?:[-－‐―−\s]*[0-9０-９]{1,4}[-－‐―−\s]*|[0-9０-９]{1,4}\s*/\s*[0-9０-９]{1,4}|"
    r"[-－]?\s*[ivxlcdmIVXLCDM]{1,6}\s*[-－]?)$"
)


@dataclass(frozen=True)
class RawParagraph:
    """A joined paragraph with page change points; `level` > 0 for a Markdown heading; a table
    has its `rows` (the header first) and its `caption` (「表1 …」 just before it, or '')."""

    text: str
    marks: tuple[tuple[int, int], ...]
    refs: tuple[int, ...] = ()
    level: int = 0
    rows: tuple[tuple[str, ...], ...] = ()
    caption: str = ""


def _page_texts(doc: Document) -> list[tuple[int, str]]:
    if doc.pages:
        return [(doc.first_page + i, text) for i, text in enumerate(doc.pages)]
    return [(doc.first_page, doc.text)]


def _repeated_furniture(pages: list[list[str]]) -> set[str]:
    """Running headers/footers: the same first or last line on most pages."""
    if len(pages) < 3:
        return set()
    edges = Counter()
    for lines in pages:
        body = [x.strip() for x in lines if x.strip() and not x.lstrip().startswith(("#", "|"))]
        edges.update({body[0], body[-1]} if body else set())
    return {t for t, n in edges.items() if n >= 3 and n >= len(pages) / 2 and len(t) <= 60}


_ENDS_PARAGRAPH = ("。", "」", "）", ")", "？", "?", "！", "!", "】")


def _double_spaced(pages: list[tuple[int, list[str]]]) -> bool:
    """True when text lines are separated by blank lines almost everywhere (some extractions).

    Only a line that stops mid-sentence before the blank counts as separated: paragraphs that
    are one line each (as the layout-aware PDF reader writes them) are not double-spaced.
    """
    adjacent = separated = 0
    for _, lines in pages:
        flags = [bool(x.strip()) for x in lines]
        for i, (a, b, c) in enumerate(zip(flags, flags[1:], flags[2:])):
            adjacent += a and b
            text = lines[i].strip()
            separated += a and not b and c and not text.endswith(_ENDS_PARAGRAPH) \
                and not text.startswith(("#", "|"))
    return separated > 10 and adjacent < separated / 10


def _collapse_single_blanks(lines: list[str]) -> list[str]:
    """Drop lone blank lines; a run of two or more blank lines stays one boundary."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].strip():
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j - i >= 2 or i == 0 or j == len(lines):
            out.append("")
        i = j
    return out


def doc_lines(doc: Document) -> list[Line | None]:
    """Lines with printed pages; None marks a blank line (a paragraph boundary).

    For PDFs, printed page numbers and running headers/footers are dropped, and no boundary
    is inserted between pages, so a paragraph may run on over a page break.
    """
    pages = [(n, text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
             for n, text in _page_texts(doc)]
    if _double_spaced(pages):
        pages = [(n, _collapse_single_blanks(lines)) for n, lines in pages]
    is_pdf = doc.format == "pdf"
    furniture = _repeated_furniture([lines for _, lines in pages]) if is_pdf else set()
    out: list[Line | None] = []
    lineno = 0
    for number, raw_lines in pages:
        for raw in raw_lines:
            lineno += 1
            text = raw.strip().replace("\u3000", " ").strip()
            if not text:
                out.append(None)
                continue
            if is_pdf and (text in furniture or _PAGE_FURNITURE.match(text)):
                continue
            indented = raw[:1] in (" ", "\u3000") and not raw.startswith("  ")
            out.append(Line(text, number, indented, lineno))
        if not is_pdf:
            out.append(None)
    return out


def _cells(line: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in line.strip()[1:-1].split("|"))


def _table(lines: list[Line], before: list[RawParagraph]) -> RawParagraph | None:
    """A Markdown table (header, rule, rows) as one paragraph, or None when it is no table."""
    if len(lines) < 3 or not _TABLE_RULE.match(lines[1].text.replace(" ", "")):
        return None
    rows = tuple(_cells(x.text) for x in lines if not _TABLE_RULE.match(x.text.replace(" ", "")))
    prev = before[-1] if before else None
    caption = prev.text if prev and not prev.level and not prev.rows and len(prev.text) <= 60 \
        and _CAPTION.match(prev.text) else ""
    text = "\n".join(x.text for x in lines)
    return RawParagraph(text, ((0, lines[0].page),), (), 0, rows, caption)


def paragraphs(doc: Document) -> list[RawParagraph]:
    """Paragraphs of a document: blank lines, Markdown headings and tables always end one;
    inside a block, hard-wrapped lines are joined as in the first report
    (`structure.join_lines`)."""
    out: list[RawParagraph] = []
    block: list[Line] = []
    table: list[Line] = []
    headings = doc.format in _HEADING_FORMATS

    def flush() -> None:
        if block:
            out.extend(RawParagraph(t, m, r) for t, m, r in join_lines(block) if t.strip())
            block.clear()

    def flush_table() -> None:
        if table:
            found = _table(table, out)
            if found:
                out.append(found)
            else:
                block.extend(table)
            table.clear()

    for line in doc_lines(doc):
        if line is not None and _TABLE_ROW.match(line.text) and line.text.count("|") >= 3:
            if table and line.page != table[-1].page:
                flush_table()  # a table per page, each cited to its page
            if not table:
                flush()
            table.append(line)
            continue
        flush_table()
        if line is None:
            flush()
            continue
        m = _MD_HEADING.match(line.text) if headings else None
        if m:
            flush()
            out.append(RawParagraph(m.group(2).strip(), ((0, line.page),), (), len(m.group(1))))
            continue
        block.append(line)
    flush_table()
    flush()
    return out
