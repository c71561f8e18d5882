"""Maintainer sign-in on the page: reads st.user, the request headers and the session's token,
and asks `auth.maintainer_from` on every call; records sign-ins and refusals in the audit log.

The three reads (`_user`, `_headers`, `_session_id`) are the seam tests replace: AppTest can seed
st.user but not request headers (the proxy path is tested with a real server and browser too).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from tsunagari.app import audit
from tsunagari.app.auth import (
    METHOD_LABELS,
    Maintainer,
    check_password,
    configured_methods,
    issue_token,
    maintainer_from,
)
from tsunagari.app.html import md_escape
from tsunagari.config import Settings
from tsunagari.errors import TsunagariError

log = logging.getLogger(__name__)
TOKEN_KEY = "tsunagari_maintainer_token"
PASSWORD_KEY = "maintainer_password"
FLASH_KEY = "signin_flash"
NOTED_KEY = "signin_noted"  # the identities this session's sign-ins were logged for
NOBODY = "（サインインなし）"
NOT_SIGNED_IN = ("保守担当者としてサインインしていないため、この操作は行いませんでした。"
                 "資料・索引・フィードバックは変更していません。")
HOW_TO_ENABLE = (
    "資料の追加・置き換え・バックアップからの復元・索引の更新・フィードバックの書き出しは、"
    "保守担当者だけが行えます。いまは保守担当者のサインイン方法が設定されていないため、"
    "この画面からは行えません。次のいずれかを設定してください。\n\n"
    "- **パスワード**（小規模な事務所向け）: サーバーで `python -m tsunagari admin set-password` "
    "を実行して保守担当者パスワードを設定します。\n"
    "- **組織のアカウント**（Entra ID、Google Workspace など）: `.streamlit/secrets.toml` の "
    "`[auth]` に OpenID Connect の設定を書き、`TSUNAGARI_MAINTAINER_EMAILS` に保守担当者の"
    "メールアドレスを指定します。\n"
    "- **リバースプロキシの認証**: プロキシが送るヘッダー名を `TSUNAGARI_PROXY_USER_HEADER`"
    "（例: `X-Forwarded-User`）、保守担当者のユーザー名を `TSUNAGARI_MAINTAINER_USERS` に"
    "指定します。\n\n"
    "設定しなくても、サーバー上で `python -m ingest` を実行すれば資料フォルダから索引を"
    "更新できます。質問・事例一覧・手引き・👍/👎 はどなたでも使えます。"
)


# --- The seam: what this request says about its user ------------------------------------------

def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def _user() -> Mapping:
    try:
        return st.user.to_dict()
    except Exception:  # noqa: BLE001 - no user info: nobody is signed in
        return {}


def _headers() -> Mapping:
    try:
        return st.context.headers
    except Exception:  # noqa: BLE001 - no request headers (AppTest, bare mode)
        return {}


def oidc_ready() -> bool:
    """Whether st.login can work: Authlib installed and an [auth] section in secrets.toml."""
    from streamlit.auth_util import get_secrets_auth_section, is_authlib_installed

    try:
        return is_authlib_installed() and bool(get_secrets_auth_section())
    except Exception:  # noqa: BLE001 - an unreadable secrets.toml: not configured
        log.warning("secrets.toml could not be read", exc_info=True)
        return False


# --- The decision, on every call -----------------------------------------------------------

def current(settings: Settings) -> Maintainer | None:
    """The maintainer making this request, or None (asked anew on every call)."""
    return maintainer_from(settings, user=_user(), headers=_headers(),
                           token=st.session_state.get(TOKEN_KEY), session_id=_session_id())


def require(settings: Settings, action: str, file: str = "") -> Maintainer | None:
    """The maintainer for an action about to change something, or None after a Japanese error
    and an audit entry (result "refused"). Call it in the callback, before any write."""
    who = current(settings)
    if who is None:
        st.error(NOT_SIGNED_IN)
        note(settings, who=None, action=action, file=file, result="refused")
    return who


def note(settings: Settings, *, who: Maintainer | None, action: str, file: str = "",
         sha256: str = "", result: str = "ok", detail: str = "") -> None:
    """Append an audit entry; a log that cannot be written is said on the page, not fatal."""
    try:
        audit.record(settings, who=who.name if who else NOBODY, method=who.method if who else "",
                     action=action, file=file, sha256=sha256, result=result, detail=detail)
    except OSError:
        log.exception("the audit log could not be written")
        st.warning("監査ログに書き込めませんでした（データフォルダの空き容量・権限を確認してください）。")


# --- Sign-in and sign-out ------------------------------------------------------------------

def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault(FLASH_KEY, []).append((kind, text))


def _password_sign_in(settings: Settings) -> None:
    password = st.session_state.get(PASSWORD_KEY) or ""
    try:
        result = check_password(settings, password)
    except TsunagariError as exc:
        _flash("error", str(exc))
        return
    if result.ok:
        st.session_state[TOKEN_KEY] = issue_token(_session_id(), result.fingerprint,
                                                  settings.maintainer_session_hours)
        note(settings, who=current(settings), action="sign_in")
    else:
        _flash("error", result.message)
        note(settings, who=None, action="sign_in_failed", result="refused",
             detail=result.message)


def _sign_out(settings: Settings, who: Maintainer) -> None:
    st.session_state.pop(TOKEN_KEY, None)
    note(settings, who=who, action="sign_out")
    if who.method == "oidc":
        st.logout()


def _note_once(settings: Settings, identity: str, **entry) -> None:
    """Log an organisation-account or proxy sign-in (or refusal) once per session: those
    sign-ins happen outside the app, which sees them on the next page draw."""
    noted = st.session_state.setdefault(NOTED_KEY, set())
    if identity not in noted:
        noted.add(identity)
        note(settings, **entry)


def _oidc_sign_in(settings: Settings) -> None:
    try:
        st.login(settings.auth_provider or None)
    except Exception:  # noqa: BLE001 - a bad [auth] section: said in Japanese, logged in full
        log.exception("st.login failed")
        _flash("error", "組織のアカウントでのサインインを始められませんでした。"
               "`.streamlit/secrets.toml` の [auth] の設定を確認してください。")


def panel(settings: Settings) -> Maintainer | None:
    """The sign-in section of 資料の管理; returns the signed-in maintainer or None."""
    st.subheader("保守担当者")
    for kind, text in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(md_escape(text))
    who = current(settings)
    if who is not None:
        if who.method in ("oidc", "proxy"):
            _note_once(settings, f"{who.method}:{who.name}", who=who, action="sign_in")
        st.success(md_escape(f"{who.name} としてサインインしています（{who.method_label}）。"))
        if who.method != "proxy":  # the proxy's own sign-out applies there
            st.button("サインアウト", key="sign_out", on_click=_sign_out, args=(settings, who))
        return who
    methods = configured_methods(settings)
    if not methods:
        st.info(HOW_TO_ENABLE)
        return None
    st.caption("資料の追加・置き換え・索引の更新・フィードバックの書き出しは、保守担当者として"
               "サインインすると行えます。質問・事例一覧・手引き・👍/👎 はどなたでも使えます。")
    user = _user()
    if "oidc" in methods:
        if user.get("is_logged_in") is True:
            email = user.get("email") or "（メールアドレスなし）"
            _note_once(settings, f"oidc-refused:{email}", who=None, action="sign_in_failed",
                       result="refused", detail=f"{email} は保守担当者として登録されていません")
            st.warning(md_escape(f"{email} は保守担当者として登録されていません。"))
        elif oidc_ready():
            st.button("組織のアカウントでサインイン", key="oidc_sign_in", on_click=_oidc_sign_in,
                      args=(settings,))
        else:
            st.warning("組織のアカウントでのサインインは、`.streamlit/secrets.toml` に [auth] の"
                       "設定がないため使えません。")
    if "proxy" in methods:
        name = (_headers().get(settings.proxy_user_header.strip()) or "").strip()
        if name:
            _note_once(settings, f"proxy-refused:{name}", who=None, action="sign_in_failed",
                       result="refused", detail=f"{name} は保守担当者として登録されていません")
            st.warning(md_escape(f"{name} は保守担当者として登録されていません。"))
        else:
            st.caption("保守担当者は、事務所のリバースプロキシでサインインしてから開いてください。")
    if "password" in methods:
        with st.form("maintainer_sign_in", clear_on_submit=True):
            st.text_input("保守担当者パスワード", type="password", key=PASSWORD_KEY)
            st.form_submit_button("サインイン", on_click=_password_sign_in, args=(settings,))
    return None
