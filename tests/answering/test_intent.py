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
