"""Word headings come from paragraph styles: Heading N, the built-in names Japanese Word writes
(style id "1" named "heading 1"), and 見出し N; the second report as Word has the Markdown's
headings on the Markdown's pages."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportfiles import make_docx, make_raw_docx

from tsunagari.chunking import chunk_document
from tsunagari.chunking.generic.layout import paragraphs
from tsunagari.loaders import load_document

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MD = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / "pf-torikumi-jireishu.md"


def style(sid: str, name: str, default: bool = False) -> str:
    flag = ' w:default="1"' if default else ""
    return f'<w:style w:type="paragraph"{flag} w:styleId="{sid}"><w:name w:val="{name}"/></w:style>'


def para(text: str, sid: str = "") -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{sid}"/></w:pPr>' if sid else ""
    return f"<w:p>{ppr}<w:r><w:t>{escape(text)}</w:t></w:r></w:p>"


def test_japanese_word_style_names_give_heading_levels(tmp_path):
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="{W_NS}">'
              + style("a", "Normal", default=True) + style("1", "heading 1")
              + style("2", "heading 2") + style("30", "見出し 3") + "</w:styles>").encode()
    body = (para("芽室町の取組", "1") + para("1. 経緯", "2") + para("【推進体制】", "30")
            + para("保健福祉課が事務局を担っている。"))
    doc = load_document(make_raw_docx(tmp_path / "j.docx", body, styles_xml=styles))
    assert [(p.level, p.text) for p in paragraphs(doc)] == [
        (1, "芽室町の取組"), (2, "1. 経緯"), (3, "【推進体制】"), (0, "保健福祉課が事務局を担っている。")]
    chunk = next(c for c in chunk_document(doc) if "保健福祉課" in c.text)
    # A heading naming a body starts its case; the deeper headings stay inside it.
    assert chunk.chapter == "芽室町の取組" and chunk.municipality == "芽室町"
    assert chunk.heading == "【推進体制】"


def test_second_report_as_word_has_the_markdown_headings_and_pages(tmp_path):
    """The Markdown fixture written as Word (`#`…`###` as Heading 1–3, a page break at each
    form feed; the table left out): the same headings on the same pages."""
    blocks, breaks = [], []
    for n, page in enumerate(MD.read_text(encoding="utf-8").split("\f")):
        if n:
            breaks.append(len(blocks) - 1)
        for line in page.strip().split("\n"):
            line = line.strip()
            if not line or line.startswith("|"):
                continue
            level = len(line) - len(line.lstrip("#"))
            blocks.append((f"Heading {level}" if level else "",
                           line.lstrip("#").strip()))
    path = make_docx(tmp_path / "jireishu.docx", blocks)
    _break_pages(path, breaks)
    word = [(p.level, p.text, p.marks[0][1]) for p in paragraphs(load_document(path)) if p.level]
    md = [(p.level, p.text, p.marks[0][1]) for p in paragraphs(load_document(MD)) if p.level]
    assert word == md and len(md) == 1 + 10 + 28


def _break_pages(path: Path, after: list[int]) -> None:
    """Add a page break after the paragraphs at these indexes (python-docx, saved in place)."""
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document(str(path))
    for i in after:
        document.paragraphs[i].add_run().add_break(WD_BREAK.PAGE)
    document.save(str(path))
