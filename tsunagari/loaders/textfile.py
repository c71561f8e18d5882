"""Plain-text and Markdown reports in UTF-8, Shift_JIS/CP932 or EUC-JP."""

from __future__ import annotations

from tsunagari.errors import InputError
from tsunagari.loaders.base import Loaded, first_heading, first_short_line

_JAPANESE_CODECS = ("cp932", "euc_jp")


def _plausible(text: str) -> bool:
    """Decoded text that is mostly printable (no NULs, few control characters)."""
    if "\x00" in text:
        return False
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad <= len(text) // 1000


def decode_text(name: str, data: bytes) -> tuple[str, str]:
    """(text, encoding) of a text file: UTF-8 (with or without BOM), then CP932 or EUC-JP.

    >>> decode_text("a.txt", "見守り".encode("cp932"))
    ('見守り', 'cp932')
    >>> decode_text("a.txt", "見守り".encode("euc_jp"))
    ('見守り', 'euc_jp')
    """
    try:
        text = data.decode("utf-8-sig")
        if _plausible(text):
            return text, "utf-8"
    except UnicodeDecodeError:
        pass
    candidates: list[str] = []
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data, cp_isolation=["cp932", "shift_jis", "euc_jp", "iso2022_jp"]).best()
        if best is not None:
            candidates.append(best.encoding)
    except ImportError:  # pragma: no cover - charset-normalizer ships with requests
        pass
    for enc in (*candidates, *_JAPANESE_CODECS):
        enc = "cp932" if enc in ("shift_jis", "shift_jis_2004") else enc
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _plausible(text):
            return text, enc
    raise InputError(
        f"{name} の文字コードを判別できません（UTF-8、Shift_JIS（CP932）、EUC-JP に対応しています）。"
    )


def read_text(name: str, data: bytes, markdown: bool = False) -> Loaded:
    """A .txt or .md report; the title is its first heading or title-like first line."""
    text, _ = decode_text(name, data)
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise InputError(f"{name} は空のファイルです。")
    title = first_heading(text) if markdown else ""
    return Loaded(text=text, format="markdown" if markdown else "text",
                  title=title or first_short_line(text))
