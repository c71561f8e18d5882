"""Rollback protection, with a real `chroma run`: a validly signed but OLDER store put back into
Chroma (a copied record and its parts, replayed by a process with no tsunagari code), or one
with the same publication number but other content, is refused by a replica with a Japanese
message; it keeps answering from the version it holds, also after a restart (issue 19)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tsunagari.config import load_settings
from tsunagari.errors import UntrustedStoreError
from tsunagari.indexing import freshness, shared
from tsunagari.indexing.store import data_paths, read_manifest
from tsunagari.service import ServiceHolder, ingest

KEY = "k-" + uuid.uuid4().hex
QUESTION = "堺市の居場所はどこで開いていますか"
V1 = "# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n"
V2 = "# 堺市の居場所\n\n堺市では、公民館で月1回の居場所を開いている。\n"
V3 = "# 堺市の居場所\n\n堺市では、図書館で毎週の居場所を開いている。\n"

# Copy (dump) or put back (replay) the whole shared collection: the manifest record with its
# signature and every part, exactly as Chroma holds them. Plain chromadb, no tsunagari settings.
TOOL = r"""
import json, sys
import chromadb
from chromadb.config import Settings

mode, port, name, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
col = chromadb.HttpClient(host="127.0.0.1", port=port,
                          settings=Settings(anonymized_telemetry=False)).get_collection(name)
if mode == "dump":
    got = col.get(include=["documents", "metadatas"])
    json.dump({"ids": got["ids"], "documents": got["documents"], "metadatas": got["metadatas"]},
              open(path, "w"))
else:
    saved = json.load(open(path))
    col.upsert(ids=saved["ids"], documents=saved["documents"], metadatas=saved["metadatas"],
               embeddings=[[0.0]] * len(saved["ids"]))
print("done")
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("TSUNAGARI_", "CHROMA_"))]:
        monkeypatch.delenv(key)


def settings_for(tmp_path, port, name, collection, corpus_dir=None):
    return load_settings(data_dir=tmp_path / name, corpus_dir=corpus_dir or tmp_path / "none",
                         chroma_host="127.0.0.1", chroma_port=port, shared_collection=collection,
                         embedder="none", retrieval_mode="bm25", replica_check_seconds=0,
                         shared_signing_key=KEY)


def tool(mode: str, port: int, collection: str, path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGARI_", "CHROMA_"))}
    env["ANONYMIZED_TELEMETRY"] = "False"
    out = subprocess.run([sys.executable, "-c", TOOL, mode, str(port), collection, str(path)],
                         env=env, cwd="/", capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.stdout.strip() == "done", out.stderr


def files(settings) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in data_paths(settings)["dir"].iterdir()
            if p.is_file() and p.name != freshness.STATE_FILE}


def served(holder: ServiceHolder):
    answer = holder.get().answerer.ask(QUESTION)
    return " ".join(c.chunk.text for c in answer.citations), answer.notices


def corpus_with(tmp_path, name: str, text: str):
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    (d / "sakai.md").write_text(text, encoding="utf-8")
    return d


def test_a_replayed_older_signed_store_is_refused_and_the_copy_kept(
        tmp_path, module_chroma_server, collection="roll_" + uuid.uuid4().hex[:12]):
    port = module_chroma_server
    corpus = corpus_with(tmp_path, "corpus", V1)
    a = settings_for(tmp_path, port, "a", collection, corpus)
    ingest(a)
    v1 = shared.shared_version(a)
    assert v1.publication.sequence == 1 and v1.signature
    replica = ServiceHolder(settings_for(tmp_path, port, "b", collection))
    b = replica.settings
    assert "空き店舗で週3回" in served(replica)[0]
    old = tmp_path / "v1.json"
    tool("dump", port, collection, old)  # someone copies the signed v1 record and its parts

    corpus_with(tmp_path, "corpus", V2)
    ingest(a)
    assert shared.shared_version(a).publication.sequence == 2
    text, notices = served(replica)
    assert "公民館で月1回" in text and not notices
    kept, manifest = files(b), read_manifest(b)

    # The old signed version is put back: its signature is valid, but it is older.
    tool("replay", port, collection, old)
    back = shared.shared_version(b)
    assert back.publication.sequence == 1 and back.signature == v1.signature
    shared.check_signature(b, back)  # a genuine signature: only its age gives it away
    with pytest.raises(UntrustedStoreError, match="より古い版（公開番号 1") as exc:
        shared.sync(b)
    assert "公開番号 2" in str(exc.value)
    assert files(b) == kept and read_manifest(b) == manifest
    text, notices = served(replica)
    assert "公民館で月1回" in text and "空き店舗" not in text
    assert any("いま使っている版より古い版" in n for n in notices)
    # A restarted replica (its data dir remembers the number) refuses it just the same.
    text, notices = served(ServiceHolder(b))
    assert "公民館で月1回" in text and any("古い版" in n for n in notices)
    assert files(b) == kept

    # Another ingesting machine (same key) publishes on top of the put-back v1: number 2 again,
    # other content. The replica holding the first number 2 refuses it.
    c = settings_for(tmp_path, port, "c", collection, corpus_with(tmp_path, "other", V3))
    ingest(c)
    forked = shared.shared_version(c)
    assert forked.publication.sequence == 2 and forked.sha256 != manifest.chunks_sha256
    with pytest.raises(UntrustedStoreError, match="同じ公開番号 2 で内容が異なる"):
        shared.sync(b)
    assert files(b) == kept
    assert "公民館で月1回" in served(replica)[0]

    # The first ingesting machine republishes: a higher number than any seen, accepted.
    ingest(a)
    assert shared.shared_version(a).publication.sequence == 3
    text, notices = served(replica)
    assert "公民館で月1回" in text and not notices
    assert json.loads(freshness.state_path(b).read_text())["sequence"] == 3


def test_the_publication_number_is_under_the_signature(
        tmp_path, module_chroma_server, collection="rollsig_" + uuid.uuid4().hex[:12]):
    """Raising the number of an old record by hand breaks its signature."""
    port = module_chroma_server
    a = settings_for(tmp_path, port, "a", collection, corpus_with(tmp_path, "corpus", V1))
    ingest(a)
    version = shared.shared_version(a)
    collection_ = shared.store_collection(a)
    record = json.loads(collection_.get(ids=[shared.MANIFEST_ID],
                                        include=["documents"])["documents"][0])
    record["publication"]["sequence"] = 99
    collection_.upsert(ids=[shared.MANIFEST_ID], documents=[json.dumps(record)],
                       embeddings=[shared.DUMMY_EMBEDDING])
    bumped = shared.shared_version(a)
    assert bumped.publication.sequence == 99 and bumped.signature == version.signature
    b = settings_for(tmp_path, port, "b", collection)
    with pytest.raises(UntrustedStoreError, match="署名がこのマシンの署名鍵と一致しない"):
        shared.sync(b)
    assert not data_paths(b)["chunks"].exists()
    # The publisher puts its record back; republishing an unchanged store keeps its number.
    collection_.upsert(ids=[shared.MANIFEST_ID], documents=[json.dumps(
        {**record, "publication": version.publication.to_dict()})],
        embeddings=[shared.DUMMY_EMBEDDING])
    assert shared.shared_version(a).signature == version.signature
    # Republishing an unchanged store keeps its number (nothing new to order).
    assert not shared.publish(a).changed
    assert shared.shared_version(a).publication == version.publication
