"""The parts of a Word package (.docx) that the loader reads, unzipped within a size cap.

Only the main document and its styles are decompressed (images and other parts never are), the
declared sizes are checked against the cap before anything is inflated (`zipfile` never
returns more than the declared size and checks the CRC, so a lying header is caught as
damage), and the XML is parsed without entity expansion or network access.
"""

from __future__ import annotations

import io
import posixpath
import struct
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

from tsunagari.errors import InputError

_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: encrypted .docx or old .doc
# What damaged zip archives and XML raise (zipfile: BadZipFile, Bad CRC, truncated streams,
# unsupported compression or encryption; lxml: syntax errors, excessive depth).
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError,
            RuntimeError, OSError, ValueError, KeyError, IndexError, struct.error, etree.LxmlError)


@dataclass(frozen=True)
class WordParts:
    """The parsed main document (`w:document`) and styles part (or None) of a .docx."""

    document: etree._Element
    styles: etree._Element | None
    ns: str  # "{namespace}" of WordprocessingML in this file (transitional or strict)


def damaged(name: str) -> InputError:
    """The error for a .docx that cannot be read as a Word package."""
    return InputError(f"{name} は Word ファイルとして読み込めません（壊れているか .docx ではありません）。")


def _parse(raw: bytes) -> etree._Element:
    # A parser per call: lxml parsers are not thread-safe and Streamlit serves sessions in
    # threads. No entity expansion, no network, libxml2's default limits on depth and size.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    return etree.fromstring(raw, parser)


def _rel_target(rels: etree._Element, kind: str, base_dir: str) -> str | None:
    """The package path of the first internal relationship whose type ends in `/kind`."""
    for rel in rels.iter(f"{_RELS_NS}Relationship"):
        if (rel.get("Type") or "").rsplit("/", 1)[-1] == kind and rel.get("TargetMode") != "External":
            target = rel.get("Target") or ""
            joined = target if target.startswith("/") else posixpath.join("/", base_dir, target)
            return posixpath.normpath(joined).lstrip("/")
    return None


class _Package:
    """Zip entries by case-insensitive part name, read within a shared budget of bytes."""

    def __init__(self, name: str, zf: zipfile.ZipFile, budget: int, max_mb: float):
        self.name, self.zf, self.left, self.max_mb = name, zf, budget, max_mb
        self.entries = {info.filename.lower(): info for info in zf.infolist()}

    def read(self, part: str) -> bytes | None:
        info = self.entries.get(part.lower())
        if info is None:
            return None
        if info.file_size > self.left:
            raise InputError(
                f"{self.name} は展開後の大きさが上限（{self.max_mb:g} MB）を超えるため読み込みません"
                f"（本文などの部分だけで {info.file_size / 1024 / 1024:,.0f} MB）。"
                "本文を分けたファイルにするか、不正なファイルでないか確認してください。"
            )
        self.left -= info.file_size
        return self.zf.read(info)


def open_word(name: str, data: bytes, max_unzipped_mb: float) -> WordParts:
    """The main document and styles of a .docx; InputError (Japanese, naming the file) for
    damaged, encrypted or oversized packages."""
    if data.startswith(_OLE2_MAGIC):
        raise InputError(f"{name} はパスワードで保護されているか、古い Word 形式（.doc）のため読み込めません。"
                         "保護を解除し、Word 文書（.docx）として保存し直してください。")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            pkg = _Package(name, zf, int(max_unzipped_mb * 1024 * 1024), max_unzipped_mb)
            rels = pkg.read("_rels/.rels")
            main = (_rel_target(_parse(rels), "officeDocument", "") if rels else None) \
                or "word/document.xml"
            raw = pkg.read(main)
            if raw is None:
                raise damaged(name)
            document = _parse(raw)
            folder, base = posixpath.split(main)
            doc_rels = pkg.read(posixpath.join(folder, "_rels", base + ".rels"))
            styles_part = _rel_target(_parse(doc_rels), "styles", folder) if doc_rels else None
            styles_raw = pkg.read(styles_part) if styles_part else None
            styles = _parse(styles_raw) if styles_raw else None
    except InputError:
        raise
    except _DAMAGED as exc:
        raise damaged(name) from exc
    ns = document.tag.rpartition("}")[0] + "}" if isinstance(document.tag, str) else ""
    if not ns.startswith("{") or document.tag != f"{ns}document":
        raise damaged(name)  # e.g. a renamed .xlsx / .pptx: its main part is no Word document
    return WordParts(document, styles, ns)
