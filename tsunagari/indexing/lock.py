"""The refresh lock: one refresh at a time per data dir.

The lock file holds `pid start host since` (start: the process start time from /proc, which
defeats pid reuse; since: when the lock was taken, epoch seconds). A killed run's lock on this
host is taken over. A lock that cannot be checked (another host, or an old lock whose owner
cannot be verified) is never cleared silently: ingest refuses, names the owner and shows
`python -m ingest --break-lock`, which removes only such stale locks, never a live local one.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path

from tsunagari.errors import IndexBusyError

BUSY_MESSAGE = "別の索引の更新が実行中です。終わってからもう一度実行してください。"
BREAK_LOCK_COMMAND = "python -m ingest --break-lock"
DEFAULT_MAX_AGE = 6 * 3600.0  # seconds; Settings.lock_max_age_hours
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g}"


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the lock."""

    pid: int
    start: str = ""  # process start time from /proc (defeats pid reuse); "" when unknown
    host: str = ""
    since: float = 0.0  # when the lock was taken (epoch seconds); 0 when not recorded

    def render(self) -> str:
        since = str(int(self.since)) if self.since else "-"
        return f"{self.pid} {self.start or '-'} {self.host or '-'} {since}\n"

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        parts = text.split()
        if not parts or not parts[0].isdigit():
            return None
        start = parts[1] if len(parts) > 1 and parts[1] != "-" else ""
        host = parts[2] if len(parts) > 2 and parts[2] != "-" else ""
        since = float(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 0.0
        return cls(int(parts[0]), start, host, since)

    @property
    def local(self) -> bool:
        return not self.host or self.host == socket.gethostname()

    def describe(self, since: float) -> str:
        """「ホスト build-01・プロセス 4242・2025-01-01 10:00 から」 (`since`: when it was taken)."""
        host = _UNSAFE.sub("?", self.host)[:64] if self.host else "このマシン"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(since)) if since else "開始時刻不明"
        return f"ホスト {host}・プロセス {self.pid}・{when} から"


def process_start_time(pid: int) -> str:
    """The start time of process `pid` from /proc ("" when unknown)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _process_state(h: Holder) -> str:
    """For a holder on this host: "gone", "running" (verified by its start time), "unverified"."""
    if h.pid <= 0:
        return "gone"
    try:
        os.kill(h.pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        pass  # another user's process: it exists
    actual = process_start_time(h.pid)
    if h.start and actual:
        return "running" if actual == h.start else "gone"  # else: the pid was reused
    return "unverified"


@dataclass(frozen=True)
class LockState:
    """What a lock file says and whether it may be broken."""

    holder: Holder | None
    since: float = 0.0  # the holder's `since`, or the lock file's mtime for old locks
    verdict: str = "free"  # free | running | gone | other-host | too-old
    max_age: float = DEFAULT_MAX_AGE

    @property
    def stale(self) -> bool:
        """May be broken with --break-lock (a running local owner never is)."""
        return self.verdict in ("gone", "other-host", "too-old")

    def reason(self) -> str:
        host = _UNSAFE.sub("?", self.holder.host)[:64] if self.holder else ""
        return {
            "gone": "このマシンのそのプロセスはもう終了しています",
            "other-host": f"別のホスト（{host}）のロックで、このマシンからは実行中か確かめられません",
            "too-old": f"{_hours(self.max_age)} 時間より前のロックで、そのプロセスが更新を実行中か"
                       "確かめられません",
            "running": "このマシンで実行中です",
        }.get(self.verdict, "")

    def owner(self) -> str:
        return self.holder.describe(self.since) if self.holder else "所有者の記録なし"


def assess(holder: Holder | None, mtime: float, max_age: float = DEFAULT_MAX_AGE,
           now: float | None = None) -> LockState:
    """Judge a lock: a local owner is checked; another host's lock, or a lock older than
    `max_age` seconds whose owner cannot be verified, is stale."""
    if holder is None:
        return LockState(None, max_age=max_age)
    since = holder.since or mtime
    now = time.time() if now is None else now
    if not holder.local:
        verdict = "other-host"
    else:
        verdict = _process_state(holder)
        if verdict == "unverified":
            verdict = "too-old" if since and now - since > max_age else "running"
    return LockState(holder, since, verdict, max_age)


def refusal(state: LockState) -> str:
    """The Japanese message of an ingest refused by the lock `state`."""
    if state.verdict == "running" or not state.stale:
        return (f"別の索引の更新が実行中です（{state.owner()}）。終わってからもう一度実行してください。"
                "止まっている場合は、そのプロセスを終了してから実行してください。")
    return (f"索引の更新のロックが残っています（{state.owner()}）。{state.reason()}。"
            f"その更新が実行中でないことを確かめてから、次のコマンドでロックを解除してください："
            f"{BREAK_LOCK_COMMAND}")


def _read_state(fd: int, max_age: float) -> LockState:
    holder = Holder.parse(os.pread(fd, 300, 0).decode("ascii", "replace"))
    return assess(holder, os.fstat(fd).st_mtime, max_age)


def _try_flock(fd: int) -> bool:
    """Take the kernel lock without waiting; False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: the pid check still applies
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class IndexLock:
    """Exclusive refresh lock on `data_dir/ingest.lock`.

    The kernel lock (flock) is released when its process dies, so a `kill -9`ed refresh never
    blocks the next one; the pid written into the file additionally refuses a second refresh
    while a recorded holder is alive. `interrupted` tells that the previous run did not finish.
    A lock of another host, or one older than `max_age` seconds whose owner cannot be verified,
    is refused with the way out (`python -m ingest --break-lock`).
    """

    def __init__(self, path: Path, max_age: float = DEFAULT_MAX_AGE) -> None:
        self.path = Path(path)
        self.max_age = max_age
        self.fd: int | None = None
        self.interrupted = False

    def __enter__(self) -> IndexLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_flock(fd):  # a live process on this machine holds it
                state = _read_state(fd, self.max_age)
                running = replace(state, verdict="running")
                raise IndexBusyError(refusal(running) if state.holder else BUSY_MESSAGE)
            state = _read_state(fd, self.max_age)
            mine = state.holder is not None and state.holder.local \
                and state.holder.pid == os.getpid()
            if state.holder is not None and not mine and state.verdict != "gone":
                raise IndexBusyError(refusal(state))
        except BaseException:
            os.close(fd)
            raise
        self.interrupted = state.holder is not None
        me = Holder(os.getpid(), process_start_time(os.getpid()), socket.gethostname(), time.time())
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.render().encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # the file stays: unlinking a locked file races
            os.close(self.fd)
            self.fd = None


@dataclass(frozen=True)
class BreakResult:
    """What `break_stale_lock` found and whether it removed it."""

    state: LockState
    removed: bool

    @property
    def holder(self) -> Holder | None:
        return self.state.holder

    def message(self) -> str:
        s = self.state
        if s.verdict == "free":
            return "解除するロックはありません。`python -m ingest` で索引を更新できます。"
        if self.removed:
            return (f"古いロックを解除しました（{s.owner()}。{s.reason()}）。"
                    "`python -m ingest` で索引を更新できます。")
        return (f"ロックは解除していません：索引の更新が実行中です（{s.owner()}）。"
                "終わるのを待つか、止まっている場合はそのプロセスを終了してください。")


def break_stale_lock(path: Path, max_age: float = DEFAULT_MAX_AGE) -> BreakResult:
    """Remove the lock at `path` when it is stale (its owner is gone, it belongs to another host,
    or it is older than `max_age` seconds and its owner cannot be verified); a lock whose owner
    provably runs on this host (the kernel lock, or a verified pid) is never removed."""
    path = Path(path)
    if not path.exists():
        return BreakResult(LockState(None, max_age=max_age), False)
    fd = os.open(path, os.O_RDWR)
    try:
        if not _try_flock(fd):  # held by a live process on this machine
            return BreakResult(replace(_read_state(fd, max_age), verdict="running"), False)
        state = _read_state(fd, max_age)
        if state.holder is None or not state.stale:
            return BreakResult(state, False)
        os.ftruncate(fd, 0)  # emptied, not unlinked: see IndexLock.__exit__
        os.fsync(fd)
        return BreakResult(state, True)
    finally:
        os.close(fd)
