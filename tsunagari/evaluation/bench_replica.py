"""Benchmark of replicas behind a Chroma server (`make bench`): publishing the chunk store at
ingest, a replica's first sync, its periodic check, and a refresh of one report.

Starts a throw-away `chroma run` on localhost (skipped when the chroma CLI is missing); the
index is BM25-only (synthetic reports), since vectors are not what is shared here.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tsunagari.config import load_settings
from tsunagari.evaluation.benchdata import write_corpus
from tsunagari.indexing import shared
from tsunagari.indexing.store import data_paths
from tsunagari.service import ingest


@contextmanager
def chroma_server(workdir: Path, *, path: Path | None = None,
                  port: int | None = None) -> Iterator[int | None]:
    """A `chroma run` under `workdir` (its store at `path`, default `workdir/server`, on `port`,
    default a free one); yields its port (None: no chroma CLI)."""
    exe = Path(sys.executable).with_name("chroma")
    command = str(exe) if exe.exists() else shutil.which("chroma")
    if not command:
        yield None
        return
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    with open(workdir / "chroma.log", "a") as log:
        store = path or workdir / "server"
        proc = subprocess.Popen([command, "run", "--path", str(store), "--host",
                                 "127.0.0.1", "--port", str(port)], stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat",
                                                timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        raise RuntimeError("chroma run did not start") from None
                    time.sleep(0.3)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def measure_replica(workdir: Path, port: int, reports: int = 100, sections: int = 100) -> dict:
    corpus = workdir / "corpus"
    write_corpus(corpus, reports, sections=sections, per_section=5)
    common = {"chroma_host": "127.0.0.1", "chroma_port": port, "embedder": "none",
              "retrieval_mode": "bm25"}
    a = load_settings(data_dir=workdir / "a", corpus_dir=corpus, **common)
    b = load_settings(data_dir=workdir / "b", corpus_dir=workdir / "none", **common)
    built = ingest(a)
    store_mb = data_paths(a)["chunks"].stat().st_size / 1e6
    # The publish of a first ingest, alone (a second collection: nothing there yet).
    fresh = load_settings(data_dir=workdir / "a", corpus_dir=corpus, shared_collection="bench_2",
                          **common)
    first, publish_s = _timed(lambda: shared.publish(fresh))
    _, noop_s = _timed(lambda: shared.publish(fresh))
    synced, sync_s = _timed(lambda: shared.sync(b))
    checks = []
    for _ in range(20):
        checks.append(_timed(lambda: shared.refresh_if_changed(b, force=True))[1] * 1000)
    write_corpus(corpus, 1, sections=sections, per_section=5, start=reports)
    refreshed = ingest(a)
    again, resync_s = _timed(lambda: shared.sync(b))
    return {"chunks": built.chunks, "store_mb": round(store_mb, 1), "parts": first.parts,
            "publish_s": round(publish_s, 2), "noop_publish_s": round(noop_s, 3),
            "sync_s": round(sync_s, 2), "sync_state": synced.state,
            "check_ms": round(statistics.median(checks), 1), "added_chunks":
            refreshed.chunks - built.chunks, "refresh_uploaded": refreshed.published.uploaded,
            "resync_s": round(resync_s, 2), "resync_fetched": again.fetched}


def report(workdir: Path) -> None:
    """Print the replica figures (called by `python -m tsunagari.evaluation.bench`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with chroma_server(workdir) as port:
        if port is None:
            print("\nreplicas: skipped (the chroma CLI is not installed)")
            return
        r = measure_replica(workdir, port)
    print(f"\nreplicas via a Chroma server (localhost, {r['chunks']} chunks, store "
          f"{r['store_mb']} MB in {r['parts']} parts): publish {r['publish_s']} s, publish with "
          f"nothing changed {r['noop_publish_s']} s; an empty replica syncs in {r['sync_s']} s; "
          f"periodic check {r['check_ms']} ms (median of 20); one report added "
          f"(+{r['added_chunks']} chunks): {r['refresh_uploaded']} part(s) uploaded, the replica "
          f"re-syncs in {r['resync_s']} s downloading {r['resync_fetched']} part(s)")
