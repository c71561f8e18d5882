"""Structure-carrying chunks of the real report."""

import re

import pytest
from core_fixtures import report_chunks  # noqa: F401

from tsunagari.chunking.structure import nfkc
from tsunagari.japanese import split_sentences

# (section, municipality, point, printed page where the case starts, original report page)
CASES = [
    ("2-1-2", "仙台市", 1, 6, "15/125"),
    ("2-1-2", "富山県", 1, 6, "32/125"),
    ("2-1-2", "北九州市", 1, 6, "78/117"),
    ("2-2-2", "埼玉県", 2, 8, "23/126"),
    ("2-2-2", "江東区", 2, 8, "54/160"),
    ("2-2-2", "富山県", 2, 8, "33/125"),
    ("2-3-2", "徳島市", 3, 9, "25/95"),
    ("2-3-2", "岐阜県", 3, 9, "45/126"),
    ("2-3-2", "枚方市", 3, 10, "84/123"),
    ("2-4-2", "名張市", 4, 11, "42-45/123"),
    ("2-4-2", "北海道", 4, 11, "16/160"),
    ("2-4-2", "市原市", 4, 12, "98/126"),
    ("2-5-2", "北九州市", 5, 13, "77/117"),
    ("2-5-2", "生駒市", 5, 13, "84/125"),
    ("2-5-2", "座間市", 5, 13, "50/125"),
]


@pytest.mark.parametrize(("section", "name", "point", "page", "source_page"), CASES)
def test_every_case_has_municipality_point_page_and_source(
    report_chunks, section, name, point, page, source_page
):
    chunks = [c for c in report_chunks if c.section == section and c.municipality == name]
    assert chunks, f"no chunk for {name} in {section}"
    first = chunks[0]
    assert first.point == point
    assert first.page == page
    assert first.kind == "case"
    assert first.source_page == source_page
    assert first.source_report.startswith("株式会社")
    assert "（リンク）" not in first.source_report
    assert first.case.endswith(name) or name == "枚方市"
    # Every piece of a case repeats its label, so a quote can always be attributed.
    assert all(nfkc(c.text.split("\n")[0]) == nfkc(c.case) for c in chunks)


def test_hirakata_keeps_report_spelling_and_is_findable(report_chunks):
    c = next(c for c in report_chunks if c.municipality == "枚方市" and c.kind == "case")
    assert c.case == "C：牧方市"
    assert "枚方市" in c.index_text()


def test_a_case_never_shares_a_chunk_with_the_next(report_chunks):
    labels = re.compile(r"^[A-CＡ-Ｃ]：", re.M)
    for c in report_chunks:
        if c.kind == "case":
            assert len(labels.findall(c.text)) == 1, c.text[:80]


def test_interview_questions_stay_with_their_answers(report_chunks):
    interviews = [c for c in report_chunks if c.kind == "interview" and "ヒアリング者：" in c.text]
    assert len(interviews) >= 25
    for c in interviews:
        lines = c.text.split("\n")
        q = next(i for i, line in enumerate(lines) if line.startswith("ヒアリング者："))
        assert any(not line.startswith("ヒアリング者：") for line in lines[q + 1:]), c.text[:120]
        assert c.column and c.column_city and c.region and c.city_size == "小都市"


def test_column_metadata(report_chunks):
    cols = {(c.column, c.column_city, c.region) for c in report_chunks if c.column}
    assert ("コラム１", "A市", "中国地方") in cols
    assert ("コラム２", "B市", "近畿地方") in cols
    assert ("コラム３-１", "C市①", "四国地方") in cols
    assert ("コラム３-２", "C市②", "四国地方") in cols
    speakers = {s for c in report_chunks for s in c.speakers}
    assert {"保護担当 係長", "社会福祉協議会 係長", "福祉課 課長", "代表理事"} <= speakers


def test_splits_only_at_sentence_ends_and_keeps_footnoted_sentences_whole(report_chunks):
    text = "\n".join(c.text for c in report_chunks)
    assert "法第11条に規定するように" in text
    assert "とされており、今後の設立/運営推進へ向けては" in text
    assert "コラム１：A市（中国地方、小都市）" in text
    assert not re.search(r"\sF$", text, re.M)
    for prev, nxt in zip(report_chunks, report_chunks[1:]):
        if prev.section == nxt.section and prev.case == nxt.case and prev.kind != "table" \
                and nxt.text.split("\n")[0] == prev.text.split("\n")[0]:
            # Two pieces of one unit: the first ends at a sentence end.
            assert prev.text.rstrip()[-1] in "。？」）か", prev.text[-40:]


def test_headings_stay_in_chunk_text(report_chunks):
    text = "\n".join(c.text for c in report_chunks)
    for heading in ("＜既存会議体の基盤を転用＞", "～連携するメリットを提示する～",
                    "～「うちじゃない」を禁句に庁内の意識改革を実施～"):
        assert heading in text


def test_chunk_sizes_are_about_400_characters(report_chunks):
    sizes = [len(c.text) for c in report_chunks if c.kind != "table"]
    assert sum(sizes) / len(sizes) < 450
    assert max(sizes) < 1000


def test_pages_of_chunks_cover_the_report(report_chunks):
    pages = {p for c in report_chunks for p in c.pages}
    assert pages >= set(range(3, 32)) - {7}  # p.7 holds only the end of one case
    assert all(3 <= p <= 31 for p in pages)


def test_chunk_ids_are_stable_content_hashes(report_chunks):
    from core_fixtures import REPORT

    from tsunagari.chunking import chunk_document
    from tsunagari.loaders import load_document

    again = chunk_document(load_document(REPORT))
    assert [c.chunk_id for c in again] == [c.chunk_id for c in report_chunks]
    assert len({c.chunk_id for c in report_chunks}) == len(report_chunks)


def test_sentence_splitter_is_lossless_on_report():
    from core_fixtures import REPORT

    text = REPORT.read_text(encoding="utf-8")
    assert "".join(split_sentences(text)) == text
