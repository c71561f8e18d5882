"""The term index: the same answers as a substring scan of each chunk's compacted text, saved
per chunk store at ingest, and rebuilt (never a crash) when missing, stale or damaged."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagari.config import load_settings
from tsunagari.indexing import termindex
from tsunagari.indexing.refresh import build_index
from tsunagari.indexing.store import atomic_write, data_paths, load_store, read_manifest
from tsunagari.indexing.termindex import PREFIX, TermIndex
from tsunagari.types import Chunk

FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
# Few distinct characters, so that random terms often occur (or nearly occur) in the texts:
# kana, kanji, ASCII, full-width forms (NFKC folds them), and whitespace of several kinds.
ALPHABET = "あいう市町村連携ＰF2５ab A\u3000\n\t・"


def _chunk(i: int, text: str, source: str = "", footnotes: tuple[str, ...] = (),
           municipality: str = "") -> Chunk:
    return Chunk(chunk_id=f"c{i}", doc_id="d", doc_title="t", text=text, pages=(1,),
                 source_report=source, footnotes=footnotes, municipality=municipality)


def _old_in_chunk(chunks: list[Chunk], term: str) -> bool:
    """The old look-up (`_compact(term) in corpus`), with the corpus cut at chunk boundaries
    (by a character the alphabet does not hold)."""
    def old_compact(text: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))

    return old_compact(term) in "\0".join(old_compact("\n".join(
        [c.index_text(), c.source_report, " ".join(c.footnotes)])) for c in chunks)


# Characters whose NFKC depends on their neighbours or holds a space: half-width kana and
# voiced marks (ｶﾞ → ガ), combining marks, ゛ (→ space + U+3099), ¨, Hangul jamo, ligatures.
TRICKY = "ｶﾞﾟﾊかが\u3099\u309a゛゜¨\u0301e\u0327\u1100\u1161\u11a8ﬁ①㍻\u00a0\u3000 \n"


@FAST
@given(text=st.text(alphabet=TRICKY + ALPHABET, max_size=30) | st.text(max_size=30))
def test_compact_is_nfkc_without_whitespace(text):
    assert termindex.compact(text) == re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


texts = st.text(alphabet=ALPHABET, max_size=40)
chunk_lists = st.lists(st.tuples(texts, texts, st.lists(texts, max_size=2), texts), max_size=8)


@FAST
@given(rows=chunk_lists, terms=st.lists(texts, min_size=1, max_size=10), data=st.data())
def test_lookups_equal_the_old_substring_scan(rows, terms, data):
    chunks = [_chunk(i, text, source, tuple(notes), town)
              for i, (text, source, notes, town) in enumerate(rows)]
    # Also terms that surely occur: pieces of a chunk's text.
    for c in chunks[:3]:
        whole = c.index_text()
        a = data.draw(st.integers(0, len(whole)))
        terms.append(whole[a:data.draw(st.integers(a, len(whole)))])
    index = TermIndex.from_chunks(chunks)
    for term in terms:
        assert index.contains(term) == _old_in_chunk(chunks, term), term


def test_saved_and_built_indexes_answer_alike(tmp_path):
    chunks = [_chunk(i, f"{town}では見守り活動を{i}回行った。", "報告書" if i % 2 else "",
                     ("脚注：ＵＲＬ は別紙",) if i == 3 else ())
              for i, town in enumerate(["堺市", "港北区", "泉町", "北野町", "青葉市"])]
    built = TermIndex.from_chunks(chunks)
    saved = TermIndex.load(termindex.save_index(tmp_path, "abc", built), "abc", len(chunks))
    assert saved is not None and saved.source == "saved"
    terms = ["堺", "市", "見守り活動", "泉町では見守り", "3回行った", "URL は", "URLは別紙",
             "報告書", "港北区では見守り活動を1回", "港北区では見守り活動を2回", "京都", "Z",
             "行った。泉町"]  # the last one only spans two chunks: not a match
    assert [built.contains(t) for t in terms] == [saved.contains(t) for t in terms] == [
        True, True, True, True, True, True, True, True, True, False, False, False, False]


def test_common_bigrams_are_verified_in_the_text(tmp_path):
    # Every bigram of 連携会議 occurs in many chunks, the word itself in one only.
    chunks = [_chunk(i, "連携の会議を開く。携会の字" if i != 777 else "連携会議を開く。")
              for i in range(1000)]
    for index in (TermIndex.from_chunks(chunks),
                  TermIndex.load(termindex.save_index(tmp_path, "s", TermIndex.from_chunks(
                      chunks)), "s", 1000)):
        assert index.contains("連携会議") and index.contains("携会の")
        assert not index.contains("連携会議を開く。携")  # would span two chunks
        assert not index.contains("会議の字")


def test_an_empty_list_of_chunks(tmp_path):
    index = TermIndex.from_chunks([])
    assert not index.contains("市") and not index.contains("市町") and index.contains(" ")
    saved = TermIndex.load(termindex.save_index(tmp_path, "e", index), "e", 0)
    assert saved is not None and not saved.contains("連携会議")


# --- the cache in data_dir/derived ---------------------------------------------------------

@pytest.fixture()
def data(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sakai.md").write_text(
        "# 堺市の居場所\n\n堺市では、商店街の空き店舗で週3回の居場所を開いている。\n", encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    build_index(settings)
    return settings


def _dirs(settings) -> list[str]:
    return sorted(p.name for p in data_paths(settings)["derived"].iterdir())


def _open(settings) -> TermIndex:
    rows, sha = load_store(data_paths(settings)["chunks"])
    return termindex.open_index(settings, sha, [c for c, _ in rows])


def test_ingest_saves_the_index_of_the_committed_store(data):
    sha = read_manifest(data).chunks_sha256
    assert _dirs(data) == [f"{PREFIX}{sha}"]
    index = _open(data)
    assert index.source == "saved" and index.contains("空き店舗") and not index.contains("京都")


def test_an_ingest_without_changes_keeps_the_saved_index(data):
    sha = read_manifest(data).chunks_sha256
    meta = data_paths(data)["derived"] / f"{PREFIX}{sha}" / "meta.json"
    before = meta.stat().st_mtime_ns
    build_index(data)
    assert read_manifest(data).chunks_sha256 == sha and meta.stat().st_mtime_ns == before


def test_refreshes_keep_the_current_and_previous_store_only(data):
    shas = [read_manifest(data).chunks_sha256]
    for town in ("泉町", "北野町"):
        (data.corpus_dir / f"{town}.md").write_text(f"# {town}\n\n{town}では、見守りを続けている。\n",
                                                    encoding="utf-8")
        build_index(data)
        shas.append(read_manifest(data).chunks_sha256)
    assert len(set(shas)) == 3
    assert _dirs(data) == sorted(f"{PREFIX}{s}" for s in shas[1:])
    assert _open(data).contains("北野町では")


def test_a_missing_index_is_built_on_open(data):
    derived = data_paths(data)["derived"]
    for p in derived.iterdir():
        shutil.rmtree(p)
    index = _open(data)
    assert index.source == "saved" and index.contains("週3回")
    assert _dirs(data) == [f"{PREFIX}{read_manifest(data).chunks_sha256}"]


def test_an_index_of_another_store_is_replaced(data):
    derived = data_paths(data)["derived"]
    sha = read_manifest(data).chunks_sha256
    (derived / f"{PREFIX}{sha}").rename(derived / f"{PREFIX}{'0' * 64}")
    assert _open(data).contains("商店街")
    assert _dirs(data) == [f"{PREFIX}{sha}"]  # the stale one is gone


def test_a_store_copied_without_its_index_gets_one(data, tmp_path):
    """A replica receives chunks.jsonl and manifest.json only."""
    replica = load_settings(data_dir=tmp_path / "replica", corpus_dir=data.corpus_dir)
    data_paths(replica)["dir"].mkdir()
    for name in ("chunks", "manifest"):
        data_paths(replica)[name].write_bytes(data_paths(data)[name].read_bytes())
    assert _open(replica).contains("居場所") and _dirs(replica) == _dirs(data)


@pytest.mark.parametrize("damage", [
    lambda d: (d / "postings.npy").write_bytes((d / "postings.npy").read_bytes()[:-7]),
    lambda d: (d / "keys.npy").write_bytes(b"\x93NUMPY garbage" * 9),
    lambda d: (d / "texts.utf8").unlink(),
    lambda d: (d / "meta.json").write_text("{", encoding="utf-8"),
    lambda d: (d / "starts.npy").write_bytes(  # same size, other numbers: the checksum
        (d / "starts.npy").read_bytes()[:-8] + np.int64(5).tobytes()),
], ids=["cut-postings", "garbage-keys", "no-texts", "bad-meta", "changed-starts"])
def test_a_damaged_index_is_rebuilt_not_a_crash(data, damage):
    sha = read_manifest(data).chunks_sha256
    directory = data_paths(data)["derived"] / f"{PREFIX}{sha}"
    chunks = len(load_store(data_paths(data)["chunks"])[0])
    assert TermIndex.load(directory, sha, chunks) is not None
    damage(directory)
    assert TermIndex.load(directory, sha, chunks) is None
    index = _open(data)
    assert index.source == "saved" and index.contains("空き店舗") and not index.contains("京都")
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    assert meta["sha256"] == sha


def test_an_unwritable_data_dir_still_answers(data):
    derived = data_paths(data)["derived"]
    shutil.rmtree(derived)
    derived.write_text("not a directory", encoding="utf-8")
    index = _open(data)
    assert index.source == "built" and index.contains("空き店舗")
    # The chunk store is untouched, and ingest still works (the index is then only logged).
    atomic_write(data_paths(data)["manifest"], data_paths(data)["manifest"].read_text("utf-8"))
    assert build_index(data).chunks >= 1
