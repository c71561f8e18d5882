"""Question intents over the real catalogue: kinds, conditions, negation."""

from __future__ import annotations

import pytest
from core_fixtures import report_chunks  # noqa: F401

from tsunagari.answering.intent import classify
from tsunagari.indexing.catalogue import build_catalogue


@pytest.fixture(scope="module")
def catalogue(report_chunks):
    return build_catalogue(report_chunks)


@pytest.mark.parametrize(("question", "kind"), [
    ("都道府県の事例を全部教えてください", "enumerate"),
    ("社協が関わっている事例はどこですか？全部知りたい", "enumerate"),
    ("仙台市と北九州市の取り組みの違いは？", "compare"),
    ("B市はどんな自治体で、何をしたのですか", "profile"),
    ("生駒市の事例は元はどの報告書の何ページですか", "fact"),
    ("福祉以外の部署を巻き込むには？", "howto"),
])
def test_kinds(catalogue, question, kind):
    assert classify(question, catalogue).kind == kind


def test_conditions_and_negation(catalogue):
    it = classify("政令市でも県でもない、一般の市の事例だけ。コラムの市は除いてください", catalogue)
    assert it.kind == "enumerate" and it.conditions.bodies == {"市"}
    assert it.excluded.bodies == {"政令市", "都道府県"} and it.excluded.kinds == {"column"}
    it = classify("埼玉のような関東の県は除いて、それ以外の都道府県の事例は？", catalogue)
    assert it.conditions.bodies == {"都道府県"} and not it.excluded.bodies
    assert [e.key for e in it.excluded_entities] == ["埼玉県"]
    it = classify("日本総研の報告書から引いた事例を全部", catalogue)
    assert it.conditions.reports == {"日本総合研究所"}
    it = classify("首長のトップダウンではなくボトムアップで進めた例は？", catalogue)
    assert "トップダウン" not in it.query and it.negated


@pytest.mark.parametrize(("question", "bodies", "entities"), [
    ("ポイント②の事例から、富山県以外を教えて", set(), ["富山県"]),
    ("県以外は？ポイント③の事例で", {"都道府県"}, []),
    ("新しい民間団体を巻き込む事例で、都道府県のものじゃないのはどれ？", {"都道府県"}, []),
])
def test_casual_exclusions(catalogue, question, bodies, entities):
    """X以外 negates when X names a case or a kind of case; じゃない like ではない."""
    it = classify(question, catalogue)
    assert it.excluded.bodies == bodies
    assert [e.key for e in it.excluded_entities] == entities


@pytest.mark.parametrize("question", ["福祉以外の部署を巻き込むには？",
                                      "首長の理解が大事なんじゃない？",
                                      "行政以外の担い手はどう見つけた？"])
def test_words_that_only_look_like_exclusions(catalogue, question):
    it = classify(question, catalogue)
    assert not it.excluded and not it.excluded_entities


def test_exclusions_name_second_report_bodies(two_report_index):
    """The same rule over another report's bodies (from its layout, not from a list)."""
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    service = open_service(load_settings(data_dir=two_report_index["data"],
                                         corpus_dir=two_report_index["corpus"]))
    it = classify("表1の自治体で、鳥取県以外のところは？", service.retriever.catalogue)
    assert [e.key for e in it.excluded_entities] == ["鳥取県"]


def test_a_quoted_refusal_is_not_an_exclusion(catalogue):
    it = classify("他の課に協力を頼むと「うちの担当じゃない」と断られてしまいます。"
                  "職員の意識を変えた自治体の例はありますか？", catalogue)
    assert not it.negated and "担当" in it.query


def test_towns_and_villages_count_as_small_in_any_report(two_report_index):
    """「小さい自治体」: the second report gives its 町 and 村 a population, not the first
    report's 小都市; a 町村 is small whatever its stated size."""
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    cat = open_service(load_settings(data_dir=two_report_index["data"],
                                     corpus_dir=two_report_index["corpus"])).retriever.catalogue
    it = classify("町や村の事例はありますか？小さい自治体の参考にしたい", cat)
    assert sorted(e.key for e in cat.entities if it.conditions.match(e)) == ["南箕輪村", "芽室町"]
    small = classify("小さい自治体の事例を全部", cat)
    keys = {e.key for e in cat.entities if small.conditions.match(e)}
    assert {"芽室町", "南箕輪村", "A市"} <= keys and "鳥取県" not in keys
