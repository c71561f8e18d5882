"""tsunagari — the Streamlit app practitioners use (`streamlit run app.py`, or `make run`).

This file only sets up the page and the navigation; each page lives in views/. (Not pages/:
next to st.navigation, Streamlit still auto-discovers a pages/ folder and lists file names.)
The page icon is a local file: an emoji or Material icon as page_icon makes the browser fetch
the favicon from a web font / emoji host.
"""

import logging
from pathlib import Path

import streamlit as st

from tsunagari.app.html import CSS

ICON = Path(__file__).resolve().parent / "tsunagari" / "app" / "icon.png"
UNEXPECTED = ("申し訳ありません。この画面の表示中に予期しないエラーが起きました。"
              "ページを読み込み直しても続く場合は、保守担当者に連絡してください"
              "（詳しい内容はサーバーのログに記録しました）。")
log = logging.getLogger("tsunagari.app")

st.set_page_config(page_title="つながり｜地方版PF 事例集チャット", page_icon=str(ICON), layout="wide")
st.html(CSS)

page = st.navigation(
    [
        st.Page("views/chat.py", title="チャット", icon=":material/chat:", default=True),
        st.Page("views/cases.py", title="事例一覧", icon=":material/menu_book:"),
        st.Page("views/playbook.py", title="手引きをつくる", icon=":material/description:"),
        st.Page("views/evaluation.py", title="評価", icon=":material/monitoring:"),
        st.Page("views/corpus.py", title="資料の管理", icon=":material/folder_open:"),
    ]
)
try:
    page.run()
except Exception:
    # Users see a Japanese message; the traceback goes to the server log only
    # (client.showErrorDetails = "none" hides whatever escapes this).
    log.exception("page %s failed", page.url_path or "chat")
    st.error(UNEXPECTED)
    if st.get_option("global.appTest"):
        raise  # tests still see the exception (at.exception)
