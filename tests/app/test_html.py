"""Pure UI helpers: escaping, highlighting, safe answer HTML, source cards, filters, case list."""

from __future__ import annotations

import re

from tsunagari.app import catalog, html
from tsunagari.types import Chunk, Citation, Filters

EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _chunk(**kw) -> Chunk:
    base = dict(chunk_id="c1", doc_id="d", doc_title="事例集", text=f"庁内の連携{EVIL}を進めた。",
                pages=(6, 7), section="2-1-2", point=1, municipality="仙台市", case="A：仙台市",
                heading="＜庁外の巻き込み＞", source_report="報告書", source_page="15/125")
    base.update(kw)
    return Chunk(**base)


def _no_markup_from(out: str) -> None:
    assert "<script" not in out and "<img" not in out and "onerror=alert" not in out.replace(
        "onerror=alert(1)&gt;", "")


def test_card_escapes_every_report_field():
    c = _chunk(municipality=f"仙台市{EVIL}", heading=EVIL, source_report=EVIL, section_title=EVIL)
    out = html.source_card_html(Citation(2, c, f"引用{EVIL}", 7, (7,)), ["連携", "<script>"], "t9")
    _no_markup_from(out)
    assert out.count("&lt;script&gt;") >= 4
    assert 'id="src-t9-2"' in out and "本資料 p.7" in out and "[2]" in out


def test_full_chunk_and_answer_are_escaped():
    _no_markup_from(html.chunk_html(_chunk(), ["連携"]))
    out = html.answer_html(f"**仙台市**\n- 引用{EVIL}[1]\n- 存在しない[9]", "t1", [1])
    _no_markup_from(out)
    assert 'href="#src-t1-1"' in out and "[9]</a>" not in out and "[9]" in out


def test_highlight_marks_terms_without_breaking_escaping():
    out = html.highlight("a<b>福祉以外の部署</b>", ["部署", "福祉", "b>"])
    assert out == ('a&lt;<mark class="tg-hl">b&gt;</mark><mark class="tg-hl">福祉</mark>以外の'
                    '<mark class="tg-hl">部署</mark>&lt;/<mark class="tg-hl">b&gt;</mark>')
    # Removing the marks gives back exactly the escaped text.
    assert re.sub(r"</?mark[^>]*>", "", out) == html.escape("a<b>福祉以外の部署</b>")


def test_query_terms_with_the_real_tokenizer():
    from tsunagari.japanese import default_tokenizer

    terms = html.query_terms("福祉以外の部署を巻き込むには？", default_tokenizer())
    assert terms == ["福祉", "以外", "部署", "巻き込"]
    assert '<mark class="tg-hl">巻き込</mark>んだ' in html.highlight("巻き込んだ", terms)


def test_stream_pieces_roundtrip():
    body = "リード。\n\n- 引用[1]"
    assert "".join(html.stream_pieces(body)) == body


def test_filters_from_sidebar_values():
    assert catalog.make_filters(0, "", "") == Filters()
    assert catalog.make_filters(3, "徳島市", "column:コラム２") == Filters(
        point=3, municipality="徳島市", column="コラム２")
    assert catalog.describe_filters(Filters()) == ""


def test_cases_from_the_real_index(built_index):
    from tsunagari.config import load_settings
    from tsunagari.indexing.store import data_paths, load_chunks

    chunks = load_chunks(data_paths(load_settings(data_dir=built_index["data"]))["chunks"])
    cases = catalog.list_cases(chunks)
    assert len(cases) == 15  # three cases under each of the five points
    assert [c.point for c in cases] == sorted(c.point for c in cases)
    sendai = next(c for c in cases if c.municipality == "仙台市")
    assert sendai.point == 1 and sendai.pages == (6,) and "野村総合研究所" in sendai.source_report
    assert "仙台市" in sendai.question and sendai.as_row()["自治体"] == "仙台市"
    opts = catalog.filter_options(chunks)
    assert "仙台市" in opts.municipalities and ("chapter:第2章", "第2章") in opts.scopes
    assert any(v == "column:コラム１" for v, _ in opts.scopes)


def test_md_escape_neutralises_markdown_from_file_names_and_notices():
    from tsunagari.app.html import md_escape

    for evil in ("![x](http://host/t.png).pdf", "[リンク](javascript:alert(1))", "**太字** _斜体_",
                 "<img src=x>", "`code`", "# 見出し", "- 箇条書き", "1. 番号", "a | b", "~~消~~",
                 "$x^2$"):
        out = md_escape(evil)
        assert out.replace("\\", "") == evil.replace("\\", "")  # only backslashes are added
        for syntax in ("![", "](", "**", "~~"):
            assert syntax not in out, (evil, out)
        assert not re.search(r"(?<!\\)[<>`$*_\[\]()!#|~]", out), out  # every one escaped
        assert not out.startswith(("#", "-", "1.")), out


def test_answer_table_renders_as_html_table_with_escaped_cells_and_links():
    body = ("仙台市と北九州市の取り組みを、資料の記述で並べます。\n\n"
            "| 事例 | 資料の記述 | 本資料のページ |\n|---|---|---|\n"
            "| 仙台市 | 情報交換会を<script>alert(1)</script>開催した。[1] | p.6 |\n"
            "| **北九州市** | 会議（8局12課）を発足した。[2][9] | p.6、7 |")
    out = html.answer_html(body, "t1", [1, 2])
    assert "| ---" not in out and "|---|" not in out
    assert out.count("<table") == 1 and out.count("<tr>") == 3
    assert re.findall(r"<th>(.*?)</th>", out) == ["事例", "資料の記述", "本資料のページ"]
    cells = re.findall(r"<td>(.*?)</td>", out)
    assert len(cells) == 6 and cells[0] == "仙台市" and cells[2] == "p.6"
    # Report text in a cell is escaped; [n] of a known citation is a link to its card.
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in cells[1]
    assert '<a class="tg-ref" href="#src-t1-1"' in cells[1]
    assert cells[3] == "<strong>北九州市</strong>"
    assert 'href="#src-t1-2"' in cells[4] and "[9]" in cells[4] and "src-t1-9" not in cells[4]
    # The lead sentence stays a paragraph before the table.
    assert out.index("<p>仙台市と北九州市") < out.index("<table")


def test_pipe_lines_without_separator_stay_text():
    out = html.answer_html("| 事例 | 記述 |\n本文", "t1", [])
    assert "<table" not in out and "| 事例 | 記述 |" in out
