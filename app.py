"""tsunagari — the Streamlit app practitioners use (`streamlit run app.py`).

This file only sets up the page and the navigation; each page lives in views/. (Not pages/:
next to st.navigation, Streamlit still auto-discovers a pages/ folder and lists file names.)
"""

import streamlit as st

from tsunagari.app.html import CSS

st.set_page_config(page_title="つながり｜地方版PF 事例集チャット", page_icon=":material/diversity_3:", layout="wide")
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
page.run()
