"""The 手引き memo over a real index of the report (Sudachi BM25 index on disk, real chunks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsunagari.answering.citations import footnote
from tsunagari.answering.retrieve import Retriever
from tsunagari.app.export import docx_footnotes
from tsunagari.config import load_settings
from tsunagari.errors import InputError
from tsunagari.playbook.memo import build_memo
from tsunagari.playbook.profile import Profile, parse_points
from tsunagari.playbook.render import memo_docx, memo_markdown, memo_to_dict
from tsunagari.service import ingest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def retriever(tmp_path_factory) -> Retriever:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("playbook-data"),
                             corpus_dir=ROOT / "corpus", embedder="none", retrieval_mode="bm25")
    ingest(settings)
    return Retriever.open(settings)


def memo_for(retriever: Retriever, **fields):
    return build_memo(retriever, Profile.from_mapping(fields))


def test_five_sections_with_the_difficulties_first(retriever):
    memo = memo_for(retriever, difficulties="③①")
    assert [s.point for s in memo.sections] == [3, 1, 2, 4, 5]
    assert [s.difficult for s in memo.sections] == [True, True, False, False, False]
    for s in memo.sections:
        assert s.why, s.point  # the report's 2-N-1 explanation
        assert 1 <= len(s.cases) <= 3


def test_every_quote_is_verbatim_and_cited(retriever):
    memo = memo_for(retriever, body="一般市", stage="運営が停滞している",
                    situation="民間団体が集まらず会議が形だけになっている")
    by_n = {c.n: c for c in memo.citations}
    quotes = [q for s in memo.sections for q in (*s.why, *(c.quote for c in s.cases), *s.advice)]
    assert quotes
    for q in quotes:
        assert q.text in by_n[q.n].chunk.text
        assert q.text in by_n[q.n].text
    assert sorted(by_n) == list(range(1, len(by_n) + 1))


def test_small_city_profile_puts_the_small_city_columns_first(retriever):
    memo = memo_for(retriever, body="一般市", population="5万人未満")
    for s in memo.sections:
        first = s.cases[0]
        assert first.kind == "column" and first.size == "小都市", (s.point, first.label)
        assert "同じ一般市・小都市の事例" in first.reasons


def test_prefecture_profile_gets_prefecture_cases_and_says_where_there_are_none(retriever):
    memo = memo_for(retriever, body="都道府県")
    firsts = {s.point: s.cases[0] for s in memo.sections}
    assert {p: c.body for p, c in firsts.items() if p != 5} == dict.fromkeys((1, 2, 3, 4), "都道府県")
    assert "同じ都道府県の事例" in firsts[1].reasons
    five = next(s for s in memo.sections if s.point == 5)
    assert any("都道府県の事例はありません" in n for n in five.notes)
    assert not any(c.similar for c in five.cases)  # shown, but not claimed to be similar


def test_towns_have_no_cases_in_the_report_and_the_memo_says_so(retriever):
    memo = memo_for(retriever, body="町村")
    assert all(any("町村の事例はありません" in n for n in s.notes) for s in memo.sections)


def test_department_and_region_are_reasons(retriever):
    memo = memo_for(retriever, department="企画", region="中国地方")
    one = next(s for s in memo.sections if s.point == 1)
    assert one.cases[0].key == "富山県" and "企画部門が担当" in one.cases[0].reasons
    two = next(s for s in memo.sections if s.point == 2)
    assert two.cases[0].key == "A市" and "同じ中国地方" in two.cases[0].reasons


def test_stalled_stage_gets_the_summarys_revival_advice(retriever):
    memo = memo_for(retriever, stage="運営が停滞している")
    advice = " ".join(q.text for s in memo.sections for q in s.advice)
    assert "粘り強く説得" in advice
    starting = memo_for(retriever, stage="これから立ち上げる")
    assert "粘り強く説得" not in " ".join(q.text for s in starting.sections for q in s.advice)
    summary = [c for c in memo.citations if "総括" in c.chunk.section_title]
    assert summary and all(c.chunk.chapter.startswith("第4章") for c in summary)


def test_free_text_picks_the_case_that_speaks_to_it(retriever):
    memo = memo_for(retriever, situation="民生委員との情報交換会を始めたい")
    four = next(s for s in memo.sections if s.point == 4)
    assert four.cases[0].key == "A市"
    assert any(r.startswith("状況の説明と共通する語") for r in four.cases[0].reasons)


def test_markdown_json_and_word_carry_every_citation(retriever):
    memo = memo_for(retriever, body="一般市", difficulties=[3])
    md = memo_markdown(memo, created="2025-01-01 09:00")
    assert md.count("\n## ポイント") == 5 and md.index("ポイント③") < md.index("ポイント①")
    for c in memo.citations:
        assert f"[^{c.n}]: " in md and f"[^{c.n}]" in md.split("\n[^1]: ")[0]
    data = json.loads(json.dumps(memo_to_dict(memo), ensure_ascii=False))
    assert [s["point"] for s in data["sections"]] == [3, 1, 2, 4, 5]
    assert data["sections"][0]["cases"][0]["reasons"]
    assert {c["n"] for c in data["citations"]} == {c.n for c in memo.citations}
    assert all(c["source"] and c["page"] for c in data["citations"])
    notes = docx_footnotes(memo_docx(memo, created="2025-01-01 09:00"))
    firsts = [n for n in notes if not n.startswith("注")]
    assert firsts == [footnote(c) for c in memo.citations]
    assert any("出典: " in n and " p." in n for n in firsts)  # original report and page


@pytest.mark.parametrize("fields, message", [
    ({"body": "村"}, "自治体の種類「村」は選べません"),
    ({"stage": "休止中"}, "段階「休止中」は選べません"),
    ({"difficulties": "6"}, "ポイント「6」が読めません"),
    ({"population": 50000}, "「population」は文字列で指定してください"),
    ({"size": "小"}, "知らない項目があります: size"),
    ({"situation": "あ" * 401}, "400 字以内"),
])
def test_bad_profiles_get_japanese_messages(fields, message):
    with pytest.raises(InputError, match=message):
        Profile.from_mapping(fields)


def test_profile_reading():
    p = Profile.from_mapping({"region": "四国地方", "difficulties": ["⑤", 2, "⑤"], "body": None})
    assert (p.region, p.difficulties, p.body) == ("四国", (5, 2), "")
    assert parse_points("3、1") == (3, 1) and parse_points("") == ()
    assert Profile().point_order() == (1, 2, 3, 4, 5)
