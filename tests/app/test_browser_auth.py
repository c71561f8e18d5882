"""Maintainer sign-in through a trusted proxy header, in a real `streamlit run` and Chromium.

The server starts with the flags `make run` uses (`python -m tsunagari admin server-flags`:
localhost, upload cap = the corpus file limit). A browser context without the header is an
ordinary user; one that sends `X-Forwarded-User: tanaka` (as the office proxy would) is a
maintainer who uploads, rebuilds and exports. No request of either page leaves localhost.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, _free_port, _wait_healthy

from tsunagari.app.feedback import FeedbackStore
from tsunagari.config import load_settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent"),
]
REPORT = ("第1章 テスト資料\n1-1. 庁内連携の工夫\n"
          "ブラウザ町では、庁内の連携会議を毎週開き、消防も参加するようにした。\n")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def upload_rebuild_export(page, report: Path, text: str, server: dict) -> None:
    """As a signed-in maintainer on 資料の管理: add a report, rebuild the index and export the
    feedback (compared with the server's store), then see the export in the audit table."""
    from playwright.sync_api import expect

    report.write_text(text, encoding="utf-8")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(report))
    page.get_by_role("button", name="資料フォルダに追加").click()
    expect(page.get_by_text("追加しました")).to_be_visible(timeout=60_000)
    assert (server["corpus"] / report.name).read_text(encoding="utf-8") == text

    page.get_by_role("button", name="索引を更新").click()
    expect(page.get_by_text("件の索引を更新しました")).to_be_visible(timeout=240_000)

    with page.expect_download(timeout=60_000) as download:
        page.locator('[data-testid="stDownloadButton"] button').click()
    assert Path(download.value.path()).read_text(encoding="utf-8") == server["feedback"]
    # The audit table (a canvas grid: its cells are in the DOM, not "visible").
    expect(page.get_by_text("フィードバックの書き出し")).to_be_attached(timeout=30_000)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def proxy_server(tmp_path):
    """The app over a small corpus (one report, BM25 only: quick to build), started as
    `make run` starts it, with the proxy header method on."""
    from tsunagari.service import ingest

    data, corpus = tmp_path / "data", tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "最初の町.txt").write_text(REPORT.replace("ブラウザ町", "最初の町"), encoding="utf-8")
    ingest(load_settings(data_dir=data, corpus_dir=corpus, embedder="none"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TSUNAGARI_", "STREAMLIT_"))}
    env.update(TSUNAGARI_DATA_DIR=str(data), TSUNAGARI_CORPUS_DIR=str(corpus),
               TSUNAGARI_EMBEDDER="none",
               TSUNAGARI_EVAL_OUT=str(tmp_path / "eval-out"), TSUNAGARI_MAX_FILE_MB="8",
               TSUNAGARI_PROXY_USER_HEADER="X-Forwarded-User",
               TSUNAGARI_MAINTAINER_USERS="tanaka", HF_HUB_OFFLINE="1",
               ANONYMIZED_TELEMETRY="False")
    store = FeedbackStore.for_settings(load_settings(data_dir=data))
    store.add("s1-t1", "仙台市の工夫は？", "回答", rating=1, comment="他の利用者のメモ")
    flags = subprocess.run([sys.executable, "-m", "tsunagari", "admin", "server-flags"], cwd=ROOT,
                           env=env, text=True, capture_output=True, check=True).stdout.split()
    assert flags == ["--server.address", "localhost", "--server.maxUploadSize", "8"]
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
         "--server.port", str(port), *flags],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://localhost:{port}"
        _wait_healthy(url, proc)
        yield {"url": url, "port": port, "pid": proc.pid, "data": data, "corpus": corpus,
               "feedback": store.eval_candidates_jsonl(), "log": tmp_path / "streamlit.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _outside_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (where a 0.0.0.0 bind would answer)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({i[4][0] for i in infos if not i[4][0].startswith("127.")})


def test_proxy_header_maintainer_in_a_real_browser(proxy_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    for address in _outside_addresses():  # bound to localhost: not reachable from outside
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((address, proxy_server["port"])) != 0, address

    requests: list[str] = []
    corpus_url = f"{proxy_server['url']}/corpus"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            anonymous = browser.new_context(locale="ja-JP")
            anonymous.on("request", lambda r: requests.append(r.url))
            page = anonymous.new_page()
            page.goto(corpus_url)
            expect(page.get_by_role("heading", name="資料の管理")).to_be_visible(timeout=90_000)
            expect(page.get_by_text("リバースプロキシでサインインしてから")).to_be_visible(
                timeout=30_000)
            assert page.locator('[data-testid="stFileUploader"]').count() == 0
            assert page.get_by_role("button", name="索引を更新").count() == 0
            assert page.locator('[data-testid="stDownloadButton"]').count() == 0
            icon = page.locator("link[rel~='icon']").first.get_attribute("href") or ""
            assert urlparse(icon).hostname in (None, *LOCAL_HOSTS), icon

            maintainer = browser.new_context(locale="ja-JP",
                                             extra_http_headers={"X-Forwarded-User": "tanaka"})
            maintainer.on("request", lambda r: requests.append(r.url))
            page = maintainer.new_page()
            page.goto(corpus_url)
            expect(page.get_by_text("tanaka としてサインインしています")).to_be_visible(
                timeout=90_000)
            upload_rebuild_export(page, tmp_path / "ブラウザ町.txt", REPORT, proxy_server)
            dropzone = page.locator('[data-testid="stFileUploaderDropzoneInput"]')

            # Twice the 8 MB limit: refused, and the server takes none of it into memory.
            big = tmp_path / "大きい.txt"
            big.write_bytes(b"a" * (16 * 1024 * 1024))
            rss_before = _rss_mb(proxy_server["pid"])
            dropzone.set_input_files(str(big))
            page.wait_for_timeout(3000)
            if page.get_by_role("button", name="資料フォルダに追加").count():
                page.get_by_role("button", name="資料フォルダに追加").click()
                page.wait_for_timeout(3000)
            rss_after = _rss_mb(proxy_server["pid"])
            assert not (proxy_server["corpus"] / big.name).exists()
            print(f"\nserver RSS around a 16 MB upload: {rss_before:.0f} -> {rss_after:.0f} MB")
            assert rss_after - rss_before < 8, (rss_before, rss_after)
            page.screenshot(path=str(tmp_path / "corpus_maintainer.png"), full_page=True)
        finally:
            browser.close()

    outside = [u for u in requests
               if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname not in LOCAL_HOSTS]
    assert requests and not outside, outside
    audit = (proxy_server["data"] / "audit.jsonl").read_text(encoding="utf-8")
    for action in ('"upload"', '"rebuild"', '"export"'):
        assert action in audit and '"who": "tanaka"' in audit
    assert "Traceback" not in proxy_server["log"].read_text()
