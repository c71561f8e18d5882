"""Maintainer sign-in with OpenID Connect, end to end: a real `streamlit run`, headless Chromium
and a local OpenID Connect provider (tests/app/oidc_provider.py) on 127.0.0.1.

Streamlit reads the [auth] section from a secrets.toml written for the test (passed with
`--secrets.files`, as an office would put it in `.streamlit/secrets.toml`), fetches the
provider's metadata and keys itself and verifies the RS256 ID token; st.user is never seeded.
A maintainer e-mail signs in through the provider's form, uploads a report, rebuilds the
index and exports the feedback (each in the audit log under that e-mail); a user the provider
knows but who is not a maintainer is signed in yet gets no management actions; an ID token for
the maintainer's address signed with another key signs nobody in; signing out takes the
actions away again.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from oidc_provider import OIDCProvider
from test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, _free_port, _wait_healthy
from test_browser_auth import upload_rebuild_export

from tsunagari.app.feedback import FeedbackStore
from tsunagari.config import load_settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent"),
]
REPORT = ("第1章 テスト資料\n1-1. 庁内連携の工夫\n"
          "認証町では、庁内の連携会議を毎週開き、消防も参加するようにした。\n")
MAINTAINER, OTHER = "hoshu@example.lg.jp", "ippan@example.lg.jp"
CLIENT_ID, CLIENT_SECRET = "tsunagari-test", secrets.token_urlsafe(16)


@pytest.fixture
def oidc_server(tmp_path):
    """The provider, and the app (BM25 only, one small report) with OIDC maintainers on."""
    from tsunagari.service import ingest

    data, corpus = tmp_path / "data", tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "最初の町.txt").write_text(REPORT.replace("認証町", "最初の町"), encoding="utf-8")
    ingest(load_settings(data_dir=data, corpus_dir=corpus, embedder="none"))
    store = FeedbackStore.for_settings(load_settings(data_dir=data))
    store.add("s1-t1", "仙台市の工夫は？", "回答", rating=1, comment="他の利用者のメモ")
    port = _free_port()
    with OIDCProvider(CLIENT_ID, CLIENT_SECRET,
                      {MAINTAINER: "保守 花子", OTHER: "一般 太郎"}) as provider:
        secrets_toml = tmp_path / "streamlit" / "secrets.toml"
        secrets_toml.parent.mkdir()
        secrets_toml.write_text(
            "[auth]\n"
            f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
            f'client_id = "{CLIENT_ID}"\n'
            f'client_secret = "{CLIENT_SECRET}"\n'
            f'server_metadata_url = "{provider.metadata_url}"\n', encoding="utf-8")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TSUNAGARI_", "STREAMLIT_"))}
        env.update(TSUNAGARI_DATA_DIR=str(data), TSUNAGARI_CORPUS_DIR=str(corpus),
                   TSUNAGARI_EMBEDDER="none", TSUNAGARI_EVAL_OUT=str(tmp_path / "eval-out"),
                   TSUNAGARI_MAINTAINER_EMAILS=MAINTAINER.upper(),  # compared case-insensitively
                   HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
        log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed in teardown
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
             "--server.address", "localhost", "--server.port", str(port),
             "--secrets.files", str(secrets_toml)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://localhost:{port}"
            _wait_healthy(url, proc)
            yield {"url": url, "provider": provider, "data": data, "corpus": corpus,
                   "feedback": store.eval_candidates_jsonl(),
                   "log": tmp_path / "streamlit.log"}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            log.close()


def _sign_in(page, corpus_url: str, email: str) -> None:
    """From 資料の管理: the app's sign-in button, the provider's form, back to the app."""
    from playwright.sync_api import expect

    page.goto(corpus_url)
    button = page.get_by_role("button", name="組織のアカウントでサインイン")
    expect(button).to_be_visible(timeout=90_000)
    button.click()
    page.wait_for_url("**/authorize?**", timeout=30_000)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda u: u.startswith(corpus_url.rsplit("/", 1)[0])
                      and "oauth2callback" not in u, timeout=30_000)
    page.goto(corpus_url)


def _management_absent(page) -> None:
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    assert page.get_by_role("button", name="資料フォルダに追加").count() == 0
    assert page.locator('[data-testid="stDownloadButton"]').count() == 0
    assert page.get_by_role("button", name="索引を更新").count() == 0


def _audit(data: Path) -> list[dict]:
    path = data / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_oidc_maintainer_signs_in_acts_and_signs_out(oidc_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    corpus_url = f"{oidc_server['url']}/corpus"
    provider = oidc_server["provider"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # A user the provider knows, but not a maintainer: signed in, no actions.
            other = browser.new_context(locale="ja-JP").new_page()
            _sign_in(other, corpus_url, OTHER)
            expect(other.get_by_text(f"{OTHER} は保守担当者として登録されていません")).to_be_visible(
                timeout=90_000)
            _management_absent(other)

            # An ID token for the maintainer's address, not signed by the provider's key:
            # Streamlit refuses it, nobody is signed in.
            provider.forge = True
            forged = browser.new_context(locale="ja-JP").new_page()
            _sign_in(forged, corpus_url, MAINTAINER)
            expect(forged.get_by_role("button", name="組織のアカウントでサインイン")).to_be_visible(
                timeout=90_000)
            _management_absent(forged)
            provider.forge = False

            # The maintainer (the setting holds the address in upper case).
            page = browser.new_context(locale="ja-JP").new_page()
            _sign_in(page, corpus_url, MAINTAINER)
            expect(page.get_by_text(f"{MAINTAINER} としてサインインしています")).to_be_visible(
                timeout=90_000)
            assert provider.issued == [OTHER, MAINTAINER, MAINTAINER], (provider.issued,
                                                                        provider.refused)

            upload_rebuild_export(page, tmp_path / "認証町.txt", REPORT, oidc_server)

            # Sign out: the actions are gone, also after reloading (the cookie is cleared).
            page.get_by_role("button", name="サインアウト").click()
            page.wait_for_timeout(2000)
            page.goto(corpus_url)
            expect(page.get_by_role("button", name="組織のアカウントでサインイン")).to_be_visible(
                timeout=90_000)
            _management_absent(page)
            assert page.get_by_text("としてサインインしています").count() == 0
        finally:
            browser.close()

    entries = _audit(oidc_server["data"])
    done = [(e["who"], e["method"], e["action"], e["result"]) for e in entries]
    assert (MAINTAINER, "oidc", "upload", "ok") in done, done
    assert (MAINTAINER, "oidc", "rebuild", "ok") in done, done
    assert (MAINTAINER, "oidc", "export", "ok") in done, done
    assert (MAINTAINER, "oidc", "sign_out", "ok") in done, done
    assert done.count((MAINTAINER, "oidc", "sign_in", "ok")) == 1, done
    refused = [e["detail"] for e in entries if e["action"] == "sign_in_failed"]
    assert len(refused) == 1 and refused[0].startswith(OTHER), refused
    upload = next(e for e in entries if e["action"] == "upload")
    assert upload["file"] == "認証町.txt" and len(upload["sha256"]) == 64
    assert not any(e["who"] == OTHER for e in entries)
    assert not provider.refused, provider.refused
    server_log = oidc_server["log"].read_text()
    # The forged token is refused by the signature check, logged on the server only; no other
    # traceback.
    assert "OAuth token exchange failed" in server_log and "BadSignatureError" in server_log
    assert server_log.count("Traceback") == 1, server_log
