"""Rollback protection for the store shared through Chroma (see `shared.py`).

A signature proves a manifest record came from an ingesting machine, not that it is the LATEST
one: whoever reaches the Chroma port could put back a record (and its parts) copied earlier, a
genuine, validly signed older version. So each published record carries a publication number,
covered by the signature: `sequence` (one more than the highest this machine published or saw
in Chroma) and `published_at` (UTC, for the messages). Each data dir remembers the last version
it published or accepted (`shared_version.json`: sequence, the SHA-256 of the signed bytes, the
server). A replica refuses a record with a lower sequence than the remembered one, or the same
sequence with other signed content (an old record replayed, or two ingesting machines that
published at once), with a Japanese message, and keeps serving its current copy. A record of
before publication numbers counts as sequence 0. The first sync of an empty data dir accepts
whatever is signed (there is nothing to compare with). Only with a signing key: an unsigned
record's number proves nothing (anyone could write any), so it is neither checked nor kept.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from tsunagari.config import Settings
from tsunagari.errors import UntrustedStoreError
from tsunagari.indexing.store import atomic_write

STATE_FILE = "shared_version.json"


class StaleStoreError(UntrustedStoreError):
    """The published record is validly signed but older than (or a different version with the
    same number as) the one this data dir already holds."""


@dataclass(frozen=True)
class Publication:
    """A published record's number and time, and the SHA-256 of the bytes its signature covers."""

    sequence: int
    published_at: str
    digest: str

    def to_dict(self) -> dict:
        return {"sequence": self.sequence, "published_at": self.published_at}


def publication_of(data: object, signed: bytes) -> Publication:
    """The publication number of a record's `publication` field (sequence 0 when absent)."""
    pub = data if isinstance(data, dict) else {}
    sequence = pub.get("sequence", 0)
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        sequence = 0
    published_at = pub.get("published_at", "")
    return Publication(sequence, published_at if isinstance(published_at, str) else "",
                       hashlib.sha256(signed).hexdigest())


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def state_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / STATE_FILE


def remembered(settings: Settings, server: str) -> Publication | None:
    """The last version this data dir published or accepted from `server` (None: none yet)."""
    try:
        data = json.loads(state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("chroma") != server:
        return None
    pub = publication_of(data, b"")
    digest = data.get("digest")
    return Publication(pub.sequence, pub.published_at, digest if isinstance(digest, str) else "")


def remember(settings: Settings, server: str, pub: Publication) -> None:
    """Record `pub` as this data dir's version (only ever moves forward)."""
    known = remembered(settings, server)
    if known is not None and known.sequence > pub.sequence:
        return
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    atomic_write(state_path(settings), json.dumps(
        {"chroma": server, **pub.to_dict(), "digest": pub.digest}) + "\n")


def next_sequence(settings: Settings, server: str, seen: int) -> int:
    """The number of the next publication: above this machine's last and `seen` (the trusted
    record now in Chroma, which another ingesting machine may have published)."""
    known = remembered(settings, server)
    return max(seen, known.sequence if known is not None else 0) + 1


def check(settings: Settings, server: str, pub: Publication) -> None:
    """Raise StaleStoreError (Japanese) when `pub` would roll this data dir back."""
    known = remembered(settings, server)
    if known is None or pub.sequence > known.sequence:
        return
    if pub.sequence == known.sequence and pub.digest == known.digest:
        return
    where = f"Chroma サーバー（{server}）の索引"
    keep = "このマシンの索引のファイルは変更せず、手元の写し（いま使っている版）で答え続けます。"
    fix = ("索引を作るマシンで `python -m ingest` を実行すると、新しい番号で公開し直します。")
    if pub.sequence < known.sequence:
        raise StaleStoreError(
            f"{where}は署名は正しいものの、このマシンが使っている版（公開番号 {known.sequence}、"
            f"{_when(known)}）より古い版（公開番号 {pub.sequence}、{_when(pub)}）のため、"
            "使いませんでした（古い版が書き戻されたおそれがあります）。" + keep + fix)
    raise StaleStoreError(
        f"{where}は署名は正しいものの、このマシンが使っている版と同じ公開番号 {pub.sequence} で"
        "内容が異なるため、使いませんでした（古い版の書き戻しか、二台のマシンが同時に公開した"
        "おそれがあります）。" + keep + fix)


def _when(pub: Publication) -> str:
    return f"{pub.published_at} 公開" if pub.published_at else "公開日時の記録なし"
