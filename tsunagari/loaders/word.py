"""Word (.docx) reports: paragraphs and tables in order, headings by style as Markdown `#`.

The body XML is walked once, in time linear in its size: paragraph style names are read once
from the styles part (python-docx's `paragraph.style` scanned every style of the document for
every paragraph: a 68 KB file of 100k short paragraphs took minutes), and merged table cells
are resolved row by row instead of by searching the rows above. The text is what python-docx's
`Paragraph.text` / `_Cell.text` give (runs and hyperlinks; tabs, breaks, no-break hyphens).
"""

from __future__ import annotations

import re

from tsunagari.errors import InputError
from tsunagari.loaders.base import DEFAULT_LIMITS, Loaded, LoadLimits, first_heading
from tsunagari.loaders.ooxml import WordParts, damaged, open_word

_HEADING_STYLE = re.compile(r"^(?:Heading|見出し)\s*([1-9])$", re.IGNORECASE)
_ON = ("1", "true", "on")


def _heading_level(style_name: str) -> int:
    """Markdown level of a paragraph style: Title → 1, Heading N / 見出し N → N, else 0.

    >>> _heading_level("Heading 2"), _heading_level("見出し 1"), _heading_level("Title")
    (2, 1, 1)
    >>> _heading_level("Normal"), _heading_level("heading 3")
    (0, 3)
    """
    if style_name in ("Title", "表題"):
        return 1
    m = _HEADING_STYLE.match(style_name.strip())
    return int(m.group(1)) if m else 0


class _Body:
    """Text of WordprocessingML elements in the namespace `w` of one file."""

    def __init__(self, parts: WordParts):
        w = self.w = parts.ns
        self.P, self.R, self.T, self.TBL = f"{w}p", f"{w}r", f"{w}t", f"{w}tbl"
        self.TR, self.TC, self.HYPERLINK, self.BR = f"{w}tr", f"{w}tc", f"{w}hyperlink", f"{w}br"
        self.VAL = f"{w}val"
        self.run_text = {f"{w}tab": "\t", f"{w}ptab": "\t", f"{w}cr": "\n",
                         f"{w}noBreakHyphen": "-"}
        self.style_names, self.default_style = self._styles(parts.styles)

    def _styles(self, styles) -> tuple[dict[str, str] | None, str]:
        """Paragraph style id → name (None without a styles part), and the default's name.

        As python-docx: the first style with an id wins, a non-paragraph style counts as the
        default, and the default paragraph style is the last one marked `w:default`.
        """
        if styles is None:
            return None, ""
        w = self.w
        names: dict[str, str] = {}
        seen: set[str] = set()
        default = ""
        for style in styles.iterchildren(f"{w}style"):
            sid = style.get(f"{w}styleId")
            name_el = style.find(f"{w}name")
            name = (name_el.get(self.VAL) if name_el is not None else None) or ""
            is_para = style.get(f"{w}type", "paragraph") == "paragraph"
            if sid is not None and sid not in seen:
                seen.add(sid)
                if is_para:
                    names[sid] = name
            if is_para and (style.get(f"{w}default") or "").lower() in _ON:
                default = name
        return names, default

    def style_name(self, p) -> str:
        """The name of a paragraph's style (the default style without `w:pStyle`)."""
        ppr = p.find(f"{self.w}pPr")
        pstyle = ppr.find(f"{self.w}pStyle") if ppr is not None else None
        sid = pstyle.get(self.VAL) if pstyle is not None else None
        if self.style_names is None:  # no styles part: ids such as "Heading1" are the names
            return sid or ""
        if sid is None:
            return self.default_style
        return self.style_names.get(sid, self.default_style)

    def _run(self, r, out: list[str]) -> None:
        for e in r:
            tag = e.tag
            if tag == self.T:
                out.append(e.text or "")
            elif tag == self.BR:
                out.append("\n" if e.get(f"{self.w}type", "textWrapping") == "textWrapping" else "")
            elif tag in self.run_text:
                out.append(self.run_text[tag])

    def paragraph_text(self, p) -> str:
        out: list[str] = []
        for child in p:
            if child.tag == self.R:
                self._run(child, out)
            elif child.tag == self.HYPERLINK:
                for r in child.iterchildren(self.R):
                    self._run(r, out)
        return "".join(out)

    def _cell_text(self, tc) -> str:
        return "\n".join(self.paragraph_text(p) for p in tc.iterchildren(self.P)).strip()

    def _int_val(self, parent, tag: str, default: int) -> int:
        el = parent.find(f"{self.w}{tag}") if parent is not None else None
        try:
            return int(el.get(self.VAL)) if el is not None else default
        except (TypeError, ValueError):
            return default

    def table_rows(self, tbl) -> list[str]:
        """One line per row: the distinct non-empty cell texts, tab-separated.

        A cell continuing a vertical merge shows the text of the cell above it in the same
        layout-grid column (tracked per row, so tall merged tables stay linear).
        """
        lines: list[str] = []
        above: dict[int, str] = {}
        for tr in tbl.iterchildren(self.TR):
            offset = self._int_val(tr.find(f"{self.w}trPr"), "gridBefore", 0)
            row: dict[int, str] = {}
            cells: list[str] = []
            for tc in tr.iterchildren(self.TC):
                tcpr = tc.find(f"{self.w}tcPr")
                merge = tcpr.find(f"{self.w}vMerge") if tcpr is not None else None
                span = self._int_val(tcpr, "gridSpan", 1)
                if merge is not None and merge.get(self.VAL, "continue") == "continue" \
                        and offset in above:
                    text = above[offset]
                else:
                    text = self._cell_text(tc)
                row.setdefault(offset, text)
                if span > 0:  # python-docx yields a cell once per grid column it spans
                    cells.append(text)
                offset += span
            above = row
            lines.append("\t".join(dict.fromkeys(c for c in cells if c)))
        return lines


def _breaks(element, w: str, rendered: bool) -> int:
    """Page breaks inside a paragraph element (rendered ones, or explicit `w:br type=page`)."""
    if rendered:
        return sum(1 for _ in element.iter(f"{w}lastRenderedPageBreak"))
    return sum(1 for br in element.iter(f"{w}br") if br.get(f"{w}type") == "page")


def read_docx(name: str, data: bytes, limits: LoadLimits = DEFAULT_LIMITS) -> Loaded:
    """Text of a .docx file with `#` headings; pages split at page breaks when present."""
    parts = open_word(name, data, limits.max_unzipped_mb)
    body_el = parts.document.find(f"{parts.ns}body")
    if body_el is None:
        raise damaged(name)
    body = _Body(parts)
    paragraphs = sum(1 for _ in body_el.iter(body.P))
    if paragraphs > limits.max_paragraphs:
        raise InputError(f"{name} は段落が多すぎるため読み込みません（{paragraphs:,} 段落、"
                         f"上限 {limits.max_paragraphs:,} 段落）。ファイルを分けて置いてください。")
    rendered = next(body_el.iter(f"{parts.ns}lastRenderedPageBreak"), None) is not None
    pages: list[list[str]] = [[]]
    for child in body_el:
        if child.tag == body.P:
            # A break before the text (Word renders breaks where the page starts).
            for _ in range(_breaks(child, parts.ns, rendered)):
                pages.append([])
            text = body.paragraph_text(child).strip()
            if not text:
                pages[-1].append("")
                continue
            level = _heading_level(body.style_name(child))
            pages[-1].append(f"{'#' * level} {text}" if level else text)
            pages[-1].append("")
        elif child.tag == body.TBL:
            pages[-1].extend(body.table_rows(child))
            pages[-1].append("")
    texts = ["\n".join(p).strip("\n") for p in pages]
    if not any(t.strip() for t in texts):
        raise InputError(f"{name} には文字が含まれていません。")
    text = "\n\n".join(texts)
    known_pages = tuple(texts) if len(texts) > 1 else ()
    return Loaded(text=text, format="docx", pages=known_pages, title=first_heading(text))
