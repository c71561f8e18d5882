"""Hand-made hostile PDFs: each is refused with a Japanese message naming it, never a traceback."""

from __future__ import annotations

import pytest

from tsunagari.errors import InputError
from tsunagari.loaders import load_bytes

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def pdf(*objects: bytes, trailer: bytes = b"") -> bytes:
    """A PDF with these numbered objects (1 is the catalog) and a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, trailer, xref)
    return bytes(out)


def test_unknown_encryption_version_is_named_as_protection():
    # pypdf raised NotImplementedError ("Encryption V=99 NOT supported") out of the loader.
    data = pdf(CATALOG, b"<< /Type /Pages /Kids [] /Count 0 >>",
               b"<< /Filter /Standard /V 99 /R 99 >>", trailer=b"/Encrypt 3 0 R /ID [<00> <00>] ")
    with pytest.raises(InputError) as exc:
        load_bytes("himitsu.pdf", data)
    assert "himitsu.pdf" in str(exc.value) and "暗号化" in str(exc.value)


@pytest.mark.parametrize("objects", [
    (b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 50_000 + b"]" * 50_000 + b" >>",
     b"<< /Type /Pages /Kids [] /Count 0 >>"),
    (CATALOG, b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"),  # a page tree that contains itself
    (b"42",),  # a catalog that is no dictionary
    (CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
     b"<< /Type /Page /Parent 2 0 R /Contents 9 0 R >>"),  # contents that do not exist
], ids=["deep-nesting", "cyclic-pages", "bad-catalog", "missing-contents"])
def test_hostile_structures_are_refused(objects):
    with pytest.raises(InputError) as exc:
        load_bytes("kowareta.pdf", pdf(*objects))
    assert "kowareta.pdf" in str(exc.value)
