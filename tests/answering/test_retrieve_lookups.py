"""The retriever's per-question work uses lookups built once per index; they must pick exactly
what the per-chunk rules pick (real report, real SudachiPy BM25)."""

import json

import numpy as np
from core_fixtures import ROOT, index_dir, service  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagari.answering.retrieve import Retriever, matches
from tsunagari.indexing.catalogue import entity_key
from tsunagari.types import Filters

QUESTIONS = [json.loads(line)["question"]
             for line in (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
FILTERS = [Filters(), Filters(point=3), Filters(municipality="仙台市"), Filters(column="A市"),
           Filters(point=2, doc_id="chiho-pf-suiheiteki-renkei-jireishu"), Filters(chapter="第3章")]


def _focus_by_rule(retriever, query, order, allowed):
    """What focus() picked when it tested every chunk against the question's targets."""
    names, points, sections = retriever.focus_targets(query)
    if not names and not points and not sections:
        return []
    rank = {cid: i for i, cid in enumerate(order)}
    picked = [c.chunk_id for i, c in enumerate(retriever.chunks)
              if allowed[i] and ((c.municipality in names) or (entity_key(c) in names)
                                 or (c.point in points and c.kind in ("case", "table"))
                                 or (c.doc_id, c.section) in sections)]
    return sorted(picked, key=lambda cid: rank.get(cid, len(rank)))


def test_filters_mask_equals_the_per_chunk_rule_and_cannot_be_changed(service):
    retriever = service.retriever
    for filters in FILTERS:
        mask = retriever.allowed(filters)
        assert mask.tolist() == [matches(c, filters) for c in retriever.chunks]
        assert not mask.flags.writeable
    assert retriever.allowed(Filters(point=3)).sum() < len(retriever.chunks)


def test_focus_picks_what_the_per_chunk_rule_picks(service):
    retriever = service.retriever
    order = [c.chunk_id for c in retriever.chunks[::-1]]
    picked_any = 0
    for q in [*QUESTIONS, "都道府県が主体の事例は？", "小さな町の事例を全部挙げて", "総括の内容は？"]:
        for filters in (Filters(), Filters(point=3)):
            allowed = retriever.allowed(filters)
            expected = _focus_by_rule(retriever, q, order, allowed)
            assert retriever.focus(q, order, allowed) == expected, q
            picked_any += bool(expected)
    assert picked_any > 20


def test_bm25_ranking_is_the_stable_order_of_scoring_chunks(service):
    retriever = service.retriever
    for q in QUESTIONS:
        for filters in (Filters(), Filters(point=1)):
            allowed = retriever.allowed(filters)
            scores = np.where(allowed, retriever.bm25.get_scores(retriever.query_tokens(q)), 0.0)
            order = np.argsort(-scores, kind="stable")[:50]
            assert retriever.bm25_ranking(q, allowed, 50) == [int(i) for i in order
                                                             if scores[i] > 0]


class _FixedScores:
    """Stands in for bm25s: the ranking logic around it is what is tested here."""

    def __init__(self, scores):
        self.scores = scores

    def get_scores(self, _tokens):
        return self.scores


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]), min_size=1,
                       max_size=300),
       n=st.integers(min_value=1, max_value=80), seed=st.integers(0, 2**16))
def test_top_n_with_ties_is_the_stable_order(service, values, n, seed):
    scores = np.array(values)
    allowed = np.random.default_rng(seed).random(len(values)) < 0.8
    retriever = service.retriever
    stub = Retriever(retriever.settings, retriever.chunks, _FixedScores(scores), None,
                     retriever.tokenizer, {})
    masked = np.where(allowed, scores, 0.0)
    expected = [int(i) for i in np.argsort(-masked, kind="stable")[:n] if masked[i] > 0]
    assert stub.bm25_ranking("孤独", allowed, n) == expected
