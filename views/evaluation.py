"""評価: the latest eval run (eval/out), or how to run one."""

import streamlit as st

from tsunagari.app import state, status
from tsunagari.app.html import md_escape

out_dir = state.settings().eval_out
st.title("評価")
run = status.load_eval_run(out_dir)
if run is None:
    st.info(
        "まだ評価結果がありません。評価用の質問集（eval/qa.jsonl）で回答の質を測るには、"
        "ターミナルで `make eval` を実行してください。終わるとここに結果が表示されます。"
    )
    st.stop()

st.caption(f"最新の評価結果（{run.updated} 更新、{md_escape(out_dir)}）")
st.subheader("指標")
st.dataframe(status.metrics_table(run.metrics), hide_index=True)
if run.plots:
    st.subheader("グラフ")
    cols = st.columns(min(len(run.plots), 2))
    for i, plot in enumerate(run.plots):
        cols[i % len(cols)].image(plot, caption=status.plot_caption(plot))
if run.report:
    with st.expander("レポート（report.md）"):
        # Shown as raw text: the report quotes questions and passages from the reports.
        st.code(run.report, language="markdown", wrap_lines=True)
