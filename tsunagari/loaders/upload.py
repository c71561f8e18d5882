"""Add an uploaded report (.txt/.md/.pdf/.docx) to the corpus directory.

Files are checked with the same loaders `ingest` uses (encoding, damaged / encrypted /
image-only PDFs) and stored as they are (every accepted suffix is read by the loaders); a file
with the same content as a report already in the folder is refused.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from tsunagari.errors import InputError
from tsunagari.loaders import SUPPORTED_SUFFIXES, content_hash, load_bytes

log = logging.getLogger(__name__)
UPLOAD_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
assert set(UPLOAD_SUFFIXES) <= set(SUPPORTED_SUFFIXES), "uploads are stored as read by the loaders"


@dataclass(frozen=True)
class SavedUpload:
    """Where an upload was stored and how (`converted` is always False: files are kept as
    uploaded)."""

    path: Path
    converted: bool
    replaced: bool
    message: str


def safe_name(filename: str) -> str:
    """A file name without directories or control characters (Japanese kept).

    >>> safe_name("../../etc/報告書 第1版.txt")
    '報告書_第1版.txt'
    >>> safe_name("a/b\\\\c.md")
    'c.md'
    """
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*\s]+", "_", name).strip("._")
    return name


def save_upload(corpus_dir: Path, filename: str, data: bytes,
                max_mb: float = 200.0) -> SavedUpload:
    """Store an uploaded report in `corpus_dir`; raises InputError with a Japanese message."""
    name = safe_name(filename)
    suffix = Path(name).suffix.lower()
    if not name or suffix not in UPLOAD_SUFFIXES:
        raise InputError(
            f"{filename} は追加できません。対応している形式は .txt / .md / .pdf / .docx です。"
        )
    if len(data) > max_mb * 1024 * 1024:
        raise InputError(f"{filename} は大きすぎます（上限 {max_mb:g} MB）。")
    if not data.strip():
        raise InputError(f"{filename} は空のファイルです。")
    corpus_dir = Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    try:
        load_bytes(name, data)  # raises InputError naming the file (encoding, OCR, password…)
    except InputError:
        raise
    except Exception as exc:  # an unexpected parser failure: details go to the log only
        log.warning("upload %s could not be read", name, exc_info=exc)
        raise InputError(f"{filename} から文字を取り出せませんでした。"
                         "ファイルが壊れていないか確認してください。") from exc
    _refuse_duplicate(corpus_dir, name, data)
    path = corpus_dir / name
    replaced = path.exists()
    path.write_bytes(data)
    verb = "置き換えました" if replaced else "追加しました"
    return SavedUpload(path, False, replaced, f"{name} を資料フォルダに{verb}。")


def _refuse_duplicate(corpus_dir: Path, name: str, data: bytes) -> None:
    """InputError when another file in the corpus has exactly these bytes."""
    digest = content_hash(data)
    for p in sorted(corpus_dir.iterdir()):
        if p.is_file() and p.name != name and p.suffix.lower() in UPLOAD_SUFFIXES \
                and p.stat().st_size == len(data) and content_hash(p.read_bytes()) == digest:
            raise InputError(f"{name} は資料フォルダの {p.name} と同じ内容のため、追加しませんでした。")


def corpus_files(corpus_dir: Path) -> list[dict[str, object]]:
    """Reports in the corpus directory with their sizes (for the management page)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return []
    return [
        {"ファイル": p.name, "大きさ (KB)": round(p.stat().st_size / 1024, 1)}
        for p in sorted(corpus_dir.iterdir())
        if p.suffix.lower() in UPLOAD_SUFFIXES
    ]
