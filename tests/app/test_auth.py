"""The maintainer rules without Streamlit: password hash, throttle, tokens, the audit log."""

from __future__ import annotations

import json
import multiprocessing
import time

import pytest

from tsunagari.app import audit, auth
from tsunagari.config import load_settings
from tsunagari.errors import ConfigError, InputError

PASSWORD = "長い保守担当者パスワード"


def _settings(tmp_path, **kw):
    return load_settings(data_dir=tmp_path / "data", **kw)


def _with_password(tmp_path, **kw):
    s = _settings(tmp_path, **kw)
    auth.write_password_record(s.password_path(), auth.hash_password(PASSWORD, n=2**12))
    return s


def test_hash_is_salted_scrypt_with_its_parameters():
    a, b = auth.hash_password(PASSWORD, n=2**12), auth.hash_password(PASSWORD, n=2**12)
    assert a["salt"] != b["salt"] and a["hash"] != b["hash"]
    assert (a["algorithm"], a["n"], a["r"], a["p"]) == ("scrypt", 2**12, 8, 1)
    assert auth.verify_password(PASSWORD, a) and not auth.verify_password(PASSWORD + "x", a)
    # An edited record cannot make a check expensive or pass: out-of-range parameters fail.
    assert not auth.verify_password(PASSWORD, {**a, "n": 2**24})
    assert not auth.verify_password(PASSWORD, {**a, "algorithm": "md5"})
    assert not auth.verify_password(PASSWORD, {**a, "hash": "zz"})
    with pytest.raises(InputError, match="10 文字以上"):
        auth.hash_password("short")


def test_a_damaged_password_file_is_a_japanese_config_error(tmp_path):
    s = _settings(tmp_path)
    assert auth.read_password_record(s.password_path()) is None
    s.password_path().parent.mkdir(parents=True)
    s.password_path().write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="set-password"):
        auth.read_password_record(s.password_path())
    assert auth.maintainer_from(s, user={}, headers={}, token="x.y", session_id="s") is None


def test_throttle_locks_after_failures_and_grows(tmp_path):
    s = _with_password(tmp_path, password_max_failures=3, password_lockout_seconds=10)
    t = 1_000_000.0
    for left in (2, 1):
        r = auth.check_password(s, "wrong-one-123", now=t)
        assert not r.ok and f"あと {left} 回" in r.message
    r = auth.check_password(s, "wrong-one-123", now=t)
    assert not r.ok and r.wait_seconds == 10 and "止めています" in r.message
    # Locked: the right password is refused without being checked, and the lock is not extended.
    r = auth.check_password(s, PASSWORD, now=t + 5)
    assert not r.ok and r.wait_seconds == pytest.approx(5)
    # After the lock, one more wrong password doubles it; the state is on disk.
    r = auth.check_password(s, "wrong-one-123", now=t + 11)
    assert r.wait_seconds == 20
    assert json.loads(auth.throttle_path(s).read_text())["failures"] == 4
    assert auth.check_password(s, PASSWORD, now=t + 31).ok
    assert json.loads(auth.throttle_path(s).read_text())["failures"] == 0
    assert auth.check_password(s, "wrong-one-123", now=t + 32).message.count("あと 2 回")


def _guess(args):
    data_dir, password = args
    s = load_settings(data_dir=data_dir, password_max_failures=3, password_lockout_seconds=600)
    return auth.check_password(s, password).ok


def test_parallel_guesses_from_several_processes_share_one_counter(tmp_path):
    s = _with_password(tmp_path, password_max_failures=3, password_lockout_seconds=600)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_guess, [(str(s.data_dir), f"guess-{i:08d}") for i in range(8)])
    assert not any(results)
    state = json.loads(auth.throttle_path(s).read_text())
    assert state["failures"] == 3 and state["locked_until"] > time.time() + 500
    assert not auth.check_password(s, PASSWORD).ok  # locked for everyone


def test_tokens_are_bound_to_session_hash_and_time(tmp_path):
    s = _with_password(tmp_path)
    fp = auth.fingerprint(auth.read_password_record(s.password_path()))
    token = auth.issue_token("session-a", fp, hours=1, now=100.0)
    ask = dict(user={}, headers={}, token=token)
    assert auth.maintainer_from(s, session_id="session-a", now=200.0, **ask).method == "password"
    assert auth.maintainer_from(s, session_id="session-b", now=200.0, **ask) is None
    assert auth.maintainer_from(s, session_id="session-a", now=100.0 + 3601, **ask) is None
    payload, sig = token.split(".")
    forged = payload + "." + ("0" if sig[0] != "0" else "1") + sig[1:]
    assert not auth.token_valid(forged, "session-a", fp, now=200.0)
    auth.write_password_record(s.password_path(), auth.hash_password(PASSWORD, n=2**12))
    assert auth.maintainer_from(s, session_id="session-a", now=200.0, **ask) is None


def test_oidc_and_proxy_rules(tmp_path):
    s = _settings(tmp_path, maintainer_emails="Boss@City.jp", proxy_user_header="X-Forwarded-User",
                  maintainer_users=["tanaka"])
    assert auth.configured_methods(s) == ["oidc", "proxy"]
    who = auth.maintainer_from(s, user={"is_logged_in": True, "email": "boss@city.jp"},
                               headers={}, token=None, session_id="s")
    assert who == auth.Maintainer("boss@city.jp", "oidc")
    for user in ({"email": "boss@city.jp"}, {"is_logged_in": "true", "email": "boss@city.jp"},
                 {"is_logged_in": True, "email": "boss@city.jp", "email_verified": False},
                 {"is_logged_in": True, "email": "other@city.jp"}):
        assert auth.maintainer_from(s, user=user, headers={}, token=None, session_id="s") is None
    assert auth.maintainer_from(s, user={}, headers={"X-Forwarded-User": "tanaka"}, token=None,
                                session_id="s") == auth.Maintainer("tanaka", "proxy")
    assert auth.maintainer_from(s, user={}, headers={"X-Forwarded-User": "Tanaka"}, token=None,
                                session_id="s") is None
    off = _settings(tmp_path, maintainer_users=["tanaka"])  # no header configured: off
    assert auth.maintainer_from(off, user={}, headers={"X-Forwarded-User": "tanaka"}, token=None,
                                session_id="s") is None
    assert auth.configured_methods(off) == []


def _append(args):
    data_dir, worker = args
    s = load_settings(data_dir=data_dir)
    for i in range(50):
        audit.record(s, who=f"w{worker}", method="password", action="upload",
                     file=f"報告書{i}.txt" * 20, sha256="ab" * 32)


def test_audit_log_appends_whole_lines_from_parallel_processes(tmp_path):
    s = _settings(tmp_path)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_append, [(str(s.data_dir), w) for w in range(4)])
    lines = audit.audit_path(s).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200 and all(json.loads(line)["sha256"] == "ab" * 32 for line in lines)
    audit.record(s, who="最後", method="oidc", action="export", result="ok")
    newest = audit.latest(s, limit=3)
    assert newest[0].who == "最後" and len(newest) == 3
    with open(audit.audit_path(s), "ab") as f:
        f.write(b"{broken\n")
    assert audit.latest(s, limit=1)[0].who == "最後"
