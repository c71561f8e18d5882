"""Table-row cells and which column a question asks for (pure logic, no index)."""

from __future__ import annotations

import pytest

from tsunagari.answering.tables import column_score, row_cells
from tsunagari.types import Chunk

ROW = Chunk("r", "d", "t", "表1 取組事例の概要 自治体名: 芽室町 / 担当部署: 保健福祉課 / "
            "PF設立時期: 令和5年10月 / 参加団体数: 18団体 / 主な連携先: 町社会福祉協議会、農業協同組合",
            (2,), kind="table", municipality="芽室町")


def test_a_row_reads_as_column_value_cells():
    assert row_cells(ROW) == [("自治体名", "芽室町"), ("担当部署", "保健福祉課"),
                              ("PF設立時期", "令和5年10月"), ("参加団体数", "18団体"),
                              ("主な連携先", "町社会福祉協議会、農業協同組合")]


@pytest.mark.parametrize("question,fact,best", [
    ("芽室町のPFはいつできましたか", "when", "PF設立時期"),
    ("芽室町の担当の課はどこ？", "", "担当部署"),
    ("芽室町には何団体が参加していますか", "count", "参加団体数"),
    ("芽室町の主な連携先を教えて", "", "主な連携先"),
])
def test_the_column_a_question_asks_for_scores_highest(question, fact, best):
    columns = [c for c, _ in row_cells(ROW)[1:]]
    scores = {c: column_score(c, question, fact) for c in columns}
    assert max(scores, key=scores.get) == best, scores
