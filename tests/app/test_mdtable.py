"""Markdown tables in answer bodies: parsing rows, separators and blocks."""

from __future__ import annotations

from tsunagari.app.mdtable import Table, blocks, is_separator, row_cells

COMPARISON = ("仙台市と北九州市の取り組みを、資料の記述で並べます。\n\n"
              "| 事例 | 資料の記述 | 本資料のページ |\n|---|---|---|\n"
              "| 仙台市 | 情報交換会を開催した。[1] | p.6 |\n"
              "| 北九州市 | 庁内関係課長連携会議（8局12課）を発足した。[2] | p.6、7 |\n\n"
              "**出典**\n- [1] 仙台市／2-1-2\n- [2] 北九州市／2-1-2")


def test_comparison_body_splits_into_lines_and_one_table():
    out = list(blocks(COMPARISON))
    tables = [b for b in out if isinstance(b, Table)]
    assert len(tables) == 1
    t = tables[0]
    assert t.header == ("事例", "資料の記述", "本資料のページ")
    assert t.rows == (("仙台市", "情報交換会を開催した。[1]", "p.6"),
                      ("北九州市", "庁内関係課長連携会議（8局12課）を発足した。[2]", "p.6、7"))
    lines = [b for b in out if isinstance(b, str)]
    assert lines == ["仙台市と北九州市の取り組みを、資料の記述で並べます。", "", "", "**出典**",
                     "- [1] 仙台市／2-1-2", "- [2] 北九州市／2-1-2"]


def test_rows_are_padded_or_cut_to_the_header_width():
    (t,) = [b for b in blocks("| a | b |\n| --- | :---: |\n| 1 |\n| 1 | 2 | 3 |")
            if isinstance(b, Table)]
    assert t.rows == (("1", ""), ("1", "2"))


def test_not_a_table_without_a_separator_or_pipes_at_both_ends():
    assert list(blocks("| a | b |\n| c | d |")) == ["| a | b |", "| c | d |"]
    assert list(blocks("a | b\n---|---")) == ["a | b", "---|---"]
    assert row_cells("本文の｜全角パイプ") is None
    assert not is_separator(["--", "---"])  # fewer than three dashes
    assert is_separator([" --- ", ":---"])


def test_a_table_ends_at_the_first_non_row_line():
    out = list(blocks("| h |\n|---|\n| r1 |\n後ろの文\n| x |"))
    assert isinstance(out[0], Table) and out[0].rows == (("r1",),)
    assert out[1:] == ["後ろの文", "| x |"]
