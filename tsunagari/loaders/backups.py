"""Backups of replaced reports, in `settings.data_dir/backups` (outside the corpus: never indexed).

Each backup is a folder `<YYYYmmdd>-<HHMMSS>-<microseconds>-<random>/` holding one file under its
corpus name. It is written as a temp folder and renamed into place, so a listed backup is always
complete; backups are only removed after their content is back in the corpus.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tsunagari.config import Settings
from tsunagari.loaders.safefiles import TEMP_PREFIX, FolderLock, create_file

BACKUP_DIR_NAME = "backups"
_LOCK_NAME = ".lock"
_ID = re.compile(r"^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-\d{6}-[0-9a-f]{6}$")


@dataclass(frozen=True)
class Backup:
    """One kept version of a corpus file."""

    backup_id: str
    name: str  # the file name in the corpus it came from (and is restored to)
    path: Path
    size: int
    saved_at: str  # local time, 'YYYY-MM-DD HH:MM:SS'


def backups_dir(settings: Settings) -> Path:
    """Where replaced reports are kept: `data_dir/backups`."""
    return Path(settings.data_dir) / BACKUP_DIR_NAME


def backup_lock(backups: Path) -> FolderLock:
    """The lock that serialises every change of the corpus made by uploads and restores."""
    return FolderLock(Path(backups) / _LOCK_NAME)


def _new_id() -> str:
    now = time.time()
    micro = int(now * 1_000_000) % 1_000_000
    return f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{micro:06d}-" \
           f"{secrets.token_hex(3)}"


def _backup_of(folder: Path) -> Backup | None:
    m = _ID.match(folder.name)
    if not m or folder.is_symlink() or not folder.is_dir():
        return None
    files = [p for p in folder.iterdir() if not p.is_symlink() and p.is_file()]
    if len(files) != 1:
        return None
    y, mo, d, h, mi, s = m.groups()
    return Backup(folder.name, files[0].name, files[0], files[0].stat().st_size,
                  f"{y}-{mo}-{d} {h}:{mi}:{s}")


def store_backup(backups: Path, name: str, data: bytes) -> Backup:
    """Keep `data` (the current content of corpus file `name`) as a new backup."""
    backups = Path(backups)
    backups.mkdir(parents=True, exist_ok=True)
    tmp = backups / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    tmp.mkdir()
    try:
        create_file(tmp / name, data)
        backup_id = _new_id()
        os.rename(tmp, backups / backup_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    backup = _backup_of(backups / backup_id)
    assert backup is not None, "a stored backup is listed"
    return backup


def list_backups(backups: Path) -> list[Backup]:
    """Every complete backup, newest first."""
    backups = Path(backups)
    if not backups.is_dir():
        return []
    found = (_backup_of(p) for p in backups.iterdir())
    return sorted((b for b in found if b), key=lambda b: b.backup_id, reverse=True)


def find_backup(backups: Path, backup_id: str) -> Backup | None:
    """The backup with this id, or None (ids that are not backup folder names never match)."""
    if not _ID.match(backup_id or ""):
        return None
    return _backup_of(Path(backups) / backup_id)


def drop_backup(backup: Backup) -> None:
    """Remove a backup whose content is back in the corpus."""
    backup.path.unlink(missing_ok=True)
    backup.path.parent.rmdir()
