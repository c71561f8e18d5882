"""Casual list conditions decided per case from all of its passages (real Sudachi, the real
report's cases and a second report's)."""

from core_fixtures import report_chunks  # noqa: F401

from tsunagari.answering.conditions import condition_terms
from tsunagari.indexing.catalogue import build_catalogue
from tsunagari.japanese import default_tokenizer

MORPH = default_tokenizer().morphemes


def _texts(chunks):
    cat = build_catalogue(chunks)
    by_id = {c.chunk_id: c for c in chunks}
    return {e.key: "\n".join(by_id[i].text for i in e.chunk_ids) for e in cat.entities}


def _members(terms, texts):
    return {k for k, t in texts.items() if all(any(w in t for w in g) for g in terms)}


def test_everyday_words_find_the_cases_of_the_first_report(report_chunks):
    texts = _texts(report_chunks)
    assert _members(condition_terms("食べ物の支援をしてるところ", texts, MORPH), texts) == {"C市"}
    assert _members(condition_terms("議員さんが絡む話", texts, MORPH), texts) == {"A市", "C市"}
    assert _members(condition_terms("不動産屋さんが関わってる例", texts, MORPH), texts) == {"徳島市"}
    assert _members(condition_terms("若い人の支援に関わる団体", texts, MORPH),
                    texts) == {"富山県", "枚方市"}


def test_words_used_everywhere_or_described_practices_are_no_condition(report_chunks):
    texts = _texts(report_chunks)
    assert condition_terms("地域で支援している事例", texts, MORPH) == ()
    # A practice described in many words is for retrieval to judge by meaning.
    assert condition_terms("自治体と民間団体が一緒に課題を議論して事業や仕組みを組み立てた例",
                           texts, MORPH) == ()


def test_a_second_report():
    texts = {"那覇市": "子ども食堂と連携し、フードバンクから食材を受け取る。",
             "函館市": "大学生ボランティアが見守りに参加。", "長野県": "市町村と連携会議を開催。",
             "西宮市": "市民と連携し居場所を運営。", "松本市": "地域で連携し相談窓口を設置。"}
    assert _members(condition_terms("食べ物を配っているところ", texts, MORPH), texts) == {"那覇市"}
    assert _members(condition_terms("学生が手伝うところ", texts, MORPH), texts) == {"函館市"}
    assert condition_terms("連携しているところ", texts, MORPH) == ()
