"""Uploads into a real corpus folder: replacing only on request with a backup, restoring, symlinks,
long and hidden-character names, write errors, and the parse time budget."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from test_names import LONG_NAME

from tsunagari.errors import InputError
from tsunagari.loaders.backups import list_backups
from tsunagari.loaders.parsecheck import parse_within
from tsunagari.loaders.scan import scan_corpus
from tsunagari.loaders.upload import (
    NameTakenError,
    corpus_files,
    restore_backup,
    save_upload,
)

ROOT = Path(__file__).resolve().parents[2]
MAIN = "chiho-pf-suiheiteki-renkei-jireishu.txt"
SMALL = "第1章 テスト\n1-1. 連携\nテスト市では、庁内の連携会議を毎月開いている。\n".encode()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the real corpus (the 82,950-byte main report and its sidecar)."""
    folder = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", folder)
    return folder


def _everything(corpus: Path, backups: Path) -> list[bytes]:
    """Every content kept: the corpus files and the backups."""
    return [p.read_bytes() for p in corpus.iterdir()] + [b.path.read_bytes()
                                                         for b in list_backups(backups)]


def test_same_name_is_refused_unless_replacing_and_the_old_file_is_kept(corpus, tmp_path):
    original = (corpus / MAIN).read_bytes()
    assert len(original) == 82_950
    backups = tmp_path / "data" / "backups"
    # The issue: an 89-byte upload under the main report's name replaced it silently.
    with pytest.raises(InputError) as exc:
        save_upload(corpus, MAIN, SMALL, backups=backups)
    assert isinstance(exc.value, NameTakenError) and exc.value.name == MAIN
    assert "すでに" in str(exc.value) and MAIN in str(exc.value)
    assert (corpus / MAIN).read_bytes() == original and not list_backups(backups)

    saved = save_upload(corpus, MAIN, SMALL, replace=True, backups=backups)
    assert saved.replaced and (corpus / MAIN).read_bytes() == SMALL
    assert "置き換えました" in saved.message and "バックアップ" in saved.message
    (kept,) = list_backups(backups)
    assert kept == saved.backup and kept.name == MAIN and kept.path.read_bytes() == original
    assert kept.size == 82_950 and not kept.path.is_relative_to(corpus)
    # The backup is outside the corpus: ingest scans only the corpus.
    files, _ = scan_corpus(corpus)
    assert [f.name for f in files] == [MAIN]

    restored = restore_backup(corpus, backups, kept.backup_id)
    assert (corpus / MAIN).read_bytes() == original
    (now,) = list_backups(backups)  # the 89-byte version is kept in turn
    assert now.path.read_bytes() == SMALL and restored.backup == now
    assert "戻しました" in restored.message and now.saved_at in restored.message
    with pytest.raises(InputError, match="見つかりません"):
        restore_backup(corpus, backups, kept.backup_id)  # already restored
    with pytest.raises(InputError, match="見つかりません"):
        restore_backup(corpus, backups, "../corpus")


def test_same_content_under_the_same_name_changes_nothing(corpus, tmp_path):
    data = (corpus / MAIN).read_bytes()
    with pytest.raises(InputError, match="変更はありません"):
        save_upload(corpus, MAIN, data, replace=True, backups=tmp_path / "b")
    assert not list_backups(tmp_path / "b")


@pytest.mark.parametrize("steps", [
    "u1 r2 r3 b0 b0 b0",  # replace twice, then restore whatever is newest three times
    "u1 b0 r2 b1 b0 r3",
    "r2 r3 b1 b1 b0 n4 b0",
])
def test_nothing_is_lost_in_any_order(corpus, tmp_path, steps):
    """u: upload a new name (refused when taken), r: replace the main report, n: a new report,
    b<i>: restore the i-th newest backup. Every content ever stored stays somewhere."""
    backups = tmp_path / "backups"
    seen = [(corpus / MAIN).read_bytes()]
    for step in steps.split():
        op, i = step[0], int(step[1])
        data = SMALL + f"版{i}。\n".encode()
        if op in "ur":
            try:
                save_upload(corpus, MAIN, data, replace=op == "r", backups=backups)
            except NameTakenError:
                assert op == "u"
            else:
                seen.append(data)
        elif op == "n":
            save_upload(corpus, f"new{i}.txt", data, backups=backups)
            seen.append(data)
        else:
            kept = list_backups(backups)
            if i < len(kept):
                restore_backup(corpus, backups, kept[i].backup_id)
        everything = _everything(corpus, backups)
        assert all(s in everything for s in seen), step


def test_concurrent_replacements_keep_every_version(corpus, tmp_path):
    backups = tmp_path / "backups"
    original = (corpus / MAIN).read_bytes()
    versions = [SMALL + f"同時{i}。\n".encode() for i in range(4)]
    errors = []

    def replace(data: bytes) -> None:
        try:
            save_upload(corpus, MAIN, data, replace=True, backups=backups)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=replace, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    everything = _everything(corpus, backups)
    assert original in everything and all(v in everything for v in versions)
    assert len(list_backups(backups)) == 4


@pytest.mark.parametrize("with_backups", [False, True])
def test_concurrent_new_uploads_of_one_name_never_overwrite(corpus, tmp_path, with_backups):
    backups = tmp_path / "backups" if with_backups else None
    versions = [SMALL + f"新規{i}。\n".encode() for i in range(4)]
    saved, refused = [], []

    def add(data: bytes) -> None:
        try:
            save_upload(corpus, "新規.txt", data, backups=backups)
        except NameTakenError:
            refused.append(data)
        else:
            saved.append(data)

    threads = [threading.Thread(target=add, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(saved) == 1 and len(refused) == 3
    assert (corpus / "新規.txt").read_bytes() == saved[0]
    assert not list_backups(tmp_path / "backups")


def test_uploads_never_write_through_a_symlink(corpus, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside the corpus")
    (corpus / "link.txt").symlink_to(outside)
    for replace in (False, True):
        with pytest.raises(InputError) as exc:
            save_upload(corpus, "link.txt", SMALL, replace=replace, backups=tmp_path / "b")
        assert "シンボリックリンク" in str(exc.value) and str(tmp_path) not in str(exc.value)
    assert outside.read_bytes() == b"outside the corpus" and (corpus / "link.txt").is_symlink()
    # A dangling link is refused too (writing would create the file it points to).
    (corpus / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(InputError, match="シンボリックリンク"):
        save_upload(corpus, "dangling.txt", SMALL)
    assert not (tmp_path / "nowhere.txt").exists()
    # The management page lists real reports only, and does not fail on a dangling link.
    assert [r["ファイル"] for r in corpus_files(corpus)] == [MAIN]


def test_long_japanese_name_is_trimmed_and_saved(corpus):
    assert len(LONG_NAME) == 92 and len(LONG_NAME.encode()) > 255
    saved = save_upload(corpus, LONG_NAME, SMALL)
    assert saved.path.exists() and saved.path.parent == corpus.resolve()
    assert len(saved.path.name.encode()) <= 255 and saved.path.suffix == ".txt"
    assert LONG_NAME.startswith(saved.path.stem)
    assert "整えました" in saved.message


def test_hidden_characters_are_removed_from_names(corpus):
    saved = save_upload(corpus, "請求書\u202etxt.md", SMALL)
    assert saved.path.name == "請求書txt.md"
    saved = save_upload(corpus, "\x1b]0;x\x07報告.txt", SMALL + b"2")
    assert saved.path.name == "]0;x報告.txt" and "\x1b" not in saved.message
    with pytest.raises(InputError) as exc:
        save_upload(corpus, "\x1b[2Jmal\u202eexe.docx\x1b.exe", SMALL)
    assert "\x1b" not in str(exc.value) and "\u202e" not in str(exc.value)
    assert "\\x1b" in str(exc.value) and "対応している形式" in str(exc.value)
    assert not any(p.name.startswith(".") for p in corpus.iterdir())  # no temp file left


def test_write_errors_are_japanese_without_server_paths(tmp_path):
    not_a_folder = tmp_path / "corpus-file"
    not_a_folder.write_text("x")
    with pytest.raises(InputError) as exc:
        save_upload(not_a_folder, "a.txt", SMALL)
    assert "保存できませんでした" in str(exc.value) and "フォルダではありません" in str(exc.value)
    assert str(tmp_path) not in str(exc.value) and not_a_folder.read_text() == "x"
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "dir.txt").mkdir()
    with pytest.raises(InputError) as exc:
        save_upload(tmp_path / "corpus", "dir.txt", SMALL, replace=True, backups=tmp_path / "b")
    assert "dir.txt" in str(exc.value) and str(tmp_path) not in str(exc.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_corpus_is_a_japanese_message(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InputError, match="権限") as exc:
            save_upload(folder, "a.txt", SMALL)
        assert str(tmp_path) not in str(exc.value)
    finally:
        folder.chmod(0o755)


def sleepy_parse(name: str, data: bytes) -> None:
    """A parser that never finishes in time (run in the child process)."""
    time.sleep(120)


def test_a_parse_over_the_time_budget_is_abandoned(corpus):
    before = sorted(p.name for p in corpus.iterdir())
    with pytest.raises(InputError, match="1 秒以内に終わらなかった"):
        parse_within("遅い.docx", SMALL, 1, parse=sleepy_parse)
    # End to end: with no time at all, the real loaders cannot finish; nothing is written.
    with pytest.raises(InputError, match="秒以内に終わらなかった"):
        save_upload(corpus, "遅い.txt", SMALL, parse_seconds=1e-9)
    assert sorted(p.name for p in corpus.iterdir()) == before


def test_parse_errors_come_back_from_the_child(corpus):
    with pytest.raises(InputError, match="UTF-8") as exc:
        save_upload(corpus, "memo.txt", b"\xff\xfe\x00broken")
    assert "memo.txt" in str(exc.value)
    with pytest.raises(InputError, match="Word"):
        save_upload(corpus, "w.docx", b"PK\x03\x04 not a zip")
    assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in
                                                              (ROOT / "corpus").iterdir())
