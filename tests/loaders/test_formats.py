"""Loaders for every format: PDF pages and labels, CP932/EUC-JP text, Markdown, Word; bad inputs."""

import pytest
from reportfiles import make_docx, make_pdf, report_pages

from tsunagari.chunking import chunk_document
from tsunagari.errors import InputError
from tsunagari.loaders import load_document
from tsunagari.loaders.textfile import decode_text


def test_pdf_pages_and_structure(tmp_path):
    path = make_pdf(tmp_path / "minato.pdf", report_pages("港北区", "見守り", 3))
    doc = load_document(path)
    assert doc.format == "pdf" and len(doc.pages) == 3
    assert "港北区" in doc.pages[2] and doc.title == "第1章 港北区の見守り"
    chunks = chunk_document(doc)
    case = [c for c in chunks if c.municipality == "港北区"]
    assert case and {c.page for c in case} == {2, 3}
    assert all(c.case == "A：港北区" for c in case)
    assert any(c.section == "1-1" and c.page == 1 and c.chapter == "第1章" for c in chunks)


def test_pdf_first_page_from_sidecar_and_metadata_title(tmp_path):
    path = make_pdf(tmp_path / "r.pdf", report_pages("港北区", "見守り", 2), title="見守り報告書")
    (tmp_path / "r.yaml").write_text("publisher: テスト県\nfirst_page: 5\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "見守り報告書" and doc.publisher == "テスト県"
    assert {c.page for c in chunk_document(doc)} == {5, 6}


def test_pdf_page_labels(tmp_path):
    from pypdf import PdfReader, PdfWriter
    from pypdf.constants import PageLabelStyle

    src = make_pdf(tmp_path / "src.pdf", report_pages("港北区", "見守り", 3))
    writer = PdfWriter(clone_from=PdfReader(src))
    writer.set_page_label(0, 2, style=PageLabelStyle.DECIMAL, start=11)
    writer.write(tmp_path / "labelled.pdf")
    doc = load_document(tmp_path / "labelled.pdf")
    assert doc.first_page == 11
    assert max(c.page for c in chunk_document(doc)) == 13


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp", "utf-8-sig"])
def test_japanese_text_encodings(tmp_path, encoding):
    text = "第1章 高齢者の見守り\n\n1-1. 背景\n\n 港北区では、民生委員と郵便局が見守り協定を結んだ。\n"
    (tmp_path / "memo.txt").write_bytes(text.encode(encoding))
    doc = load_document(tmp_path / "memo.txt")
    assert "見守り協定" in doc.text and doc.title == "第1章 高齢者の見守り"
    (chunk,) = chunk_document(doc)
    assert chunk.section == "1-1" and "見守り協定を結んだ。" in chunk.text


def test_undecodable_text_names_the_file(tmp_path):
    with pytest.raises(InputError) as exc:
        decode_text("bin.txt", b"\xff\xfe\x00\x00broken\x00")
    assert "bin.txt" in str(exc.value) and "UTF-8" in str(exc.value)


def test_markdown_headings_and_toml_sidecar(tmp_path):
    (tmp_path / "notes.md").write_text(
        "# 居場所づくりの記録\n\n## 開設の経緯\n\n商店街の空き店舗を借りて、週3回の居場所を開いた。\n\n"
        "## 運営体制\n\n" + "ボランティア20人が交代で運営している。" * 30 + "\n",
        encoding="utf-8")
    (tmp_path / "notes.toml").write_text('title = "居場所の記録"\n', encoding="utf-8")
    doc = load_document(tmp_path / "notes.md")
    assert doc.title == "居場所の記録" and doc.format == "markdown"
    chunks = chunk_document(doc)
    assert chunks[0].section_title == "開設の経緯"
    body = [c for c in chunks if c.section_title == "運営体制"]
    assert len(body) >= 2 and all(len(c.text) <= 600 for c in body)
    assert all(c.text.split("\n")[-1].endswith("。") for c in body)  # split only at 。


def test_docx_headings_by_style_and_page_breaks(tmp_path):
    path = make_docx(tmp_path / "w.docx", [
        ("Title", "子ども食堂の連携事例"),
        ("Heading 1", "第1章 概要"),
        ("", "市内の子ども食堂が学校と連携して、支援が必要な家庭を見つけている。"),
        ("Heading 2", "1-1. 学校との連携"),
        ("", "学校の教員が気になる家庭を子ども食堂に紹介している。"),
    ], page_break_after=2)
    doc = load_document(path)
    assert doc.title == "子ども食堂の連携事例" and len(doc.pages) == 2
    chunks = chunk_document(doc)
    school = next(c for c in chunks if "教員" in c.text)
    assert school.section == "1-1" and school.page == 2 and school.chapter == "第1章"
    assert next(c for c in chunks if "見つけている" in c.text).page == 1


def test_bad_pdfs_give_clear_japanese_errors(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    locked = make_pdf(tmp_path / "locked.pdf", report_pages("港北区", "見守り"), encrypt="secret")
    scan = make_pdf(tmp_path / "scan.pdf", [[], []], image_only=True)
    messages = {}
    for path in (broken, locked, scan):
        with pytest.raises(InputError) as exc:
            load_document(path)
        messages[path.name] = str(exc.value)
        assert path.name in messages[path.name]
    assert "壊れて" in messages["broken.pdf"]
    assert "パスワード" in messages["locked.pdf"]
    assert "文字情報がありません。OCR が必要です" in messages["scan.pdf"]


def test_owner_password_only_pdf_is_read(tmp_path):
    from pypdf import PdfReader, PdfWriter

    src = make_pdf(tmp_path / "src.pdf", report_pages("港北区", "見守り"))
    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    writer.write(tmp_path / "restricted.pdf")
    assert "港北区" in load_document(tmp_path / "restricted.pdf").text


def test_unknown_format_and_empty_file(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(b"PK")
    (tmp_path / "b.txt").write_bytes(b"   \n")
    for name, words in (("a.xlsx", "対応していない形式"), ("b.txt", "空のファイル")):
        with pytest.raises(InputError) as exc:
            load_document(tmp_path / name)
        assert name in str(exc.value) and words in str(exc.value)
