"""Recover printed pages, footnotes and clean lines from text that was extracted from a PDF."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A footnote reference extracted as " F" / "2F" at the end of a line; its number
# starts the next non-blank line ("…とされており F" / "2、今後の…").
_REF_MARK = re.compile(r"(?:\s+|\d)F\s*$")
_LEADING_NUMBER = re.compile(r"^(\d{1,2})(?!\d)")
_FOOTNOTE_START = re.compile(r"^(\d{1,2})\s+(\S.*)$")
_PAGE_NUMBER = re.compile(r"^\d{1,3}$")
_MAX_FOOTNOTE_LINES = 8


@dataclass(frozen=True)
class Line:
    """One cleaned, non-blank line with its printed page."""

    text: str
    page: int
    indented: bool
    lineno: int
    refs: tuple[int, ...] = ()
    after_ref: bool = False  # its leading footnote number was removed


@dataclass(frozen=True)
class Page:
    """A printed page: its number and the footnotes printed at its foot."""

    number: int
    footnotes: tuple[str, ...]


def _page_starts(raw: list[str], ref_lines: set[int]) -> list[int]:
    """Indices of lines that begin a page.

    A page starts where a non-blank line is directly followed by a line that
    begins with exactly one half-width space, and at a line holding only a
    printed page number (lone footnote-reference numbers are excluded).
    """
    starts = [0]
    for i in range(1, len(raw)):
        line, prev = raw[i], raw[i - 1]
        single_indent = line.startswith(" ") and not line.startswith("  ")
        if prev.strip() and single_indent and line.strip():
            starts.append(i)
        elif _PAGE_NUMBER.match(line.strip()) and i not in ref_lines:
            starts.append(i)
    return starts


def _find_refs(raw: list[str]) -> dict[int, tuple[int, int]]:
    """Map marker line index -> (number line index, footnote number)."""
    refs: dict[int, tuple[int, int]] = {}
    for i, line in enumerate(raw):
        if not _REF_MARK.search(line.rstrip()):
            continue
        j = i + 1
        while j < len(raw) and not raw[j].strip():
            j += 1
        if j < len(raw):
            m = _LEADING_NUMBER.match(raw[j].strip())
            if m:
                refs[i] = (j, int(m.group(1)))
    return refs


def recover(raw_text: str, first_page: int = 1) -> tuple[list[Line], list[Page]]:
    """Split PDF-extracted text into cleaned lines (with printed pages) and pages.

    Footnote reference markers and their numbers are removed, printed page
    numbers are dropped, and footnotes at the foot of a page are moved into
    `Page.footnotes`.
    """
    raw = raw_text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").split("\n")
    refs = _find_refs(raw)
    number_lines = {j: n for j, n in refs.values()}
    referenced = sorted(n for _, n in refs.values())
    starts = _page_starts(raw, set(number_lines))
    bounds = list(zip(starts, [*starts[1:], len(raw)]))

    lines: list[Line] = []
    pages: list[Page] = []
    used_footnotes: set[int] = set()
    for page_index, (a, b) in enumerate(bounds):
        number = first_page + page_index
        body = [i for i in range(a, b) if raw[i].strip()]
        if body and _PAGE_NUMBER.match(raw[body[0]].strip()) and body[0] not in number_lines:
            body = body[1:]  # the printed page number itself
        # Footnotes: a tail of the page that starts with "N text" for a referenced,
        # not yet printed footnote number.
        foot_at = len(body)
        for k, i in enumerate(body):
            m = _FOOTNOTE_START.match(raw[i])
            if (
                m
                and int(m.group(1)) in referenced
                and int(m.group(1)) not in used_footnotes
                and len(body) - k <= _MAX_FOOTNOTE_LINES
                and i not in number_lines
            ):
                foot_at = k
                break
        footnotes: list[str] = []
        for i in body[foot_at:]:
            m = _FOOTNOTE_START.match(raw[i])
            if m and int(m.group(1)) in referenced and int(m.group(1)) not in used_footnotes:
                used_footnotes.add(int(m.group(1)))
                footnotes.append(raw[i].strip())
            elif footnotes:
                footnotes[-1] += raw[i].strip()
        pages.append(Page(number=number, footnotes=tuple(footnotes)))

        for i in body[:foot_at]:
            text = raw[i]
            line_refs: tuple[int, ...] = ()
            if i in refs:
                text = _REF_MARK.sub("", text.rstrip())
                line_refs = (refs[i][1],)
            if i in number_lines:
                text = _LEADING_NUMBER.sub("", text.strip(), count=1)
            indented = raw[i].startswith(" ") and i not in number_lines
            text = text.strip()
            if text:
                lines.append(Line(text, number, indented, i + 1, line_refs, i in number_lines))
    return lines, pages
