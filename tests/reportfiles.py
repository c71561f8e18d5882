"""Real report files for the refresh tests: Japanese PDFs (reportlab CID font) and .docx."""

from __future__ import annotations

import io
from pathlib import Path

FONT = "HeiseiKakuGo-W5"


def make_pdf(path: Path, pages: list[list[str]], *, encrypt: str = "", title: str = "",
             image_only: bool = False) -> Path:
    """A PDF whose page i shows `pages[i]` (one string per line) in a Japanese font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    if title:
        c.setTitle(title)
    for lines in pages:
        if image_only:
            c.rect(50, 500, 300, 200, fill=1)  # a drawing, no text layer
        else:
            c.setFont(FONT, 11)
            y = 800
            for line in lines:
                c.drawString(40, y, line)
                y -= 18
        c.showPage()
    c.save()
    data = buf.getvalue()
    if encrypt:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        writer.encrypt(user_password=encrypt, owner_password=encrypt + "-owner",
                       algorithm="RC4-128")
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    path.write_bytes(data)
    return path


def make_docx(path: Path, blocks: list[tuple[str, str]], page_break_after: int = -1) -> Path:
    """A .docx of (style, text) paragraphs; style '' is Normal, 'Heading 1' etc. are headings."""
    import docx
    from docx.enum.text import WD_BREAK

    d = docx.Document()
    for i, (style, text) in enumerate(blocks):
        para = d.add_paragraph(text, style=style or None)
        if i == page_break_after:
            para.add_run().add_break(WD_BREAK.PAGE)
    d.save(str(path))
    return path


def report_pages(town: str, topic: str, n_pages: int = 2) -> list[list[str]]:
    """Lines of a small structured report on `n_pages` pages (chapter, sections, a case)."""
    pages = [[
        f"第1章 {town}の{topic}",
        "1-1. 取組の概要",
        f"{town}では、{topic}のために庁内の関係課が集まる会議を毎月開いている。",
        "会議には社会福祉協議会と民間団体も参加している。",
    ]]
    for i in range(1, n_pages):
        pages.append([
            f"1-{i + 1}. 第{i + 1}段階の工夫",
            f"Ａ：{town}",
            f"{town}では、第{i + 1}段階として{topic}の担い手を地域で育てる研修を行った。",
        ])
    return pages


def make_raw_docx(path: Path, body_xml: str, *, styles_xml: bytes | None = None,
                  drop: tuple[str, ...] = ()) -> Path:
    """A .docx whose body is `body_xml` (WordprocessingML with the `w:` prefix), in python-docx's
    default package; `styles_xml` replaces word/styles.xml, `drop` leaves parts out."""
    import zipfile

    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    xml = src.read("word/document.xml").decode("utf-8")
    start = xml.index("<w:body>") + len("<w:body>")
    end = xml.index("<w:sectPr")
    document = (xml[:start] + body_xml + xml[end:]).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                data = document
            elif info.filename == "word/styles.xml" and styles_xml is not None:
                data = styles_xml
            out.writestr(info.filename, data)
    return path


def make_long_docx(path: Path, n_paragraphs: int, heading_every: int = 0) -> Path:
    """A small .docx with `n_paragraphs` one-character paragraphs (every `heading_every`-th a
    'Heading 1'), like the 68 KB / 100k-paragraph file that once took minutes to read."""
    paras = []
    for i in range(n_paragraphs):
        if heading_every and i % heading_every == 0:
            paras.append(f'<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr>'
                         f'<w:r><w:t>見出し{i}</w:t></w:r></w:p>')
        else:
            paras.append(f"<w:p><w:r><w:t>{i % 10}</w:t></w:r></w:p>")
    return make_raw_docx(path, "".join(paras))
