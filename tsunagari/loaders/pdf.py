"""PDF reports with a text layer (pypdf): one text per printed page, page labels when present."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter

from tsunagari.errors import InputError
from tsunagari.loaders.base import Loaded, first_short_line

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


def read_pdf(name: str, data: bytes) -> Loaded:
    """Text of each page; raises InputError for damaged, encrypted or image-only PDFs."""
    reader = _open(name, data)
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
    if not pages:
        raise InputError(f"{name} にはページがありません。")
    if not any(p.strip() for p in pages):
        raise InputError(f"{name} には{OCR_MESSAGE}（画像だけの PDF です）。")
    try:
        labels = list(reader.page_labels)
    except Exception:  # noqa: BLE001 - malformed label trees
        labels = []
    first = _first_page_from_labels(labels) if len(labels) == len(pages) else None
    title = ""
    try:
        meta_title = str((reader.metadata or {}).get("/Title") or "").strip()
        title = "" if _JUNK_TITLE.match(meta_title) else meta_title
    except Exception:  # noqa: BLE001
        pass
    first_text = next((p for p in pages if p.strip()), "")
    return Loaded(text="\n\n".join(pages), format="pdf", pages=tuple(pages),
                  title=title or first_short_line(first_text), first_page=first or 1)
