"""Layout-aware PDF reading on the second report's real PDF (pdfplumber, no fakes): headings
from font size, 表1 as a Markdown table, no running header or page number, printed pages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tsunagari.chunking.generic.layout import paragraphs
from tsunagari.errors import InputError
from tsunagari.loaders import load_bytes, load_document
from tsunagari.loaders import pdf as pdf_loader
from tsunagari.loaders.pdf import read_pdf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reports"
PDF = FIXTURES / "pf-torikumi-jireishu.pdf"
MD = FIXTURES / "pf-torikumi-jireishu.md"
RUNNING_HEADER = "地方版PF 取組事例集（令和7年度）"
PAGE_NUMBER = re.compile(r"^-\s*\d+\s*-$", re.M)
# The printed page each section heading stands on (read off the rendered PDF).
SECTION_PAGES = {"1. はじめに": 2, "2. 事例の概要": 2, "3. 上越市（新潟県、人口約18万人）": 3,
                 "4. 芽室町（北海道、人口約1.8万人）": 3, "5. 豊島区（東京都、人口約29万人）": 4,
                 "6. 南箕輪村（長野県、人口約1.6万人）": 5, "7. 鳥取県（人口約54万人）": 5,
                 "8. 潮見原市（静岡県、人口約8万人）": 6, "9. 豊岡市（兵庫県、人口約7.5万人）": 6,
                 "10. まとめ": 7}


def headings(path: Path) -> list[tuple[int, str, int]]:
    """(level, text without spaces, printed page) of every heading the chunker sees."""
    return [(p.level, p.text.replace(" ", ""), p.marks[0][1])
            for p in paragraphs(load_document(path)) if p.level]


def test_pdf_and_markdown_give_the_same_headings_on_the_same_pages():
    from_pdf, from_md = headings(PDF), headings(MD)
    assert from_pdf == from_md
    assert from_pdf[0] == (1, "地方版孤独・孤立対策官民連携プラットフォーム取組事例集（令和7年度）", 1)
    sections = {t: page for level, t, page in from_pdf if level == 2}
    assert sections == {k.replace(" ", ""): v for k, v in SECTION_PAGES.items()}
    subs = [t for level, t, _ in from_pdf if level == 3]
    assert len(subs) == 28 and set(subs) == {"【取組の経緯】", "【推進体制】", "【工夫した点】",
                                             "【今後の課題】"}


def test_table_is_read_as_a_markdown_table_with_its_header():
    doc = load_document(PDF)
    page2 = doc.pages[1]
    assert "| 自治体名 | 担当部署 | PF設立時期 | 参加団体数 | 主な連携先 |" in page2
    # A cell wrapped over two lines in the PDF is one cell again.
    assert "| 鳥取県 | 福祉保健部孤独・孤立対策課 | 令和4年8月 | 110団体 | 県内市町村、県内企業、鳥取大学 |" \
        in page2
    tables = [p for p in paragraphs(doc) if p.rows]
    assert len(tables) == 1 and tables[0].caption == "表1 取組事例の概要"
    assert tables[0].marks[0][1] == 2 and len(tables[0].rows) == 8
    md_tables = [p for p in paragraphs(load_document(MD)) if p.rows]
    assert md_tables[0].rows == tables[0].rows


def test_page_furniture_is_dropped_and_notes_are_kept():
    doc = load_document(PDF)
    text = "\n".join(doc.pages)
    assert RUNNING_HEADER not in text and not PAGE_NUMBER.search(text)
    assert doc.pages[1].rstrip().endswith("※1 ヒアリングは令和6年7月から9月にかけて、オンライン又は"
                                          "訪問により各自治体1回から2回実施した。")
    assert "※2 民生委員は児童委員を兼ねており" in doc.pages[3]
    # The plain reading (pypdf) still has them: the layout reader is what removes them.
    plain = read_pdf(PDF.name, PDF.read_bytes(), layout=False)
    assert RUNNING_HEADER in plain.text and plain.first_page == 1


def test_same_paragraphs_as_markdown():
    def texts(path):
        return [p.text for p in paragraphs(load_document(path)) if not p.level][1:]
    assert texts(PDF) == texts(MD)  # (the cover title is compared above, without its space)


def test_printed_page_numbers_in_the_footer_set_the_first_page(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i in range(4):
        c.setFont("HeiseiMin-W3", 10.5)
        c.drawString(60, 780, f"第{i + 1}節の本文です。地域の見守りについて記述している。")
        c.drawString(60, 760, "民生委員と社会福祉協議会が連携している。")
        c.drawCentredString(300, 30, f"- {i + 11} -")
        c.showPage()
    c.save()
    doc = load_bytes("numbered.pdf", buf.getvalue())
    assert doc.first_page == 11 and len(doc.pages) == 4
    assert not any(PAGE_NUMBER.search(p) for p in doc.pages)


def test_plain_reading_when_pdfplumber_fails(monkeypatch):
    def broken(data):
        raise ValueError("pdfminer could not parse")

    monkeypatch.setattr(pdf_loader, "read_layout", broken)
    loaded = read_pdf(PDF.name, PDF.read_bytes())
    assert len(loaded.pages) == 7 and "上越市" in loaded.pages[2]
    assert RUNNING_HEADER in loaded.text  # pypdf's text, furniture and all


@pytest.mark.parametrize("layout", [True, False])
def test_scan_message_either_way(tmp_path, layout):
    from reportfiles import make_pdf

    scan = make_pdf(tmp_path / "scan.pdf", [[], []], image_only=True)
    with pytest.raises(InputError) as exc:
        read_pdf("scan.pdf", scan.read_bytes(), layout=layout)
    assert "文字情報がありません。OCR が必要です" in str(exc.value)


def test_gothic_lines_of_body_size_are_headings_but_gothic_sentences_are_not():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    for font in ("HeiseiMin-W3", "HeiseiKakuGo-W5"):
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    y = 780
    for font, text in [("HeiseiKakuGo-W5", "【推進体制】"),
                       ("HeiseiMin-W3", "事務局は保健福祉課が担い、町内の18団体が参加している。"),
                       ("HeiseiMin-W3", "会議は年3回開催している。"),
                       ("HeiseiKakuGo-W5", "見守りの対象は冬の前に共有する。"),
                       ("HeiseiMin-W3", "民生委員の担い手不足が課題である。")]:
        c.setFont(font, 10.5)
        c.drawString(60, y, text)
        y -= 18
    c.showPage()
    c.save()
    page = load_bytes("gothic.pdf", buf.getvalue()).pages[0]
    assert page.startswith("# 【推進体制】\n")
    assert "\n見守りの対象は冬の前に共有する。" in page and page.count("#") == 1
