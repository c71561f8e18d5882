"""Who is a maintainer: the rules, without Streamlit (the page glue is `signin.py`).

Three sign-in methods, each off until configured in Settings:
- "oidc": Streamlit's own st.login (OpenID Connect); `st.user.email` in `maintainer_emails`.
- "proxy": a trusted reverse proxy sends the user name in `proxy_user_header`; the name is in
  `maintainer_users`.
- "password": one maintainer password, stored only as a salted scrypt hash (with its parameters)
  in `Settings.password_path()`; checked in constant time; wrong passwords lock sign-in for a
  growing time (state in the data dir, shared by processes). A successful sign-in gives the
  session a token signed with this process's key and bound to the session id and the hash, so a
  token copied into another session, altered, expired or issued before a password change is
  worthless.

Every decision is made from the request at hand (`maintainer_from`), on every action.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tsunagari.config import Settings
from tsunagari.errors import ConfigError, InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the process lock alone
    fcntl = None  # type: ignore[assignment]

Method = Literal["oidc", "proxy", "password"]
METHOD_LABELS: dict[str, str] = {
    "oidc": "組織のアカウント（OpenID Connect）",
    "proxy": "リバースプロキシの認証",
    "password": "保守担当者パスワード",
}
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
MAX_LOCK_SECONDS = 3600.0
# scrypt cost: N=2^15, r=8, p=1 (32 MiB, ~0.1 s on one core). Stored with each hash, so a later
# change of these defaults still verifies old hashes; bounded when read, so an edited file cannot
# make a check take minutes or gigabytes.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**15, 8, 1, 32
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


@dataclass(frozen=True)
class Maintainer:
    """A signed-in maintainer: who, and by which method."""

    name: str
    method: Method

    @property
    def method_label(self) -> str:
        return METHOD_LABELS[self.method]


# --- The password hash -------------------------------------------------------------------

def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=256 * r * n * p + 1024 * 1024)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> dict[str, Any]:
    """The record stored for a password: algorithm, parameters, salt and hash (hex)."""
    check_new_password(password)
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, r, p, SCRYPT_LEN)
    return {"algorithm": "scrypt", "n": n, "r": r, "p": p, "salt": salt.hex(),
            "hash": digest.hex(), "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime())}


def check_new_password(password: str) -> None:
    """InputError (Japanese) for a password too short or too long to be set."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"パスワードは {MIN_PASSWORD_CHARS} 文字以上にしてください。")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InputError(f"パスワードは {MAX_PASSWORD_CHARS} 文字までにしてください。")


def verify_password(password: str, record: Mapping[str, Any]) -> bool:
    """Whether `password` matches the stored record (constant-time comparison)."""
    try:
        n, r, p = int(record["n"]), int(record["r"]), int(record["p"])
        salt, expected = bytes.fromhex(record["salt"]), bytes.fromhex(record["hash"])
    except (KeyError, TypeError, ValueError):
        return False
    if record.get("algorithm") != "scrypt" or not (
            1 < n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P
            and 8 <= len(salt) <= 64 and 16 <= len(expected) <= 64):
        return False
    if len(password) > MAX_PASSWORD_CHARS:
        password = password[:MAX_PASSWORD_CHARS + 1]  # still hashed: same cost, never matches
    actual = _scrypt(password, salt, n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)


def read_password_record(path: Path) -> dict[str, Any] | None:
    """The stored hash record; None when no password is set; ConfigError when unreadable."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError("保守担当者パスワードのファイルを読めません（権限を確認してください）。") from exc
    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict) or record.get("algorithm") != "scrypt" or "hash" not in record:
        raise ConfigError("保守担当者パスワードのファイルが壊れています。`python -m tsunagari admin "
                          "set-password` で設定し直してください。")
    return record


def write_password_record(path: Path, record: Mapping[str, Any]) -> None:
    """Write the record atomically, readable by the owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".password-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(dict(record), f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with _suppress_os():
            os.unlink(tmp)
        raise


@contextmanager
def _suppress_os():
    try:
        yield
    except OSError:
        pass


def fingerprint(record: Mapping[str, Any]) -> str:
    """Identifies one stored hash (a token issued under another hash is refused)."""
    return hashlib.sha256(f"{record.get('salt')}:{record.get('hash')}".encode()).hexdigest()[:32]


# --- Throttle after wrong passwords ----------------------------------------------------------

_PROCESS_LOCK = threading.Lock()


def throttle_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "auth_throttle.json"


@contextmanager
def _throttle_locked(settings: Settings):
    """This process's lock and an exclusive file lock next to the throttle state: password
    checks are serialised, so parallel guesses cannot slip past the counter."""
    path = throttle_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _PROCESS_LOCK:
        fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield path
        finally:
            os.close(fd)


def _read_throttle(path: Path) -> dict[str, float]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return {"failures": int(state.get("failures", 0)),
                "locked_until": float(state.get("locked_until", 0.0))}
    except (OSError, ValueError, AttributeError, TypeError):
        return {"failures": 0, "locked_until": 0.0}


def _write_throttle(path: Path, state: Mapping[str, float]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(state)), encoding="utf-8")
    os.replace(tmp, path)


def lock_seconds(failures: int, settings: Settings) -> float:
    """The lock after `failures` wrong passwords in a row: none below the limit, then the base
    time doubling per further failure, capped at one hour.

    >>> from tsunagari.config import load_settings
    >>> s = load_settings(password_max_failures=5, password_lockout_seconds=30)
    >>> [lock_seconds(n, s) for n in (4, 5, 6, 7, 20)]
    [0.0, 30.0, 60.0, 120.0, 3600.0]
    """
    if failures < settings.password_max_failures:
        return 0.0
    extra = min(failures - settings.password_max_failures, 20)
    return min(settings.password_lockout_seconds * 2 ** extra, MAX_LOCK_SECONDS)


@dataclass(frozen=True)
class PasswordCheck:
    """The result of one sign-in attempt: `ok`, or a Japanese `message` (and the wait)."""

    ok: bool
    message: str = ""
    wait_seconds: float = 0.0
    fingerprint: str = ""


def check_password(settings: Settings, password: str, now: float | None = None) -> PasswordCheck:
    """One sign-in attempt with the maintainer password, throttled.

    While locked, the password is not even hashed (a refused attempt during a lock does not
    extend it). A wrong password counts; the limit-th wrong one starts the lock."""
    record = read_password_record(settings.password_path())
    if record is None:
        return PasswordCheck(False, "保守担当者パスワードは設定されていません。")
    with _throttle_locked(settings) as path:
        now = time.time() if now is None else now
        state = _read_throttle(path)
        wait = state["locked_until"] - now
        if wait > 0:
            return PasswordCheck(False, _locked_message(wait), wait)
        if verify_password(password, record):
            if state["failures"]:
                _write_throttle(path, {"failures": 0, "locked_until": 0.0})
            return PasswordCheck(True, fingerprint=fingerprint(record))
        failures = state["failures"] + 1
        lock = lock_seconds(failures, settings)
        _write_throttle(path, {"failures": failures, "locked_until": now + lock})
    if lock:
        return PasswordCheck(False, "パスワードが違います。" + _locked_message(lock), lock)
    left = settings.password_max_failures - failures
    return PasswordCheck(False, f"パスワードが違います（あと {left} 回まちがえると、しばらく"
                                "サインインできなくなります）。")


def _locked_message(wait: float) -> str:
    return (f"まちがいが続いたため、サインインを止めています。約 {max(1, round(wait))} 秒後に"
            "もう一度試してください。")


# --- Session tokens for the password method ---------------------------------------------------

_PROCESS_KEY = secrets.token_bytes(32)  # a restart signs every password session out


def _sign(payload: bytes) -> str:
    return hmac.new(_PROCESS_KEY, payload, hashlib.sha256).hexdigest()


def issue_token(session_id: str, fingerprint_: str, hours: float, now: float | None = None) -> str:
    """A token for this session id, valid `hours`, bound to the current password hash."""
    now = time.time() if now is None else now
    payload = json.dumps({"s": session_id, "f": fingerprint_, "e": now + hours * 3600},
                         separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode() + "." + _sign(payload)


def token_valid(token: object, session_id: str, fingerprint_: str,
                now: float | None = None) -> bool:
    """Whether `token` was issued by this process to this session under this hash, unexpired."""
    if not isinstance(token, str) or token.count(".") != 1 or not session_id:
        return False
    encoded, signature = token.split(".")
    try:
        payload = base64.urlsafe_b64decode(encoded.encode())
        data = json.loads(payload)
    except (ValueError, TypeError):
        return False
    if not hmac.compare_digest(_sign(payload), signature) or not isinstance(data, dict):
        return False
    now = time.time() if now is None else now
    return (hmac.compare_digest(str(data.get("s", "")), session_id)
            and hmac.compare_digest(str(data.get("f", "")), fingerprint_)
            and isinstance(data.get("e"), (int, float)) and now < data["e"])


# --- The decision --------------------------------------------------------------------------

def configured_methods(settings: Settings) -> list[Method]:
    """The methods switched on in the settings (the password once its hash file exists)."""
    methods: list[Method] = []
    if settings.maintainer_emails:
        methods.append("oidc")
    if settings.proxy_user_header.strip() and settings.maintainer_users:
        methods.append("proxy")
    if settings.password_path().exists():
        methods.append("password")
    return methods


def maintainer_from(settings: Settings, *, user: Mapping[str, Any], headers: Mapping[str, str],
                    token: object, session_id: str, now: float | None = None
                    ) -> Maintainer | None:
    """The maintainer making this request, or None.

    `user` is st.user as a dict, `headers` the request headers (case-insensitive mapping),
    `token` what the session holds from a password sign-in."""
    if settings.maintainer_emails and user.get("is_logged_in") is True:
        email = str(user.get("email") or "").strip().lower()
        allowed = {e.lower() for e in settings.maintainer_emails}
        if email and email in allowed and user.get("email_verified", True) is not False:
            return Maintainer(email, "oidc")
    header = settings.proxy_user_header.strip()
    if header and settings.maintainer_users:
        name = (headers.get(header) or "").strip()
        if name and name in set(settings.maintainer_users):
            return Maintainer(name, "proxy")
    if token:
        try:
            record = read_password_record(settings.password_path())
        except ConfigError:
            record = None
        if record is not None and token_valid(token, session_id, fingerprint(record), now):
            return Maintainer("保守担当者（パスワード）", "password")
    return None
