"""資料の管理: add a report to the corpus (replacing one only after confirmation, keeping a
backup that can be restored), rebuild the index with a progress bar, export feedback.

Maintainers only: the page draws these actions for a signed-in maintainer alone, and every
callback asks again (`signin.require`) before it writes, so a click that arrives after the
sign-in ended (or a forged one) changes nothing. Each action is written to the audit log.
"""

import functools
import logging
from pathlib import Path

import streamlit as st

from tsunagari.app import audit, signin, state, status
from tsunagari.app.feedback import FeedbackStore
from tsunagari.app.html import md_escape
from tsunagari.errors import TsunagariError
from tsunagari.indexing.shared import origin_line
from tsunagari.indexing.store import read_manifest, store_health
from tsunagari.loaders.safefiles import read_regular
from tsunagari.loaders import content_hash
from tsunagari.loaders.backups import backups_dir, list_backups
from tsunagari.loaders.names import printable_name
from tsunagari.loaders.scan import STATUS_LABELS
from tsunagari.loaders.upload import NameTakenError, corpus_files, restore_backup, save_upload

PENDING = "corpus_pending_replace"  # the upload waiting for the user to confirm a replacement
REFRESH_HINT = " 「索引を更新」を押すと検索に反映されます。"
MAX_BACKUP_ROWS = 50
MAX_AUDIT_ROWS = 100

log = logging.getLogger(__name__)
settings = state.settings()
corpus_dir = Path(settings.corpus_dir)
backups = backups_dir(settings)


def _flash(area: str, kind: str, text: str) -> None:
    st.session_state.setdefault(f"corpus_flash_{area}", []).append((kind, text))


def _show_flash(area: str) -> None:
    for kind, text in st.session_state.pop(f"corpus_flash_{area}", []):
        getattr(st, kind)(md_escape(text))


def _guarded(area: str):
    """A callback that fails unexpectedly shows a Japanese message (details in the server log)."""
    def wrap(callback):
        @functools.wraps(callback)
        def run(*args):
            try:
                callback(*args)
            except Exception:
                log.exception("%s failed", callback.__name__)
                _flash(area, "error", "予期しないエラーで操作を終えられませんでした（詳しい内容は"
                       "サーバーのログに記録しました）。資料フォルダの状態を確かめてください。")
                if st.get_option("global.appTest"):
                    raise
        return run
    return wrap


@_guarded("upload")
def _save(replace: bool) -> None:
    """Button callback: store the uploaded file; a taken name asks for confirmation first."""
    uploaded = st.session_state.get("upload")
    action = "replace" if replace else "upload"
    who = signin.require(settings, action, getattr(uploaded, "name", ""))
    if who is None:
        st.session_state.pop(PENDING, None)
        return
    pending = st.session_state.pop(PENDING, None)
    if uploaded is None:
        _flash("upload", "error", "ファイルを選んでください。")
        return
    limit = settings.max_file_mb * 1024 * 1024
    if uploaded.size > limit:  # refused before the bytes are read into this process
        message = (f"{printable_name(uploaded.name)} は大きすぎます（上限 {settings.max_file_mb:g} MB）。"
                   "資料フォルダは変更していません。")
        _flash("upload", "error", message)
        signin.note(settings, who=who, action=action, file=uploaded.name, result="refused",
                    detail=message)
        return
    data = uploaded.getvalue()
    digest = content_hash(data)
    if replace and (not pending or pending["file"] != uploaded.name
                    or pending["digest"] != digest):
        _flash("upload", "warning", "選んだファイルが変わりました。もう一度「資料フォルダに追加」を"
               "押してください。資料フォルダは変更していません。")
        return
    try:
        saved = save_upload(corpus_dir, uploaded.name, data, settings.max_file_mb,
                            replace=replace, backups=backups,
                            parse_seconds=settings.upload_parse_seconds)
    except NameTakenError as exc:
        st.session_state[PENDING] = {"file": uploaded.name, "name": exc.name, "digest": digest}
    except TsunagariError as exc:
        _flash("upload", "error", str(exc))
        signin.note(settings, who=who, action=action, file=uploaded.name, sha256=digest,
                    result="error", detail=str(exc))
    else:
        _flash("upload", "success", saved.message + REFRESH_HINT)
        signin.note(settings, who=who, action=action, file=saved.path.name, sha256=digest,
                    detail=saved.message)


def _cancel() -> None:
    st.session_state.pop(PENDING, None)
    _flash("upload", "info", "置き換えをやめました。資料フォルダは変更していません。")


@_guarded("backups")
def _restore(backup_id: str) -> None:
    who = signin.require(settings, "restore", backup_id)
    if who is None:
        return
    try:
        restored = restore_backup(corpus_dir, backups, backup_id)
    except TsunagariError as exc:
        _flash("backups", "error", str(exc))
        signin.note(settings, who=who, action="restore", file=backup_id, result="error",
                    detail=str(exc))
    else:
        _flash("backups", "success", restored.message + REFRESH_HINT)
        try:
            digest = content_hash(read_regular(restored.path))
        except OSError:
            digest = ""
        signin.note(settings, who=who, action="restore", file=restored.path.name, sha256=digest,
                    detail=restored.message)


def _exported(data: bytes) -> None:
    """Download callback: the export is recorded (the data went to a maintainer's page only)."""
    who = signin.require(settings, "export", "feedback_candidates.jsonl")
    if who is not None:
        signin.note(settings, who=who, action="export", file="feedback_candidates.jsonl",
                    sha256=content_hash(data))


st.title("資料の管理")
maintainer = signin.panel(settings)
if maintainer is not None:
    st.caption(f"資料フォルダ: {md_escape(corpus_dir)}")

st.subheader("索引の状態")
manifest = read_manifest(settings)
lines = [*status.index_status_lines(manifest, store_health(settings)),
         *filter(None, [origin_line(settings)])]
st.markdown("  \n".join(md_escape(line) for line in lines))
files = corpus_files(corpus_dir)
if files:
    st.dataframe(files, hide_index=True)
if maintainer is None:
    st.stop()  # nothing below is drawn, so no action of it can be sent

upload_cap = st.get_option("server.maxUploadSize")
if upload_cap > settings.max_file_mb:
    st.warning(md_escape(
        f"アップロードの上限（server.maxUploadSize = {upload_cap} MB）が資料の上限"
        f"（{settings.max_file_mb:g} MB）より大きくなっています。`make run` で起動するか、"
        "`--server.maxUploadSize` を資料の上限に合わせてください。"))

st.subheader("報告書を追加")
uploaded = st.file_uploader(
    "報告書ファイル（.txt / .md / .pdf / .docx）", type=["txt", "md", "pdf", "docx"],
    key="upload",
)
if uploaded is not None:
    st.button("資料フォルダに追加", type="primary", on_click=_save, args=(False,))
pending = st.session_state.get(PENDING)
if pending and (uploaded is None or uploaded.name != pending["file"]):
    st.session_state.pop(PENDING, None)
elif pending:
    st.warning(md_escape(
        f"資料フォルダにはすでに {pending['name']} があります。置き換えますか？"
        f"今の {pending['name']} はバックアップとして残り、下の「バックアップ」から元に戻せます。"))
    yes, no = st.columns(2)
    yes.button("置き換える", type="primary", key="confirm_replace", on_click=_save, args=(True,))
    no.button("やめる", key="cancel_replace", on_click=_cancel)
_show_flash("upload")

st.subheader("バックアップ（置き換える前の版）")
_show_flash("backups")
kept = list_backups(backups)
if not kept:
    st.caption("バックアップはありません。報告書を置き換えると、前の版がここに残ります。")
for b in kept[:MAX_BACKUP_ROWS]:
    name_col, time_col, size_col, action_col = st.columns([5, 3, 2, 2])
    name_col.markdown(md_escape(printable_name(b.name)))
    time_col.markdown(md_escape(b.saved_at))
    size_col.markdown(f"{b.size / 1024:.1f} KB")
    action_col.button("元に戻す", key=f"restore-{b.backup_id}", on_click=_restore,
                      args=(b.backup_id,))
if kept:
    more = f"（新しい {MAX_BACKUP_ROWS} 件を表示）" if len(kept) > MAX_BACKUP_ROWS else ""
    st.caption(md_escape(f"元に戻すと、そのときの資料フォルダの版もバックアップに残ります。{more}"
                         f"保存場所: {backups}（不要になったものはここから削除できます）"))

st.subheader("索引を更新")
st.caption("資料フォルダの内容から索引を作り直します。変更のない部分はそのまま使います。")
if st.button("索引を更新", icon=":material/refresh:") and (
        who := signin.require(settings, "rebuild")) is not None:
    refreshed = manifest is not None
    try:
        report = state.run_ingest(settings, refreshed=refreshed)
    except TsunagariError as exc:
        st.error(md_escape(exc))
        signin.note(settings, who=who, action="rebuild", result="error", detail=str(exc))
    else:
        summary = status.ingest_summary(report, refreshed=refreshed)
        after = read_manifest(settings)
        signin.note(settings, who=who, action="rebuild", file=f"{len(after.documents) if after else 0} 件の資料",
                    sha256=after.chunks_sha256 if after else "", detail=summary)
        st.success(md_escape(summary))
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
    candidates = store.eval_candidates_jsonl()  # built per request: never a shared file
    count = candidates.count("\n")
    data = candidates.encode("utf-8")
    st.download_button(
        f"評価用の候補として書き出す（JSONL、{count} 件）", data=data,
        file_name="feedback_candidates.jsonl", mime="application/jsonl", icon=":material/download:",
        key="export_feedback", on_click=_exported, args=(data,),
    )

st.subheader("操作の記録（監査ログ）")
entries = audit.latest(settings, MAX_AUDIT_ROWS)
if not entries:
    st.caption("まだ記録はありません。")
else:
    st.dataframe(
        [{"日時（UTC）": e.at, "だれが": e.who,
          "サインイン方法": signin.METHOD_LABELS.get(e.method, e.method or "—"),
          "操作": audit.ACTION_LABELS.get(e.action, e.action), "対象": e.file,
          "SHA-256": e.sha256[:16], "結果": audit.RESULT_LABELS.get(e.result, e.result)}
         for e in entries],
        hide_index=True,
    )
    st.caption(md_escape(f"新しい順に最大 {MAX_AUDIT_ROWS} 件。すべての記録: {audit.audit_path(settings)}"))
