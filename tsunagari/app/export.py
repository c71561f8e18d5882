"""Export a conversation as Markdown or as a Word memo (.docx) with the citations as footnotes.

python-docx has no footnote API: `conversation_docx` adds a real footnotes part
(word/footnotes.xml, related from the document part) and places `w:footnoteReference` runs at
each `[n]` marker, so Word and LibreOffice show true footnotes at the foot of the page.

A conversation is a list of messages {"role": "user"|"assistant", "content": str, "answer":
Answer | None}; an assistant message's text is its Answer's body (the content when there is no
Answer), and its citations become the footnotes, rendered by `tsunagari.answering.citations`.

Everything from reports, questions and answers is escaped in the Markdown export (HTML as
entities, Markdown syntax with backslashes): an exported memo opened in any Markdown viewer shows
the text as written and never runs markup from a report.
"""

from __future__ import annotations

import html
import io
import re
import time
from collections.abc import Sequence
from typing import Any

from tsunagari.answering.citations import footnote
from tsunagari.app.html import md_escape
from tsunagari.app.mdtable import Table, blocks
from tsunagari.types import Citation

TITLE = "つながり 相談メモ"
SUBTITLE = "地方版孤独・孤立対策官民連携プラットフォーム 事例集からの回答"

_TOKENS = re.compile(r"\*\*(.+?)\*\*|\[(\d{1,3})\]")
_BULLET = re.compile(r"^\s*[-*・]\s+")


def md_text(text: object) -> str:
    """Text for the Markdown export: HTML as entities, then Markdown syntax escaped.

    >>> print(md_text('<img src=x onerror=alert(1)>[link](javascript:x)'))
    &lt;img src=x onerror=alert\\(1\\)&gt;\\[link\\]\\(javascript:x\\)
    """
    return md_escape(html.escape(str(text), quote=False))


def _inline_md(text: str, q: int, cits: dict[int, Citation]) -> str:
    """One line of an answer body: **bold** kept, [n] → footnote refs, everything else escaped."""
    out, pos = [], 0
    for m in _TOKENS.finditer(text):
        out.append(md_text(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append(f"**{md_text(m.group(1))}**")
        else:
            n = int(m.group(2))
            out.append(f"[^{q}-{n}]" if n in cits else md_text(m.group(0)))
        pos = m.end()
    out.append(md_text(text[pos:]))
    return "".join(out)


def _table_md(table: Table, q: int, cits: dict[int, Citation]) -> list[str]:
    """A table in Markdown: the |-structure kept, each cell escaped like a line (a pipe inside a
    cell becomes \\|), [n] → footnote refs.

    >>> print("\\n".join(_table_md(Table(("事例", "記述"), (("A|B", "*会議*[1]"),)), 1, {})))
    | 事例 | 記述 |
    |---|---|
    | A\\|B | \\*会議\\*\\[1\\] |
    """
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(_inline_md(c, q, cits) for c in cells) + " |"

    return [row(table.header), "|" + "---|" * len(table.header)] + [row(r) for r in table.rows]


def _body_md(body: str, q: int, cits: dict[int, Citation]) -> str:
    """An answer body in the small Markdown subset answers use (paragraphs, - bullets, bold,
    tables); a table gets a blank line before and after it so every viewer sees a table."""
    lines: list[str] = []
    for block in blocks(body.strip()):
        if isinstance(block, Table):
            if lines and lines[-1]:
                lines.append("")
            lines += _table_md(block, q, cits) + [""]
            continue
        bullet = _BULLET.match(block)
        if bullet:
            lines.append("- " + _inline_md(block[bullet.end():], q, cits))
        elif block.strip() or (lines and lines[-1]):
            lines.append(_inline_md(block, q, cits))
    return "\n".join(lines).rstrip("\n")


def _text(message: dict[str, Any]) -> str:
    """An assistant message's answer body (its content when it carries no Answer)."""
    answer = message.get("answer")
    return answer.body if answer is not None else str(message.get("content", ""))


def _citations(message: dict[str, Any]) -> dict[int, Citation]:
    answer = message.get("answer")
    return {c.n: c for c in getattr(answer, "citations", ())} if answer is not None else {}


def _turns(messages: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, Any] | None]]:
    """(question, assistant message or None) pairs in order."""
    turns: list[tuple[str, dict[str, Any] | None]] = []
    for m in messages:
        if m.get("role") == "user":
            turns.append((str(m.get("content", "")), None))
        elif m.get("role") == "assistant":
            if turns and turns[-1][1] is None:
                turns[-1] = (turns[-1][0], m)
            else:
                turns.append(("", m))
    return turns


def conversation_markdown(messages: Sequence[dict[str, Any]], created: str | None = None,
                          filters: str = "") -> str:
    """The conversation as Markdown; `[n]` become footnotes `[^q-n]` defined at the end.

    >>> from tsunagari.types import Answer, Chunk
    >>> c = Chunk("c", "d", "事例集", "x", (6,), section="2-1-2", municipality="仙台市")
    >>> a = Answer("問", "回答です[1]。", False, (Citation(1, c, "引用文。", 6, (6,)),), ())
    >>> md = conversation_markdown([{"role": "user", "content": "問"},
    ...     {"role": "assistant", "content": a.body, "answer": a}], created="2025-01-01 09:00")
    >>> print(md)
    # つながり 相談メモ
    <BLANKLINE>
    地方版孤独・孤立対策官民連携プラットフォーム 事例集からの回答（作成: 2025-01-01 09:00）
    <BLANKLINE>
    ## 質問 1
    <BLANKLINE>
    > 問
    <BLANKLINE>
    ### 回答
    <BLANKLINE>
    回答です[^1-1]。
    <BLANKLINE>
    [^1-1]: 仙台市／2-1-2、本資料 p.6「引用文。」
    <BLANKLINE>
    """
    created = created or time.strftime("%Y-%m-%d %H:%M")
    lines = [f"# {TITLE}", "", f"{SUBTITLE}（作成: {md_text(created)}）", ""]
    if filters:
        lines += [md_text(filters), ""]
    notes: list[str] = []
    for q, (question, msg) in enumerate(_turns(messages), start=1):
        lines += [f"## 質問 {q}", ""]
        if question:
            lines += ["> " + md_text(line) for line in question.splitlines()] + [""]
        if msg is None:
            continue
        cits = _citations(msg)
        lines += ["### 回答", "", _body_md(_text(msg), q, cits), ""]
        notes += [f"[^{q}-{n}]: {md_text(footnote(c))}" for n, c in sorted(cits.items())]
    if notes:
        lines += notes + [""]
    return "\n".join(lines)


# --- Word memo with real footnotes ---------------------------------------------------------

_FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_FOOTNOTES_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_FOOTNOTES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<w:footnotes xmlns:w="{_W}">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" '
    'w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" '
    'w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/></w:r></w:p>'
    "</w:footnote></w:footnotes>"
)


class Footnotes:
    """The footnotes part of a python-docx Document, created on first use."""

    def __init__(self, document: Any) -> None:
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from docx.opc.packuri import PackURI
        from docx.opc.part import XmlPart
        from docx.oxml import parse_xml

        part = document.part
        existing = [r.target_part for r in part.rels.values()
                    if r.reltype == RT.FOOTNOTES and not r.is_external]
        if existing:
            self.part = existing[0]
        else:
            self.part = XmlPart(PackURI("/word/footnotes.xml"), _FOOTNOTES_CT,
                                parse_xml(_FOOTNOTES_XML.encode("utf-8")), part.package)
            part.relate_to(self.part, _FOOTNOTES_RT)
            self._declare_separators(document)
        from docx.oxml.ns import qn

        ids = [int(f.get(qn("w:id"))) for f in self.part.element.findall(qn("w:footnote"))]
        self.next_id = max([0, *ids]) + 1

    @staticmethod
    def _declare_separators(document: Any) -> None:
        """Word expects the separator footnotes to be named in settings.xml."""
        from docx.oxml import parse_xml

        settings = document.settings.element
        if settings.find(f"{{{_W}}}footnotePr") is None:
            pr = parse_xml(f'<w:footnotePr xmlns:w="{_W}"><w:footnote w:id="-1"/>'
                           '<w:footnote w:id="0"/></w:footnotePr>')
            # footnotePr belongs before compat/rsids etc.; appending after known early
            # elements keeps the schema order that Word validates.
            anchor = None
            for tag in ("compat", "rsids", "mathPr", "themeFontLang", "clrSchemeMapping",
                        "shapeDefaults", "decimalSymbol", "listSeparator"):
                anchor = settings.find(f"{{{_W}}}{tag}")
                if anchor is not None:
                    break
            if anchor is not None:
                anchor.addprevious(pr)
            else:
                settings.append(pr)

    def add(self, paragraph: Any, text: str) -> int:
        """Append a footnote with `text` and put its reference mark at the end of `paragraph`."""
        from docx.oxml import parse_xml
        from docx.oxml.ns import qn

        fid = self.next_id
        self.next_id += 1
        note = parse_xml(
            f'<w:footnote xmlns:w="{_W}" w:id="{fid}"><w:p><w:pPr><w:pStyle w:val="FootnoteText"/>'
            '</w:pPr><w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteRef/></w:r>'
            '<w:r><w:t xml:space="preserve"> </w:t></w:r></w:p></w:footnote>'
        )
        t = note.findall(f".//{qn('w:t')}")[-1]
        t.text = " " + text
        self.part.element.append(note)
        run = paragraph.add_run()
        run.font.superscript = True
        ref = parse_xml(f'<w:footnoteReference xmlns:w="{_W}" w:id="{fid}"/>')
        run._r.append(ref)
        return fid


def ensure_footnote_styles(document: Any) -> None:
    """Add the FootnoteText paragraph style (small type) if the template lacks it."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt

    names = {s.name for s in document.styles}
    if "footnote text" not in {n.lower() for n in names}:
        style = document.styles.add_style("Footnote Text", WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = document.styles["Normal"]
        style.font.size = Pt(8)
        style.element.get_or_add_pPr()
    # python-docx names the style id "FootnoteText" for "Footnote Text".


def add_inline(paragraph: Any, text: str, notes: Footnotes | None,
                cits: dict[int, Citation], seen: dict[int, int]) -> list[int]:
    """Add text with **bold** runs; each known [n] becomes a footnote reference.

    `seen` maps citation numbers already given a footnote (in this answer) to its footnote id.
    """
    used = []
    pos = 0
    for m in _TOKENS.finditer(text):
        if m.start() > pos:
            paragraph.add_run(text[pos : m.start()])
        if m.group(1) is not None:
            paragraph.add_run(m.group(1)).bold = True
        else:
            n = int(m.group(2))
            if n in cits and notes is not None:
                if n in seen:  # a repeated marker: a short note pointing to the first one
                    notes.add(paragraph, f"注{seen[n]}と同じ出典（[{n}]）。")
                else:
                    seen[n] = notes.add(paragraph, footnote(cits[n]))
                used.append(n)
            else:
                paragraph.add_run(m.group(0))
        pos = m.end()
    if pos < len(text):
        paragraph.add_run(text[pos:])
    return used


def add_table(doc: Any, table: Table, notes: Footnotes | None, cits: dict[int, Citation],
              seen: dict[int, int]) -> Any:
    """A real Word table (grid style, bold header row); [n] in a cell become footnotes."""
    grid = doc.add_table(rows=1 + len(table.rows), cols=len(table.header))
    grid.style = "Table Grid"
    for r, cells in enumerate((table.header, *table.rows)):
        for c, text in enumerate(cells):
            paragraph = grid.cell(r, c).paragraphs[0]
            add_inline(paragraph, text, notes, cits, seen)
            if r == 0:
                for run in paragraph.runs:
                    run.bold = True
    return grid


def new_document() -> tuple[Any, Footnotes]:
    """A Word document set up for Japanese memos (font, footnote style) and its footnotes part."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)
    # East Asian font so that Japanese renders with a Japanese face in Word.
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), "游明朝")
    ensure_footnote_styles(doc)
    return doc, Footnotes(doc)


def conversation_docx(messages: Sequence[dict[str, Any]], created: str | None = None,
                      filters: str = "") -> bytes:
    """The conversation as a Word memo (.docx bytes) with each citation as a real footnote."""
    created = created or time.strftime("%Y-%m-%d %H:%M")
    doc, notes = new_document()

    doc.add_heading(TITLE, level=0)
    doc.add_paragraph(f"{SUBTITLE}（作成: {created}）")
    if filters:
        doc.add_paragraph(filters)
    for q, (question, msg) in enumerate(_turns(messages), start=1):
        doc.add_heading(f"質問 {q}", level=1)
        if question:
            doc.add_paragraph(question, style="Intense Quote")
        if msg is None:
            continue
        cits = _citations(msg)
        body = _text(msg).strip()
        doc.add_heading("回答", level=2)
        seen: dict[int, int] = {}
        for block in blocks(body):
            if isinstance(block, Table):
                add_table(doc, block, notes, cits, seen)
                continue
            line = block.rstrip()
            if not line.strip():
                continue
            if _BULLET.match(line):
                p = doc.add_paragraph(style="List Bullet")
                add_inline(p, _BULLET.sub("", line), notes, cits, seen)
            else:
                p = doc.add_paragraph()
                add_inline(p, line.lstrip("#").strip(), notes, cits, seen)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_footnotes(data: bytes) -> list[str]:
    """Texts of the user footnotes of a .docx (used by tests and for checking an export)."""
    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    doc = Document(io.BytesIO(data))
    for rel in doc.part.rels.values():
        if rel.reltype == RT.FOOTNOTES:
            root = parse_xml(rel.target_part.blob)
            out = []
            for fn in root.findall(qn("w:footnote")):
                if int(fn.get(qn("w:id"))) > 0:
                    out.append("".join(t.text or "" for t in fn.iter(qn("w:t"))).strip())
            return out
    return []
