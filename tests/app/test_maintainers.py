"""Only maintainers change what everyone sees: sign-in methods on 資料の管理, forged and late
actions, the audit log, the upload cap (real Streamlit AppTest over a real index).

OIDC: AppTest seeds st.user (`at.user`), the same dict a real st.login session exposes; the
login redirect itself (a real identity provider) is not exercised here. The proxy header is
injected at `signin._headers` here and sent by a real browser in test_browser_auth.py.
"""

from __future__ import annotations

import hashlib
import traceback
from pathlib import Path

import pytest
from streamlit.runtime.uploaded_file_manager import UploadedFile
from streamlit.testing.v1 import AppTest

from tsunagari.app import audit, auth, signin
from tsunagari.app.feedback import FeedbackStore
from tsunagari.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "tsunagari-保守-2026"
SMALL_REPORT = (
    "第1章 テスト資料\n1-1. 庁内連携の工夫\n"
    "テスト町では、庁内の連携会議を隔週で開き、教育委員会も参加するようにした。\n"
)
MANAGEMENT_LABELS = {"資料フォルダに追加", "索引を更新", "置き換える", "元に戻す"}


def _page(user: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    if user is not None:
        at.user = user
    at.run()
    at.switch_page("views/corpus.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _state(env) -> dict[str, str]:
    """SHA-256 of every corpus file and backup, the chunk store and the manifest (what a forged
    action could change). Chroma's own files are left out: opening the store for reading
    rewrites them; the manifest names the chunk store's hash."""
    out = {}
    for base in (env["corpus"], env["data"]):
        for p in sorted(base.rglob("*")):
            if "chroma" in p.relative_to(base).parts:
                continue
            if p.is_file() and p.name not in {"audit.jsonl", "auth_throttle.json",
                                              "auth_throttle.json.lock", "feedback.sqlite",
                                              "maintainer_password.json"}:
                out[str(p.relative_to(base.parent))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _management_absent(at: AppTest) -> None:
    assert not at.get("file_uploader")
    assert not MANAGEMENT_LABELS & {b.label for b in at.button}
    assert not at.download_button


def _set_password(password: str = PASSWORD) -> None:
    settings = load_settings()
    auth.write_password_record(settings.password_path(), auth.hash_password(password))


def _sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key=signin.PASSWORD_KEY).input(password)
    return _click(at, "サインイン")


def _entries():
    return audit.latest(load_settings())


def _upload_rebuild_export(at: AppTest, env, name: str) -> None:
    """As a maintainer: upload a report, rebuild the index, export the feedback."""
    data = SMALL_REPORT.replace("テスト町", name.split(".")[0]).encode("utf-8")
    at.get("file_uploader")[0].upload(name, data, "text/plain").run()
    _click(at, "資料フォルダに追加")
    assert any("追加しました" in s.value for s in at.success), [e.value for e in at.error]
    assert (env["corpus"] / name).read_bytes() == data
    _click(at, "索引を更新")
    assert any("索引を更新しました" in s.value and "資料 2 件" in s.value for s in at.success)
    (button,) = at.download_button
    button.click().run()
    assert not at.exception
    expected = FeedbackStore.for_settings(load_settings()).eval_candidates_jsonl().encode()
    newest = _entries()
    assert [e.action for e in newest[:3]] == ["export", "rebuild", "upload"]
    assert newest[2].file == name and newest[2].sha256 == hashlib.sha256(data).hexdigest()
    assert newest[0].sha256 == hashlib.sha256(expected).hexdigest()
    manifest = load_settings().data_dir / "manifest.json"
    assert newest[1].sha256 and newest[1].sha256 in manifest.read_text()
    assert all(e.result == "ok" for e in newest[:3])
    # The page shows the log, newest first.
    table = at.dataframe[-1].value
    assert list(table["操作"][:3]) == ["フィードバックの書き出し", "索引の更新", "資料の追加"]


@pytest.fixture
def feedback(private_index):
    store = FeedbackStore.for_settings(load_settings())
    store.add("s1-t1", "仙台市の工夫は？", "回答", rating=1)
    store.add("s1-t2", "宇宙の話は？", "見つかりませんでした。", rating=0, comment="他の利用者のメモ")
    return private_index


@pytest.fixture
def small_env(tmp_path, monkeypatch):
    """A corpus of one small report and an empty data dir (the page needs no index to upload)."""
    import streamlit as st

    corpus, data = tmp_path / "corpus", tmp_path / "data"
    corpus.mkdir()
    (corpus / "small.txt").write_text(SMALL_REPORT, encoding="utf-8")
    for key in [k for k in __import__("os").environ if k.startswith("TSUNAGARI_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(data))
    monkeypatch.setenv("TSUNAGARI_EMBEDDER", "none")
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    yield {"corpus": corpus, "data": data}
    st.cache_resource.clear()


def test_without_a_sign_in_method_nothing_can_be_changed(feedback):
    before = _state(feedback)
    at = _page()
    _management_absent(at)
    info = " ".join(i.value for i in at.info)
    assert "python -m tsunagari admin set-password" in info and "python -m ingest" in info
    assert any("資料: 1 件" in m.value for m in at.markdown)  # the index status stays public
    # Forged session state: a made-up token, values under the widgets' keys.
    at.session_state[signin.TOKEN_KEY] = "eyJzIjoieCJ9.00"
    at.session_state["upload"] = None
    at.session_state["corpus_pending_replace"] = {"file": "x.txt", "name": "x.txt", "digest": ""}
    at.run()
    _management_absent(at)
    assert _state(feedback) == before


def test_a_token_of_another_session_or_an_old_password_is_worthless(feedback):
    _set_password()
    before = _state(feedback)
    fp = auth.fingerprint(auth.read_password_record(load_settings().password_path()))
    at = _page()
    _management_absent(at)
    at.session_state[signin.TOKEN_KEY] = auth.issue_token("another-session", fp, 8)
    at.run()
    _management_absent(at)
    # A valid sign-in, then the password is changed on the server: the session is signed out.
    _sign_in(at, PASSWORD)
    assert at.get("file_uploader")
    _set_password("a new password 2027")
    at.run()
    _management_absent(at)
    assert _state(feedback) == before


def test_an_action_that_arrives_after_the_sign_in_ended_changes_nothing(feedback):
    """The buttons were drawn for a maintainer; the click arrives when the sign-in is no longer
    valid (password changed meanwhile): the callback refuses it before any write."""
    _set_password()
    at = _page()
    _sign_in(at, PASSWORD)
    at.get("file_uploader")[0].upload("遅れた.txt", SMALL_REPORT.encode(), "text/plain").run()
    before = _state(feedback)
    _set_password("a new password 2027")
    _click(at, "資料フォルダに追加")
    assert any("サインインしていない" in e.value for e in at.error)
    assert not (feedback["corpus"] / "遅れた.txt").exists() and _state(feedback) == before
    assert _entries()[0].action == "upload" and _entries()[0].result == "refused"
    assert _entries()[0].who == signin.NOBODY
    _management_absent(at)


def test_password_maintainer_uploads_rebuilds_exports_and_is_audited(feedback):
    _set_password()
    at = _page()
    _management_absent(at)
    _sign_in(at, "wrong password")
    assert any("パスワードが違います" in e.value for e in at.error)
    _management_absent(at)
    _sign_in(at, PASSWORD)
    assert any("としてサインインしています" in s.value for s in at.success)
    _upload_rebuild_export(at, feedback, "パスワード町.txt")
    entries = _entries()
    assert [e.action for e in entries[3:5]] == ["sign_in", "sign_in_failed"]
    assert all(e.method == "password" for e in entries[:4])
    assert PASSWORD not in audit.audit_path(load_settings()).read_text(encoding="utf-8")
    _click(at, "サインアウト")
    _management_absent(at)
    assert _entries()[0].action == "sign_out"


def test_wrong_passwords_are_refused_and_throttled(feedback, monkeypatch):
    monkeypatch.setenv("TSUNAGARI_PASSWORD_MAX_FAILURES", "3")
    monkeypatch.setenv("TSUNAGARI_PASSWORD_LOCKOUT_SECONDS", "600")
    _set_password()
    at = _page()
    for _ in range(2):
        _sign_in(at, "guess-1234567")
        assert any("あと" in e.value for e in at.error)
    _sign_in(at, "guess-1234567")
    assert any("止めています" in e.value and "600 秒" in e.value for e in at.error)
    # Locked: even the right password is refused, in this session and in a new one.
    _sign_in(at, PASSWORD)
    assert any("止めています" in e.value for e in at.error)
    _management_absent(at)
    other = _page()
    _sign_in(other, PASSWORD)
    _management_absent(other)
    assert [e.action for e in _entries()[:5]] == ["sign_in_failed"] * 5


def test_oidc_maintainer_by_e_mail(feedback, monkeypatch):
    monkeypatch.setenv("TSUNAGARI_MAINTAINER_EMAILS", "boss@city.example.lg.jp, it@city.example.lg.jp")
    # AppTest's default st.user has an e-mail but is not logged in: not a maintainer.
    default = _page({"email": "boss@city.example.lg.jp"})
    _management_absent(default)
    other = _page({"is_logged_in": True, "email": "staff@city.example.lg.jp"})
    _management_absent(other)
    assert any("登録されていません" in w.value for w in other.warning)
    unverified = _page({"is_logged_in": True, "email": "boss@city.example.lg.jp",
                        "email_verified": False})
    _management_absent(unverified)
    at = _page({"is_logged_in": True, "email": "Boss@City.example.lg.jp", "name": "課長"})
    assert any("boss@city.example.lg.jp" in s.value for s in at.success)
    _upload_rebuild_export(at, feedback, "組織町.txt")
    assert {e.method for e in _entries()[:3]} == {"oidc"}
    assert {e.who for e in _entries()[:3]} == {"boss@city.example.lg.jp"}
    # The sign-ins made at the identity provider are logged once per session (many page draws).
    sign_ins = [e for e in _entries() if e.action == "sign_in"]
    assert [(e.who, e.method) for e in sign_ins] == [("boss@city.example.lg.jp", "oidc")]
    refused = [e.detail.split()[0] for e in _entries() if e.action == "sign_in_failed"]
    assert refused == ["boss@city.example.lg.jp", "staff@city.example.lg.jp"]  # unverified, other


def test_proxy_header_maintainer(feedback, monkeypatch):
    monkeypatch.setenv("TSUNAGARI_PROXY_USER_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("TSUNAGARI_MAINTAINER_USERS", "tanaka,suzuki")
    headers = {"X-Forwarded-User": "sato"}
    monkeypatch.setattr(signin, "_headers", lambda: headers)
    at = _page()
    _management_absent(at)
    assert any("sato は保守担当者として登録されていません" in w.value for w in at.warning)
    at.run()
    headers["X-Forwarded-User"] = "tanaka"
    at.run()
    _upload_rebuild_export(at, feedback, "プロキシ町.txt")
    assert {(e.who, e.method) for e in _entries()[:3]} == {("tanaka", "proxy")}
    assert [e.detail for e in _entries() if e.action == "sign_in_failed"] == [
        "sato は保守担当者として登録されていません"]
    assert [(e.who, e.method) for e in _entries() if e.action == "sign_in"] == [
        ("tanaka", "proxy")]
    # The header is gone on the next request (e.g. sent directly, not through the proxy).
    at.get("file_uploader")[0].upload("直接.txt", b"x" * 10, "text/plain").run()
    headers.clear()
    _click(at, "資料フォルダに追加")
    assert not (feedback["corpus"] / "直接.txt").exists()
    _management_absent(at)


def test_an_upload_over_the_limit_is_refused_before_it_is_read(small_env, monkeypatch):
    monkeypatch.setenv("TSUNAGARI_MAX_FILE_MB", "0.5")
    _set_password()
    reads = []  # uploads whose bytes the page itself read (Streamlit's own reads not counted)
    real_getvalue, real_read = UploadedFile.getvalue, UploadedFile.read

    def _by_page(self):
        if any(f.filename.endswith("views/corpus.py") for f in traceback.extract_stack()):
            reads.append(self.name)

    monkeypatch.setattr(UploadedFile, "getvalue", lambda self: _by_page(self) or real_getvalue(self))
    monkeypatch.setattr(UploadedFile, "read", lambda self, *a: _by_page(self) or real_read(self, *a))
    at = _page()
    _sign_in(at, PASSWORD)
    assert any("server.maxUploadSize" in w.value for w in at.warning)  # 200 MB > 0.5 MB
    before = _state(small_env)
    at.get("file_uploader")[0].upload("大きい.txt", b"a" * (1024 * 1024), "text/plain").run()
    _click(at, "資料フォルダに追加")
    assert any("大きすぎます" in e.value and "0.5 MB" in e.value for e in at.error)
    assert reads == [] and _state(small_env) == before
    assert (_entries()[0].action, _entries()[0].result) == ("upload", "refused")
    # Within the limit the same path reads and saves it.
    at.get("file_uploader")[0].upload("小さい.txt", SMALL_REPORT.replace("テスト町", "小さい町").encode(),
                                     "text/plain").run()
    _click(at, "資料フォルダに追加")
    assert reads == ["小さい.txt"] and (small_env["corpus"] / "小さい.txt").exists()
