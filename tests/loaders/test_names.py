"""The upload name sanitiser and the printable form of names, for any input (Hypothesis)."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tsunagari.loaders.names import MAX_NAME_BYTES, has_hidden_chars, printable_name, safe_name
from tsunagari.loaders.upload import UPLOAD_SUFFIXES
from tsunagari.loaders.upload import safe_name as upload_safe_name

HIDDEN = ("\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u200b", "\u200e", "\u202a", "\u202e",
          "\u2066", "\u2069", "\u061c", "\ufeff", "\u2028", "\udce9")
# Names that mix Japanese, path separators, dots, spaces, Markdown and hidden characters.
pieces = st.one_of(
    st.text(min_size=0, max_size=40),
    st.sampled_from(["報告書", "第1版", "地方版ＰＦ", "ｶﾞ", "が", "/", "\\", ".", "..", "~$", " ",
                     "\u3000", "_", "![x](t.png)", "e\u0301", "\u1100\u1161", *HIDDEN]),
)
names = st.lists(pieces, max_size=30).map("".join)
# The 92-character Japanese name of the issue (276 bytes in UTF-8).
LONG_NAME = ("令和6年度地方版孤独・孤立対策官民連携プラットフォーム"
             "の事例調査報告書" * 3)[:88] + ".txt"
suffixes = st.sampled_from([*UPLOAD_SUFFIXES, ".TXT", ".Pdf", ".exe", ".toml", ""])


def _check(result: str, original_suffix: str) -> None:
    assert "/" not in result and "\\" not in result and result not in (".", "..")
    assert len(result.encode("utf-8")) <= MAX_NAME_BYTES
    assert not result.startswith((".", "~$"))
    assert not has_hidden_chars(result)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in result)
    assert unicodedata.is_normalized("NFC", result)
    assert safe_name(result) == result  # idempotent
    if original_suffix.lower() in UPLOAD_SUFFIXES:
        assert result and result.endswith(original_suffix)  # the allowed suffix is kept
        assert len(result) > len(original_suffix)  # and something before it


@settings(max_examples=400, deadline=None)
@given(names, suffixes)
@example("../../etc/報告書 第1版", ".txt")
@example("地方版孤独・孤立対策官民連携プラットフォーム" * 5, ".txt")  # 92+ characters, > 255 bytes
@example("\x1b]0;owned\x07報告\u202etxt", ".docx")
@example(".", ".md")
@example("a_." + "x" * 260, ".txtx")
def test_safe_name_is_one_short_clean_component(stem, suffix):
    _check(safe_name(stem + suffix, UPLOAD_SUFFIXES), suffix)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_safe_name_of_any_text(name):
    _check(safe_name(name), "")
    assert upload_safe_name(name) == safe_name(name, UPLOAD_SUFFIXES)


def test_long_japanese_name_is_trimmed_keeping_the_suffix():
    name = LONG_NAME
    assert len(name) == 92 and len(name.encode()) > 255
    out = safe_name(name)
    assert out.endswith(".txt") and name.startswith(out[:-4])
    assert 250 <= len(out.encode()) <= 255


@given(st.text(max_size=100))
def test_printable_name_shows_no_hidden_characters(name):
    shown = printable_name(name)
    assert not has_hidden_chars(shown)
    assert shown == name or has_hidden_chars(name)
    assert printable_name(shown) == shown
    shown.encode("utf-8")  # always printable to a UTF-8 terminal (no lone surrogates)
