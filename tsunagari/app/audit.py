"""The audit log of maintainer actions: `data_dir/audit.jsonl`, one JSON object per line.

Append-only: each entry is one `write` on a file opened with O_APPEND under an exclusive
`flock`, so entries of parallel sessions and processes never interleave; nothing rewrites or
truncates the file. Read newest first for the 資料の管理 page.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tsunagari.config import Settings

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: O_APPEND alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
ACTION_LABELS = {
    "sign_in": "サインイン",
    "sign_in_failed": "サインインの失敗",
    "sign_out": "サインアウト",
    "upload": "資料の追加",
    "replace": "資料の置き換え",
    "restore": "バックアップから戻す",
    "rebuild": "索引の更新",
    "export": "フィードバックの書き出し",
}
RESULT_LABELS = {"ok": "成功", "error": "失敗", "refused": "拒否"}
_TAIL_BYTES = 1024 * 1024  # the page reads at most the last 1 MB


@dataclass(frozen=True)
class AuditEntry:
    """One maintainer action: when (UTC), who, by which sign-in method, what, and the result."""

    at: str
    who: str
    method: str
    action: str
    file: str = ""
    sha256: str = ""
    result: str = "ok"
    detail: str = ""


def audit_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "audit.jsonl"


def record(settings: Settings, *, who: str, method: str, action: str, file: str = "",
           sha256: str = "", result: str = "ok", detail: str = "") -> AuditEntry:
    """Append one entry; raises OSError when the log cannot be written (the caller says so)."""
    entry = AuditEntry(at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), who=who,
                       method=method, action=action, file=file, sha256=sha256, result=result,
                       detail=detail)
    line = (json.dumps(asdict(entry), ensure_ascii=False) + "\n").encode("utf-8")
    path = audit_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        written = os.write(fd, line)
        if written != len(line):  # pragma: no cover - a short write on a full disk
            raise OSError("short write to the audit log")
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("audit: %s %s by %s (%s) %s %s", action, result, who, method, file, sha256[:12])
    return entry


def latest(settings: Settings, limit: int = 100) -> list[AuditEntry]:
    """The newest `limit` entries, newest first (unreadable lines are skipped)."""
    path = audit_path(settings)
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read()
    except FileNotFoundError:
        return []
    lines = tail.split(b"\n")
    if size > _TAIL_BYTES:
        lines = lines[1:]  # the first line may be cut
    entries: list[AuditEntry] = []
    for raw in reversed(lines):
        if len(entries) >= limit:
            break
        try:
            data = json.loads(raw)
            entries.append(AuditEntry(**{k: str(data.get(k, "")) for k in
                                         AuditEntry.__dataclass_fields__}))
        except (ValueError, TypeError, AttributeError):
            continue
    return entries
