"""What a format reader returns before sidecar metadata is applied."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loaded:
    """Text (and pages, when known) read from one file, with a default title."""

    text: str
    format: str
    title: str = ""
    pages: tuple[str, ...] = ()
    first_page: int = 1


@dataclass(frozen=True)
class LoadLimits:
    """What one report file may cost to read; past a cap the file is refused with a Japanese
    InputError naming it (a hostile or broken file must not exhaust CPU or memory)."""

    max_paragraphs: int = 200_000  # Word paragraphs, body and table cells together
    max_unzipped_mb: float = 64.0  # the .docx parts that are read (document, styles), unzipped


DEFAULT_LIMITS = LoadLimits()


def first_heading(text: str, limit: int = 60) -> str:
    """The first Markdown heading of a text, or ''.

    >>> first_heading("前書き\\n# 地域の見守り事例集\\n## 概要")
    '地域の見守り事例集'
    """
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            title = s.lstrip("#").strip()
            if title:
                return title[:limit]
    return ""


def first_short_line(text: str, limit: int = 60) -> str:
    """The first non-blank line when it looks like a title (short, not a sentence), or ''.

    >>> first_short_line("\\n  令和6年度 連携事例報告書\\n本文です。")
    '令和6年度 連携事例報告書'
    >>> first_short_line("これは本文の一文です。")
    ''
    """
    for line in text.splitlines():
        s = line.strip().lstrip("#").strip()
        if s:
            return s if len(s) <= limit and not s.endswith("。") else ""
    return ""
