"""Test helper: a tiny OpenID Connect provider on 127.0.0.1 for the real-browser sign-in test.

It speaks the authorization-code flow as Entra ID or Google do, for what Streamlit's st.login
(Authlib) uses: a discovery document, an authorize endpoint that shows a sign-in form (the
browser types an e-mail address of a configured user) and redirects back with a one-time code,
a token endpoint that checks the client secret, the redirect URI and the PKCE verifier and
returns an RS256-signed ID token (issuer, audience, nonce, expiry), and the JWKS with the
public key. Nothing is faked on the Streamlit side: it fetches the metadata and keys over HTTP
and verifies the token itself.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey


class OIDCProvider:
    """`users` maps e-mail → display name; only they can sign in."""

    def __init__(self, client_id: str, client_secret: str, users: dict[str, str]) -> None:
        self.client_id, self.client_secret, self.users = client_id, client_secret, users
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig",
                                                          "alg": "RS256"})
        self.forge = False  # sign ID tokens with a key that is not in the JWKS
        self.codes: dict[str, dict] = {}
        self.issued: list[str] = []  # e-mails an ID token was issued for
        self.refused: list[str] = []  # why a request was refused
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def __enter__(self) -> OIDCProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the endpoints ---------------------------------------------------------------------

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def sign_in_form(self, query: dict[str, str]) -> tuple[int, str]:
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            self.refused.append("authorize: unknown client or response type")
            return 400, "unknown client"
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in query.items())
        return 200, ("<!doctype html><title>Test IdP</title><form method=post action=/authorize>"
                     f"{hidden}<label>Email <input name=email type=email></label>"
                     "<button type=submit>Sign in</button></form>")

    def authorize(self, form: dict[str, str]) -> tuple[int, str]:
        """The signed-in user's redirect back to the app with a one-time code."""
        email = form.get("email", "").strip().lower()
        if email not in self.users or form.get("client_id") != self.client_id:
            self.refused.append(f"authorize: {email or 'no e-mail'}")
            return 403, "unknown user"
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"email": email, "nonce": form.get("nonce"),
                            "redirect_uri": form.get("redirect_uri"),
                            "challenge": form.get("code_challenge"),
                            "challenge_method": form.get("code_challenge_method")}
        query = {"code": code, "state": form.get("state", "")}
        return 302, f"{form['redirect_uri']}?{urlencode(query)}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            raw = base64.b64decode(authorization[6:]).decode()
            client_id, _, client_secret = raw.partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            self.refused.append("token: bad client credentials")
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # one use only
        if (form.get("grant_type") != "authorization_code" or grant is None
                or form.get("redirect_uri") != grant["redirect_uri"]):
            self.refused.append("token: bad grant")
            return 400, {"error": "invalid_grant"}
        if grant["challenge"]:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if grant["challenge_method"] != "S256" or digest.rstrip(b"=").decode() != \
                    grant["challenge"]:
                self.refused.append("token: PKCE verifier does not match")
                return 400, {"error": "invalid_grant"}
        now = int(time.time())
        email = grant["email"]
        claims = {"iss": self.issuer, "sub": hashlib.sha256(email.encode()).hexdigest()[:16],
                  "aud": self.client_id, "iat": now, "exp": now + 600, "nonce": grant["nonce"],
                  "email": email, "email_verified": True, "name": self.users[email]}
        key = RSAKey.generate_key(2048) if self.forge else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        self.issued.append(email)
        return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                     "expires_in": 600, "id_token": id_token}

    def jwks(self) -> dict:
        return {"keys": [self.key.as_dict(private=False)]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet test output
                pass

            def _send(self, status: int, body: str | dict, location: str = "") -> None:
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json" if isinstance(body, dict)
                                 else "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _form(self) -> dict[str, str]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                return {k: v[0] for k, v in parse_qs(raw).items()}

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._send(200, provider.metadata())
                elif url.path == "/jwks":
                    self._send(200, provider.jwks())
                elif url.path == "/authorize":
                    self._send(*provider.sign_in_form(
                        {k: v[0] for k, v in parse_qs(url.query).items()}))
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                path = urlparse(self.path).path
                if path == "/authorize":
                    status, target = provider.authorize(self._form())
                    if status == 302:
                        self._send(302, "", location=target)
                    else:
                        self._send(status, target)
                elif path == "/token":
                    self._send(*provider.token(self._form(),
                                               self.headers.get("Authorization", "")))
                else:
                    self._send(404, {"error": "not_found"})

        return Handler
