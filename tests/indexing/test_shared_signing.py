"""Signed manifests: a replica uses the store published in Chroma only when it is signed with the
key the ingesting machines hold (HMAC-SHA256); otherwise it keeps its current copy (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tsunagari.config import load_settings
from tsunagari.errors import ConfigError, UntrustedStoreError
from tsunagari.indexing import shared
from tsunagari.indexing.store import data_paths, read_manifest
from tsunagari.service import ServiceHolder, ingest, open_service

ROOT = Path(__file__).resolve().parents[2]
KEY = "k-" + uuid.uuid4().hex
DOCS = {
    "sakai.md": "# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
    "nabari.md": "# 名張市のまちの保健室\n\n名張市では、まちの保健室が地域の相談を受けている。\n",
}
QUESTION = "堺市の居場所はどこで開いていますか"

# The issue's attack, by a process with no tsunagari settings and no tsunagari code: rewrite one
# chunk row, re-address its part, recompute the manifest's checksum, replace the manifest record.
ATTACK = r"""
import hashlib, json, sys, zlib
import chromadb
from chromadb.config import Settings

port, name = int(sys.argv[1]), sys.argv[2]
col = chromadb.HttpClient(host="127.0.0.1", port=port,
                          settings=Settings(anonymized_telemetry=False)).get_collection(name)
record = json.loads(col.get(ids=["manifest"], include=["documents"])["documents"][0])
got = col.get(ids=record["parts"], include=["documents"])
texts = {i: zlib.decompress(bytes.fromhex(d)).decode() for i, d in zip(got["ids"], got["documents"])}
parts = [texts[i] for i in record["parts"]]
victim = next(n for n, p in enumerate(parts) if "空き店舗" in p)
parts[victim] = parts[victim].replace("空き店舗で週3回", "駅前の民家で毎日")
new_id = "part-" + hashlib.sha256(parts[victim].encode()).hexdigest()
col.add(ids=[new_id], documents=[zlib.compress(parts[victim].encode(), 6).hex()],
        embeddings=[[0.0]], metadatas=[{"kind": "part"}])
record["parts"][victim] = new_id
record["manifest"]["chunks_sha256"] = hashlib.sha256("".join(parts).encode()).hexdigest()
col.upsert(ids=["manifest"], documents=[json.dumps(record, ensure_ascii=False)],
           embeddings=[[0.0]], metadatas=[{"kind": "manifest"}])
print("rewritten")
"""


@pytest.fixture()
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    for name, text in DOCS.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


@pytest.fixture()
def collection():
    return "sign_" + uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("TSUNAGARI_", "CHROMA_"))]:
        monkeypatch.delenv(key)


def settings_for(tmp_path, port, name, collection, corpus_dir=None, **kw):
    return load_settings(data_dir=tmp_path / name, corpus_dir=corpus_dir or tmp_path / "none",
                         chroma_host="127.0.0.1", chroma_port=port, shared_collection=collection,
                         embedder="none", retrieval_mode="bm25", replica_check_seconds=0, **kw)


def files(settings) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in data_paths(settings)["dir"].iterdir() if p.is_file()}


def attack(port: int, collection: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGARI_", "CHROMA_"))}
    env["ANONYMIZED_TELEMETRY"] = "False"
    out = subprocess.run([sys.executable, "-c", ATTACK, str(port), collection], env=env,
                         cwd="/", capture_output=True, text=True, timeout=120, check=False)
    assert out.stdout.strip() == "rewritten", out.stderr


def served(holder: ServiceHolder):
    answer = holder.get().answerer.ask(QUESTION)
    return " ".join(c.chunk.text for c in answer.citations), answer.notices


def test_a_wrong_key_unsigned_or_unverifiable_store_is_refused_and_the_copy_kept(
        tmp_path, corpus, module_chroma_server, collection):
    port = module_chroma_server
    a = settings_for(tmp_path, port, "a", collection, corpus, shared_signing_key=KEY)
    key_file = tmp_path / "signing.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    b = settings_for(tmp_path, port, "b", collection, shared_signing_key_file=key_file)
    ingest(a)
    assert shared.shared_version(a).signature.startswith("hmac-sha256:")
    assert shared.sync(b).state == "synced"
    assert "署名鍵で署名を確かめています" in shared.origin_line(b)
    kept = files(b)

    # Another machine publishes a changed store signed with another key.
    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、公民館で月1回の居場所を開いている。\n",
                                     encoding="utf-8")
    other = settings_for(tmp_path, port, "other", collection, corpus,
                         shared_signing_key="not-" + KEY)
    ingest(other)
    with pytest.raises(UntrustedStoreError, match="署名がこのマシンの署名鍵と一致しない") as exc:
        shared.sync(b)
    assert KEY not in str(exc.value)
    assert files(b) == kept
    # The replica still opens and answers from its copy, saying why.
    answer = open_service(b).answerer.ask(QUESTION)
    assert "空き店舗" in answer.citations[0].chunk.text
    assert any("署名を確かめられないため使わず" in n for n in answer.notices)
    assert files(b) == kept

    # Unsigned (a machine without the key): refused too.
    ingest(settings_for(tmp_path, port, "other", collection, corpus))
    assert shared.shared_version(a).signature == ""
    with pytest.raises(UntrustedStoreError, match="署名がないため"):
        shared.sync(b)
    assert files(b) == kept

    # The right key again: accepted, the notice goes.
    ingest(a)
    assert shared.sync(b).state == "synced"
    answer = open_service(b).answerer.ask(QUESTION)
    assert "公民館" in answer.citations[0].chunk.text and not answer.notices

    # A replica without a key cannot check a signed store: it refuses it and says what to set.
    c = settings_for(tmp_path, port, "c", collection)
    with pytest.raises(UntrustedStoreError, match="このマシンには署名鍵が設定されていない"):
        open_service(c)
    assert not data_paths(c)["chunks"].exists()
    # An unreadable key file is a clear configuration error.
    d = settings_for(tmp_path, port, "d", collection, shared_signing_key_file=tmp_path / "no")
    with pytest.raises(ConfigError, match="TSUNAGARI_SHARED_SIGNING_KEY_FILE"):
        shared.sync(d)


def test_unsigned_mode_when_neither_side_has_a_key_is_flagged_in_status(
        tmp_path, corpus, module_chroma_server, collection):
    a = settings_for(tmp_path, module_chroma_server, "a", collection, corpus)
    b = settings_for(tmp_path, module_chroma_server, "b", collection)
    ingest(a)
    assert shared.sync(b).state == "synced"
    for s in (a, b):
        assert "署名鍵が設定されていないため" in shared.origin_line(s)
    # Adding the key on the publisher re-signs the same store (nothing else uploaded).
    signed = settings_for(tmp_path, module_chroma_server, "a", collection, corpus,
                          shared_signing_key=KEY)
    stats = shared.publish(signed)
    assert stats.changed and stats.uploaded == 0
    assert shared.shared_version(a).signature


def test_the_issue_attack_is_refused_by_a_running_replica_when_signing_is_on(
        tmp_path, corpus, module_chroma_server, collection):
    port = module_chroma_server
    # Control: without signing the attack works (the replica serves the altered sentence).
    plain = collection + "_plain"
    ingest(settings_for(tmp_path, port, "pa", plain, corpus))
    plain_replica = ServiceHolder(settings_for(tmp_path, port, "pb", plain))
    assert "空き店舗で週3回" in served(plain_replica)[0]
    attack(port, plain)
    assert "駅前の民家で毎日" in served(plain_replica)[0]

    # With signing: the same attack on a signed store is refused; the answer stays the report's.
    a = settings_for(tmp_path, port, "a", collection, corpus, shared_signing_key=KEY)
    ingest(a)
    b = settings_for(tmp_path, port, "b", collection, shared_signing_key=KEY)
    replica = ServiceHolder(b)
    text, notices = served(replica)
    assert "空き店舗で週3回" in text and not notices
    kept = files(b)
    attack(port, collection)
    text, notices = served(replica)
    assert "空き店舗で週3回" in text and "駅前の民家" not in text
    assert any("署名を確かめられないため使わず" in n for n in notices)
    assert files(b) == kept and read_manifest(b).chunks_sha256 == read_manifest(a).chunks_sha256
    # A restarted replica opens its last good copy the same way.
    text, notices = served(ServiceHolder(b))
    assert "空き店舗で週3回" in text and notices
    # The ingesting machine republishes: the store is good again and the notice goes.
    (corpus / "extra.md").write_text("# 追加\n\n追加の報告では見守りを続けている。\n", encoding="utf-8")
    ingest(a)
    text, notices = served(replica)
    assert "空き店舗で週3回" in text and not notices
