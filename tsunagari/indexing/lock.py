"""The refresh lock: one refresh at a time per data dir; a killed run's lock is taken over."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from tsunagari.errors import IndexBusyError

BUSY_MESSAGE = "別の索引の更新が実行中です。終わってからもう一度実行してください。"


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the lock."""

    pid: int
    start: str = ""  # process start time from /proc (defeats pid reuse); "" when unknown
    host: str = ""

    def render(self) -> str:
        return f"{self.pid} {self.start or '-'} {self.host or '-'}\n"

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        parts = text.split()
        if not parts or not parts[0].isdigit():
            return None
        start = parts[1] if len(parts) > 1 and parts[1] != "-" else ""
        host = parts[2] if len(parts) > 2 and parts[2] != "-" else ""
        return cls(int(parts[0]), start, host)


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(h: Holder) -> bool:
    if h.host and h.host != socket.gethostname():
        return True  # another machine: cannot check, assume it runs
    if h.pid <= 0:
        return False
    try:
        os.kill(h.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not (h.start and _start_time(h.pid) and _start_time(h.pid) != h.start)


class IndexLock:
    """Exclusive refresh lock on `data_dir/ingest.lock`.

    The kernel lock (flock) is released when its process dies, so a `kill -9`ed refresh never
    blocks the next one; the pid written into the file additionally refuses a second refresh
    while a recorded holder is alive. `interrupted` tells that the previous run did not finish.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None
        self.interrupted = False

    def __enter__(self) -> IndexLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl

            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexBusyError(BUSY_MESSAGE) from None
        except ImportError:  # pragma: no cover - not POSIX: the pid check below still applies
            pass
        except IndexBusyError:
            os.close(fd)
            raise
        holder = Holder.parse(os.pread(fd, 200, 0).decode("ascii", "replace"))
        if holder and holder.pid != os.getpid() and _alive(holder):
            os.close(fd)
            raise IndexBusyError(BUSY_MESSAGE)
        self.interrupted = holder is not None
        me = Holder(os.getpid(), _start_time(os.getpid()), socket.gethostname())
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
