"""手引きをつくる: a short profile form → a memo per point (cases, reasons, advice) → .docx / .md."""

import re
import time

import streamlit as st

from tsunagari.answering.citations import source_line
from tsunagari.app import html, state
from tsunagari.domain import POINTS
from tsunagari.errors import IndexMissingError, TsunagariError
from tsunagari.playbook.memo import build_memo
from tsunagari.playbook.profile import (
    BODIES,
    DEPARTMENTS,
    POPULATION_BANDS,
    REGIONS,
    STAGES,
    Profile,
)
from tsunagari.playbook.render import memo_docx, memo_markdown, section_lines

UNSET = "（指定なし）"
REF = re.compile(r"\\\[(\d{1,3})\\\]")
settings = state.settings()
st.title("手引きをつくる")
st.caption("自治体の状況を選ぶと、5 つのポイントごとに、報告書の説明・似た自治体の事例（選んだ理由つき）・"
           "総括の助言を引用でまとめます。すべての項目は省略できます。引用には出典（事例、本資料と元報告書の"
           "ページ）が付きます。")

try:
    service = state.get_service(settings)
except IndexMissingError:
    st.info("まだ索引がありません。チャットのページで索引を作成してください。")
    st.page_link(state.CHAT_PAGE, label="チャットで索引を作成する", icon=":material/chat:")
    st.stop()
except TsunagariError as exc:
    st.error(html.md_escape(exc))
    st.stop()

with st.form("playbook_form"):
    left, right = st.columns(2)
    body = left.selectbox("自治体の種類", [UNSET, *BODIES], key="pb_body")
    population = right.selectbox("人口規模", [UNSET, *POPULATION_BANDS], key="pb_population")
    region = left.selectbox("地域", [UNSET, *REGIONS], key="pb_region")
    stage = right.selectbox("段階", [UNSET, *STAGES], key="pb_stage")
    department = left.selectbox("担当部署", [UNSET, *DEPARTMENTS], key="pb_department")
    difficulties = right.multiselect("いま難しいこと（選んだ順に先に示します）", list(POINTS),
                                     format_func=html.point_label, key="pb_difficulties",
                                     placeholder="ポイント①〜⑤")
    situation = st.text_area("状況をひとことで（任意）", key="pb_situation", max_chars=400,
                             placeholder="例：社協以外の民間団体が集まらず、会議が形だけになっている")
    submitted = st.form_submit_button("手引きをつくる", type="primary", icon=":material/description:")

if submitted:
    fields = {"body": body, "population": population, "region": region, "stage": stage,
              "department": department}
    try:
        profile = Profile.from_mapping({
            **{k: ("" if v == UNSET else v) for k, v in fields.items()},
            "difficulties": difficulties, "situation": situation})
        st.session_state.pb_memo = build_memo(service.retriever, profile)
        st.session_state.pb_created = time.strftime("%Y-%m-%d %H:%M")
    except TsunagariError as exc:
        st.error(html.md_escape(exc))
        st.stop()

memo = st.session_state.get("pb_memo")
if memo is None:
    st.stop()

created = st.session_state.get("pb_created", "")
st.subheader(html.md_escape(memo.profile.describe()))
for n in memo.notices:
    st.info(html.md_escape(n))
left, right = st.columns(2)
left.download_button("Word でダウンロード（.docx、出典は脚注）", memo_docx(memo, created),
                     file_name="tebiki.docx", icon=":material/download:", key="pb_docx",
                     mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
right.download_button("Markdown でダウンロード", memo_markdown(memo, created), file_name="tebiki.md",
                      mime="text/markdown", icon=":material/download:", key="pb_md")

for section in memo.sections:
    with st.container(border=True):
        for kind, text in section_lines(section):
            # Report text stays escaped; only our own **bold** and [n] markers are Markdown.
            shown = REF.sub(r"[\1]", html.md_escape(text).replace("\\*\\*", "**"))
            if kind == "h2":
                st.markdown(f"### {shown}")
            elif kind == "h3":
                st.markdown(f"**{shown}**")
            elif kind == "quote":
                st.markdown(f"> {shown}")
            elif kind == "note":
                st.warning(html.md_escape(text), icon=":material/info:")
            elif kind == "bullet":
                st.markdown(f"- {shown}")
            else:
                st.markdown(shown)

st.markdown("#### 出典")
for c in memo.citations:
    st.markdown(f"\\[{c.n}\\] {html.md_escape(source_line(c))}")
