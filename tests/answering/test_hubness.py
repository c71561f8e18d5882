"""Hubness control and case diversification over both reports (the first report's text and the
second report's PDF, chunked for real, real SudachiPy BM25; no dense retriever, so the rates are
measured in milliseconds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_fixtures import REPORT, ROOT

from tsunagari.answering import hubs
from tsunagari.answering.retrieve import Retriever, diversify, wants_many
from tsunagari.chunking import chunk_document
from tsunagari.config import load_settings
from tsunagari.indexing import bm25index
from tsunagari.japanese import default_tokenizer
from tsunagari.types import Chunk
from tsunagari.loaders import load_document

SECOND = ROOT / "tests" / "fixtures" / "reports" / "pf-torikumi-jireishu.pdf"
DOCS = {"chiho-pf-suiheiteki-renkei-jireishu", "pf-torikumi-jireishu"}


@pytest.fixture(scope="module")
def index():
    chunks = chunk_document(load_document(REPORT)) + chunk_document(load_document(SECOND))
    tok = default_tokenizer()
    built = bm25index.build([tok(c.index_text()) for c in chunks])
    return chunks, built, tok


def _retriever(index, tmp: Path, gamma: float, sha: str = "") -> Retriever:
    chunks, built, tok = index
    settings = load_settings(data_dir=tmp, retrieval_mode="bm25", hub_gamma=gamma)
    return Retriever(settings, chunks, built.bm25, None, tok, built.idf, store_sha256=sha)


def _search_rates(r: Retriever) -> dict[str, float]:
    """What users see: each passage's share of unrelated probes in the answer's top 5."""
    return hubs.hub_rates(r.chunks, hubs.probes(r.chunks),
                          lambda q: [h.chunk.chunk_id for h in r.search(q, k=hubs.PROBE_K)])


def test_probes_come_from_every_report_and_are_also_asked_as_questions(index):
    chunks = index[0]
    plain, asked = hubs.probes(chunks), hubs.question_probes(chunks)
    assert {doc for _, (doc, _) in plain} == DOCS
    assert len(plain) > 150 and len(asked) > len(plain)
    # Probes of a case know their case; C市① and C市② are one column city.
    origins = {o for _, o in plain}
    assert ("pf-torikumi-jireishu", "上越市") in origins
    assert ("chiho-pf-suiheiteki-renkei-jireishu", "C市") in origins
    assert not any(o[1].endswith(("①", "②")) for o in origins)


def test_a_passage_ranked_first_for_everything_is_a_hub_of_unrelated_probes_only(index):
    chunks = index[0]
    joetsu = next(c for c in chunks if c.municipality == "上越市")
    probe_list = hubs.probes(chunks)
    rates = hubs.hub_rates(chunks, probe_list, lambda q: [joetsu.chunk_id])
    assert rates[joetsu.chunk_id] == 1.0
    assert all(v == 0.0 for cid, v in rates.items() if cid != joetsu.chunk_id)
    # Its own probes do not count: ranking it only for them makes it no hub at all.
    own = {p for p, o in probe_list if o == hubs.origin(joetsu)}
    assert own
    rates = hubs.hub_rates(chunks, probe_list, lambda q: [joetsu.chunk_id] if q in own else [])
    assert rates[joetsu.chunk_id] == 0.0


def test_the_penalty_lowers_how_often_the_hubs_reach_the_top_five(index, tmp_path):
    plain = _retriever(index, tmp_path, gamma=0.0)
    penalised = _retriever(index, tmp_path, gamma=1.0)
    factors = penalised.hub_factors()["bm25"]
    assert plain.hub_factors() == {}
    assert 3 <= len(factors) <= len(index[0]) // 4  # a few hubs, not every passage
    assert all(0 < f < 1 for f in factors.values())
    before, after = _search_rates(plain), _search_rates(penalised)
    assert sum(after[c] for c in factors) < sum(before[c] for c in factors)
    top = max(factors, key=lambda c: before[c])
    assert after[top] < before[top]


def test_a_hub_that_is_the_best_match_or_the_named_case_keeps_its_place(index, tmp_path):
    penalised = _retriever(index, tmp_path, gamma=1.0)
    factors = penalised.hub_factors()["bm25"]
    by_id = {c.chunk_id: c for c in penalised.chunks}
    hub = next(by_id[c] for c in sorted(factors, key=factors.get) if by_id[c].municipality)
    # (the mildest-penalised hub of a case)
    plain = _retriever(index, tmp_path, gamma=0.0)
    # Its own heading: it is BM25's first, and stays the answer's first.
    heading = hub.heading.strip("＜＞【】 ")
    assert plain.search(heading, k=5)[0].chunk.chunk_id == hub.chunk_id
    assert penalised.search(heading, k=5)[0].chunk.chunk_id == hub.chunk_id
    # A question naming its case: its passages keep their full scores.
    q = f"{hub.municipality}の取組について教えて"
    keep = {h.chunk.chunk_id: h.score for h in plain.search(q, k=10)}
    got = {h.chunk.chunk_id: h.score for h in penalised.search(q, k=10)}
    assert got[hub.chunk_id] == pytest.approx(keep[hub.chunk_id])


def test_rates_are_saved_beside_the_index_and_read_back_without_measuring(
        index, tmp_path, monkeypatch):
    sha = "ab" * 32
    first = _retriever(index, tmp_path, gamma=1.0, sha=sha)
    factors = first.hub_factors()
    saved = list((tmp_path / "derived").glob(f"{hubs.PREFIX}{sha}-*.json"))
    assert len(saved) == 1

    def no_measuring(*args, **kwargs):
        raise AssertionError("rates measured again")

    monkeypatch.setattr(hubs, "hub_rates", no_measuring)
    assert _retriever(index, tmp_path, gamma=1.0, sha=sha).hub_factors() == factors
    # Another chunk store's rates are not read (and are replaced when it measures).
    monkeypatch.undo()
    _retriever(index, tmp_path, gamma=1.0, sha="cd" * 32).hub_factors()
    names = [p.name for p in (tmp_path / "derived").glob(f"{hubs.PREFIX}*.json")]
    assert len(names) == 1 and names[0].startswith(f"{hubs.PREFIX}{'cd' * 32}-")


def test_a_list_question_puts_each_case_of_each_report_first_once(index, tmp_path):
    r = _retriever(index, tmp_path, gamma=0.0)
    q = "社協と連携している自治体を全部挙げて"
    assert wants_many(q)
    by_id = {c.chunk_id: i for i, c in enumerate(r.chunks)}

    def label(cid):  # a case's entry under one point (北九州市 is under ① and ⑤), or a column
        c = r.chunks[by_id[cid]]
        return c.doc_id, (c.municipality + c.section) if c.municipality else (c.column or c.section)

    fused = [(h.chunk.chunk_id, h.score) for h in r.search(q.replace("全部挙げて", "は"), k=40)]
    labels = [label(cid) for cid, _ in fused]
    first_repeat = next(i for i, lab in enumerate(labels) if lab in labels[:i])
    assert len(set(labels[first_repeat:])) > 1 and set(labels[first_repeat:]) - set(
        labels[:first_repeat])  # undiversified: a case repeats before other cases appear
    order = [label(cid) for cid, _ in diversify(fused, r.chunks, by_id)]
    distinct = list(dict.fromkeys(order))
    assert order[:len(distinct)] == distinct  # every case once before any case twice
    assert {doc for doc, _ in distinct} == DOCS
    top = [label(h.chunk.chunk_id) for h in r.search(q, k=10)]
    assert len(set(top)) == len(top)


def test_a_large_index_is_measured_on_a_bounded_sample(monkeypatch):
    """One query embedding per probe: a 100k-chunk index must not need 270k of them."""
    chunks = [Chunk(str(i), "d", "t", f"第{i}の取組では、見守りの会議を毎月開いている。" * 4, (i,),
                    municipality=f"{i}市", heading=f"＜取組{i}の工夫＞") for i in range(3000)]
    monkeypatch.setattr(hubs, "MAX_PROBES", 500)
    got = hubs.question_probes(chunks)
    assert len(got) == 500
    assert got == hubs.question_probes(chunks)  # deterministic
    bodies = {int(where[1][:-1]) for _, where in got}
    assert len(bodies) >= 250 and max(bodies) >= 2700  # spread over the index, not its start
