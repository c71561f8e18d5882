"""Page, footnote and line recovery on the real report."""

from core_fixtures import REPORT

from tsunagari.chunking.pages import recover


def _recover():
    return recover(REPORT.read_text(encoding="utf-8"), first_page=3)


def test_29_pages_numbered_3_to_31():
    _, pages = _recover()
    assert len(pages) == 29
    assert [p.number for p in pages] == list(range(3, 32))


def test_printed_page_numbers_21_and_23_fall_on_their_pages():
    raw = REPORT.read_text(encoding="utf-8").split("\n")
    anchors = {i + 1: int(line.strip()) for i, line in enumerate(raw) if line.strip() in ("21", "23")}
    assert set(anchors.values()) == {21, 23}
    lines, _ = _recover()
    # The printed number itself is dropped; the first line after it is on that page.
    for lineno, number in anchors.items():
        after = next(line for line in lines if line.lineno > lineno)
        assert after.page == number
    assert not any(line.text in ("21", "23") for line in lines)


def test_lone_footnote_numbers_are_not_pages_and_markers_are_removed():
    lines, pages = _recover()
    by_no = {line.lineno: line for line in lines}
    assert by_no[15].text.endswith("推進してきた。")  # "… F" marker removed
    assert by_no[15].refs == (1,)
    assert 17 not in by_no  # the lone "1" line is gone
    assert by_no[23].text.startswith("、今後の設立")  # "2、今後の…" lost its number
    assert by_no[756].text == "コラム１：A市（中国地方、小都市"
    assert by_no[758].text == "）"
    assert by_no[466].text.startswith("3 層の仕組み")  # body text that merely starts with a digit
    footnotes = {p.number: p.footnotes for p in pages if p.footnotes}
    assert [f[:2] for f in footnotes[3]] == ["1 ", "2 "]
    assert "小都市（人口15万人未満の市町村）" in footnotes[16][0]
    assert sum(len(f) for f in footnotes.values()) == 9
    assert not any("（リンク）" in line.text and line.text[:2] in ("1 ", "2 ") for line in lines)
