"""Cases recognised in a report with another layout: the second-report fixture (Markdown and PDF),
and small reports of other shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagari.chunking import cases_of, chunk_document
from tsunagari.loaders import load_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reports"
BODIES = {  # section → (body, prefecture) as the fixture's headings give them
    "3": ("上越市", "新潟県"), "4": ("芽室町", "北海道"), "5": ("豊島区", "東京都"),
    "6": ("南箕輪村", "長野県"), "7": ("鳥取県", "鳥取県"), "8": ("潮見原市", "静岡県"),
    "9": ("豊岡市", "兵庫県"),
}
SUBHEADINGS = {"【取組の経緯】", "【推進体制】", "【工夫した点】", "【今後の課題】"}


@pytest.fixture(scope="module", params=["md", "pdf"])
def chunks(request):
    return chunk_document(load_document(FIXTURES / f"pf-torikumi-jireishu.{request.param}"))


def test_every_chunk_under_a_body_section_carries_that_body(chunks):
    assert cases_of(chunks) == tuple(name for name, _ in BODIES.values())
    for c in chunks:
        if c.section in BODIES:
            name, prefecture = BODIES[c.section]
            assert (c.municipality, c.region, c.kind) == (name, prefecture, "case"), c.text[:40]
            assert c.case == f"{c.section}. {name}"
            assert c.section_title.startswith(name)  # the case's section, not the subtitle
            assert c.heading in SUBHEADINGS and c.text.startswith(c.heading)
            assert c.city_size.startswith("人口約")
        else:
            assert c.municipality == "" and c.case == ""
        assert c.point is None  # the report declares no points: none are borrowed


def test_each_body_has_its_four_subheadings_and_pages(chunks):
    for name, _ in BODIES.values():
        assert {c.heading for c in chunks if c.municipality == name} == SUBHEADINGS
    assert {"1", "2", "10"} <= {c.section for c in chunks}


def test_cases_of_the_pdf_start_on_their_printed_pages():
    chunks = chunk_document(load_document(FIXTURES / "pf-torikumi-jireishu.pdf"))
    first = {c.municipality: c.page for c in reversed(chunks) if c.municipality}
    assert first == {"上越市": 3, "芽室町": 3, "豊島区": 4, "南箕輪村": 5, "鳥取県": 5,
                     "潮見原市": 6, "豊岡市": 6}
    assert max(c.pages[-1] for c in chunks if c.municipality == "芽室町") == 4


def test_other_shapes_name_bodies_too(tmp_path):
    path = tmp_path / "mimamori.md"
    path.write_text(
        "# 見守りの取組\n\n## 事例\n\n### 青森県十和田市の取組\n\n十和田市では、見守りを始めた。\n\n"
        "#### 体制\n\n社会福祉協議会と協働している。\n\n### 西山村（架空県、人口約3千人）\n\n"
        "西山村では、村内の商店と連携した。\n\n## おわりに\n\n各地の取組をまとめた。\n",
        encoding="utf-8")
    chunks = chunk_document(load_document(path))
    by_text = {c.text.splitlines()[-1]: c for c in chunks}
    towada = by_text["十和田市では、見守りを始めた。"]
    assert (towada.municipality, towada.region, towada.case) == ("十和田市", "青森県", "十和田市")
    sub = by_text["社会福祉協議会と協働している。"]
    assert (sub.municipality, sub.heading) == ("十和田市", "体制")  # a deeper heading stays inside
    nishiyama = by_text["西山村では、村内の商店と連携した。"]
    assert (nishiyama.municipality, nishiyama.city_size) == ("西山村", "人口約3千人")
    assert by_text["各地の取組をまとめた。"].municipality == ""  # the case ended


def test_points_only_when_the_report_declares_them(tmp_path):
    text = "## 1. 上越市（新潟県）\n\n### ＜ポイント2：首長の巻き込み＞\n\n市長が会議に出席した。\n"
    plain = tmp_path / "plain.md"
    plain.write_text(text, encoding="utf-8")
    assert {c.point for c in chunk_document(load_document(plain))} == {None}
    declared = tmp_path / "declared.md"
    declared.write_text(text, encoding="utf-8")
    declared.with_suffix(".toml").write_text('points = ["庁内連携", "首長の巻き込み"]\n',
                                             encoding="utf-8")
    (chunk,) = chunk_document(load_document(declared))
    assert (chunk.point, chunk.municipality) == (2, "上越市")
