"""Layout-aware reading of PDF pages (pdfplumber): headings from font size and weight, ruled
tables as Markdown tables, page furniture removed.

The page texts this returns use the forms the generic chunker already reads: a heading is a
Markdown heading line (`#` for the largest heading style of the document, `##` for the next…),
a table is a block of Markdown table rows whose first row is the header, a blank line ends a
paragraph (a larger gap between lines, a change of font size or a heading), and a line that
starts with a space is indented (a paragraph's first line). Body text keeps its hard wraps;
`chunking.generic.layout` joins them. Running headers/footers (the same text at the top or foot
of most pages, digits ignored) and printed page numbers are dropped; the printed numbers are
returned so the caller can tell the number of the first page.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass

# Font names that mark a heavier or gothic face (Japanese headings are usually set in gothic).
_HEAVY_FONT = re.compile(r"bold|black|heavy|demi|semibold|gothic|goth|kakugo|sans|w[6-9]\b|ゴシック",
                         re.I)
_PAGE_NUMBER = re.compile(r"^[-－‐―−–—\s]*(?:[pP]\.?\s*)?([0-9０-９]{1,4})(?:\s*/\s*[0-9０-９]{1,4})?"
                          r"[-－‐―−–—\s]*(?:ページ|頁)?$")
_BULLET = re.compile(r"^(?:[・･●○◎◆◇■□▪※*＊\-－]|[①-⑳]|[（(][0-9０-９一-十]{1,2}[）)]|[0-9０-９]{1,2}[)）.．])")
_EDGE = 0.12  # share of the page height at the top and at the foot where furniture stands
_MAX_HEADING_CHARS = 80


@dataclass(frozen=True)
class _Line:
    text: str
    size: float
    font: str
    x0: float
    x1: float
    top: float
    bottom: float
    chars: int


@dataclass(frozen=True)
class LayoutPages:
    """Page texts in the chunker's Markdown forms, plus the printed number found on each page."""

    pages: tuple[str, ...]
    printed_numbers: tuple[int | None, ...]


def _base_font(name: str) -> str:
    return name.split("+", 1)[1] if "+" in name[:8] else name


def _join(a: str, b: str) -> str:
    """Two pieces of one line or heading: a space only between two Latin letters or digits."""
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return f"{a} {b}"
    return a + b


def _lines(chars: list[dict]) -> list[_Line]:
    """Chars grouped into text lines (same baseline band), each read left to right."""
    rows: list[list[dict]] = []
    for c in sorted(chars, key=lambda c: (round(c["top"], 1), c["x0"])):
        if rows:
            last = rows[-1]
            tol = max(2.0, 0.45 * min(float(last[0]["size"]), float(c["size"])))
            if abs(c["top"] - last[0]["top"]) <= tol or abs(c["bottom"] - last[0]["bottom"]) <= tol:
                last.append(c)
                continue
        rows.append([c])
    out = []
    for row in rows:
        row.sort(key=lambda c: c["x0"])
        text = ""
        prev = None
        for c in row:
            # Word spaces drawn as gaps (TeX and others write no space characters): narrow
            # between Latin letters, wide elsewhere (justified Japanese is spaced out a little).
            latin = prev is not None and (c["text"].isascii() or prev["text"].isascii())
            gap = c["x0"] - prev["x1"] if prev is not None else 0.0
            if gap > (0.12 if latin else 0.5) * float(c["size"]) and not text.endswith(" "):
                text += " "
            text += c["text"]
            prev = c
        text = re.sub(r"\s+", " ", text.replace("\u3000", " ")).strip()
        visible = [c for c in row if c["text"].strip()]
        if not text or not visible:
            continue
        size = Counter(round(float(c["size"]) * 2) / 2 for c in visible).most_common(1)[0][0]
        font = Counter(_base_font(c["fontname"]) for c in visible).most_common(1)[0][0]
        out.append(_Line(text, size, font, min(c["x0"] for c in visible),
                         max(c["x1"] for c in visible), min(c["top"] for c in visible),
                         max(c["bottom"] for c in visible), len(visible)))
    return out


def _cell(text: str | None) -> str:
    parts = [p.strip() for p in (text or "").replace("|", "｜").split("\n") if p.strip()]
    out = ""
    for p in parts:
        out = _join(out, p)
    return out


def _table_markdown(rows: list[list[str | None]]) -> list[str]:
    cells = [[_cell(c) for c in row] for row in rows]
    cells = [r for r in cells if any(r)]
    if len(cells) < 2 or max(len(r) for r in cells) < 2:
        return []
    width = max(len(r) for r in cells)
    cells = [r + [""] * (width - len(r)) for r in cells]
    lines = [f"| {' | '.join(cells[0])} |", f"| {' | '.join(['---'] * width)} |"]
    return lines + [f"| {' | '.join(r)} |" for r in cells[1:]]


def _inside(c: dict, box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    mx, my = (c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2
    return x0 <= mx <= x1 and top <= my <= bottom


def read_layout(data: bytes) -> LayoutPages:
    """Page texts of a PDF read with its layout (see the module docstring); raises whatever
    pdfplumber raises on files it cannot read (the caller falls back to pypdf)."""
    import pdfplumber

    raw_pages: list[tuple[float, list[_Line], list[tuple[float, list[str]]]]] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            tables = []
            for table in page.find_tables():
                md = _table_markdown(table.extract())
                if md:
                    tables.append((table.bbox, md))
            chars = [c for c in page.chars if c.get("upright", True)
                     and not any(_inside(c, box) for box, _ in tables)]
            raw_pages.append((float(page.height), _lines(chars),
                              [(box[1], md) for box, md in tables]))
            page.flush_cache()

    all_lines = [ln for _, lines, _ in raw_pages for ln in lines]
    if not all_lines:
        only_tables = ("\n\n".join("\n".join(md) for _, md in t) for _, _, t in raw_pages)
        return LayoutPages(tuple(only_tables), tuple(None for _ in raw_pages))
    sizes = Counter()
    for ln in all_lines:
        sizes[ln.size] += ln.chars
    body_size = sizes.most_common(1)[0][0]
    fonts = Counter()
    for ln in all_lines:
        if ln.size == body_size:
            fonts[ln.font] += ln.chars
    body_heavy = bool(_HEAVY_FONT.search(fonts.most_common(1)[0][0]))

    # Furniture: printed page numbers at the edges, and the same text as the outermost line at
    # the top or the foot of at least three pages (of most pages, or in a small type).
    def at_edge(ln: _Line, height: float) -> bool:
        return ln.top < height * _EDGE or ln.bottom > height * (1 - _EDGE)

    def outermost(lines: list[_Line], height: float) -> set[str]:
        """The first and last line when set apart (by more than a line's height) at an edge."""
        out = set()
        if len(lines) >= 2 and at_edge(lines[0], height) and \
                lines[1].top - lines[0].bottom > lines[0].size:
            out.add(lines[0])
        if len(lines) >= 2 and at_edge(lines[-1], height) and \
                lines[-1].top - lines[-2].bottom > lines[-1].size:
            out.add(lines[-1])
        return {x.text for x in out if x.size <= body_size}

    edge_counts = Counter()
    for height, lines, _ in raw_pages:
        edge_counts.update(outermost([x for x in lines if not _PAGE_NUMBER.match(x.text)], height))
    small = {ln.text for ln in all_lines if ln.size < body_size}
    repeated = {t for t, n in edge_counts.items()
                if n >= 3 and (n >= len(raw_pages) / 2 or t in small)}
    printed: list[int | None] = []
    kept_pages: list[list[_Line]] = []
    for height, lines, _ in raw_pages:
        number = None
        kept = []
        for ln in lines:
            if at_edge(ln, height):
                m = _PAGE_NUMBER.match(ln.text)
                if m:
                    number = int(m.group(1).translate(str.maketrans("０１２３４５６７８９",
                                                                    "0123456789")))
                    continue
                if ln.text in repeated:
                    continue
            kept.append(ln)
        printed.append(number)
        kept_pages.append(kept)

    def heading_style(ln: _Line) -> tuple[float, bool] | None:
        if ln.chars > _MAX_HEADING_CHARS or _PAGE_NUMBER.match(ln.text):
            return None
        heavy = bool(_HEAVY_FONT.search(ln.font))
        if ln.size >= body_size * 1.08:
            return (ln.size, heavy)
        if heavy and not body_heavy and ln.size >= body_size and not ln.text.endswith("。"):
            return (ln.size, heavy)  # (a bold sentence in the text is emphasis, no heading)
        return None

    styles = sorted({s for lines in kept_pages for ln in lines if (s := heading_style(ln))},
                    reverse=True)
    level = {s: min(i + 1, 6) for i, s in enumerate(styles)}
    gaps = sorted(b.top - a.bottom for lines in kept_pages for a, b in zip(lines, lines[1:])
                  if a.size == b.size == body_size and b.top > a.bottom - 1 and
                  not heading_style(a) and not heading_style(b))
    usual_gap = gaps[len(gaps) // 2] if gaps else body_size * 0.5

    def boundary(ln: _Line, prev: _Line | None, prev_style) -> bool:
        return prev is None or prev_style is not None or ln.size != prev.size or \
            ln.top - prev.bottom > usual_gap * 1.4 + 0.5

    def indented(ln: _Line, left: float) -> bool:
        # A first-line indent is a character or two; centred lines stand further in.
        return 0.6 * ln.size < ln.x0 - left < 2.5 * ln.size and ln.size == body_size

    lefts = [min((ln.x0 for ln in lines if not heading_style(ln)), default=0.0)
             for lines in kept_pages]
    # When gaps or indents mark the paragraphs, a paragraph's lines are joined here; otherwise
    # the lines stay as printed and the chunker's line joining decides.
    marks = sum(1 for lines, left in zip(kept_pages, lefts) for a, b in zip(lines, lines[1:])
                if not heading_style(a) and not heading_style(b) and a.size == b.size == body_size
                and (boundary(b, a, None) or indented(b, left)))
    join_paragraphs = marks >= 3

    texts = []
    for (_, _, tables), lines, left in zip(raw_pages, kept_pages, lefts):
        items: list[tuple[float, str, object]] = [(ln.top, "line", ln) for ln in lines]
        items += [(top, "table", md) for top, md in tables]
        items.sort(key=lambda x: x[0])
        out: list[str] = []
        prev: _Line | None = None
        prev_style = None
        for _, kind, obj in items:
            if kind == "table":
                out += ["", *obj, ""]  # type: ignore[list-item]
                prev, prev_style = None, None
                continue
            ln: _Line = obj  # type: ignore[assignment]
            style = heading_style(ln)
            if style:
                if prev is not None and prev_style == style and ln.top - prev.bottom < ln.size:
                    out[-2] = _join(out[-2], ln.text)  # a heading wrapped over two lines
                else:
                    out += ["", f"{'#' * level[style]} {ln.text}", ""]
                prev, prev_style = ln, style
                continue
            new = boundary(ln, prev, prev_style)
            indent = indented(ln, left)
            if new and out and out[-1]:
                out.append("")
            if join_paragraphs and not new and not indent and out and out[-1] \
                    and not _BULLET.match(ln.text):
                out[-1] = _join(out[-1], ln.text)
            else:
                out.append((" " if indent else "") + ln.text)
            prev, prev_style = ln, None
        text = "\n".join(out)
        texts.append(re.sub(r"\n{3,}", "\n\n", text).strip("\n"))
    return LayoutPages(tuple(texts), tuple(printed))


def first_page_from_numbers(numbers: tuple[int | None, ...]) -> int | None:
    """The printed number of the first page when most numbered pages agree, else None.

    >>> first_page_from_numbers((None, 2, 3, 4))
    1
    >>> first_page_from_numbers((None, None, 5, 6, 7))
    3
    >>> first_page_from_numbers((None, 9, None)) is None
    True
    """
    offsets = Counter(n - i for i, n in enumerate(numbers) if n is not None)
    if not offsets:
        return None
    offset, count = offsets.most_common(1)[0]
    numbered = sum(n is not None for n in numbers)
    return offset if count >= 2 and count >= numbered / 2 else None
