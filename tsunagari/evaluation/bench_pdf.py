"""Benchmark of reading a 100-page PDF (`make bench`, "PDF reading" line): the layout-aware
reader (pdfplumber: headings, tables, furniture) against the plain pypdf reading it replaced.

The PDF is the second report's fixture with its body pages repeated, written with reportlab by
tests/fixtures/reports/build_fixture_pdf.py into a temporary directory (needs the IPAex fonts;
without them the committed fixture's pages are repeated with pypdf instead).

    python -m tsunagari.evaluation.bench_pdf [--pages 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tsunagari.chunking import chunk_document
from tsunagari.config import PROJECT_ROOT
from tsunagari.loaders import load_bytes
from tsunagari.loaders.pdf import read_pdf

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "reports"
FIXTURE_PDF = FIXTURES / "pf-torikumi-jireishu.pdf"


def make_pdf(path: Path, pages: int) -> str:
    """Write a `pages`-page PDF from the fixture; returns how it was made."""
    built = subprocess.run([sys.executable, str(FIXTURES / "build_fixture_pdf.py"), "--out",
                            str(path), "--pages", str(pages)], capture_output=True, text=True)
    if built.returncode == 0:
        return "reportlab"
    from pypdf import PdfReader, PdfWriter  # no IPAex font here: repeat the fixture's pages

    src = PdfReader(FIXTURE_PDF)
    writer = PdfWriter()
    writer.add_page(src.pages[0])
    for i in range(pages - 1):
        writer.add_page(src.pages[1 + i % (len(src.pages) - 1)])
    buf = io.BytesIO()
    writer.write(buf)
    path.write_bytes(buf.getvalue())
    return "pypdf copy"


def measure_pdf(pages: int = 100, rounds: int = 3) -> dict:
    """Best-of-`rounds` reading times (s) and pages/s of both readers, and what each yields."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"jireishu-{pages}p.pdf"
        made = make_pdf(path, pages)
        data = path.read_bytes()
    out: dict = {"pages": pages, "made_with": made, "mb": round(len(data) / 1e6, 2),
                 "load": round(os.getloadavg()[0], 1)}
    for name, layout in (("layout", True), ("plain", False)):
        times, cpu = [], []
        for _ in range(rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            loaded = read_pdf(path.name, data, layout=layout)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        assert len(loaded.pages) == pages
        best = min(times)
        out[f"{name}_s"] = round(best, 2)
        out[f"{name}_pages_per_s"] = round(pages / best, 1)
        out[f"{name}_cpu_pages_per_s"] = round(pages / min(cpu), 1)
    doc = load_bytes(path.name, data)
    chunks = chunk_document(doc)
    out["layout_headings"] = sum(line.startswith("#") for p in doc.pages for line in p.split("\n"))
    out["layout_table_chunks"] = sum(c.kind == "table" for c in chunks)
    out["layout_chunks"] = len(chunks)
    return out


def report(r: dict) -> str:
    return (f"PDF reading ({r['pages']} pages, {r['mb']} MB, made with {r['made_with']}; best of "
            f"the rounds, load average {r['load']}): layout-aware (pdfplumber) {r['layout_s']} s = "
            f"{r['layout_pages_per_s']} pages/s ({r['layout_cpu_pages_per_s']} per CPU second), "
            f"plain (pypdf) {r['plain_s']} s = {r['plain_pages_per_s']} pages/s "
            f"({r['plain_cpu_pages_per_s']} per CPU second); {r['layout_headings']} headings and "
            f"{r['layout_table_chunks']} table-row chunks of {r['layout_chunks']} chunks found "
            f"by the layout-aware reader (repeated pages give the same chunks, kept once)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tsunagari.evaluation.bench_pdf")
    p.add_argument("--pages", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    print(report(measure_pdf(args.pages, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
