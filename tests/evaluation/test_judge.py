"""The eval judge hook with fake chat models."""

from __future__ import annotations

import math

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from llm_fakes import FailingChatModel, RecordingChatModel

from tsunagari.answering.citations import answer_markdown
from tsunagari.evaluation.judge import judge, parse_score
from tsunagari.types import Answer, Chunk, Citation, Hit

HITS = [Hit(Chunk("c1", "d", "報告書", "庁内関係課長連携会議（8局12課）を発足した。", (7,),
                  municipality="富山県"), 1.0, 1)]
ANSWER = Answer("富山県は庁内をどう連携させましたか？", "富山県は課長連携会議を発足しました。[1]",
                False, (Citation(1, HITS[0].chunk, HITS[0].chunk.text, 7, (7,)),), tuple(HITS),
                mode="llm")


def test_judge_scores_both_axes_with_the_prompt_files():
    model = RecordingChatModel(responses=[
        '{"faithfulness": 1.0, "supported": 1, "total": 1, "reason": "資料どおり"}',
        '```json\n{"relevancy": 0.7, "reason": "概ね答えている"}\n```',
    ])
    scores = judge(ANSWER, HITS, model)
    assert scores == {"faithfulness": 1.0, "relevancy": 0.7}
    faith, rel = (m[0].content for m in model.seen)
    assert '<passage id="1">\n庁内関係課長連携会議（8局12課）を発足した。\n</passage>' in faith
    assert "富山県は課長連携会議を発足しました。[1]" in faith and "**出典**" not in faith
    assert "<question>\n富山県は庁内をどう連携させましたか？\n</question>" in rel


def test_judge_accepts_the_answer_json():
    row = {"question": ANSWER.question, "answer": answer_markdown(ANSWER), "abstained": False,
           "retrieved": [{"text": HITS[0].chunk.text}]}
    model = FakeListChatModel(responses=['{"faithfulness": 0.5}', '{"relevancy": 1}'])
    assert judge(row, row["retrieved"], model) == {"faithfulness": 0.5, "relevancy": 1.0}


def test_unreadable_or_failed_judgements_are_nan():
    scores = judge(ANSWER, HITS, FakeListChatModel(responses=["採点できません"]))
    assert all(math.isnan(v) for v in scores.values())
    scores = judge(ANSWER, HITS, FailingChatModel())
    assert all(math.isnan(v) for v in scores.values())


def test_declined_answers_are_not_judged():
    model = FailingChatModel(error=AssertionError("must not be called"))
    declined = Answer("q", "この資料には該当する記述が見つかりませんでした。", True, (), ())
    scores = judge(declined, [], model)
    assert model.calls == 0 and all(math.isnan(v) for v in scores.values())


def test_parse_score_scales_and_clips():
    assert parse_score('{"score": 0.9}', "relevancy") == 0.9
    assert parse_score('{"relevancy": 85}', "relevancy") == 0.85
    assert math.isnan(parse_score('{"relevancy": -1}', "relevancy"))
    assert parse_score('前置き {"x": 1} {"faithfulness": 0.25}', "faithfulness") == 0.25
