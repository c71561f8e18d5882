"""The app with a damaged chunk store (a partial copy): it says so, and 「索引を更新」 repairs it."""

from __future__ import annotations

from pathlib import Path

from maintainer import sign_in
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    if path != "views/chat.py":
        at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_app_reports_a_damaged_index_and_repairs_it(private_index):
    chunks = private_index["data"] / "chunks.jsonl"
    lines = chunks.read_bytes().splitlines(keepends=True)
    chunks.write_bytes(b"".join(lines[:40]))  # cut at a line boundary: every line parses

    chat = _page("views/chat.py")
    errors = " ".join(e.value for e in chat.error)
    assert "壊れて" in errors and "索引を更新" in errors and "python -m ingest" in errors

    at = _page("views/corpus.py")
    status = " ".join(m.value for m in at.markdown)
    assert "索引が壊れています" in status and "読める箇所（チャンク）: 40 件" in status
    assert f"箇所（チャンク）: {len(lines)} 件" not in status
    sign_in(at)  # repairing is a maintainer action

    next(b for b in at.button if b.label == "索引を更新").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("作り直しました" in i.value for i in at.info)
    assert any(f"{len(lines)} 件の索引を更新しました" in s.value for s in at.success)
    chat = _page("views/chat.py")
    assert not chat.error
