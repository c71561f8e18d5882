"""Ranking metrics from ranx: hand-computed cases, agreement with the hand-written recall@k and
MRR@10 (random rankings, and the real systems on eval/qa.jsonl), and ranx kept off the import
path of the runner."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from core_fixtures import CORPUS, ROOT, index_dir  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagari.config import load_settings
from tsunagari.evaluation import runner
from tsunagari.evaluation.metrics import ranx_scores, recall_at_k, reciprocal_rank
from tsunagari.evaluation.systems import build_runners

KS = (1, 3, 5, 10)


def _dcg(ranks):
    return sum(1 / math.log2(r + 1) for r in ranks)


def _one(ids, texts, evidence):
    (scores,) = ranx_scores([(ids, texts, evidence)])
    return scores


def test_ndcg_counts_each_gold_source_once_at_its_first_passage():
    texts = ["無関係", "仙台市の会議", "富山県の会議", "仙台市の会議（再掲）"]
    ids = ["c1", "c2", "c3", "c4"]
    # Two of three gold sources, at ranks 2 and 3; the ideal has them at ranks 1, 2, 3.
    s = _one(ids, texts, ["仙台市", "富山県", "北九州市"])
    assert s["ndcg@10"] == pytest.approx(_dcg([2, 3]) / _dcg([1, 2, 3]), abs=1e-12)
    assert s["mrr@10"] == 0.5 and s["recall@1"] == 0.0 and s["recall@3"] == pytest.approx(2 / 3)
    # A second passage with the same source (rank 4) gains nothing.
    assert _one(ids, texts, ["仙台市"])["ndcg@10"] == pytest.approx(_dcg([2]), abs=1e-12)
    # One passage holding two sources gains two.
    both = _one(["x", "y"], ["無関係", "仙台市と富山県"], ["仙台市", "富山県"])
    assert both["ndcg@10"] == pytest.approx(2 / math.log2(3) / 2, abs=1e-12)
    assert both["recall@1"] == 0.0 and both["recall@3"] == 1.0
    # Only the top 10 count.
    late = _one([f"c{i}" for i in range(12)], ["x"] * 11 + ["仙台市"], ["仙台市"])
    assert late["ndcg@10"] == 0.0 and late["mrr@10"] == 0.0 and late["recall@10"] == 0.0


def test_empty_or_repeated_rankings():
    assert ranx_scores([]) == []
    assert _one([], [], ["仙台市"]) == {"mrr@10": 0.0, "ndcg@10": 0.0, **{
        f"recall@{k}": 0.0 for k in KS}}
    # The same id twice (e.g. two reports' vanilla splits) is still two ranks.
    s = _one(["v0", "v0"], ["x", "仙台市"], ["仙台市"])
    assert s["mrr@10"] == 0.5 and s["ndcg@10"] == pytest.approx(1 / math.log2(3), abs=1e-12)
    with pytest.raises(ValueError):
        _one(["a"], ["仙台市"], [" \u3000"])


WORDS = st.sampled_from(["仙台", "富山", "会議", "庁内", "連携", "北九州", " ", "\n"])
TEXT = st.lists(WORDS, max_size=6).map("".join)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(TEXT, max_size=14),
       evidence=st.lists(st.sampled_from(["仙台", "富山会議", "庁内連携", "北九州", "会議 庁内"]),
                         min_size=1, max_size=4))
def test_ranx_agrees_with_the_hand_written_metrics(texts, evidence):
    s = _one([f"c{i}" for i in range(len(texts))], texts, evidence)
    for k in KS:
        assert abs(s[f"recall@{k}"] - recall_at_k(texts, evidence, k)) <= 1e-9
    assert abs(s["mrr@10"] - reciprocal_rank(texts, evidence, 10)) <= 1e-9
    assert 0.0 <= s["ndcg@10"] <= 1.0 + 1e-12
    assert (s["ndcg@10"] > 0) == (s["mrr@10"] > 0)


def test_ranx_agrees_on_the_eval_set(index_dir):  # noqa: F811
    """Every retrieval-scored item of eval/qa.jsonl, for the three systems of the index."""
    items = runner.load_qa(ROOT / "eval" / "qa.jsonl")
    settings_ = load_settings(data_dir=index_dir, corpus_dir=CORPUS)
    for system in build_runners(settings_, ["tsunagari", "bm25", "dense"], 10):
        triples = []
        for item in items:
            row = system.ask(item)
            triples.append((item, row, runner.score_item(item, row)))
        judged = [(item, row, s) for item, row, s in triples if "mrr@10" in s]
        assert len(judged) >= 70
        ranked = ranx_scores([([r["chunk_id"] for r in row["retrieved"]],
                               [r["text"] for r in row["retrieved"]], item["evidence"])
                              for item, row, _ in judged])
        for (item, _, s), r in zip(judged, ranked):
            for key in [*(f"recall@{k}" for k in KS), "mrr@10"]:
                assert abs(r[key] - s[key]) <= 1e-9, (system.name, item["id"], key)
        runner.add_ranking_scores(triples)
        assert [s.get("ndcg@10") for _, _, s in judged] == [r["ndcg@10"] for r in ranked]
        assert all("ndcg@10" not in s for _, _, s in triples if "mrr@10" not in s)
        ndcg = runner.aggregate([s for _, _, s in triples])["ndcg@10"]
        print(f"{system.name}: nDCG@10 {ndcg:.3f}")
        assert 0.5 < ndcg <= 1.0


def test_runner_import_does_not_load_ranx():
    code = ("import sys, tsunagari.evaluation.runner, eval.__main__; "
            "print(sorted(m for m in ('ranx', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"
