"""The BM25 index and chunk snapshot saved per chunk store checksum and memory-mapped at open
(real report, real SudachiPy): same results as building it, never paired with another or a
damaged chunk store, built lazily where ingest never ran."""

import json
import logging
import shutil

import numpy as np
import pytest
from core_fixtures import REPORT, ROOT

from tsunagari.answering.retrieve import Retriever
from tsunagari.config import load_settings
from tsunagari.errors import IndexDamagedError
from tsunagari.indexing import bm25index
from tsunagari.indexing.store import (
    atomic_write,
    data_paths,
    load_chunks_with_tokens,
    read_manifest,
    sha256_text,
)
from tsunagari.service import ingest
from tsunagari.types import Chunk

QUESTIONS = [json.loads(line)["question"]
             for line in (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]


@pytest.fixture(scope="module")
def bm25_data(tmp_path_factory):
    """A BM25-only index of the real report (built once; tests copy it before changing it)."""
    base = tmp_path_factory.mktemp("bm25")
    corpus = base / "corpus"
    corpus.mkdir()
    for f in (REPORT, REPORT.with_suffix(".toml")):
        shutil.copy(f, corpus / f.name)
    settings = load_settings(data_dir=base / "data", corpus_dir=corpus, embedder="none",
                             retrieval_mode="bm25")
    ingest(settings)
    return settings


@pytest.fixture()
def settings(bm25_data, tmp_path):
    data, corpus = tmp_path / "data", tmp_path / "corpus"
    shutil.copytree(bm25_data.data_dir, data)
    shutil.copytree(bm25_data.corpus_dir, corpus)
    return bm25_data.model_copy(update={"data_dir": data, "corpus_dir": corpus})


def _sha(settings) -> str:
    return sha256_text(data_paths(settings)["chunks"].read_text(encoding="utf-8"))


def _hits(retriever: Retriever) -> list[list[tuple[str, float]]]:
    return [[(h.chunk.chunk_id, h.score) for h in retriever.search(q, k=10, mode="bm25")]
            for q in QUESTIONS]


def _memory_mapped(retriever: Retriever) -> bool:
    return isinstance(retriever.bm25.scores["data"], np.memmap)


def no_parsing(monkeypatch):
    """Make any parse of a chunk store line fail the test."""
    def parse(*_args, **_kwargs):
        raise AssertionError("the chunk store was parsed")

    monkeypatch.setattr(Chunk, "from_dict", parse)


def test_ingest_saves_the_index_and_open_maps_it_without_parsing(settings, caplog, monkeypatch):
    paths = data_paths(settings)
    no_parsing(monkeypatch)
    assert read_manifest(settings).chunks_sha256 == _sha(settings)
    assert (paths["bm25"] / _sha(settings) / bm25index.META_FILE).is_file()
    with caplog.at_level(logging.WARNING, logger="tsunagari.indexing.bm25index"):
        retriever = Retriever.open(settings)
    assert _memory_mapped(retriever) and not caplog.records
    monkeypatch.undo()
    assert retriever.chunks == [c for c, _ in load_chunks_with_tokens(paths["chunks"])]


def test_saved_index_scores_and_ranks_exactly_like_the_in_memory_one(settings):
    paths = data_paths(settings)
    rows = load_chunks_with_tokens(paths["chunks"])
    saved = bm25index.load(paths["bm25"], _sha(settings))
    built = bm25index.build([tokens for _, tokens in rows])
    assert saved is not None and saved.index.source == "saved" and built.source == "built"
    assert saved.chunks == [c for c, _ in rows]
    assert saved.index.idf == built.idf  # same tokens, same floats
    retriever = Retriever.open(settings)
    for q in QUESTIONS:
        tokens = retriever.query_tokens(q)
        a, b = saved.index.bm25.get_scores(tokens), built.bm25.get_scores(tokens)
        assert np.array_equal(a, b)
        assert np.array_equal(np.argsort(-a, kind="stable"), np.argsort(-b, kind="stable"))
    # The whole BM25 search, through the retriever: same chunks, same fused scores.
    in_memory = Retriever(settings, [c for c, _ in rows], built.bm25, None, retriever.tokenizer,
                          built.idf)
    assert _hits(retriever) == _hits(in_memory)
    assert any(_hits(retriever))


def test_a_copied_data_dir_opens_by_checksum_without_parsing(settings, tmp_path, monkeypatch):
    no_parsing(monkeypatch)
    copy = tmp_path / "copied"
    shutil.copytree(settings.data_dir, copy)  # other files, other inodes: only content counts
    retriever = Retriever.open(settings.model_copy(update={"data_dir": copy}))
    assert _memory_mapped(retriever) and retriever.chunks


def test_a_data_dir_without_snapshots_builds_and_saves_one(settings, caplog, monkeypatch):
    """E.g. chunks.jsonl and manifest.json written from Chroma on a machine that never ran
    ingest: the first open parses the store (checked) and saves the snapshot for the next."""
    paths = data_paths(settings)
    saved = _hits(Retriever.open(settings))
    shutil.rmtree(paths["bm25"])
    with caplog.at_level(logging.WARNING, logger="tsunagari.indexing.bm25index"):
        first = Retriever.open(settings)
    assert "missing" in caplog.text
    assert _hits(first) == saved
    assert [p.name for p in paths["bm25"].iterdir()] == [_sha(settings)]
    no_parsing(monkeypatch)
    second = Retriever.open(settings)
    assert _memory_mapped(second) and _hits(second) == saved


def test_a_stale_snapshot_is_never_used_and_the_new_one_is_saved(settings, caplog):
    paths = data_paths(settings)
    old_sha = _sha(settings)
    rows = load_chunks_with_tokens(paths["chunks"])
    # Another whole chunk store and its manifest arrive (e.g. copied from another machine
    # without its bm25/ folder): one chunk gets a word no other chunk has.
    chunk, tokens = rows[3]
    rows[3] = (chunk, [*tokens, "ふるさと納税型見守り"])
    text = "".join(json.dumps({**c.to_dict(), "tokens": list(t)}, ensure_ascii=False) + "\n"
                   for c, t in rows)
    manifest = read_manifest(settings)
    manifest.chunks_sha256, manifest.also_sha256 = sha256_text(text), ""
    atomic_write(paths["chunks"], text)
    atomic_write(paths["manifest"], manifest.to_json())
    with caplog.at_level(logging.WARNING, logger="tsunagari.indexing.bm25index"):
        retriever = Retriever.open(settings)
    assert "stale" in caplog.text
    scores = retriever.bm25.get_scores(["ふるさと納税型見守り"])
    assert np.flatnonzero(scores).tolist() == [3]
    assert retriever.idf == bm25index.build([t for _, t in rows]).idf
    assert (paths["bm25"] / old_sha).is_dir()  # still there, but never paired with this store
    assert (paths["bm25"] / sha256_text(text) / bm25index.META_FILE).is_file()
    assert _memory_mapped(Retriever.open(settings))


def test_a_damaged_store_is_reported_even_with_a_snapshot_for_the_whole_one(settings):
    paths = data_paths(settings)
    assert (paths["bm25"] / _sha(settings)).is_dir()
    lines = paths["chunks"].read_bytes().splitlines(keepends=True)
    paths["chunks"].write_bytes(b"".join(lines[:5]))  # a partial copy ending on a line
    with pytest.raises(IndexDamagedError) as exc:
        Retriever.open(settings)
    assert "壊れて" in str(exc.value) and "読める行 5 行" in str(exc.value)
    assert not (paths["bm25"] / _sha(settings)).exists()  # nothing saved for a damaged store


@pytest.mark.parametrize("broken", ["data.csc.index.npy", bm25index.CHUNKS_FILE])
def test_an_unreadable_snapshot_falls_back_and_is_rewritten(settings, caplog, broken):
    paths = data_paths(settings)
    saved = _hits(Retriever.open(settings))
    (paths["bm25"] / _sha(settings) / broken).write_bytes(b"\x93NUMPY broken")
    with caplog.at_level(logging.WARNING, logger="tsunagari.indexing.bm25index"):
        unreadable = Retriever.open(settings)
    assert "unreadable" in caplog.text
    assert _hits(unreadable) == saved
    again = Retriever.open(settings)
    assert _memory_mapped(again) and _hits(again) == saved


def test_a_snapshot_that_cannot_be_saved_leaves_the_index_in_memory(settings, caplog):
    paths = data_paths(settings)
    saved = _hits(Retriever.open(settings))
    shutil.rmtree(paths["bm25"])
    paths["bm25"].write_text("not a folder", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="tsunagari.indexing.bm25index"):
        retriever = Retriever.open(settings)
    assert "could not save" in caplog.text
    assert not _memory_mapped(retriever) and _hits(retriever) == saved


def test_refresh_keeps_the_current_and_previous_index_only(settings):
    paths = data_paths(settings)
    report = settings.corpus_dir / REPORT.name
    shas = [_sha(settings)]
    for before, after in (("8局12課", "9局13課"), ("9局13課", "10局14課")):
        report.write_text(report.read_text(encoding="utf-8").replace(before, after),
                          encoding="utf-8")
        ingest(settings)
        shas.append(_sha(settings))
    assert len(set(shas)) == 3
    assert sorted(p.name for p in paths["bm25"].iterdir()) == sorted(shas[1:])
    saved_at = (paths["bm25"] / shas[2] / bm25index.META_FILE).stat().st_mtime_ns
    ingest(settings)  # nothing changed: the saved index is reused as it is
    assert (paths["bm25"] / shas[2] / bm25index.META_FILE).stat().st_mtime_ns == saved_at


def test_a_leftover_of_a_killed_save_is_ignored_and_cleaned(settings):
    paths = data_paths(settings)
    sha = _sha(settings)
    shutil.rmtree(paths["bm25"])
    leftover = paths["bm25"] / f".tmp-{sha[:16]}-999999"
    leftover.mkdir(parents=True)
    (leftover / "data.csc.index.npy").write_bytes(b"half written")
    assert bm25index.load(paths["bm25"], sha) is None
    ingest(settings)
    assert [p.name for p in paths["bm25"].iterdir()] == [sha]


def test_ingest_commits_even_when_the_index_cannot_be_saved(settings, caplog):
    paths = data_paths(settings)
    shutil.rmtree(paths["bm25"])
    paths["bm25"].write_text("not a folder", encoding="utf-8")
    report = settings.corpus_dir / REPORT.name
    report.write_text(report.read_text(encoding="utf-8").replace("8局12課", "9局13課"),
                      encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        ingest(settings)
    assert "could not save the BM25 index" in caplog.text
    retriever = Retriever.open(settings)
    assert any("9局13課" in c.text for c in retriever.chunks)
    assert not _memory_mapped(retriever)
