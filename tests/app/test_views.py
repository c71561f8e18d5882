"""The other pages (事例一覧, 評価, 資料の管理) and building the index from the app."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
from maintainer import sign_in
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
SMALL_REPORT = (
    "第1章 テスト資料\n1-1. 庁内連携の工夫\n"
    "テスト市では、庁内の連携会議を毎月開き、福祉以外の部署も参加するようにした。"
    "会議の記録は全庁で共有した。\n"
)


def _page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    if path == "views/corpus.py":  # its actions are for maintainers (test_maintainers.py)
        sign_in(at)
    return at


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def test_case_list_filters_and_asks_in_the_chat(app_env):
    at = _page("views/cases.py")
    assert any("15 件 / 全 15 件" in c.value for c in at.caption)
    assert [s.value for s in at.subheader][:1] == ["① 部局横断的な連携体制の構築"]
    html = _html(at)
    for name in ("仙台市", "富山県", "北九州市", "江東区", "枚方市", "座間市"):
        assert name in html
    assert "本資料 p.6" in html and "出典: 株式会社野村総合研究所" in html

    at.multiselect(key="cases_points").set_value([5]).run()
    assert any("3 件 / 全 15 件" in c.value for c in at.caption)
    at.text_input(key="cases_word").set_value("生駒").run()
    assert any("1 件 / 全 15 件" in c.value for c in at.caption)
    at.button(key="ask-p5-0").click().run()
    assert not at.exception
    msgs = at.session_state["messages"]
    assert msgs[0]["content"].startswith("生駒市は「自立的かつ対等な連携と協働」")
    assert msgs[1]["answer"].citations
    assert "生駒市" in _html(at)


def test_evaluation_page_without_and_with_results(app_env, tmp_path, monkeypatch):
    at = _page("views/evaluation.py")
    assert any("make eval" in i.value for i in at.info)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = tmp_path / "eval-out"
    out.mkdir(exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(
        {"tsunagari": {"recall@5": 0.91, "mrr@10": 0.8}, "bm25": {"recall@5": 0.7}}))
    (out / "report.md").write_text("# 評価レポート\n\n- recall@5: 0.91\n", encoding="utf-8")
    fig = plt.figure()
    plt.plot([1, 2], [0.5, 0.9])
    fig.savefig(out / "recall_at_k.png")
    plt.close(fig)
    monkeypatch.setenv("TSUNAGARI_EVAL_OUT", str(out))
    at = _page("views/evaluation.py")
    assert not at.info
    table = at.dataframe[0].value
    assert list(table.columns) == ["指標", "tsunagari（既定）", "キーワード検索のみ"]
    assert table.iloc[0].tolist() == ["検索の再現率@5", "0.910", "0.700"]
    assert table.iloc[1].tolist()[0] == "MRR@10（正解箇所の順位）"
    assert at.get("imgs") or at.get("image")
    # The report is shown as raw text (it quotes report passages), not rendered as Markdown.
    assert any("# 評価レポート" in c.value for c in at.code)
    assert not any("評価レポート" in m.value for m in at.markdown)


def test_upload_and_rebuild_show_what_changed(private_index):
    at = _page("views/corpus.py")
    assert any("資料: 1 件" in m.value for m in at.markdown)
    word = docx.Document()
    for line in SMALL_REPORT.splitlines():
        word.add_paragraph(line)
    buf = io.BytesIO()
    word.save(buf)
    uploader = at.get("file_uploader")[0]
    uploader.upload("テスト報告書.docx", buf.getvalue(),
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document").run()
    next(b for b in at.button if b.label == "資料フォルダに追加").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("テスト報告書" in s.value and "追加しました" in s.value for s in at.success)
    saved = sorted(p.name for p in private_index["corpus"].iterdir())
    assert "テスト報告書.docx" in saved and "テスト報告書.txt" not in saved  # stored as uploaded

    next(b for b in at.button if b.label == "索引を更新").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # An index existed already: the texts say 更新 (update), not 作成 (create).
    summary = [s.value for s in at.success if "索引を更新しました" in s.value]
    assert summary and "資料 2 件" in summary[0]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["追加"]) >= 1 and int(metrics["変更なし"]) > 50
    assert int(metrics["削除"]) == 0
    # one row per report with its status (the audit log's table follows it)
    table = [d.value for d in at.dataframe if "状態" in d.value.columns][-1]
    assert "追加" in set(table["状態"]) and "変更なし" in set(table["状態"])

    # The chat answers from the new report right away (the cached service was refreshed).
    at.switch_page("views/chat.py").run()
    at.chat_input[0].set_value("テスト市の連携会議はどのくらいの頻度ですか？").run()
    answer = at.session_state["messages"][-1]["answer"]
    assert any("テスト市" in c.chunk.text for c in answer.citations)


def test_upload_rejects_unsupported_files(private_index):
    at = _page("views/corpus.py")
    at.get("file_uploader")[0].upload("memo.txt", b"\xff\xfe\x00broken", "text/plain").run()
    next(b for b in at.button if b.label == "資料フォルダに追加").click().run()
    assert any("UTF-8" in e.value for e in at.error)


def test_build_index_button_creates_the_index(app_env, monkeypatch, tmp_path):
    corpus = tmp_path / "small-corpus"
    corpus.mkdir()
    (corpus / "small.txt").write_text(SMALL_REPORT, encoding="utf-8")
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(tmp_path / "fresh"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.chat_input
    assert not [b for b in at.button if b.label == "索引を作成"]  # maintainers only
    at.switch_page("views/corpus.py").run()
    sign_in(at)
    at.switch_page("views/chat.py").run()
    next(b for b in at.button if b.label == "索引を作成").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.chat_input, "after building, the chat is shown"
    assert any("索引を作成しました" in s.value for s in at.success)
    assert (tmp_path / "fresh" / "chunks.jsonl").exists()
    audit = (tmp_path / "fresh" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"build-index"' in audit


def test_upload_file_names_are_not_rendered_as_markdown(private_index):
    at = _page("views/corpus.py")
    uploader = at.get("file_uploader")[0]
    uploader.upload("![x](t.png).txt", SMALL_REPORT.encode("utf-8"), "text/plain").run()
    next(b for b in at.button if b.label == "資料フォルダに追加").click().run()
    assert not at.exception, [e.value for e in at.exception]
    ok = [s.value for s in at.success]
    # Every Markdown character of the name is escaped: no image (or link) can render.
    assert any("\\!\\[x\\]\\(t.png\\).txt" in v for v in ok), ok
    assert (private_index["corpus"] / "![x](t.png).txt").exists()

    at.get("file_uploader")[0].upload("![x](http://host/t.png).pdf", b"not a pdf",
                                     "application/pdf").run()
    next(b for b in at.button if b.label == "資料フォルダに追加").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [s.value for s in at.success] + [e.value for e in at.error]
    assert at.error, shown
    assert not any("![" in v or "](" in v for v in shown), shown


MAIN_REPORT = "chiho-pf-suiheiteki-renkei-jireishu.txt"


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_replacing_a_report_asks_first_keeps_a_backup_and_restores(private_index):
    main = private_index["corpus"] / MAIN_REPORT
    original = main.read_bytes()
    small = SMALL_REPORT.encode("utf-8")
    at = _page("views/corpus.py")
    at.get("file_uploader")[0].upload(MAIN_REPORT, small, "text/plain").run()
    _click(at, "資料フォルダに追加")
    # The issue: this replaced the 82,950-byte report with no confirmation and no backup.
    assert main.read_bytes() == original
    assert not [s for s in at.success if "追加しました" in s.value or "置き換えました" in s.value]
    assert any("すでに" in w.value and "置き換えますか" in w.value for w in at.warning)
    _click(at, "やめる")
    assert main.read_bytes() == original and any("やめました" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "元に戻す"]

    _click(at, "資料フォルダに追加")
    _click(at, "置き換える")
    assert main.read_bytes() == small
    assert any("置き換えました" in s.value and "バックアップ" in s.value for s in at.success)
    assert not at.warning
    backups = private_index["data"] / "backups"
    (kept,) = [p for p in backups.glob("*/*")]
    assert kept.read_bytes() == original and kept.name == MAIN_REPORT
    assert len([b for b in at.button if b.label == "元に戻す"]) == 1

    _click(at, "元に戻す")
    assert main.read_bytes() == original
    assert any("戻しました" in s.value for s in at.success)
    (kept,) = [p for p in backups.glob("*/*")]  # the replaced version is the backup now
    assert kept.read_bytes() == small
    assert len([b for b in at.button if b.label == "元に戻す"]) == 1


def test_upload_of_a_long_or_disguised_name_is_cleaned_and_saved(private_index):
    at = _page("views/corpus.py")
    long_name = ("令和6年度地方版孤独・孤立対策官民連携プラットフォーム"
                 "の事例調査報告書" * 3)[:88] + ".txt"
    at.get("file_uploader")[0].upload(long_name, SMALL_REPORT.encode("utf-8"), "text/plain").run()
    _click(at, "資料フォルダに追加")
    assert not at.error and any("追加しました" in s.value for s in at.success)
    (saved,) = [p for p in private_index["corpus"].iterdir() if p.name.startswith("令和6年度")]
    assert len(saved.name.encode()) <= 255 and long_name.startswith(saved.stem)

    at.get("file_uploader")[0].upload("請求書\u202etxt.md", (SMALL_REPORT + "2").encode(),
                                     "text/markdown").run()
    _click(at, "資料フォルダに追加")
    assert (private_index["corpus"] / "請求書txt.md").exists()
    shown = [s.value for s in at.success] + [m.value for m in at.markdown]
    assert not any("\u202e" in v for v in shown)
