"""Add an uploaded report (.txt/.md/.pdf/.docx) to the corpus directory, losing nothing.

- The name is cleaned (`names.safe_name`: one component, no control or bidi characters, at most
  255 bytes with the suffix kept). A name already in the corpus is refused unless the caller
  passes `replace=True` (the app asks the user first); the replaced file is kept as a backup in
  `data_dir/backups` (`backups.py`) and can be restored, which backs up the file it replaces.
- The file is checked with the same loaders `ingest` uses (encoding, damaged / encrypted /
  image-only PDFs), in a child process with a time budget (`parsecheck.py`), so a pathological
  file is abandoned instead of holding the app; it is stored as uploaded. Content equal to
  another report is refused.
- Writes go through a temp file in the corpus folder and `os.replace`, never through a symlink;
  an OSError becomes a Japanese message without server paths (details go to the log).
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from pathlib import Path

from tsunagari.config import Settings
from tsunagari.errors import InputError
from tsunagari.loaders import SUPPORTED_SUFFIXES, content_hash, names
from tsunagari.loaders.backups import (
    Backup,
    backup_lock,
    drop_backup,
    find_backup,
    store_backup,
)
from tsunagari.loaders.names import has_hidden_chars, printable_name
from tsunagari.loaders.parsecheck import parse_within
from tsunagari.loaders.safefiles import (
    SymlinkRefused,
    create_file,
    read_regular,
    refuse_link,
    replace_file,
)

log = logging.getLogger(__name__)
UPLOAD_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
assert set(UPLOAD_SUFFIXES) <= set(SUPPORTED_SUFFIXES), "uploads are stored as read by the loaders"
DEFAULT_PARSE_SECONDS: float = Settings.model_fields["upload_parse_seconds"].default


@dataclass(frozen=True)
class SavedUpload:
    """Where an upload (or a restored backup) was stored (files are kept as uploaded);
    `backup` keeps the file it replaced."""

    path: Path
    replaced: bool
    message: str
    backup: Backup | None = None


class NameTakenError(InputError):
    """A report with this name is already in the corpus; `name` is the cleaned name."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


def safe_name(filename: str) -> str:
    """The name an upload is stored under (see `names.safe_name`); "" when nothing remains.

    >>> safe_name("../../etc/報告書 第1版.txt")
    '報告書_第1版.txt'
    >>> safe_name("a/b\\\\c.md")
    'c.md'
    >>> safe_name("請求書\\u202etxt.exe")  # a bidi override hid the real suffix
    '請求書txt.exe'
    """
    return names.safe_name(filename, UPLOAD_SUFFIXES)


def _shown(filename: str) -> str:
    """The uploaded name as given (without directories), safe to print."""
    return printable_name(filename.replace("\\", "/").rsplit("/", 1)[-1]) or "（名前なし）"


def _os_error(name: str, exc: OSError) -> InputError:
    """A Japanese message for a failed write, without server paths (those go to the log)."""
    log.warning("saving %s failed", name, exc_info=exc)
    if isinstance(exc, SymlinkRefused):
        return InputError(f"資料フォルダの {name} はシンボリックリンクか通常のファイルでは"
                          "ないため、"
                          "書き込みませんでした。保守担当者に確認してください。")
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        reason = "ディスクの空き容量が足りません"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "資料フォルダに書き込む権限がありません"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        reason = "資料フォルダの場所がフォルダではありません（設定の資料フォルダを確認してください）"
    elif exc.errno == errno.ENAMETOOLONG:
        reason = "ファイル名が長すぎます。短い名前にしてもう一度追加してください"
    else:
        code = errno.errorcode.get(exc.errno or 0, "OSError")
        reason = f"ファイルを書き込めませんでした（{code}）"
    return InputError(f"{name} を保存できませんでした：{reason}。資料フォルダは変更していません。")


def _corpus_folder(corpus_dir: Path) -> Path:
    """The corpus folder, created if missing and resolved once (writes go to this real folder)."""
    folder = Path(corpus_dir)
    if not folder.is_dir():
        if folder.exists() or folder.is_symlink():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
        folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve(strict=True)


def _target(folder: Path, name: str) -> Path:
    """`folder/name`; SymlinkRefused when it is a symlink, not a file, or resolves elsewhere."""
    target = folder / name
    refuse_link(target)
    if target.resolve().parent != folder:
        raise SymlinkRefused(errno.EXDEV, "outside the corpus", str(target))
    return target


def _current(target: Path) -> bytes | None:
    """The bytes of the corpus file `target`, or None when there is none."""
    try:
        return read_regular(target)
    except FileNotFoundError:
        return None


def _taken(name: str) -> NameTakenError:
    return NameTakenError(f"資料フォルダにはすでに {name} があります。置き換える場合は、"
                          "今のファイルをバックアップに残してから置き換えます。", name)


def save_upload(corpus_dir: Path, filename: str, data: bytes, max_mb: float = 200.0, *,
                replace: bool = False, backups: Path | None = None,
                parse_seconds: float = DEFAULT_PARSE_SECONDS) -> SavedUpload:
    """Store an uploaded report in `corpus_dir`; raises InputError with a Japanese message
    (NameTakenError when the name exists and `replace` is False). With `replace=True` the
    current file is first kept as a backup in `backups` (required then)."""
    name = safe_name(filename)
    if not name or Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise InputError(f"{_shown(filename)} は追加できません。"
                         "対応している形式は .txt / .md / .pdf / .docx です。")
    if len(data) > max_mb * 1024 * 1024:
        raise InputError(f"{name} は大きすぎます（上限 {max_mb:g} MB）。")
    if not data.strip():
        raise InputError(f"{name} は空のファイルです。")
    if replace and backups is None:
        raise ValueError("replace=True needs a backups folder")
    try:
        target = _target(_corpus_folder(corpus_dir), name)
        current = _current(target)
        if current == data:
            raise InputError(f"資料フォルダの {name} と同じ内容です。変更はありません。")
        if current is not None and not replace:
            raise _taken(name)
        _refuse_duplicate(target.parent, name, data)
        parse_within(name, data, parse_seconds)  # names the file in its messages
        backup = _store(target, data, backups, replace)
    except OSError as exc:
        raise _os_error(name, exc) from exc
    if backup is None:
        return SavedUpload(target, False, _added(filename, name, "追加しました"))
    verb = f"置き換えました（前の内容は {backup.saved_at} のバックアップに残しました）"
    return SavedUpload(target, True, _added(filename, name, verb), backup)


def _store(target: Path, data: bytes, backups: Path | None, replace: bool) -> Backup | None:
    """Create `target`, or (with `backups` and `replace`) replace it after keeping its content
    as a backup; the backup made, if any. The check for an existing file is repeated under the
    lock, so a file created meanwhile is never replaced without being asked for."""
    try:
        if backups is None:
            create_file(target, data)
            return None
        with backup_lock(backups):
            current = _current(target)
            if current is None:
                create_file(target, data)
                return None
            if not replace:
                raise _taken(target.name)
            backup = store_backup(backups, target.name, current)
            replace_file(target, data)
            return backup
    except FileExistsError:  # created by another session meanwhile
        raise _taken(target.name) from None


def _added(filename: str, name: str, verb: str) -> str:
    given = filename.replace("\\", "/").rsplit("/", 1)[-1]
    renamed = "" if given == name else "（ファイル名は保存できる形に整えました）"
    return f"{name} を資料フォルダに{verb}。{renamed}"


def restore_backup(corpus_dir: Path, backups: Path, backup_id: str) -> SavedUpload:
    """Put a backup back into the corpus under its name; the file it replaces is kept as a new
    backup first, and the restored backup is removed only once its content is in the corpus."""
    found = find_backup(backups, backup_id)
    if found is None:
        raise InputError("指定したバックアップが見つかりません（すでに元に戻したか、削除された"
                         "可能性があります）。")
    name = found.name
    try:
        target = _target(_corpus_folder(corpus_dir), name)
        with backup_lock(backups):
            backup = find_backup(backups, backup_id)
            if backup is None:
                raise InputError("指定したバックアップはすでに元に戻されています。")
            data = read_regular(backup.path)
            current = _current(target)
            kept = None
            if current is not None and current != data:
                kept = store_backup(backups, name, current)
            if current != data:
                replace_file(target, data)
            drop_backup(backup)
    except OSError as exc:
        raise _os_error(name, exc) from exc
    note = f"置き換える前の内容は {kept.saved_at} のバックアップに残しました。" if kept else ""
    message = f"{name} を {backup.saved_at} のバックアップの内容に戻しました。{note}"
    return SavedUpload(target, current is not None, message, kept)


def _refuse_duplicate(corpus_dir: Path, name: str, data: bytes) -> None:
    """InputError when another file in the corpus has exactly these bytes."""
    digest = content_hash(data)
    for p in sorted(corpus_dir.iterdir()):
        if p.name == name or p.suffix.lower() not in UPLOAD_SUFFIXES:
            continue
        try:
            if p.is_symlink() or not p.is_file() or p.stat().st_size != len(data) \
                    or content_hash(read_regular(p)) != digest:
                continue
        except OSError:  # removed meanwhile, unreadable: not a duplicate we can see
            continue
        raise InputError(f"{name} は資料フォルダの {printable_name(p.name)} と同じ内容のため、"
                         "追加しませんでした。")


def corpus_files(corpus_dir: Path) -> list[dict[str, object]]:
    """Reports in the corpus directory with their sizes (for the management page); names are
    printable, and symlinks and hidden files (which `ingest` skips) are not listed."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return []
    rows = []
    for p in sorted(corpus_dir.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in UPLOAD_SUFFIXES:
            continue
        try:
            if p.is_symlink() or not p.is_file():
                continue
            size = p.stat().st_size
        except OSError:  # removed meanwhile
            continue
        shown = printable_name(p.name)
        if has_hidden_chars(p.name):
            shown += "（名前に見えない文字があるため索引に含めません）"
        rows.append({"ファイル": shown, "大きさ (KB)": round(size / 1024, 1)})
    return rows
