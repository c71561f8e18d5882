"""The chat page: questions, streamed answers with source cards, feedback and export."""

import time

import streamlit as st

from tsunagari.answering.citations import answer_markdown, source_rows
from tsunagari.answering.question import validate_question
from tsunagari.app import catalog, html, signin, state, status, turns
from tsunagari.app.export import conversation_docx, conversation_markdown
from tsunagari.app.feedback import MAX_COMMENT_CHARS, FeedbackStore
from tsunagari.errors import IndexMissingError, InputError, TsunagariError

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
STREAM_DELAY = 0.05  # seconds between the steps of a shown answer (turns.STREAM_STEPS)
SPINNER = {"extractive": "資料を検索しています…", "llm": "資料を検索し、回答を書いています…"}

settings = state.settings()
msgs = state.messages()

st.title("つながり")
st.caption("地方版孤独・孤立対策官民連携プラットフォームの事例集に、出典（ページ）つきで答えます。")


def _index_missing() -> None:
    """No index yet: only a signed-in maintainer may build it (the check runs again on click)."""
    if signin.current(settings) is None:
        st.info(
            "まだ索引（検索用のデータ）がありません。保守担当者がサーバーで `python -m ingest` を"
            "実行するか、「資料の管理」でサインインしてから、このページの「索引を作成」で作ってください。"
        )
        st.stop()
    st.info(
        "まだ索引（検索用のデータ）がありません。下の「索引を作成」を押すと、"
        "資料フォルダの報告書から索引を作ります（1 分ほどかかります）。"
    )
    if st.button("索引を作成", type="primary"):
        who = signin.require(settings, "build-index")
        if who is None:
            st.stop()
        try:
            report = state.run_ingest(settings, refreshed=False)
        except TsunagariError as exc:
            signin.note(settings, who=who, action="build-index", result="failed", detail=str(exc))
            st.error(html.md_escape(exc))
            st.stop()
        signin.note(settings, who=who, action="build-index")
        st.session_state.flash = status.ingest_summary(report)
        st.rerun()
    st.stop()


try:
    base_service = state.get_service(settings)
except IndexMissingError:
    _index_missing()
except TsunagariError as exc:
    st.error(html.md_escape(exc))
    st.stop()

if flash := st.session_state.pop("flash", None):
    st.success(html.md_escape(flash))

# --- Sidebar -----------------------------------------------------------------------------
with st.sidebar:
    st.button("新しい会話", icon=":material/add_comment:", on_click=state.new_conversation, width="stretch")

    st.subheader("絞り込み")
    opts = state.per_service(base_service, "filter_options",
                             lambda: catalog.filter_options(base_service.retriever.chunks))
    point = st.selectbox(
        "ポイント", [0, 1, 2, 3, 4, 5], key="f_point",
        format_func=lambda p: html.point_label(p) if p else "すべて",
    )
    muni_labels = dict(opts.municipality_labels)  # with their reports, when several
    municipality = st.selectbox(
        "自治体", ["", *opts.municipalities], key="f_muni",
        format_func=lambda m: muni_labels.get(m, m) or "すべて",
    )
    scope_labels = dict(opts.scopes)
    scope = st.selectbox(
        "資料・章・コラム" if muni_labels else "章・コラム", ["", *scope_labels], key="f_scope",
        format_func=lambda v: scope_labels.get(v, "すべて"),
    )
    filters = catalog.make_filters(point, municipality, scope)

    modes = ["extractive"] + (["llm"] if settings.llm else [])
    mode = st.radio(
        "回答方式", modes, key="answer_mode",
        index=modes.index(settings.answer_mode) if settings.answer_mode in modes else 0,
        format_func=lambda m: state.MODE_LABELS[m] + (f"：{settings.llm}" if m == "llm" else ""),
    )

    st.subheader("索引の状態")
    st.caption(state.index_status_caption(settings))

    st.subheader("質問の例")
    st.caption("押すと入力欄に入ります。")
    for p, questions in html.EXAMPLE_QUESTIONS.items():
        with st.expander(html.point_label(p)):
            for i, q in enumerate(questions):
                st.button(q, key=f"ex-{p}-{i}", on_click=state.fill_chat_input, args=(q,),
                          width="stretch")

    st.subheader("会話の保存")
    export_box = st.container()

service = base_service
if mode != settings.answer_mode:
    # The answer mode is passed through as a setting; the LLM backend reads it.
    service = state.get_service(state.settings(answer_mode=mode))

store = FeedbackStore.for_settings(settings)


# --- Answers -----------------------------------------------------------------------------
def _save_rating(msg: dict) -> None:
    rating = st.session_state.get(f"fb-{msg['turn']}")
    _store_feedback(msg, rating=rating)


def _store_feedback(msg: dict, rating=None, comment=None) -> None:
    answer = msg["answer"]
    store.add(
        key=f"{state.session_id()}-{msg['turn']}", question=answer.question,
        answer=answer_markdown(answer), body=answer.body, rating=rating, comment=comment,
        history=msg.get("history", []), standalone_question=answer.standalone_question,
        abstained=answer.abstained, mode=answer.mode, citations=source_rows(answer.citations),
        filters=msg.get("filters", {}),
    )


def _user_bubble(text: str) -> None:
    with st.chat_message("user"):
        st.html(f'<div class="tg-full">{html.escape(text)}</div>')


def _view(msg: dict) -> turns.AnswerView:
    """The answer's HTML, built once when it arrived (older messages: built on first draw)."""
    if "view" not in msg:
        msg["view"] = turns.answer_view(msg["answer"], msg["turn"], service.retriever.tokenizer)
    return msg["view"]


def _render_answer(msg: dict, fresh: bool = False) -> None:
    answer, turn = msg["answer"], msg["turn"]
    view = _view(msg)
    if fresh:  # show the answer in a few growing steps (always as escaped HTML)
        slot = st.empty()
        numbers = [c.n for c in answer.citations]
        for shown in turns.stream_steps(answer.body):
            slot.html(html.answer_html(shown, turn, numbers))
            time.sleep(STREAM_DELAY)
        slot.html(view.body)
    else:
        st.html(view.body)
    for notice in answer.notices:
        st.caption(f":material/info: {html.md_escape(notice)}")
    if msg.get("filters_label"):
        st.caption(html.md_escape(msg["filters_label"]))
    if view.count:
        st.markdown("**出典**")
        st.html(view.sources)
    cols = st.columns([1, 5])
    with cols[0]:
        st.feedback("thumbs", key=f"fb-{turn}", on_change=_save_rating, args=(msg,))
    with cols[1], st.expander("コメントを送る（任意）"):
        comment = st.text_area(
            "この回答へのご意見", key=f"fbc-{turn}", max_chars=MAX_COMMENT_CHARS,
            placeholder="例：出典のページが違う／もっと具体的な事例がほしい",
        )
        if st.button("送信", key=f"fbs-{turn}"):
            if not comment.strip():
                st.warning("コメントを入力してください。")
            else:
                try:
                    _store_feedback(msg, comment=comment.strip())
                except TsunagariError as exc:  # e.g. a comment over the length limit
                    st.warning(html.md_escape(exc))
                else:
                    st.success("ご意見を保存しました。ありがとうございます。")


if not msgs:
    with st.chat_message("assistant"):
        st.markdown(
            "こんにちは。地方版孤独・孤立対策官民連携プラットフォームの事例集について、"
            "知りたいことを質問してください。回答には報告書のページと出典が付きます。"
            "左の「質問の例」から選ぶこともできます。"
        )
        for notice in service.notices:
            st.caption(f":material/info: {html.md_escape(notice)}")

for m in msgs:
    if m["role"] == "user":
        _user_bubble(m["content"])
    else:
        with st.chat_message("assistant"):
            _render_answer(m)

st.chat_input("質問を入力してください（例：福祉以外の部署を巻き込むには？）",
              key="chat_input", on_submit=state.queue_chat_input)


def _answer(question: str, history: list[dict]):
    """The answer to a question; an LLM's text is shown as it is written (redrawn at most every
    LIVE_REDRAW_S). Returns (answer, streamed) or raises TsunagariError."""
    slot, shown, answer, drawn = st.empty(), "", None, 0.0
    with st.spinner(SPINNER[service.settings.answer_mode]):
        for item in service.answerer.stream(question, history=history, filters=filters):
            if isinstance(item, str):
                shown += item
                if time.monotonic() - drawn >= turns.LIVE_REDRAW_S:
                    slot.html(html.answer_html(shown, "live", []))
                    drawn = time.monotonic()
            else:
                answer = item
    slot.empty()
    return answer, bool(shown)


# Questions are answered in the order they were sent. The one being answered stays at the head
# of the queue until its answer is in the conversation: a question sent meanwhile interrupts this
# run, and the next run answers both (see state.question_queue).
queue = state.question_queue()
while queue:
    question = queue[0]
    try:
        question = validate_question(question, settings.max_question_chars)
    except InputError as exc:
        queue.pop(0)
        st.warning(html.md_escape(exc))
        continue
    history = [{"role": m["role"], "content": m["content"]} for m in msgs]
    _user_bubble(question)
    with st.chat_message("assistant"):
        try:
            answer, streamed = _answer(question, history)
        except TsunagariError as exc:
            queue.pop(0)
            st.error(html.md_escape(exc))
            continue
        except Exception:  # a bug: drop the question rather than fail every later run
            queue.pop(0)
            raise
        st.session_state.turn_counter = st.session_state.get("turn_counter", 0) + 1
        turn = f"t{st.session_state.turn_counter}"
        msg = {
            "role": "assistant", "content": answer.body, "answer": answer, "turn": turn,
            "history": history, "filters": {k: v for k, v in vars(filters).items() if v},
            "filters_label": catalog.describe_filters(filters),
            "view": turns.answer_view(answer, turn, service.retriever.tokenizer),
        }
        # No Streamlit call between these three lines: nothing can interrupt them.
        msgs.append({"role": "user", "content": question})
        msgs.append(msg)
        queue.pop(0)
        _render_answer(msg, fresh=not streamed)

with export_box:
    if any(m["role"] == "assistant" for m in msgs):
        stamp = time.strftime("%Y%m%d-%H%M")
        label = catalog.describe_filters(filters)
        # Built when clicked (not on every rerun), from the conversation as it is then.
        snapshot = list(msgs)
        st.download_button(
            "Markdown で保存", data=lambda: conversation_markdown(snapshot, filters=label),
            file_name=f"tsunagari-{stamp}.md", mime="text/markdown", icon=":material/description:",
            width="stretch", on_click="ignore",
        )
        st.download_button(
            "Word メモで保存", data=lambda: conversation_docx(snapshot, filters=label),
            file_name=f"tsunagari-{stamp}.docx", mime=DOCX_MIME, icon=":material/article:",
            width="stretch", on_click="ignore",
        )
    else:
        st.caption("回答が出ると、会話を Markdown や Word メモ（出典は脚注）で保存できます。")
