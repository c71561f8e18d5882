"""Properties of the loaders for any input: a Document or a Japanese InputError naming the file,
never another exception; Japanese text read back exactly in every supported encoding."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from core_fixtures import REPORT
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reportfiles import make_docx, make_pdf, report_pages

from tsunagari.errors import InputError
from tsunagari.loaders import SUPPORTED_SUFFIXES, load_bytes
from tsunagari.types import Document

# Few examples keep the suite fast; failures are printed with the example, no database file.
FAST = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
ENCODINGS = ("utf-8", "cp932", "euc_jp", "utf-16")


def load_or_refuse(name: str, data: bytes) -> Document | None:
    """The Document, or None after checking the InputError names the file."""
    try:
        doc = load_bytes(name, data)
    except InputError as exc:
        assert name in str(exc)
        return None
    assert isinstance(doc, Document) and doc.text.strip() and "\x00" not in doc.text
    return doc


@FAST
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([*SUPPORTED_SUFFIXES, ".xlsx", ""]))
def test_any_bytes_give_a_document_or_an_input_error(data, suffix):
    load_or_refuse(f"報告{suffix}", data)


@functools.cache
def seed_files() -> dict[str, bytes]:
    """Real small files of each format, the starting points of the mutations below."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="loader-seeds-"))
    text = REPORT.read_text(encoding="utf-8")[:3000]
    return {
        "r.pdf": make_pdf(folder / "r.pdf", report_pages("港北区", "見守り", 2)).read_bytes(),
        "r.docx": make_docx(folder / "r.docx", [("Heading 1", "第1章 概要"), ("", text[:400])],
                            page_break_after=0).read_bytes(),
        "r.txt": text.encode("cp932", errors="replace"),
        "r.md": ("# 見出し\n\n" + text[:1000]).encode("euc_jp", errors="replace"),
    }


@st.composite
def damaged_files(draw) -> tuple[str, bytes]:
    """A real report file with bytes overwritten, inserted, deleted or cut off."""
    name = draw(st.sampled_from(sorted(seed_files())))
    data = bytearray(seed_files()[name])
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["overwrite", "insert", "delete", "cut"]))
        chunk = draw(st.binary(min_size=1, max_size=16))
        if op == "overwrite":
            data[at:at + len(chunk)] = chunk
        elif op == "insert":
            data[at:at] = chunk
        elif op == "delete":
            del data[at:at + len(chunk) * 16]
        elif at > 0:
            del data[at:]
    return name, bytes(data)


@FAST
@given(file=damaged_files())
def test_damaged_report_files_give_a_document_or_an_input_error(file):
    load_or_refuse(*file)


def _japanese_alphabet() -> str:
    kanji = sorted({ch for ch in REPORT.read_text(encoding="utf-8") if "\u4e00" <= ch <= "\u9fff"})
    kana = [chr(c) for c in range(0x3041, 0x3094)] + [chr(c) for c in range(0x30a1, 0x30f4)]
    chars = kanji + kana + list("、。「」（）・ー：　 \nAbc12")
    return "".join(ch for ch in chars
                   if all(ch.encode(e, errors="ignore").decode(e) == ch for e in ENCODINGS))


JAPANESE = _japanese_alphabet()
KANA = re.compile(r"[\u3041-\u30f3]")


def test_alphabet_is_japanese():
    assert len(JAPANESE) > 500 and "見" in JAPANESE and "あ" in JAPANESE and "ア" in JAPANESE


@FAST
@given(text=st.text(st.sampled_from(JAPANESE), min_size=1, max_size=300),
       encoding=st.sampled_from(ENCODINGS), suffix=st.sampled_from([".txt", ".md"]))
def test_japanese_text_reads_back_exactly(text, encoding, suffix):
    # Real Japanese text has kana; a few kanji alone can be valid CP932 and EUC-JP at once.
    assume(text.strip() and KANA.search(text))
    doc = load_bytes(f"memo{suffix}", text.encode(encoding))
    assert doc.text == text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_whole_report_reads_back_in_every_encoding(encoding):
    text = "".join(ch for ch in REPORT.read_text(encoding="utf-8")
                   if ch.encode(encoding, errors="ignore").decode(encoding) == ch)
    assert len(text) > 25_000
    assert load_bytes("report.txt", text.encode(encoding)).text == text
