"""The app over a two-report index (Streamlit AppTest): the case list and the sidebar show every
report's bodies, and a case of the second report is asked about in the chat."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def test_case_list_shows_both_reports_cases(two_report_app_env):
    at = _page("views/cases.py")
    assert any("22 件 / 全 22 件" in c.value for c in at.caption), [c.value for c in at.caption]
    subheaders = [s.value for s in at.subheader]
    assert subheaders[0] == "① 部局横断的な連携体制の構築"
    assert subheaders[-1] == "取組事例集（令和7年度）の事例"
    html = _html(at)
    for name in ("仙台市", "座間市", "上越市", "芽室町", "潮見原市", "豊岡市"):
        assert name in html
    assert "取組事例集（令和7年度） p.3" in html
    at.multiselect(key="cases_reports").set_value(["取組事例集（令和7年度）"]).run()
    assert any("7 件 / 全 22 件" in c.value for c in at.caption)
    at.button(key="ask-r1-1").click().run()
    assert not at.exception
    msgs = at.session_state["messages"]
    assert msgs[0]["content"] == "芽室町の取組について教えてください。"
    assert {c.chunk.municipality for c in msgs[1]["answer"].citations} == {"芽室町"}


def test_sidebar_lists_every_reports_bodies_and_filters_by_report(two_report_app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    muni = at.selectbox(key="f_muni")
    # Options show each body with the reports that present it.
    assert "仙台市（水平的連携に関する事例集）" in muni.options
    assert "上越市（取組事例集（令和7年度））" in muni.options
    scope = at.selectbox(key="f_scope")
    assert "資料「取組事例集（令和7年度）」全体" in scope.options
    muni.set_value("潮見原市").run()
    at.chat_input[0].set_value("地域の団体との連携で工夫した点を教えてください。").run()
    answer = at.session_state["messages"][-1]["answer"]
    assert answer.citations and {c.chunk.municipality for c in answer.citations} == {"潮見原市"}
