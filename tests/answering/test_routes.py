"""The answer engine on the real index: every qualifying case, side by side, profiles, facts,
typed follow-ups, readable quotes — each sentence verbatim with its [n]."""

from __future__ import annotations

import re

import pytest
from core_fixtures import index_dir, service  # noqa: F401

from tsunagari.answering.citations import answer_markdown

_MARK = re.compile(r"\[(\d+)\]")


def _cases(ans) -> set[str]:
    return {c.chunk.municipality or re.sub(r"[①②]$", "", c.chunk.column_city)
            for c in ans.citations}


def _quotes_are_verbatim(ans) -> None:
    passages = {c.n: c.chunk.text for c in ans.citations}
    for line in ans.body.splitlines():
        for quote, n in re.findall(r"- (?:\S+ )?(.+?)\[(\d+)\]$", line):
            assert quote in passages[int(n)] or quote.split(" ", 1)[-1] in passages[int(n)]


def test_enumeration_lists_every_qualifying_case_with_a_count(service):
    ans = service.answerer.ask("都道府県が主体になっている事例をもれなく教えてください")
    assert not ans.abstained and ans.body.startswith("該当する事例は4件です。")
    assert _cases(ans) == {"富山県", "埼玉県", "岐阜県", "北海道"}
    _quotes_are_verbatim(ans)
    ans = service.answerer.ask("社協（社会福祉協議会）が関わっている事例を全部教えてください")
    assert {"名張市", "北九州市", "A市", "C市"} <= _cases(ans)


def test_negation_excludes_the_negated_side(service):
    ans = service.answerer.ask("これまで付き合いのなかった民間団体を巻き込んだ事例のうち、"
                               "県の事例ではなく市の事例だけ知りたいです。")
    assert {"徳島市", "枚方市"} <= _cases(ans) and "岐阜県" not in _cases(ans)


def test_comparison_cites_both_in_a_table(service):
    ans = service.answerer.ask("仙台市と名張市の取り組みの違いは何ですか")
    assert {"仙台市", "名張市"} <= _cases(ans)
    assert "| 事例 | 資料の記述 | 本資料のページ |" in ans.body


@pytest.mark.parametrize("city", ["A市", "B市", "C市"])
def test_anonymised_cities_get_a_profile(service, city):
    ans = service.answerer.ask(f"{city}はどんな自治体で、何をしたのですか")
    assert not ans.abstained and _cases(ans) == {city}
    assert "小都市" in ans.body and len(ans.citations) >= 2
    assert all(_MARK.search(line) for line in ans.body.splitlines()
               if line.startswith("- "))


def test_source_fact_comes_from_table_2_6(service):
    ans = service.answerer.ask("徳島市のアクション事例は、どの報告書から引用されたものですか？")
    assert "25/95" in ans.body.splitlines()[0] and ans.citations[0].chunk.kind == "table"


def test_typed_follow_up_answers_the_new_question_for_that_entity(service):
    history = [{"role": "user", "content": "首長やキーパーソンを巻き込んだ例はありますか？"},
               {"role": "assistant", "content": "埼玉県はトップセミナーを開き、江東区はコアメンバーを"
                                                "抽出しました。"}]
    ans = service.answerer.ask("その区は、この先PFをどう広げていくのですか？", history=history)
    assert ans.standalone_question.startswith("江東区") and _cases(ans) == {"江東区"}


def test_dependent_sentences_are_quoted_with_their_context(service):
    ans = service.answerer.ask("北九州市の庁内連携会議について教えて")
    text = answer_markdown(ans)
    assert not re.search(r"^- (?:その|この|また、)", text, re.M)
