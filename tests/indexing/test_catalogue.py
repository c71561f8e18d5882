"""The case catalogue built from the real report's chunks, and from another report's."""

from __future__ import annotations

from core_fixtures import report_chunks  # noqa: F401

from tsunagari.chunking import chunk_document
from tsunagari.indexing.catalogue import build_catalogue
from tsunagari.types import Document


def test_every_case_and_column_is_an_entity(report_chunks):
    cat = build_catalogue(report_chunks)
    keys = [e.key for e in cat.entities]
    assert len(keys) == 16 and keys[:3] == ["仙台市", "富山県", "北九州市"]
    assert keys[-3:] == ["A市", "B市", "C市"]  # the two parts of コラム３ are one entity
    kinds = {e.key: e.body for e in cat.entities}
    assert kinds["富山県"] == kinds["北海道"] == "都道府県"
    assert kinds["仙台市"] == kinds["北九州市"] == "政令市"
    assert kinds["江東区"] == "特別区" and kinds["徳島市"] == kinds["B市"] == "市"
    kitakyushu = cat.get("北九州市")
    assert kitakyushu.points == (1, 5) and len(kitakyushu.cases) == 2
    assert any("77/117" in page for _, page in kitakyushu.sources)
    c = cat.get("C市")
    assert (c.kind, c.region, c.size) == ("column", "四国地方", "小都市")
    assert c.cases == ("コラム３-１", "コラム３-２") and c.points
    assert cat.get("枚方市").cases == ("C：牧方市",)  # the report's spelling is kept


def test_entities_are_found_by_their_names(report_chunks):
    cat = build_catalogue(report_chunks)
    assert [e.key for e in cat.find("コラム1のA市と仙台の違い")] == ["A市", "仙台市"]
    assert [e.key for e in cat.find("コラム２の市")] == ["B市"]
    assert cat.find("ABC市場の話") == []


def test_a_generic_report_gets_a_catalogue_too():
    text = ("# 第1章 事例\n\n## 1-1. 居場所づくり\n\nA：堺市\n\n空き店舗を居場所にした。"
            "地域の団体と運営している。\n\nB：港北区\n\n関係課の会議を月1回開いている。\n")
    doc = Document("sakai", "別の報告書", "x.md", text, "h", format="markdown")
    cat = build_catalogue(chunk_document(doc))
    assert [(e.key, e.body) for e in cat.entities] == [("堺市", "政令市"), ("港北区", "特別区")]
