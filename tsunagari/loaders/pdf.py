"""PDF reports with a text layer: one text per printed page, page labels when present.

Pages are read with their layout (`pdflayout`, pdfplumber: headings, tables, no page furniture);
pypdf checks the file first (damaged, encrypted) and reads the plain text when pdfplumber fails.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter

from tsunagari.errors import InputError
from tsunagari.loaders.base import Loaded, first_heading, first_short_line
from tsunagari.loaders.pdflayout import first_page_from_numbers, read_layout

OCR_MESSAGE = "文字情報がありません。OCR が必要です"
_JUNK_TITLE = re.compile(r"^(?:Microsoft (?:Word|PowerPoint) - |untitled|無題)", re.I)


def _open(name: str, data: bytes):
    # We report problems ourselves; pypdf logs damaged fonts at ERROR with whole encoding tables.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files
        if b"/Encrypt" in data:  # e.g. NotImplementedError for an unknown encryption version
            raise InputError(f"{name} はパスワードで保護されているか、対応していない方式で暗号化されて"
                             "いるため読み込めません。保護を解除した PDF を置いてください。") from exc
        raise InputError(
            f"{name} は PDF として読み込めません（ファイルが壊れている可能性があります）。"
        ) from exc
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")  # owner-password-only PDFs open with an empty user password
        except Exception:  # noqa: BLE001 - unsupported encryption algorithms
            ok = 0
        if not ok:
            raise InputError(f"{name} はパスワードで保護されているため読み込めません。"
                             "保護を解除した PDF を置いてください。")
    return reader


def _first_page_from_labels(labels: list[str]) -> int | None:
    """The printed number of the first page implied by numeric page labels, or None.

    >>> _first_page_from_labels(["i", "ii", "1", "2", "3"])
    -1
    >>> _first_page_from_labels(["5", "6", "7"])
    5
    >>> _first_page_from_labels(["1", "2"]) is None
    True
    """
    offsets = Counter(int(lab) - i for i, lab in enumerate(labels) if lab.strip().isdigit())
    if not offsets:
        return None
    offset, _ = offsets.most_common(1)[0]
    return None if offset == 1 else offset


def _layout_pages(data: bytes, count: int) -> tuple[list[str], int | None] | None:
    """Page texts read with their layout and the printed first page, or None when pdfplumber
    cannot read the file (or finds another page count, or no text at all)."""
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        layout = read_layout(data)
    except Exception:  # noqa: BLE001 - pdfminer raises many types; pypdf reads the text instead
        return None
    if len(layout.pages) != count or not any(p.strip() for p in layout.pages):
        return None
    text = "".join(layout.pages)
    if text.count("(cid:") * 6 > len(text) / 100:  # glyphs pdfminer cannot map: pypdf may
        return None
    return list(layout.pages), first_page_from_numbers(layout.printed_numbers)


def _plain_pages(name: str, reader) -> list[str]:
    pages: list[str] = []
    try:
        for page in reader.pages:
            pages.append((page.extract_text() or "").replace("\x00", ""))
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged streams
        raise InputError(
            f"{name} の {len(pages) + 1} ページ目を読み込めません（ファイルが壊れている可能性があります）。"
        ) from exc
    return pages


def read_pdf(name: str, data: bytes, layout: bool = True) -> Loaded:
    """Text of each page; raises InputError for damaged, encrypted or image-only PDFs.

    With `layout` (the default) pages come from `pdflayout`; otherwise, and whenever that
    fails, from pypdf's plain text extraction."""
    reader = _open(name, data)
    try:
        count = len(reader.pages)
    except Exception:  # noqa: BLE001 - damaged page trees; the plain reading names the page
        count = -1
    read = _layout_pages(data, count) if layout and count > 0 else None
    if read is not None:
        pages, printed_first = read
    else:
        pages, printed_first = _plain_pages(name, reader), None
    if not pages:
        raise InputError(f"{name} にはページがありません。")
    if not any(p.strip() for p in pages):
        raise InputError(f"{name} には{OCR_MESSAGE}（画像だけの PDF です）。")
    try:
        labels = list(reader.page_labels)
    except Exception:  # noqa: BLE001 - malformed label trees
        labels = []
    first = _first_page_from_labels(labels) if len(labels) == len(pages) else None
    first = first or printed_first
    title = ""
    try:
        meta_title = str((reader.metadata or {}).get("/Title") or "").strip()
        title = "" if _JUNK_TITLE.match(meta_title) else meta_title
    except Exception:  # noqa: BLE001
        pass
    first_text = next((p for p in pages if p.strip()), "")
    heading = first_heading(first_text) if read is not None else ""
    return Loaded(text="\n\n".join(pages), format="pdf", pages=tuple(pages),
                  title=title or heading or first_short_line(first_text), first_page=first or 1)
