"""The SQLite feedback store and its export as eval candidates."""

from __future__ import annotations

import json

import pytest

from tsunagari.app.feedback import FeedbackStore, citation_sources
from tsunagari.types import Chunk, Citation

EVAL_KEYS = {"id", "question", "answerable", "reference", "sources", "evidence", "keywords",
             "tags"}


def _cits():
    c = Chunk("c1", "d", "t", "x", (6,), section="2-1-2", municipality="仙台市")
    k = Chunk("c2", "d", "t", "y", (20,), section="3-1", column="コラム１", column_city="A市")
    return citation_sources([Citation(1, c, "引用一。", 6, (6,)), Citation(2, k, "引用二。", 20, (20,))])


def test_add_updates_one_row_per_answer(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite")
    rid = store.add("s1-t1", "問い", "回答[1]\n\n**出典**\n- [1]", rating=1, citations=_cits())
    assert store.add("s1-t1", "問い", comment="良い") == rid  # comment later, same row
    assert store.add("s1-t1", "問い", rating=None) == rid  # None keeps the stored rating
    (r,) = store.list()
    assert (r.rating, r.comment, r.question) == (1, "良い", "問い")
    assert r.citations[0]["municipality"] == "仙台市" and r.citations[1]["column"] == "コラム１"
    store.add("s1-t2", "二つ目", "回答", rating=0)
    assert [x.key for x in store.list(rating=0)] == ["s1-t2"]
    assert len(store.list(limit=1)) == 1
    with pytest.raises(ValueError):
        store.add("s1-t3", "q", rating=5)


def test_store_for_settings_lives_in_data_dir(tmp_path):
    from tsunagari.config import load_settings

    store = FeedbackStore.for_settings(load_settings(data_dir=tmp_path / "data"))
    assert store.path == tmp_path / "data" / "feedback.sqlite" and store.path.exists()


def test_export_eval_candidates_in_eval_format(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite")
    history = [{"role": "user", "content": "仙台市は？"}, {"role": "assistant", "content": "…"}]
    store.add("a", "その市では他に？", "回答本文[1]\n\n**出典**\n- [1] 仙台市", rating=1,
              history=history, citations=_cits(), standalone_question="仙台市では他に？")
    store.add("b", "宇宙の話は？", "見つかりませんでした。", rating=0, comment="答えてほしい",
              abstained=True)
    store.add("c", "評価なし", "回答")  # neither rating nor comment: not a candidate
    path = tmp_path / "out" / "candidates.jsonl"
    assert store.export_eval_candidates(path) == 2
    up, down = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for item in (up, down):
        assert EVAL_KEYS <= item.keys() and item["tags"][0] == "feedback"
    assert up["id"] == "fb-0001" and up["history"] == history and up["answerable"] is True
    assert up["reference"] == "回答本文[1]" and "followup" in up["tags"]
    assert up["sources"] == [{"section": "2-1-2", "page": 6, "municipality": "仙台市"},
                             {"section": "3-1", "page": 20, "column": "コラム１"}]
    assert up["feedback"]["rating"] == "up"
    assert up["feedback"]["standalone_question"] == "仙台市では他に？"
    assert "history" not in down and down["answerable"] is False and down["reference"] == ""
    assert down["sources"] == [] and down["feedback"] == {**down["feedback"], "rating": "down",
                                                          "comment": "答えてほしい"}


def test_candidates_load_with_the_eval_runner(tmp_path):
    runner = pytest.importorskip("tsunagari.evaluation.runner")
    store = FeedbackStore(tmp_path / "fb.sqlite")
    store.add("a", "問い", "回答", rating=1)
    path = tmp_path / "c.jsonl"
    store.export_eval_candidates(path)
    (item,) = runner.load_qa(path)
    assert item["question"] == "問い" and item["tags"] == ["feedback"]
