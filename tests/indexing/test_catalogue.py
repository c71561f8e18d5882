"""The case catalogue built from the real report's chunks, and from another report's."""

from __future__ import annotations

from core_fixtures import report_chunks  # noqa: F401

from tsunagari.chunking import chunk_document
from tsunagari.indexing.catalogue import build_catalogue
from tsunagari.types import Chunk, Document


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
    assert [(e.key, e.body) for e in cat.entities] == [("堺市", "政令市"), ("港北区", "政令市")]  # a ward of 横浜市


def _chunk(cid, doc, muni="", section="", pages=(1,), **kw):
    title = {"r1": "地方版孤独・孤立対策官民連携プラットフォームにおける水平的連携に関する事例集",
             "r2": "地方版孤独・孤立対策官民連携プラットフォーム 取組事例集（令和7年度）"}[doc]
    return Chunk(cid, doc, title, "本文。", pages, section=section, municipality=muni, **kw)


def test_the_same_body_in_two_reports_is_one_entity_with_each_reports_pages():
    cat = build_catalogue([
        _chunk("a", "r1", "北九州市", "2-1-2", (7,), point=1, chapter="第2章"),
        _chunk("b", "r1", "北九州市", "2-5-2", (13,), point=5, chapter="第2章"),
        _chunk("c", "r2", "北九州市", "2-1", (4, 5)),
        _chunk("d", "r2", "上越市", "3", (3,)),
    ])
    assert [e.key for e in cat.entities] == ["北九州市", "上越市"]
    kita = cat.get("北九州市")
    assert kita.doc_ids == ("r1", "r2") and kita.chunk_ids == ("a", "b", "c")
    assert [(p.doc_id, p.sections, p.pages) for p in kita.parts] == [
        ("r1", ("2-1-2", "2-5-2"), (7, 13)), ("r2", ("2-1",), (4, 5))]
    assert kita.pages == (7, 13)  # the first report's pages, never mixed with the second's
    assert kita.part("r2").pages == (4, 5) and kita.part("r3") is None
    assert kita.describe().startswith("第2章のアクション事例")
    assert cat.get("上越市").describe() == "事例（市）"
    assert [e.key for e in cat.of_report("r2")] == ["北九州市", "上越市"]
    assert cat.doc_ids == ("r1", "r2")


def test_sections_of_two_reports_do_not_collide():
    from tsunagari.answering.retrieve import _section_titles
    from tsunagari.indexing.catalogue import section_key

    one = _chunk("a", "r1", section="2-1", section_title="第2章／ポイント①")
    two = _chunk("b", "r2", section="2-1", section_title="事例の概要")
    assert section_key(one) != section_key(two)
    assert _section_titles([one, two]) == {("r1", "2-1"): "ポイント①", ("r2", "2-1"): "事例の概要"}


def test_another_reports_anonymised_city_is_its_own_entity():
    cat = build_catalogue([
        _chunk("a", "r1", column="コラム１", column_city="A市", section="3-1"),
        _chunk("b", "r2", column="コラム１", column_city="A市", section="5"),
    ])
    first, second = cat.entities
    assert first.key == "A市" and second.key.startswith("A市（") and second.doc_ids == ("r2",)
    assert cat.of_chunk(Chunk("b", "r2", "t", "x", (1,), column="コラム１", column_city="A市")) \
        is second
