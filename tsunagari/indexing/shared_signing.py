"""Signed shared stores.

Whoever reaches the Chroma port could publish a store of their own (the Rust server of
chromadb 1.x has no authentication of its own: see `authproxy.py`). With a signing key
(`shared_signing_key[_file]`), ingest signs the manifest record: HMAC-SHA256 over the canonical
JSON of the manifest as published and the ordered part ids (SHA-256 of each part), so the
manifest's `chunks_sha256` and every part are covered. A replica with a key refuses a record
that is unsigned or signed otherwise (UntrustedStoreError, Japanese), changes nothing local and
keeps answering from its current copy. Without a key on either side the store is unsigned and
the status line says so; a replica without a key refuses a signed store (configure the key
there too), so signing cannot be half set up unnoticed. Each record also carries a publication
number under the signature, and a replica with a key refuses one older than (or the same number
as, with other content) the version it holds: an earlier signed record put back is refused too
(`freshness.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from tsunagari.config import Settings, signing_key
from tsunagari.errors import UntrustedStoreError

SIGNATURE_PREFIX = "hmac-sha256:"


def server_label(settings: Settings) -> str:
    return f"{settings.chroma_host}:{settings.chroma_port}"


def canonical(manifest: object, parts: list[str], publication: object = None) -> bytes:
    """The bytes a signature covers: the manifest as published, the ordered part ids and the
    publication number (absent in records of before numbers: their signatures still verify).

    >>> canonical({"b": 1, "a": "見"}, ["part-1"])
    b'{"manifest":{"a":"\\xe8\\xa6\\x8b","b":1},"parts":["part-1"]}'
    >>> canonical({}, [], {"sequence": 2})
    b'{"manifest":{},"parts":[],"publication":{"sequence":2}}'
    """
    body = {"manifest": manifest, "parts": parts}
    if publication is not None:
        body["publication"] = publication
    return json.dumps(body, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def sign(key: bytes, body: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def check_signature(settings: Settings, version) -> None:
    """Raise UntrustedStoreError unless the published version (a shared.SharedVersion) may be
    used here: signed with our key when we have one; unsigned when we have none."""
    key = signing_key(settings)
    where = f"Chroma サーバー（{server_label(settings)}）の索引"
    keep = ("このマシンの索引のファイルは変更せず、手元の写しで答え続けます。")
    if not key:
        if version.signature:
            raise UntrustedStoreError(
                f"{where}は署名されていますが、このマシンには署名鍵が設定されていないため確かめられず、"
                "使いませんでした。索引を作るマシンと同じ鍵を TSUNAGARI_SHARED_SIGNING_KEY_FILE"
                "（または TSUNAGARI_SHARED_SIGNING_KEY）に設定してください。" + keep)
        return
    if not version.signature:
        raise UntrustedStoreError(
            f"{where}には署名がないため、使いませんでした（索引を作るマシン以外から書き込まれた"
            "おそれがあります）。" + keep + "索引を作るマシンで署名鍵を設定し、`python -m ingest` を"
            "実行してください。")
    if not hmac.compare_digest(sign(key, version.signed), version.signature):
        raise UntrustedStoreError(
            f"{where}の署名がこのマシンの署名鍵と一致しないため、使いませんでした（書き換えられたか、"
            "別の鍵で署名されています）。" + keep + "索引を作るマシンと同じ署名鍵か確認してください。")
