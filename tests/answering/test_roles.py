"""Section roles from section titles, on the first report's real chunks and a second layout."""

from core_fixtures import report_chunks  # noqa: F401

from tsunagari.answering.roles import PURPOSE, SUMMARY, WHY, question_role, role_indices
from tsunagari.types import Chunk


def test_first_report_roles(report_chunks):
    roles = role_indices(report_chunks)
    sections = {r: {report_chunks[i].section for i in ix} for r, ix in roles.items()}
    assert {"1-2", "1-3", "1-5", "1-7"} <= sections[PURPOSE]
    assert sections[WHY] == {"2-1-1", "2-2-1", "2-3-1", "2-4-1", "2-5-1"}
    assert sections[SUMMARY] == {"4"}
    # Cases and interview columns never carry a role.
    assert all(report_chunks[i].kind == "body" for ix in roles.values() for i in ix)


def test_second_layout_roles():
    def c(i, chapter, title, kind="body"):
        return Chunk(str(i), "r2", "t", "x", (i,), chapter=chapter, section_title=title, kind=kind)
    chunks = [c(1, "はじめに", "はじめに"), c(2, "第1部", "第1部／居場所づくりの意義"),
              c(3, "第1部", "第1部／那覇市の取組", "case"), c(4, "おわりに", "おわりに")]
    roles = role_indices(chunks)
    assert roles == {PURPOSE: [0], WHY: [1], SUMMARY: [3]}


def test_question_roles():
    assert question_role("この冊子は誰に向けたもの？") == (PURPOSE,)
    assert question_role("ざっくり、どうやって調べた調査なんですか") == (PURPOSE,)
    assert question_role("要するに何が言いたいの？")[0] == SUMMARY
    assert question_role("なんで首長を巻き込まないといけないの？") == (WHY,)
    # 「どうしても」「どうしていますか」 are not why-questions.
    assert question_role("会議がどうしても報告会になります") == ()
    assert question_role("コラムの各市はどうしていますか？") == ()
