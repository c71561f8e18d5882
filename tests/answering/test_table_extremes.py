"""The row with the most or least of a summary-table column, over the real two-report index
(the second report's 表1 read from its PDF by the layout-aware reader)."""

from __future__ import annotations

import re

import pytest

from core_fixtures import index_dir, service  # noqa: F401

from tsunagari.config import load_settings
from tsunagari.service import open_service


@pytest.fixture(scope="module")
def two_reports(two_report_index):
    return open_service(load_settings(data_dir=two_report_index["data"],
                                      corpus_dir=two_report_index["corpus"]))


def _first_bold(body: str) -> str:
    return re.search(r"\*\*(.+?)\*\*", body).group(1)


@pytest.mark.parametrize(("question", "body", "value"), [
    ("取組事例集の表で、参加団体がいちばん多いのはどこですか？", "鳥取県", "110団体"),
    ("参加団体数が最も少ない自治体は？", "南箕輪村", "12団体"),
    ("7つの事例の中で、一番新しく設立されたPFはどこ？", "南箕輪村", "令和6年4月"),
    ("表1でPFを一番早く立ち上げたのはどこ？", "鳥取県", "令和4年8月"),
])
def test_the_extreme_row_is_named_with_its_value_and_every_row_is_cited(two_reports, question,
                                                                        body, value):
    ans = two_reports.answerer.ask(question)
    assert not ans.abstained
    assert _first_bold(ans.body) == body and f"（{value}）" in ans.body
    assert len(ans.citations) == 7  # every row of 表1, each on its page
    assert {c.chunk.kind for c in ans.citations} == {"table"}
    assert {c.page for c in ans.citations} == {2}
    assert ans.citations[0].chunk.municipality == body


def test_superlatives_without_a_table_column_are_answered_from_passages(two_reports):
    ans = two_reports.answerer.ask("仙台市の取り組みで一番大事なことは？")
    assert not any(c.chunk.kind == "table" for c in ans.citations)
    assert any(c.chunk.municipality == "仙台市" for c in ans.citations)


def test_a_report_without_tables_never_takes_this_route(service):
    ans = service.answerer.ask("参加団体がいちばん多い自治体は？")
    assert not any(c.chunk.kind == "table" for c in ans.citations)
