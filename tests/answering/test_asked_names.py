"""Questions asking for a name, and whether passages give one (real Sudachi)."""

from __future__ import annotations

import pytest

from tsunagari.answering.asked_names import AskedName, asked_name, states_name
from tsunagari.answering.scope import ScopeChecker
from tsunagari.japanese import default_tokenizer
from tsunagari.types import Chunk


@pytest.fixture(scope="module")
def morphemes():
    return default_tokenizer().morphemes


@pytest.mark.parametrize("question,thing,person", [
    ("潮見原市の担当課長の氏名を教えてください。", "担当課長", True),
    ("豊島区の居場所を運営している学生団体の名前は？", "学生団体", False),
    ("協賛している企業の社名は？", "企業", False),
    ("この取組を指導した先生は誰ですか", "先生", True),
])
def test_the_thing_whose_name_is_asked(morphemes, question, thing, person):
    assert asked_name(question, morphemes) == AskedName(thing, person)


@pytest.mark.parametrize("question", [
    "講演したのは誰ですか？", "南箕輪村の「転入者歓迎のつどい」は誰が開いていますか？",
    "この冊子って誰に向けたものなの？", "会議の名前の付け方の工夫は？",
])
def test_questions_that_do_not_ask_for_a_name(morphemes, question):
    assert asked_name(question, morphemes) is None


def test_a_role_or_an_anonymised_speaker_is_no_persons_name(morphemes):
    texts = ["孤独・孤立対策担当 A氏：民生委員と地図を広げて支援対象者を特定しています。",
             "民生委員から寄せられた「冬の間に誰とも話さない人がいる」という報告をもとに設立した。"]
    assert not states_name(texts, AskedName("民生委員", True), morphemes)
    assert states_name(["学識有識者（富山大学立瀬助教）への訪問"], AskedName("先生", True), morphemes)


def test_a_thing_is_named_only_in_a_sentence_about_it(morphemes):
    texts = ["地元スーパーの店舗に相談窓口の案内を置いた。", "「上越市つながり応援プラットフォーム」を設立した。"]
    assert not states_name(texts, AskedName("地元スーパー", False), morphemes)
    assert states_name(texts, AskedName("プラットフォーム", False), morphemes)
    # The question's own names do not answer it.
    assert not states_name(["上越市の大学と連携した。"], AskedName("大学", False), morphemes, ["上越市"])


def test_the_scope_checker_declines_a_name_its_passages_do_not_give(morphemes):
    chunks = [Chunk("a", "d", "t", "地元スーパーの店舗に相談窓口の案内を置いてもらった。", (3,))]
    checker = ScopeChecker.from_chunks(chunks, morphemes)
    passages = [c.text for c in chunks]
    verdict = checker.check("地元スーパーの店名を教えて", passages)
    assert verdict.abstain and verdict.reason == "no-name"
    assert not checker.check("地元スーパーで何をしましたか", passages).abstain
