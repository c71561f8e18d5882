"""Benchmark of the out-of-scope check's term look-ups (`make bench`, "scope" lines): before
(one compacted string of the whole corpus) and with the term index (indexing/termindex.py)."""

from __future__ import annotations

import json
import re
import resource
import time
from pathlib import Path

from tsunagari.answering.scope import ScopeChecker
from tsunagari.config import PROJECT_ROOT
from tsunagari.evaluation.benchdata import base_sentences, synthetic_chunks
from tsunagari.evaluation.benchdata import peak_mb as _peak_mb
from tsunagari.evaluation.benchdata import percentile as _pct
from tsunagari.indexing.termindex import TermIndex, save_index
from tsunagari.japanese import default_tokenizer, normalize
from tsunagari.types import Chunk

QA = PROJECT_ROOT / "eval" / "qa.jsonl"

class WholeText:
    """The term look-up ScopeChecker did before the term index: one compacted string of the
    whole corpus, scanned for every term (kept here to measure against)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        parts = []
        for c in chunks:
            parts.extend([c.index_text(), c.source_report, " ".join(c.footnotes)])
        self.text = self.compact("\n".join(parts))

    @staticmethod
    def compact(text: str) -> str:
        return re.sub(r"\s+", "", normalize(text))

    def contains(self, term: str) -> bool:
        return self.compact(term) in self.text


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure_scope(workdir: Path, count: int) -> dict:
    """ScopeChecker over `count` synthetic chunks: before (one corpus string) and with the term
    index (build at ingest, open, per-question check of every eval question, disk, memory)."""
    tok = default_tokenizer()
    tok.morphemes("準備")  # Sudachi's first call is not part of any figure
    questions = [json.loads(line)["question"] for line in QA.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    chunks = synthetic_chunks(count, base_sentences())

    def timed_checks(checker: ScopeChecker) -> tuple[list[float], list]:
        times, verdicts = [], []
        for q in questions:
            t = time.perf_counter()
            verdicts.append(checker.check(q))
            times.append((time.perf_counter() - t) * 1000)
        return times, verdicts

    t = time.perf_counter()
    whole = WholeText(chunks)
    old_open = time.perf_counter() - t
    old_times, old_verdicts = timed_checks(ScopeChecker(whole, tok.morphemes, remember=False))
    del whole
    t = time.perf_counter()
    built = TermIndex.from_chunks(chunks)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    directory = save_index(workdir, "bench", built)
    save_s = time.perf_counter() - t
    del built
    disk = sum(p.stat().st_size for p in directory.iterdir())
    rss = _rss_mb()
    t = time.perf_counter()
    index = TermIndex.load(directory, "bench", len(chunks))
    open_s = time.perf_counter() - t
    assert index is not None
    new_times, new_verdicts = timed_checks(ScopeChecker(index, tok.morphemes))
    rss_after = _rss_mb()
    bare_times, _ = timed_checks(ScopeChecker(index, tok.morphemes, remember=False))
    return {"chunks": len(chunks), "questions": len(questions),
            "old_open_s": round(old_open, 2), "old_p50_ms": round(_pct(old_times, 50), 1),
            "old_p95_ms": round(_pct(old_times, 95), 1), "build_s": round(build_s, 2),
            "save_s": round(save_s, 2), "disk_mb": round(disk / 2**20, 1),
            "open_s": round(open_s, 3), "p50_ms": round(_pct(new_times, 50), 2),
            "p95_ms": round(_pct(new_times, 95), 2), "max_ms": round(max(new_times), 1),
            "bare_p95_ms": round(_pct(bare_times, 95), 2),
            "rss_mb": round(rss_after - rss, 1), "peak_mb": round(_peak_mb(), 1),
            "same_verdicts": old_verdicts == new_verdicts}
