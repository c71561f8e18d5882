"""Careful file operations for the corpus and its backups: never through a symlink, always via a
temp file in the same folder and `os.replace` (a reader sees the old or the new file), and an
exclusive lock so that two sessions never interleave a backup and a replacement."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Self

try:
    import fcntl
except ImportError:  # Windows: no flock; uploads there are not serialised across processes
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".tsunagari-tmp-"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class SymlinkRefused(OSError):
    """The path is a symlink (or not a regular file) and was not followed."""


def open_regular(path: Path) -> BinaryIO:
    """A regular file opened for reading; SymlinkRefused for a symlink or anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SymlinkRefused(errno.ELOOP, "symlink", str(path)) from None
        raise
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise SymlinkRefused(errno.EINVAL, "not a regular file", str(path))
    return f


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; SymlinkRefused for a symlink or anything else."""
    with open_regular(path) as f:
        return f.read()


def _fsync_dir(folder: Path) -> None:
    try:  # make a rename durable (POSIX; a no-op elsewhere)
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_temp(folder: Path, data: bytes) -> Path:
    """A new temp file (a dot-file, created exclusively, never through a link) in `folder`."""
    tmp = Path(folder) / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def refuse_link(target: Path) -> None:
    """SymlinkRefused when `target` is a symlink or exists as something other than a file."""
    if target.is_symlink():
        raise SymlinkRefused(errno.ELOOP, "symlink", str(target))
    if target.exists() and not target.is_file():
        raise SymlinkRefused(errno.EISDIR, "not a regular file", str(target))


def replace_file(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically (temp file in the same folder, then os.replace)."""
    refuse_link(target)
    tmp = write_temp(target.parent, data)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def create_file(target: Path, data: bytes) -> None:
    """Write `data` to a new file `target`; FileExistsError when it exists (even if another
    process creates it at the same moment: a hard link never replaces)."""
    refuse_link(target)
    tmp = write_temp(target.parent, data)
    try:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError:  # e.g. no hard links on this file system: check, then rename
            if target.exists() or target.is_symlink():
                raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


class FolderLock:
    """An exclusive, blocking lock on `path` (flock; released when the process dies)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
        if fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            if fcntl is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
