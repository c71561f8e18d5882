"""Streamlit glue shared by app.py and views/: cached service, session state, ingest with progress.

Only this module, app.py and views/ import streamlit; the logic they call lives in the library.
"""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import streamlit as st

from tsunagari.app.html import md_escape
from tsunagari.app.status import index_status_lines, ingest_verb, progress_adapter
from tsunagari.config import Settings, load_settings
from tsunagari.indexing.shared import origin_line, refresh_if_changed
from tsunagari.indexing.store import manifest_stamp, read_manifest
from tsunagari.service import Service, ingest, open_service

CHAT_PAGE = "views/chat.py"
MODE_LABELS = {"extractive": "オフライン（資料からの抜粋）", "llm": "LLM（生成）"}


def settings(**overrides: Any) -> Settings:
    """Settings from env / .env / tsunagari.toml (cheap; read on every run)."""
    return load_settings(**overrides)


def _key(s: Settings) -> str:
    """Settings plus the manifest file's mtime (ns) and size: a refresh, even two within the same
    second (`refreshed_at` has 1-second resolution), gives a new key. In server mode a refresh
    published to Chroma is synced first (checked every `replica_check_seconds`)."""
    refresh_if_changed(s)
    return s.model_dump_json() + "|" + manifest_stamp(s)


@st.cache_resource(show_spinner="索引を読み込んでいます…", max_entries=4)
def _open(key: str, _settings: Settings) -> Service:
    service = open_service(_settings)
    # Streamlit runs a full garbage collection after every script run (runner.postScriptGC);
    # with the index, Sudachi and torch loaded that walk took as much CPU as the chat page
    # itself. Objects alive now (modules, the service) move to the permanent generation, which
    # those collections skip; what sessions create later is still collected.
    gc.freeze()
    return service


def get_service(s: Settings) -> Service:
    """The service for these settings, opened once per process and index version.

    Raises IndexMissingError when no index exists (not cached, so a later build is picked up).
    """
    return _open(_key(s), s)


_DERIVED: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}
_STATUS: dict[str, str] = {}


def per_service(service: Service, name: str, make: Callable[[], Any]) -> Any:
    """A value derived from a cached service (e.g. the sidebar's filter choices), made once per
    service and process instead of on every rerun of every session."""
    entry = _DERIVED.get(id(service))
    if entry is None or entry[0]() is not service:
        for key in [k for k, (ref, _) in _DERIVED.items() if ref() is None]:
            _DERIVED.pop(key, None)
        entry = _DERIVED[id(service)] = (weakref.ref(service), {})
    values = entry[1]
    if name not in values:
        values[name] = make()
    return values[name]


def index_status_caption(s: Settings) -> str:
    """The sidebar's index status (Markdown-escaped lines), read again only when the manifest
    file changes."""
    key = f"{s.data_dir}|{manifest_stamp(s)}|{s.chroma_host}"
    if key not in _STATUS:
        if len(_STATUS) > 16:
            _STATUS.clear()
        lines = [*index_status_lines(read_manifest(s)), *filter(None, [origin_line(s)])]
        _STATUS[key] = "  \n".join(md_escape(line) for line in lines)
    return _STATUS[key]


def clear_service() -> None:
    _open.clear()


def run_ingest(s: Settings, refreshed: bool | None = None):
    """Build/refresh the index with a progress bar; returns the IngestReport.

    `refreshed` (default: whether an index exists now) picks 「更新」 over 「作成」 in the texts.
    """
    if refreshed is None:
        refreshed = read_manifest(s) is not None
    verb = ingest_verb(refreshed)
    bar = st.progress(0.0, text=f"索引を{verb}しています…")

    def update(fraction: float, text: str) -> None:
        bar.progress(fraction, text=text)

    report = ingest(s, progress=progress_adapter(update, refreshed=refreshed))
    bar.progress(1.0, text=f"索引を{verb}しました。")
    clear_service()
    return report


def session_id() -> str:
    if "session_id" not in st.session_state:
        st.session_state.session_id = uuid.uuid4().hex[:12]
    return st.session_state.session_id


def messages() -> list[dict[str, Any]]:
    """The conversation: {"role", "content", "answer"?, "turn"?, "filters"?} dicts."""
    if "messages" not in st.session_state:
        st.session_state.messages = []
    return st.session_state.messages


def new_conversation() -> None:
    st.session_state.messages = []
    st.session_state.question_queue = []
    st.session_state.session_id = uuid.uuid4().hex[:12]


def question_queue() -> list[str]:
    """Questions sent but not answered yet, oldest first.

    A question sent while an answer is still being drawn interrupts that script run; it is
    queued by the chat input's callback (which runs first in the next run), and the question
    being answered stays at the head of the queue until its answer is in `messages()`, so
    neither is lost.
    """
    if "question_queue" not in st.session_state:
        st.session_state.question_queue = []
    return st.session_state.question_queue


def enqueue_question(question: object) -> None:
    """Append a sent question to the queue (empty input is ignored)."""
    if isinstance(question, str) and question.strip():
        question_queue().append(question)


def queue_chat_input() -> None:
    """on_submit callback of the chat input: queue what was sent."""
    enqueue_question(st.session_state.get("chat_input"))


def ask_in_chat(question: str) -> None:
    """Queue a question for the chat page and switch to it (used by other pages)."""
    enqueue_question(question)
    st.switch_page(CHAT_PAGE)


def fill_chat_input(question: str) -> None:
    """on_click callback: put a question into the chat input (the user can edit, then send)."""
    st.session_state.chat_input = question
