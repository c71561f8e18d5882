"""Report file names: a safe single path component for uploads, and a printable form of any name.

A name coming from a browser or found on disk may carry directories, terminal escape codes
(ESC and other C0/C1 controls), bidi overrides such as U+202E that make
「請求書<U+202E>txt.exe」 look like something else, bytes that are not UTF-8
(surrogate-escaped by Python), or more than the 255 bytes a file system allows. `safe_name`
turns it into a name that can be stored; `printable_name` shows any name without letting such
characters reach a terminal or page.
"""

from __future__ import annotations

import re
import unicodedata

from tsunagari.loaders import SUPPORTED_SUFFIXES

MAX_NAME_BYTES = 255  # NAME_MAX of ext4, XFS, btrfs, APFS, NTFS (in UTF-8 bytes on Linux)
DEFAULT_STEM = "資料"  # used when nothing of the name before the suffix survives cleaning
# Cc: C0/C1 controls and DEL (ESC starts terminal escape codes); Cf: format characters,
# among them the bidi controls U+202A-U+202E, U+2066-U+2069, U+200E/U+200F, U+061C;
# Cs: lone surrogates (undecodable bytes of a file name); Zl/Zp: line/paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Characters Windows does not allow, and whitespace (kept readable as "_").
_RESERVED = re.compile(r"[<>:\"|?*\s]+")
_LEADING = re.compile(r"^(?:[._]|~\$)+")  # dot-files and Office lock files (~$) are not indexed
_TRAILING = re.compile(r"[._]+$")


def is_hidden_char(ch: str) -> bool:
    """True for a control, format (bidi), surrogate or separator character.

    >>> [is_hidden_char(c) for c in ("\\x1b", "\\u202e", "\\x85", "あ", " ")]
    [True, True, True, False, False]
    """
    return unicodedata.category(ch) in _HIDDEN_CATEGORIES


def has_hidden_chars(name: str) -> bool:
    """True when a name contains a character `printable_name` would escape."""
    return any(is_hidden_char(ch) for ch in name)


def printable_name(name: str) -> str:
    """`name` with every control, format or undecodable character shown as an escape.

    >>> printable_name("報告\\x1b[31m書.txt")
    '報告\\\\x1b[31m書.txt'
    >>> printable_name("資料\\u202etxt.exe")
    '資料\\\\u202etxt.exe'
    >>> printable_name("r\\udce9.txt")  # the byte 0xe9 of a file name that is not UTF-8
    'r\\\\xe9.txt'
    """
    out = []
    for ch in name:
        if not is_hidden_char(ch):
            out.append(ch)
            continue
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:  # surrogateescape: an undecodable byte of the name
            out.append(f"\\x{cp - 0xDC00:02x}")
        elif cp <= 0xFF:
            out.append(f"\\x{cp:02x}")
        else:
            out.append(f"\\u{cp:04x}")
    return "".join(out)


def _trim_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def _clean_once(filename: str, suffixes: tuple[str, ...]) -> str:
    name = "".join(ch for ch in filename if not is_hidden_char(ch))
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _RESERVED.sub("_", name)
    stem, dot, ext = name.rpartition(".")
    suffix = f".{ext}" if dot and f".{ext}".lower() in suffixes else ""
    if not suffix:
        stem = name
    stem = _trim_utf8(stem, MAX_NAME_BYTES - len(suffix.encode("utf-8")))
    stem = _TRAILING.sub("", _LEADING.sub("", stem))
    if not stem:
        stem = DEFAULT_STEM if suffix else ""
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return _trim_utf8(unicodedata.normalize("NFC", stem), budget) + suffix


def safe_name(filename: str, suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES) -> str:
    """A file name that can be stored: one path component (directories dropped), no control,
    bidi or other format characters, Windows-reserved characters and whitespace as "_", never
    starting with "." or "~$", at most 255 bytes in UTF-8 with a suffix of `suffixes` kept
    (a name left without a stem becomes 「資料」 plus the suffix). "" when nothing remains.
    Japanese is kept; the result is NFC and `safe_name(safe_name(x)) == safe_name(x)`.

    >>> safe_name("../../etc/報告書 第1版.txt")
    '報告書_第1版.txt'
    >>> safe_name("a/b\\\\c.md")
    'c.md'
    >>> safe_name("報告書\\u202etxt.docx")
    '報告書txt.docx'
    >>> safe_name(".env")
    'env'
    >>> safe_name("\\x1b[2J.pdf")
    '[2J.pdf'
    >>> safe_name(".txt"), safe_name("..")
    ('資料.txt', '')
    >>> n = safe_name("地域" * 60 + ".txt")
    >>> len(n.encode()), n.endswith(".txt")
    (253, True)
    """
    name = filename
    for _ in range(4):  # a fixpoint: cleaning a cleaned name changes nothing
        cleaned = _clean_once(name, suffixes)
        if cleaned == name:
            break
        name = cleaned
    return name
