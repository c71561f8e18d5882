"""Add an uploaded report (.txt/.md/.pdf/.docx) to the corpus directory.

Files are checked with the same loaders `ingest` uses (encoding, damaged / encrypted /
image-only PDFs) and stored as they are; a file with the same content as a report already in
the folder is refused. (Were a format not read by the loaders, its text would be extracted
into `<stem>.txt`.)
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from tsunagari import load
from tsunagari.errors import InputError

UPLOAD_SUFFIXES = (".txt", ".md", ".pdf", ".docx")


@dataclass(frozen=True)
class SavedUpload:
    """Where an upload was stored and how."""

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


def loader_suffixes() -> set[str]:
    """File suffixes the corpus loader reads directly."""
    for attr in ("SUPPORTED_SUFFIXES", "SUFFIXES", "TEXT_SUFFIXES"):
        value = getattr(load, attr, None)
        if value:
            return {str(s).lower() for s in value}
    return {".txt", ".md"}


def docx_text(data: bytes) -> str:
    """Paragraph and table text of a .docx file."""
    from docx import Document

    doc = Document(io.BytesIO(data))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def pdf_text(data: bytes) -> str:
    """Text of a PDF, one block per page (pypdf)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)


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
    converted = False
    if suffix in loader_suffixes():
        from tsunagari.loaders import load_bytes

        load_bytes(name, data)  # raises InputError naming the file (encoding, OCR, password…)
        _refuse_duplicate(corpus_dir, name, data)
    else:
        try:
            text = docx_text(data) if suffix == ".docx" else pdf_text(data)
        except Exception as exc:  # a damaged or encrypted file
            raise InputError(f"{filename} から文字を取り出せませんでした（{type(exc).__name__}）。") \
                from exc
        if not text.strip():
            raise InputError(
                f"{filename} から文字を取り出せませんでした（画像だけの PDF などは使えません）。"
            )
        data = text.encode("utf-8")
        name = Path(name).stem + ".txt"
        converted = True
    path = corpus_dir / name
    replaced = path.exists()
    path.write_bytes(data)
    how = "（文字を取り出してテキストとして保存）" if converted else ""
    verb = "置き換えました" if replaced else "追加しました"
    return SavedUpload(path, converted, replaced, f"{name} を資料フォルダに{verb}{how}。")


def _refuse_duplicate(corpus_dir: Path, name: str, data: bytes) -> None:
    """InputError when another file in the corpus has exactly these bytes."""
    from tsunagari.load import content_hash

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
