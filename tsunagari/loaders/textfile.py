"""Plain-text and Markdown reports in UTF-8, Shift_JIS/CP932, EUC-JP (or UTF-16/32 with a BOM).

Control characters are reported for what they are, not as an encoding problem: a NUL byte means
a binary file (or UTF-16 saved without a BOM) and is refused; terminal escape sequences (colour
codes from a copied log) and a few stray control characters are removed; a text with many of
them is refused as binary-looking.
"""

from __future__ import annotations

import re

from tsunagari.errors import InputError
from tsunagari.loaders.base import Loaded, first_heading, first_short_line

_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_ISO2022_DESIGNATION = re.compile(rb"\x1b(?:\$[@B]|\$\(D|\([BJI])")
# ANSI/VT escape sequences: CSI (colours, cursor), OSC (titles, links; never past a line end),
# other escapes (ESC ( B, ESC 7 …), 8-bit CSI.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
                              r"|\x1b[ -/]*[0-~]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # all but \t \n \f \r
_SUPPORTED = "UTF-8、Shift_JIS（CP932）、EUC-JP、BOM 付きの UTF-16"
# Characters that a wrong choice between CP932 and EUC-JP produces: half-width katakana,
# private use, C1 controls.
_MOJIBAKE = re.compile(r"[\uff61-\uff9f\ue000-\uf8ff\x80-\x9f]")


def _line_of(data: bytes | str, index: int) -> int:
    newline = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(newline, 0, index) + 1


def _control_name(ch: str) -> str:
    return "NUL" if ch == "\x00" else "ESC" if ch == "\x1b" else f"U+{ord(ch):04X}"


def _nul_error(name: str, data: bytes | str) -> InputError:
    line = _line_of(data, data.index(b"\x00" if isinstance(data, bytes) else "\x00"))
    return InputError(
        f"{name} には制御文字（NUL）が含まれています（{line} 行目）。文書ではないファイルか、"
        f"BOM のない UTF-16 で保存されたファイルのようです。{_SUPPORTED} のテキストとして"
        "保存し直してください。"
    )


def _decode(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) by BOM, ISO-2022-JP escapes, UTF-8, then the likelier of CP932 and
    EUC-JP; None when no encoding reads the bytes."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                break  # a BOM but not that encoding: judge the bytes below
    if data.isascii() and _ISO2022_DESIGNATION.search(data):  # 7-bit JIS (ISO-2022-JP)
        try:
            return data.decode("iso2022_jp"), "iso2022_jp"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decoded = []
    for enc in ("cp932", "euc_jp"):
        try:
            decoded.append((data.decode(enc), enc))
        except UnicodeDecodeError:
            continue
    if not decoded:
        return None
    # EUC-JP bytes often also read as CP932 half-width katakana, rarely the other way round.
    return min(decoded, key=lambda pair: len(_MOJIBAKE.findall(pair[0])))


def decode_text(name: str, data: bytes) -> tuple[str, str]:
    """(text, encoding) of a text file; control characters are left for `clean_controls`.

    >>> decode_text("a.txt", "見守り".encode("cp932"))
    ('見守り', 'cp932')
    >>> decode_text("a.txt", "見守り".encode("euc_jp"))
    ('見守り', 'euc_jp')
    >>> decode_text("a.txt", "見守り".encode("utf-16"))
    ('見守り', 'utf-16')
    """
    result = _decode(data)
    if result is not None and "\x00" in result[0]:
        raise _nul_error(name, result[0])
    if result is None and b"\x00" in data:
        raise _nul_error(name, data)
    if result is None:
        raise InputError(f"{name} の文字コードを判別できません（{_SUPPORTED} に対応しています）。")
    return result


def clean_controls(name: str, text: str) -> str:
    """The text without terminal escape sequences and stray control characters; InputError
    for a binary-looking text (more than 1% control characters, at least 10).

    >>> clean_controls("a.txt", "\\x1b[1;31m重要\\x1b[0m：見守り\\x07")
    '重要：見守り'
    """
    text = _ESCAPE_SEQUENCE.sub("", text)
    controls = _CONTROL.findall(text)
    if len(controls) > max(10, len(text) // 100):
        first = _CONTROL.search(text)
        raise InputError(
            f"{name} には制御文字（{_control_name(controls[0])} など {len(controls):,} 個）が含まれて"
            f"います（最初は {_line_of(text, first.start())} 行目）。テキストの報告書ではない"
            "ファイルのようです。"
        )
    return _CONTROL.sub("", text)


def read_text(name: str, data: bytes, markdown: bool = False) -> Loaded:
    """A .txt or .md report; the title is its first heading or title-like first line.

    A form feed (as pdftotext writes between pages) is a page break: the report then has pages,
    numbered from 1 (or the sidecar's first_page).

    >>> read_text("a.md", "# 事例集\\n本文\\n\\f\\n## 1. 市\\n".encode()).pages
    ('# 事例集\\n本文', '## 1. 市')
    """
    text, _ = decode_text(name, data)
    text = clean_controls(name, text.lstrip("\ufeff"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(f"{name} は空のファイルです。")
    title = first_heading(text) if markdown else ""
    pages = tuple(p.strip("\n") for p in text.split("\f")) if "\f" in text else ()
    if pages and not pages[-1].strip():
        pages = pages[:-1]  # a form feed at the very end closes the last page
    return Loaded(text=text.replace("\f", "\n") if pages else text,
                  format="markdown" if markdown else "text",
                  title=title or first_short_line(text), pages=pages)
