"""資料の管理: add a report to the corpus and rebuild the index with a progress bar."""

from pathlib import Path

import streamlit as st

from tsunagari.app import state, status
from tsunagari.app.feedback import FeedbackStore
from tsunagari.app.html import md_escape
from tsunagari.errors import TsunagariError
from tsunagari.indexing.store import read_manifest, store_health
from tsunagari.loaders.scan import STATUS_LABELS
from tsunagari.loaders.upload import corpus_files, save_upload

settings = state.settings()
corpus_dir = Path(settings.corpus_dir)
st.title("資料の管理")
st.caption(f"資料フォルダ: {md_escape(corpus_dir)}")

st.subheader("索引の状態")
manifest = read_manifest(settings)
lines = status.index_status_lines(manifest, store_health(settings))
st.markdown("  \n".join(md_escape(line) for line in lines))
files = corpus_files(corpus_dir)
if files:
    st.dataframe(files, hide_index=True)

st.subheader("報告書を追加")
uploaded = st.file_uploader(
    "報告書ファイル（.txt / .md / .pdf / .docx）", type=["txt", "md", "pdf", "docx"],
    key="upload",
)
if uploaded is not None and st.button("資料フォルダに追加", type="primary"):
    try:
        saved = save_upload(corpus_dir, uploaded.name, uploaded.getvalue(), settings.max_file_mb)
    except TsunagariError as exc:
        st.error(md_escape(exc))
    else:
        st.success(md_escape(saved.message) + " 「索引を更新」を押すと検索に反映されます。")

st.subheader("索引を更新")
st.caption("資料フォルダの内容から索引を作り直します。変更のない部分はそのまま使います。")
if st.button("索引を更新", icon=":material/refresh:"):
    refreshed = manifest is not None
    try:
        report = state.run_ingest(settings, refreshed=refreshed)
    except TsunagariError as exc:
        st.error(md_escape(exc))
    else:
        st.success(md_escape(status.ingest_summary(report, refreshed=refreshed)))
        cols = st.columns(4)
        cols[0].metric("追加", report.added)
        cols[1].metric("更新", report.updated)
        cols[2].metric("削除", report.deleted)
        cols[3].metric("変更なし", report.unchanged)
        files = getattr(report, "files", ())
        if files:
            st.dataframe(
                [{"ファイル": f.file, "題名": f.title, "状態": STATUS_LABELS.get(f.status, f.status),
                  "箇所（チャンク）数": f.chunks} for f in files],
                hide_index=True,
            )
        problems = getattr(report, "problems", ())
        for p in problems:
            st.warning(md_escape(p.message))
        shown = {p.message for p in problems}
        for notice in report.notices:
            if notice not in shown:
                st.info(md_escape(notice))

st.subheader("フィードバック")
store = FeedbackStore.for_settings(settings)
records = store.list()
up = sum(1 for r in records if r.rating == 1)
down = sum(1 for r in records if r.rating == 0)
st.caption(f"これまでの評価: 👍 {up} 件／👎 {down} 件／コメントのみ "
           f"{sum(1 for r in records if r.rating is None)} 件")
if records:
    path = Path(settings.data_dir) / "feedback_candidates.jsonl"
    count = store.export_eval_candidates(path)
    st.download_button(
        f"評価用の候補として書き出す（JSONL、{count} 件）", data=path.read_bytes(),
        file_name="feedback_candidates.jsonl", mime="application/jsonl", icon=":material/download:",
    )
