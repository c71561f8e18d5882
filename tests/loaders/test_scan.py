"""Scanning a real corpus folder: dot-files, Office lock files, temp files, symlinks and names with
escape codes or undecodable bytes are skipped with a Japanese message that is safe to print."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tsunagari.cli import main
from tsunagari.loaders.scan import scan_corpus

REPORT = "第1章 テスト\n1-1. 連携\nテスト市では、庁内の連携会議を毎月開いている。\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.txt").write_text(REPORT, encoding="utf-8")
    return folder


def _skipped(corpus: Path) -> dict[str, str]:
    files, problems = scan_corpus(corpus)
    assert [f.name for f in files] == ["good.txt"]
    assert all(p.kind == "skipped" for p in problems), problems
    return {p.file: p.message for p in problems}


def test_dot_files_and_lock_files_are_reported_not_silently_skipped(corpus):
    (corpus / ".hidden.txt").write_text(REPORT + "隠し", encoding="utf-8")
    (corpus / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (corpus / "~$good.docx").write_bytes(b"owner")
    (corpus / ".tsunagari-tmp-0123456789abcdef").write_bytes(b"half")
    (corpus / ".git").mkdir()  # folders are not reports and are not listed
    skipped = _skipped(corpus)
    assert set(skipped) == {".hidden.txt", ".DS_Store", "~$good.docx",
                            ".tsunagari-tmp-0123456789abcdef"}
    assert "隠しファイル" in skipped[".hidden.txt"] and ".hidden.txt" in skipped[".hidden.txt"]
    assert "一時ファイル" in skipped["~$good.docx"]
    assert "保存の途中" in skipped[".tsunagari-tmp-0123456789abcdef"]


def test_symlinks_are_skipped_not_read(corpus, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(REPORT + "外部の秘密の文書。", encoding="utf-8")
    (corpus / "linked.txt").symlink_to(secret)
    (corpus / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    skipped = _skipped(corpus)
    assert set(skipped) == {"linked.txt", "dangling.md"}
    assert all("シンボリックリンク" in m for m in skipped.values())


def test_a_symlinked_sidecar_is_not_read(corpus, tmp_path):
    outside = tmp_path / "meta.toml"
    outside.write_text('title = "外部"\n', encoding="utf-8")
    (corpus / "good.toml").symlink_to(outside)
    files, problems = scan_corpus(corpus)
    assert files == []
    by_file = {p.file: p for p in problems}
    assert by_file["good.txt"].kind == "error"  # the previous version is kept at refresh
    assert "good.toml" in by_file["good.txt"].message
    assert "シンボリックリンク" in by_file["good.txt"].message
    assert by_file["good.toml"].kind == "skipped"


def test_escape_codes_in_names_never_reach_the_output(corpus):
    (corpus / "evil\x1b[2J\x1b]0;owned\x07.txt").write_text(REPORT + "1", encoding="utf-8")
    (corpus / "invoice\u202etxt.md").write_text(REPORT + "2", encoding="utf-8")
    (corpus / "bell\x9b31m.txt").write_text(REPORT + "3", encoding="utf-8")
    os.close(os.open(os.path.join(os.fsencode(corpus), b"latin\xe9.txt"),
                     os.O_WRONLY | os.O_CREAT, 0o644))  # a name that is not UTF-8
    skipped = _skipped(corpus)
    assert set(skipped) == {"evil\\x1b[2J\\x1b]0;owned\\x07.txt", "invoice\\u202etxt.md",
                            "bell\\x9b31m.txt", "latin\\xe9.txt"}
    for file, message in skipped.items():
        assert file in message and "ファイル名" in message
        message.encode("utf-8")  # no lone surrogates
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in message)


def test_cli_ingest_prints_no_escape_codes(corpus, tmp_path, monkeypatch, capsys):
    (corpus / "evil\x1b[31m.txt").write_text(REPORT + "赤", encoding="utf-8")
    (corpus / ".hidden.txt").write_text(REPORT + "隠し", encoding="utf-8")
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TSUNAGARI_EMBEDDER", "none")
    assert main(["ingest", "--corpus", str(corpus)]) == 0
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "\x1b" not in printed
    assert "evil\\x1b[31m.txt" in out.out and ".hidden.txt は名前が「.」で始まる" in out.out
    assert "追加: good.txt" in out.out
