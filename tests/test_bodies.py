"""The official list of local public bodies: kinds, prefectures, regions, readings, form-only names."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from tsunagari import bodies
from tsunagari.domain import body_kind


def test_the_list_holds_every_body_once_with_its_kind():
    with bodies.DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    kinds = Counter(r["kind"] for r in rows)
    # 総務省「全国地方公共団体コード」: 47 prefectures, 1,741 municipalities (23 of them special
    # wards), and the 175 wards of the designated cities.
    assert kinds["都道府県"] == 47 and kinds["特別区"] == 23 and kinds["行政区"] == 175
    assert kinds["政令指定都市"] + kinds["市"] == 792 and kinds["町"] == 743 and kinds["村"] == 183
    assert len({r["code"] for r in rows}) == len(rows)
    assert all(r["kana"] and r["prefecture"] for r in rows)
    designated = {r["name"] for r in rows if r["kind"] == "政令指定都市"}
    # The 20 designated cities: the public fact the list's wards must agree with.
    assert designated == {
        "札幌市", "仙台市", "さいたま市", "千葉市", "横浜市", "川崎市", "相模原市", "新潟市", "静岡市",
        "浜松市", "名古屋市", "京都市", "大阪市", "堺市", "神戸市", "岡山市", "広島市", "北九州市",
        "福岡市", "熊本市"}


@pytest.mark.parametrize(("name", "kind", "prefecture", "region", "reading"), [
    ("芽室町", "町", "北海道", "北海道地方", "メムロチョウ"),
    ("南箕輪村", "村", "長野県", "中部地方", "ミナミミノワムラ"),
    ("豊島区", "特別区", "東京都", "関東地方", "トシマク"),
    ("鳥取県", "都道府県", "鳥取県", "中国地方", "トットリケン"),
    ("豊岡市", "市", "兵庫県", "近畿地方", "トヨオカシ"),
    ("北九州市", "政令指定都市", "福岡県", "九州地方", "キタキュウシュウシ"),
    ("札幌市中央区", "行政区", "北海道", "北海道地方", "チュウオウク"),
    ("那覇市", "市", "沖縄県", "九州地方", "ナハシ"),
])
def test_lookup_gives_kind_prefecture_region_and_reading(name, kind, prefecture, region, reading):
    body = bodies.lookup(name)
    assert (body.kind, body.prefecture, body.region, body.reading, body.official) == \
        (kind, prefecture, region, reading, True)


def test_namesakes_need_their_prefecture_and_a_prefixed_name_finds_it():
    assert {b.prefecture for b in bodies.candidates("府中市")} == {"東京都", "広島県"}
    assert bodies.lookup("府中市").prefecture == ""  # ambiguous: kind only
    assert bodies.lookup("府中市").kind == "市"
    assert bodies.lookup("府中市", "広島県").region == "中国地方"
    assert bodies.lookup("広島県府中市").prefecture == "広島県"


def test_names_the_list_does_not_know_are_recognised_by_form_only():
    body = bodies.lookup("潮見原市", "静岡県")
    assert (body.kind, body.prefecture, body.region, body.official) == \
        ("市", "静岡県", "中部地方", False)
    assert bodies.lookup("緑ヶ丘町").kind == "町" and bodies.lookup("西山村").kind == "村"
    for word in ("市町村", "都道府県", "同市", "本市", "県内", "政令市", "市区町村", "A市", "みどり原市"):
        assert bodies.lookup(word) is None, word
    assert bodies.body_at_start("潮見原市（静岡県、人口約8万人）").name == "潮見原市"
    assert bodies.body_at_start("市民の声を聞く") is None
    assert bodies.body_at_start("はじめに") is None


def test_body_kind_of_domain_reads_the_list():
    assert [body_kind(n) for n in ("芽室町", "南箕輪村", "豊島区", "鳥取県", "熊本市", "潮見原市",
                                   "横浜市港北区", "A市")] == \
        ["町村", "町村", "特別区", "都道府県", "政令市", "市", "政令市", "市"]
    assert bodies.region_of("三重県") == "近畿地方" and len(bodies.prefectures()) == 47
