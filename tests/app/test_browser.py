"""The real app in headless Chromium: a Japanese question, source cards, IME Enter, timings.

Needs Debian's chromium (`apt-get install -y chromium`); the Python `playwright` package drives
it through `executable_path` (no `playwright install`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
QUESTION = "福祉以外の部署を巻き込むには？"
INPUT = 'textarea[data-testid="stChatInputTextArea"]'
USER_MSG = '[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarUser"])'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is absent: install it with `apt-get install -y chromium`"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture
def server(built_index, tmp_path):
    """`streamlit run app.py` on a free port over the pre-built index; killed on teardown."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
    env.update(TSUNAGARI_DATA_DIR=str(built_index["data"]),
               TSUNAGARI_CORPUS_DIR=str(built_index["corpus"]),
               TSUNAGARI_EVAL_OUT=str(tmp_path / "eval-out"),
               HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed in teardown
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc)
        yield {"url": url, "started": started, "healthy": time.perf_counter(),
               "log": tmp_path / "streamlit.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _user_messages(page) -> int:
    return page.locator(USER_MSG).count()


def test_chat_in_a_real_browser(server, capsys):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
            t0 = time.perf_counter()
            page.goto(server["url"])
            box = page.locator(INPUT)
            expect(box).to_be_visible(timeout=90_000)
            now = time.perf_counter()
            timings["server_start_to_healthy_s"] = server["healthy"] - server["started"]
            timings["page_open_to_chat_input_s"] = now - t0
            # Cold start: process start → healthy, plus page open → chat input shown (the
            # first script run opens the index). Browser launch time is not included.
            timings["cold_start_s"] = (timings["server_start_to_healthy_s"]
                                       + timings["page_open_to_chat_input_s"])
            expect(page.get_by_text("こんにちは。")).to_be_visible()

            # 0) An example question in the sidebar fills the input (it is not sent).
            page.get_by_text("① 部局横断的な連携体制の構築").click()
            page.get_by_role("button", name="庁内の部局横断の会議体はどう作ればよいですか？").click()
            expect(box).to_have_value("庁内の部局横断の会議体はどう作ればよいですか？")
            assert _user_messages(page) == 0

            # 1) A Japanese question, answered with source cards.
            box.click()
            box.fill(QUESTION)
            t1 = time.perf_counter()
            box.press("Enter")
            card = page.locator(".tg-card").first
            expect(card).to_be_visible(timeout=60_000)
            expect(card).to_contain_text("仙台市")
            timings["answer_to_first_card_s"] = time.perf_counter() - t1
            expect(page.get_by_text("Word メモで保存")).to_be_visible(timeout=30_000)
            timings["answer_complete_s"] = time.perf_counter() - t1
            expect(card).to_contain_text("本資料 p.6")
            assert card.locator("mark.tg-hl").count() > 0

            # The [1] marker links to its card.
            page.locator("a.tg-ref").first.click()
            page.wait_for_function("location.hash === '#src-t1-1'")
            assert page.locator("#src-t1-1").is_visible()
            page.screenshot(path=str(ARTIFACTS / "chat_answer.png"), full_page=False)

            # 2) IME: Enter that confirms a kanji conversion must not send the message.
            sent = _user_messages(page)
            assert sent == 1
            box.click()
            box.fill("首長を巻き込むには")
            page.evaluate(
                """(sel) => {
                    const el = document.querySelector(sel);
                    el.dispatchEvent(new CompositionEvent('compositionstart',
                        {bubbles: true, data: ''}));
                    el.dispatchEvent(new CompositionEvent('compositionupdate',
                        {bubbles: true, data: 'しゅちょう'}));
                    const ev = new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter',
                        keyCode: 229, which: 229, isComposing: true, bubbles: true,
                        cancelable: true});
                    Object.defineProperty(ev, 'keyCode', {get: () => 229});
                    el.dispatchEvent(ev);
                    el.dispatchEvent(new KeyboardEvent('keyup', {key: 'Enter', code: 'Enter',
                        keyCode: 229, isComposing: true, bubbles: true}));
                    el.dispatchEvent(new CompositionEvent('compositionend',
                        {bubbles: true, data: '首長'}));
                }""",
                INPUT,
            )
            page.wait_for_timeout(1500)
            assert _user_messages(page) == sent, "IME Enter must not send the message"
            assert box.input_value() == "首長を巻き込むには"
            # A real Enter after the composition sends it.
            box.press("Enter")
            expect(page.locator(USER_MSG)).to_have_count(sent + 1, timeout=30_000)
            expect(page.locator(USER_MSG).last).to_contain_text("首長を巻き込むには")
            page.wait_for_function(
                "document.querySelectorAll('[id^=src-t2-]').length > 0", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "chat_full.png"), full_page=True)

            # 3) The case list page.
            page.get_by_role("link", name="事例一覧").click()
            expect(page.get_by_role("heading", name="事例一覧")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("座間市")).to_be_visible()
            expect(page.get_by_text("自治体名・見出しで探す")).to_be_visible()
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "cases.png"), full_page=False)

            # 4) A deep link opens its page, and the sidebar lists the pages by their Japanese
            # titles only (a pages/ folder next to st.navigation would add its file names).
            deep = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
            deep.goto(f"{server['url']}/cases")
            expect(deep.get_by_role("heading", name="事例一覧")).to_be_visible(timeout=60_000)
            nav = deep.locator('[data-testid="stSidebarNav"]')
            expect(nav).to_be_visible(timeout=30_000)
            links = nav.locator("a")
            labels = [links.nth(i).inner_text() for i in range(links.count())]
            titles = ["チャット", "事例一覧", "手引きをつくる", "評価", "資料の管理"]
            # Exactly the five pages, each with its title (the icon's name is text too).
            assert len(labels) == 5 and all(t in x for t, x in zip(titles, labels)), labels
            deep.screenshot(path=str(ARTIFACTS / "deep_link_cases.png"), full_page=False)
        finally:
            browser.close()
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")
    with capsys.disabled():
        print("\n[browser timings] " + ", ".join(f"{k}={v:.2f}" for k, v in timings.items()))
    assert timings["answer_to_first_card_s"] < 30


def _choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox / multiselect by its label."""
    page.get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_playbook_in_a_real_browser(server, tmp_path):
    """Fill the 手引き form, get five sections, download a .docx whose citations are footnotes."""
    from playwright.sync_api import expect, sync_playwright

    from tsunagari.app.export import docx_footnotes

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
            page.goto(f"{server['url']}/playbook")
            expect(page.get_by_role("heading", name="手引きをつくる")).to_be_visible(timeout=90_000)
            _choose(page, "自治体の種類", "一般市")
            _choose(page, "人口規模", "5万人未満")
            _choose(page, "段階", "運営が停滞している")
            _choose(page, "いま難しいこと（選んだ順に先に示します）",
                    "③ これまで連携実績のない民間団体の巻き込み")
            page.keyboard.press("Escape")
            page.get_by_label("状況をひとことで（任意）").fill("民間団体が集まらず会議が形だけになっている")
            page.get_by_role("button", name="手引きをつくる").click()
            heads = page.get_by_role("heading", name="ポイント", exact=False)
            expect(heads.first).to_contain_text("ポイント③", timeout=60_000)
            expect(heads).to_have_count(5)
            expect(page.get_by_text("同じ一般市・小都市の事例").first).to_be_visible()
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "playbook.png"), full_page=False)
            with page.expect_download() as info:
                page.get_by_role("button", name="Word でダウンロード").click()
            path = tmp_path / "tebiki.docx"
            info.value.save_as(path)
            notes = docx_footnotes(path.read_bytes())
            assert len(notes) >= 10 and all("本資料 p." in n for n in notes if not n.startswith("注"))
        finally:
            browser.close()


def test_comparison_answer_shows_a_table_in_the_chat(server):
    """A comparison answer's Markdown table is an HTML <table> in the chat, not raw | --- |."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
            page.goto(server["url"])
            box = page.locator(INPUT)
            expect(box).to_be_visible(timeout=90_000)
            box.click()
            box.fill("仙台市と北九州市の違いは？")
            box.press("Enter")
            table = page.locator(".tg-answer table.tg-table").first
            expect(table).to_be_visible(timeout=90_000)
            expect(page.get_by_text("Word メモで保存")).to_be_visible(timeout=30_000)
            headers = table.locator("th").all_inner_texts()
            assert headers == ["事例", "資料の記述", "本資料のページ"], headers
            first_col = [r.locator("td").first.inner_text()
                         for r in table.locator("tbody tr").all()]
            assert first_col == ["仙台市", "北九州市"], first_col
            # The cells keep their [n] links to the source cards.
            assert table.locator("a.tg-ref").count() >= 2
            answer = page.locator(".tg-answer").first.inner_text()
            assert "|---|" not in answer and "| 事例 |" not in answer
            page.screenshot(path=str(ARTIFACTS / "chat_table.png"), full_page=False)
        finally:
            browser.close()


def test_two_questions_sent_quickly_are_both_answered(server, tmp_path):
    """The second question is sent while the first answer is still being drawn: both questions
    and both answers stay in the chat and in the Markdown export, in the order sent."""
    from playwright.sync_api import expect, sync_playwright

    first, second = QUESTION, "首長を巻き込むにはどうすればよいですか？"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
            page.goto(server["url"])
            box = page.locator(INPUT)
            expect(box).to_be_visible(timeout=90_000)
            box.fill(first)
            box.press("Enter")
            # As soon as the first question is on the page, i.e. while its answer is looked up
            # and drawn (the run that draws it is interrupted by the second question).
            expect(page.locator(USER_MSG)).to_have_count(1, timeout=30_000)
            box.fill(second)
            box.press("Enter")
            page.wait_for_function(
                "document.querySelectorAll('[id^=src-t2-]').length > 0", timeout=60_000)
            expect(page.locator(USER_MSG)).to_have_count(2, timeout=30_000)
            users = page.locator(USER_MSG)
            expect(users.nth(0)).to_contain_text(first)
            expect(users.nth(1)).to_contain_text(second)
            assert page.locator("[id^=src-t1-]").count() > 0, "the first answer is shown too"
            expect(page.locator(".tg-answer")).to_have_count(2)
            with page.expect_download(timeout=30_000) as info:
                page.get_by_role("button", name="Markdown で保存").click()
            path = tmp_path / "chat.md"
            info.value.save_as(path)
            md = path.read_text(encoding="utf-8")
            assert first in md and second in md and md.index(first) < md.index(second)
            assert md.count("[^1-1]") >= 1 and md.count("[^2-1]") >= 1
        finally:
            browser.close()
