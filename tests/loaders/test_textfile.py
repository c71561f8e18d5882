"""Text reports with control characters, BOMs and Japanese encodings, read from real files."""

from __future__ import annotations

import pytest

from tsunagari.errors import InputError
from tsunagari.loaders import load_document

REPORT = "第1章 高齢者の見守り\n\n1-1. 背景\n\n港北区では、民生委員と郵便局が見守り協定を結んだ。\n"


def load_error(tmp_path, name: str, data: bytes) -> str:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(InputError) as exc:
        load_document(tmp_path / name)
    message = str(exc.value)
    assert name in message
    return message


def test_nul_bytes_are_named_not_called_an_encoding_problem(tmp_path):
    data = REPORT.encode() + "2行目の続き\x00です。\n".encode()
    message = load_error(tmp_path, "nul.txt", data)
    assert "制御文字（NUL）が含まれています（6 行目）" in message
    assert "文字コードを判別できません" not in message


def test_utf16_without_bom_is_named_as_such(tmp_path):
    message = load_error(tmp_path, "u16.txt", REPORT.encode("utf-16-le"))
    assert "制御文字（NUL）" in message and "BOM のない UTF-16" in message


def test_binary_file_with_a_text_suffix(tmp_path):
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    assert "制御文字（NUL）" in load_error(tmp_path, "image.md", png)


def test_many_control_characters_without_nul_are_refused_as_binary(tmp_path):
    data = bytes(b for b in range(1, 128) if b not in (9, 10, 12, 13, 27)) * 20
    message = load_error(tmp_path, "ctrl.txt", data)
    assert "制御文字（U+0001 など" in message and "テキストの報告書ではない" in message
    assert "文字コード" not in message


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "euc_jp"])
def test_terminal_escape_sequences_and_stray_controls_are_removed(tmp_path, encoding):
    coloured = ("\x1b[1;31m第1章 高齢者の見守り\x1b[0m\n\n1-1. 背景\x07\n\n"
                "\x1b]0;title\x07港北区では、民生委員と\x08郵便局が見守り協定を結んだ。\x1b(B\x1b[m\n")
    (tmp_path / "log.txt").write_bytes(coloured.encode(encoding))
    doc = load_document(tmp_path / "log.txt")
    assert doc.text == REPORT and doc.title == "第1章 高齢者の見守り"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom(tmp_path, encoding):
    data = REPORT.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (tmp_path / "bom.txt").write_bytes(data)
    doc = load_document(tmp_path / "bom.txt")
    assert doc.text == REPORT and doc.title == "第1章 高齢者の見守り"


def test_iso2022jp_and_crlf(tmp_path):
    (tmp_path / "jis.txt").write_bytes(REPORT.replace("\n", "\r\n").encode("iso2022_jp"))
    assert load_document(tmp_path / "jis.txt").text == REPORT


def test_euc_jp_that_also_reads_as_cp932_is_read_as_euc_jp(tmp_path):
    # These EUC-JP bytes are valid CP932 too (as half-width katakana); the readable one wins.
    text = "見守りの会。みまもり。あいさつ。"
    data = text.encode("euc_jp")
    assert data.decode("cp932").startswith("ｸｫｼ鬢熙ﾎｲ")
    (tmp_path / "euc.txt").write_bytes(data)
    assert load_document(tmp_path / "euc.txt").text == text
