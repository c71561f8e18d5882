"""ScopeChecker over the term index: the verdicts of the old whole-corpus scan, on the index
that ingest saved, with each term looked up once."""

from __future__ import annotations

import json

from core_fixtures import ROOT, index_dir, service  # noqa: F401

from tsunagari.answering.scope import FACT_TERMS, ScopeChecker
from tsunagari.evaluation.bench_scope import WholeText
from tsunagari.indexing.termindex import TermIndex

QUESTIONS = [json.loads(line)["question"] for line in
             (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_answerer_uses_the_index_saved_at_ingest(service):
    terms = service.answerer.checker.terms
    assert isinstance(terms, TermIndex) and terms.source == "saved"
    assert terms.chunks == len(service.retriever.chunks)


def test_verdicts_on_every_eval_question_equal_the_whole_corpus_scan(service):
    chunks = service.retriever.chunks
    morphemes = service.retriever.tokenizer.morphemes
    before = ScopeChecker(WholeText(chunks), morphemes, remember=False)
    now = service.answerer.checker
    verdicts = [now.check(q) for q in QUESTIONS]
    assert verdicts == [before.check(q) for q in QUESTIONS]
    assert sum(v.abstain for v in verdicts) >= 5  # the out-of-scope questions are declined


class Counting:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.asked: list[str] = []

    def contains(self, term: str) -> bool:
        self.asked.append(term)
        return self.inner.contains(term)


def test_each_term_is_looked_up_once(service):
    terms = Counting(service.answerer.checker.terms)
    checker = ScopeChecker(terms, service.retriever.tokenizer.morphemes)
    first = checker.check("連携推進会議の開催日と申請書の様式は？")
    asked = len(terms.asked)
    assert asked == len(set(terms.asked)) and FACT_TERMS & set(terms.asked)
    assert checker.check("連携推進会議の開催日と申請書の様式は？") == first
    assert len(terms.asked) == asked  # nothing looked up again
    checker.check("居場所づくりの申請書の様式と開催日は？")
    again = set(terms.asked[asked:])
    assert "居場所" in again and not again & set(terms.asked[:asked])  # remembered across questions


def test_scene_setting_sentences_do_not_decide_the_scope(service):
    """Only the sentences that ask are checked: who the asker is (a city the reports do not
    name, a word for their job) does not make the reports silent on what they ask."""
    check = service.answerer.checker.check
    assert not check("大阪市の職員です。庁内の連携会議はどう作ればいいですか？").abstain
    assert check("大阪市では地方版PFをどう運営していますか？").abstain
    assert check("大阪市の職員です。大阪市の事例はありますか？").abstain


def test_conjugated_words_and_words_for_the_report_count_as_known(service):
    check = service.answerer.checker.check
    # 新しく → 新しい, 作ら → 作る, 読ん → 読; 事例集 names the report itself
    assert not check("この事例集はそもそも誰に読んでもらうために作られたんでしょうか？").abstain
    assert check("量子コンピュータの暗号鍵配送はどう実装されましたか？").abstain


def test_readable_questions_and_empty_ones(service):
    checker = service.answerer.checker
    assert checker.readable("資料に出てくる「ポイント5点」を一覧で教えてください。")
    assert not checker.readable("ありがとうございました！")
    assert not checker.readable("？？")


def test_a_named_place_with_a_word_for_its_area_is_known(service):
    check = service.answerer.checker.check
    assert not check("北海道内の取組はどう出てくる？").abstain
    assert check("大阪府内の取組はどう出てくる？").abstain
