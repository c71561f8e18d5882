"""The 手引きをつくる page (AppTest over the real index): form → memo → .docx with footnotes."""

from __future__ import annotations

import io
from pathlib import Path

import docx
from streamlit.testing.v1 import AppTest

from tsunagari.app.export import docx_footnotes

ROOT = Path(__file__).resolve().parents[2]


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("views/playbook.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_form_gives_a_memo_with_five_sections_and_a_footnoted_docx(app_env):
    at = _page()
    at.selectbox(key="pb_body").set_value("一般市")
    at.selectbox(key="pb_population").set_value("5万人未満")
    at.selectbox(key="pb_stage").set_value("運営が停滞している")
    at.multiselect(key="pb_difficulties").set_value([3])
    at.text_area(key="pb_situation").set_value("民間団体が集まらず会議が形だけになっている")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    memo = at.session_state["pb_memo"]
    assert [s.point for s in memo.sections] == [3, 1, 2, 4, 5]
    heads = [m.value for m in at.markdown if m.value.startswith("### ポイント")]
    assert len(heads) == 5 and heads[0].startswith("### ポイント③")
    text = "\n".join(m.value for m in at.markdown)
    assert "同じ一般市・小都市の事例" in text and "粘り強く説得" in text
    assert "本資料 p." in text and "出典: 株式会社" in text

    from tsunagari.playbook.render import memo_docx

    data = memo_docx(memo, at.session_state["pb_created"])
    notes = docx_footnotes(data)
    assert len([n for n in notes if not n.startswith("注")]) == len(memo.citations)
    headings = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs
                if p.style.name == "Heading 1"]
    assert len(headings) == 5 and headings[0].startswith("ポイント③")
    assert len(at.get("download_button")) == 2


def test_empty_form_still_gives_five_sections(app_env):
    at = _page()
    at.button[0].click().run()
    assert not at.exception
    assert len(at.session_state["pb_memo"].sections) == 5
