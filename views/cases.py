"""事例一覧: every case of every indexed report (the first report's by point), filterable, with a
button that asks about it."""

import streamlit as st

from tsunagari.app import catalog, html, state
from tsunagari.domain import POINTS
from tsunagari.errors import TsunagariError
from tsunagari.indexing.store import data_paths, load_chunks

settings = state.settings()
st.title("事例一覧")

try:
    cases = catalog.list_cases(load_chunks(data_paths(settings)["chunks"]))
except TsunagariError as exc:
    st.info(html.md_escape(exc))
    st.page_link(state.CHAT_PAGE, label="チャットで索引を作成する", icon=":material/chat:")
    st.stop()

reports = list(dict.fromkeys(c.report for c in cases))
if len(reports) > 1:
    st.caption(f"索引した {len(reports)} 件の資料（{'、'.join(reports)}）の事例を一覧にしています。"
               "ポイント①〜⑤のある事例はポイントごとに、ほかは資料ごとに並べます。")
else:
    st.caption("第2章の「既存報告書を通じたアクション事例」を、5 つのポイントごとに一覧にしています。")

left, right = st.columns([2, 3])
points = left.multiselect("ポイント", list(POINTS), format_func=html.point_label, key="cases_points",
                          placeholder="すべてのポイント")
word = right.text_input("自治体名・見出しで探す", key="cases_word", placeholder="例：仙台市、会議体")
chosen = st.multiselect("資料", reports, key="cases_reports", placeholder="すべての資料") \
    if len(reports) > 1 else []

shown = [
    c for c in cases
    if (not points or c.point in points)
    and (not chosen or c.report in chosen)
    and (not word.strip() or word.strip() in c.municipality + c.heading + c.case)
]
st.caption(f"{len(shown)} 件 / 全 {len(cases)} 件")
if not shown:
    st.info("条件に合う事例がありません。絞り込みを変えてください。")

groups = [(html.point_label(p), f"p{p}", [c for c in shown if c.point == p]) for p in POINTS]
groups += [(f"{r}の事例", f"r{i}", [c for c in shown if not c.point and c.report == r])
           for i, r in enumerate(reports)]
for title, key, rows in groups:
    if not rows:
        continue
    st.subheader(title)
    for i, c in enumerate(rows):
        with st.container(border=True):
            head, action = st.columns([3, 1], vertical_alignment="center")
            with head:
                where = f"{c.report} p." if len(reports) > 1 else "本資料 p."
                st.html(
                    f'<div class="tg-card-head">{html.escape(c.municipality)}'
                    f'<span class="tg-meta">　{html.escape(c.section)}</span></div>'
                    f'<div class="tg-meta">{html.escape(c.heading)}</div>'
                    f'<div class="tg-meta">{html.escape(where)}'
                    f'{html.escape("、".join(map(str, c.pages)))}'
                    + (f'　出典: {html.escape(c.source_report)} p.{html.escape(c.source_page)}'
                       if c.source_report else "")
                    + "</div>"
                )
            with action:
                if st.button("チャットで聞く", key=f"ask-{key}-{i}", icon=":material/chat:"):
                    state.ask_in_chat(c.question)
