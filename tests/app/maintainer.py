"""Test helper: sign an AppTest session in as a maintainer with the password method (the
password hash is written to the test's data dir first)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tsunagari.app import auth, signin
from tsunagari.config import load_settings

TEST_PASSWORD = "test-maintainer-password"


def sign_in(at: AppTest) -> AppTest:
    """On the 資料の管理 page: set the password if none is set, sign in, assert it worked."""
    path = load_settings().password_path()
    if not path.exists():
        auth.write_password_record(path, auth.hash_password(TEST_PASSWORD, n=2**12))
        at.run()  # the page offers the password form once a password is set
    at.text_input(key=signin.PASSWORD_KEY).input(TEST_PASSWORD)
    next(b for b in at.button if b.label == "サインイン").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("file_uploader"), [e.value for e in at.error]
    return at
