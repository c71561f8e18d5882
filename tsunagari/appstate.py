"""Streamlit glue shared by app.py and pages/: cached service, session state, ingest with progress.

Only this module, app.py and pages/ import streamlit; the logic they call lives in the library.
"""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from tsunagari.config import Settings, load_settings
from tsunagari.index import read_manifest
from tsunagari.service import Service, ingest, open_service
from tsunagari.uistatus import progress_adapter

CHAT_PAGE = "pages/chat.py"
MODE_LABELS = {"extractive": "オフライン（資料からの抜粋）", "llm": "LLM（生成）"}


def settings(**overrides: Any) -> Settings:
    """Settings from env / .env / tsunagari.toml (cheap; read on every run)."""
    return load_settings(**overrides)


def _key(s: Settings) -> str:
    manifest = read_manifest(s)
    return s.model_dump_json() + "|" + (manifest.refreshed_at if manifest else "")


@st.cache_resource(show_spinner="索引を読み込んでいます…", max_entries=4)
def _open(key: str, _settings: Settings) -> Service:
    return open_service(_settings)


def get_service(s: Settings) -> Service:
    """The service for these settings, opened once per process and index version.

    Raises IndexMissingError when no index exists (not cached, so a later build is picked up).
    """
    return _open(_key(s), s)


def clear_service() -> None:
    _open.clear()


def run_ingest(s: Settings, label: str = "索引を作成しています…"):
    """Build/refresh the index with a progress bar; returns the IngestReport."""
    bar = st.progress(0.0, text=label)

    def update(fraction: float, text: str) -> None:
        bar.progress(fraction, text=text)

    report = ingest(s, progress=progress_adapter(update))
    bar.progress(1.0, text="索引を作成しました。")
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
    st.session_state.pop("pending_question", None)
    st.session_state.session_id = uuid.uuid4().hex[:12]


def ask_in_chat(question: str) -> None:
    """Queue a question for the chat page and switch to it (used by other pages)."""
    st.session_state.pending_question = question
    st.switch_page(CHAT_PAGE)


def fill_chat_input(question: str) -> None:
    """on_click callback: put a question into the chat input (the user can edit, then send)."""
    st.session_state.chat_input = question
