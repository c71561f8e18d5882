"""An authenticating (and optionally TLS) reverse proxy in front of `chroma run`.

The Rust server of chromadb 1.x (`chroma run`, 1.5.9 here) has no authentication: the
`chroma_server_authn_*` settings of the old Python server are ignored and every request is
served (tried: with CHROMA_SERVER_AUTHN_PROVIDER/CREDENTIALS set, an unauthenticated
`GET .../collections` still answers 200; chroma-core/chroma#4965, and Chroma's cookbook
points to a proxy for 1.0.x). So `chroma run` listens on loopback only and this proxy, on the
address replicas use, lets a request through only with the token (`Authorization: Bearer <t>`
or `X-Chroma-Token: <t>`, compared in constant time). `/api/v2/heartbeat` stays open for
health checks. TLS: with `chroma_proxy_certfile`/`chroma_proxy_keyfile` it serves https.

    chroma run --host 127.0.0.1 --port 8001 --path /srv/chroma
    TSUNAGARI_CHROMA_TOKEN_FILE=/etc/tsunagari/chroma-token \\
      python -m tsunagari.indexing.authproxy --listen 0.0.0.0:8000 --upstream 127.0.0.1:8001

An nginx server block that checks the same header does the same job (see the README).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import ssl
import sys

from tsunagari.config import Settings, chroma_token, load_settings
from tsunagari.errors import TsunagariError

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/api/v2/heartbeat", "/api/v1/heartbeat"})
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailers", "transfer-encoding", "upgrade", "host",
                        "content-length"})
MAX_BODY = 256 * 1024 * 1024  # a publish sends batches of parts (about 0.5 MB per 200 rows)


def authorized(headers, token: str) -> bool:
    """Whether the request carries the token (either header), compared in constant time.

    >>> authorized({"Authorization": "Bearer s3cret"}, "s3cret")
    True
    >>> authorized({"X-Chroma-Token": "s3cret"}, "s3cret")
    True
    >>> authorized({"Authorization": "Bearer wrong"}, "s3cret")
    False
    >>> authorized({}, "s3cret")
    False
    """
    expected = token.encode("utf-8")
    offered = []
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        offered.append(auth[7:].strip())
    if "X-Chroma-Token" in headers:
        offered.append(headers.get("X-Chroma-Token", "").strip())
    ok = False
    for value in offered:  # every offered value is compared (no early exit on the first)
        ok |= hmac.compare_digest(value.encode("utf-8"), expected)
    return ok


def make_app(upstream: str, token: str):
    """The aiohttp application forwarding authorized requests to `upstream` (http://host:port)."""
    from aiohttp import ClientSession, ClientTimeout, web

    if not token:
        raise TsunagariError("トークンが設定されていません（TSUNAGARI_CHROMA_TOKEN または "
                             "TSUNAGARI_CHROMA_TOKEN_FILE）。認証なしで中継はしません。")

    async def forward(request: web.Request) -> web.StreamResponse:
        if request.path not in OPEN_PATHS and not authorized(request.headers, token):
            log.warning("refused %s %s from %s (no valid token)", request.method, request.path,
                        request.remote)
            return web.json_response({"error": "Unauthorized",
                                      "message": "missing or wrong token"}, status=401)
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in HOP_BY_HOP and k.lower() not in
                   ("authorization", "x-chroma-token")}
        body = await request.read()
        session: ClientSession = request.app["session"]
        try:
            async with session.request(request.method, upstream + request.path_qs,
                                       headers=headers, data=body or None) as r:
                payload = await r.read()
                out = {k: v for k, v in r.headers.items() if k.lower() not in HOP_BY_HOP}
                return web.Response(status=r.status, body=payload, headers=out)
        except Exception as exc:  # upstream down: a clean 502, details in the log
            log.warning("upstream %s: %s: %s", upstream, type(exc).__name__, exc)
            return web.json_response({"error": "BadGateway", "message": "chroma unreachable"},
                                     status=502)

    async def start(app: web.Application) -> None:
        app["session"] = ClientSession(timeout=ClientTimeout(total=600),
                                       auto_decompress=False)

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    app = web.Application(client_max_size=MAX_BODY)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.chroma_proxy_certfile is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(settings.chroma_proxy_certfile),
                        str(settings.chroma_proxy_keyfile) if settings.chroma_proxy_keyfile
                        else None)
    return ctx


def _address(text: str, default_host: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or default_host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tsunagari.indexing.authproxy",
        description="トークンを確かめてから chroma run へ中継するプロキシ（TLS は任意）。")
    parser.add_argument("--listen", default="127.0.0.1:8000",
                        help="待ち受けるアドレス（例 0.0.0.0:8000）")
    parser.add_argument("--upstream", default="127.0.0.1:8001",
                        help="chroma run のアドレス（ループバックで起動してください）")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from aiohttp import web

    try:
        settings = load_settings()
        app = make_app("http://%s:%d" % _address(args.upstream, "127.0.0.1"),
                       chroma_token(settings))
        ctx = ssl_context(settings)
    except (TsunagariError, OSError, ssl.SSLError, ValueError) as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 2
    host, port = _address(args.listen, "127.0.0.1")
    print(f"ready {'https' if ctx else 'http'}://{host}:{port}", flush=True)
    web.run_app(app, host=host, port=port, ssl_context=ctx, print=None,
                handle_signals=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
