"""Edge-case tests for tsunagari.evaluation.metrics."""

from __future__ import annotations

import pytest

from tsunagari.evaluation.metrics import (
    abstention_scores,
    answer_passes,
    case_completeness,
    case_coverage,
    case_label,
    citation_precision,
    cited_page_accuracy,
    contains_evidence,
    evidenced_cases,
    first_relevant_rank,
    keyword_coverage,
    mean,
    normalize,
    percentile,
    recall_at_k,
    reciprocal_rank,
)

# A passage as the PDF extraction hard-wraps it, with blank lines in between.
WRAPPED = "孤独・孤立対策推進へ向けた庁内連携を目的に、庁内関係課長連携会議（8局12課）を発足し\n\nた。"


def test_normalize_removes_every_kind_of_whitespace():
    assert normalize(" a\tb\nc\r\nd\u3000e\u00a0f ") == "abcdef"
    assert normalize("") == ""
    assert normalize("\n\n\u3000") == ""


def test_contains_evidence_across_line_wrap_and_spaces():
    assert contains_evidence(WRAPPED, "会議（8局12課）を発足した")
    # Whitespace inside the evidence itself is ignored too.
    assert contains_evidence(WRAPPED, "8局 12課")
    assert contains_evidence(WRAPPED, "を発足し\nた")
    assert not contains_evidence(WRAPPED, "9局12課")
    # Empty or whitespace-only evidence never counts as found.
    assert not contains_evidence(WRAPPED, "")
    assert not contains_evidence(WRAPPED, " \n\u3000")
    assert not contains_evidence("", "8局")


def test_first_relevant_rank_is_one_based_and_cut_at_k():
    texts = ["無関係", "別の話", "課長連携\n会議", "課長連携会議"]
    assert first_relevant_rank(texts, ["課長連携会議"], 10) == 3
    assert first_relevant_rank(texts, ["課長連携会議"], 3) == 3
    assert first_relevant_rank(texts, ["課長連携会議"], 2) is None
    assert first_relevant_rank(texts, ["課長連携会議"], 0) is None
    # Any of several evidence strings counts.
    assert first_relevant_rank(texts, ["存在しない", "別の話"], 10) == 2
    assert first_relevant_rank([], ["x"], 5) is None
    assert first_relevant_rank(texts, [], 5) is None
    assert first_relevant_rank(texts, [""], 5) is None


def test_recall_at_k():
    texts = ["仙台市の事例", "富山県の\n事例", "北九州市の事例"]
    ev = ["仙台市", "富山県の事例", "北九州市"]
    assert recall_at_k(texts, ev, 3) == pytest.approx(1.0)
    assert recall_at_k(texts, ev, 2) == pytest.approx(2 / 3)
    assert recall_at_k(texts, ev, 0) == 0.0
    # One evidence string gives exactly 1.0 or 0.0.
    assert recall_at_k(texts, ["北九州市"], 3) == 1.0
    assert recall_at_k(texts, ["北九州市"], 2) == 0.0
    # Nothing retrieved / nothing to find.
    assert recall_at_k([], ev, 5) == 0.0
    assert recall_at_k(texts, [], 5) == 0.0
    # The same passage may satisfy several evidence strings.
    assert recall_at_k(["仙台市と北九州市"], ["仙台市", "北九州市"], 1) == 1.0


def test_reciprocal_rank():
    texts = ["a", "b", "c"]
    assert reciprocal_rank(texts, ["a"]) == 1.0
    assert reciprocal_rank(texts, ["c"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(texts, ["c"], k=2) == 0.0
    assert reciprocal_rank(texts, ["z"]) == 0.0
    assert reciprocal_rank([], ["a"]) == 0.0
    # Default k is 10: rank 11 is outside it.
    assert reciprocal_rank(["x"] * 10 + ["hit"], ["hit"]) == 0.0
    assert reciprocal_rank(["x"] * 10 + ["hit"], ["hit"], k=11) == pytest.approx(1 / 11)


def test_citation_precision():
    assert citation_precision([], ["a"]) is None
    assert citation_precision(["a b", "c"], ["ab"]) == 0.5  # whitespace-insensitive
    assert citation_precision(["x", "y"], ["a"]) == 0.0
    assert citation_precision(["x", "y"], []) == 0.0
    assert citation_precision(["仙台市", "北九州市"], ["仙台", "北九州"]) == 1.0


def test_cited_page_accuracy():
    # Only citations containing evidence are judged when there are some.
    cited = [("8局 12課", [6, 7]), ("無関係", [3]), ("8局12課 再掲", [14])]
    assert cited_page_accuracy(cited, ["8局12課"], [7]) == 0.5
    # No citation contains evidence: every citation is judged.
    assert cited_page_accuracy([("x", [7]), ("y", [3])], ["8局12課"], [7]) == 0.5
    # Citations with no pages never match.
    assert cited_page_accuracy([("8局12課", [])], ["8局12課"], [7]) == 0.0
    # Undefined cases.
    assert cited_page_accuracy([], ["8局12課"], [7]) is None
    assert cited_page_accuracy(cited, ["8局12課"], []) is None
    # Gold pages can be any iterable, e.g. a set or a tuple.
    assert cited_page_accuracy([("a", (3,))], ["a"], {3, 4}) == 1.0


def test_keyword_coverage():
    assert keyword_coverage("会議は 8局12課 で構成", ["8局12課", "課長"]) == 0.5
    assert keyword_coverage("８局", ["8局"]) == 0.0  # no width folding, only whitespace
    assert keyword_coverage("", ["a"]) == 0.0
    assert keyword_coverage("anything", []) is None
    assert keyword_coverage("anything", ["", " "]) is None
    assert keyword_coverage("重層的支援体制\n整備事業", ["重層的支援体制整備事業"]) == 1.0


def test_case_coverage_merges_hirakata_spellings():
    assert case_coverage(["牧方市"], ["枚方市"]) == 1.0
    assert case_coverage(["枚方市"], ["牧方市"]) == 1.0
    assert case_coverage(["仙台市", "コラム１"], ["仙台市", "コラム１", "北海道", "江東区"]) == 0.5
    assert case_coverage([], ["仙台市"]) == 0.0
    assert case_coverage(["仙台市"], []) is None
    # Duplicates in either list do not inflate the score.
    assert case_coverage(["仙台市", "仙台市"], ["仙台市", "仙台市", "北海道"]) == 0.5


def test_abstention_scores():
    s = abstention_scores([True, True, False, False], [False, True, True, True])
    assert s == {"precision": 0.5, "recall": 1.0, "false_abstentions": 1, "missed": 0}
    # One correct abstention, one unanswerable item answered anyway.
    s = abstention_scores([True, False, False], [False, False, True])
    assert s == {"precision": 1.0, "recall": 0.5, "false_abstentions": 0, "missed": 1}
    # Never abstained: precision undefined, every unanswerable item missed.
    s = abstention_scores([False, False], [False, True])
    assert s["precision"] is None and s["recall"] == 0.0
    assert s["missed"] == 1 and s["false_abstentions"] == 0
    # No unanswerable items: recall undefined.
    s = abstention_scores([True, False], [True, True])
    assert s["recall"] is None and s["precision"] == 0.0 and s["false_abstentions"] == 1
    # Empty input.
    s = abstention_scores([], [])
    assert s == {"precision": None, "recall": None, "false_abstentions": 0, "missed": 0}
    with pytest.raises(ValueError):
        abstention_scores([True], [])


def test_percentile():
    assert percentile([], 50) is None
    assert percentile([None, None], 50) is None
    assert percentile([5], 0) == 5.0
    assert percentile([5], 100) == 5.0
    assert percentile([3, 1, 2, 4], 0) == 1.0
    assert percentile([3, 1, 2, 4], 100) == 4.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([0, 10], 95) == pytest.approx(9.5)
    assert percentile([1, None, 3], 50) == 2.0
    with pytest.raises(ValueError):
        percentile([1, 2], 101)
    with pytest.raises(ValueError):
        percentile([1, 2], -1)


def test_mean():
    assert mean([]) is None
    assert mean([None, None]) is None
    assert mean([1, 2, None, 3]) == 2.0
    assert mean([0.0]) == 0.0
    assert mean(x for x in [1.0, 0.0]) == 0.5  # any iterable


# --- Case completeness and answer pass (typed items) --------------------------------------

EV = {"仙台市": ["重層的支援体制整備事業の基盤を活用"],
      "北九州市": ["庁内関係課長連携会議（8局12課）", "会長や座長を置かないことでフラットな横の関係"],
      "C市": ["新たに支援の入口を「食支援」としたこと"]}
SENDAI = "…そのため関係者層が類似する重層的支援体制整備事業の基盤を活\n用することで…"
KITA_5 = "①プラットフォームでは、会長や座長を置かないことでフラットな横の関係を構築。"
C_FOOD = "孤独・孤立対策では、新たに支援の入口を「食支援」としたことで、…"


def _passes(**kw):
    args = {"answerable": True, "declined": False, "expected_cases": ["仙台市", "北九州市", "C市"],
            "min_cases": 3, "evidence_by_case": EV}
    return answer_passes(**{**args, **kw})


def test_case_label_merges_spellings_and_column_parts():
    assert case_label("牧方市") == case_label("牧方氏") == case_label("枚方市") == "枚方市"
    assert case_label("C市①") == case_label("C市②") == case_label("C市") == "C市"
    assert case_label("A市") == "A市" and case_label("\u3000B市 ") == "B市"
    assert case_label("") == ""
    assert case_label("北九州市") == "北九州市"  # only a trailing part mark is removed


def test_case_completeness_counts_expected_cases_cited_up_to_the_minimum():
    expected = ["仙台市", "北九州市", "C市"]
    assert case_completeness(["仙台市", "北九州市", "C市②"], expected, 3) == 1.0
    # The same case cited twice counts once; cases nobody expected do not count.
    assert case_completeness(["仙台市", "仙台市", "大阪市"], expected, 3) == pytest.approx(1 / 3)
    # Only min_cases of the expected cases are required, and the score is capped at 1.
    assert case_completeness(["仙台市", "北九州市", "C市"], expected, 2) == 1.0
    assert case_completeness(["C市①"], expected, 2) == 0.5
    assert case_completeness(["牧方市"], ["枚方市"], 1) == 1.0
    assert case_completeness([], expected, 3) == 0.0
    assert case_completeness(["仙台市"], [], 0) is None


def test_evidenced_cases_any_string_of_a_case_in_any_passage():
    assert evidenced_cases([SENDAI, KITA_5], EV) == {"仙台市", "北九州市"}
    assert evidenced_cases(["無関係"], EV) == set()
    assert evidenced_cases([], EV) == set()


def test_answer_pass_needs_every_required_case_cited_with_evidence():
    cited = ["仙台市", "北九州市", "C市①"]
    assert _passes(cited_cases=cited, passages=[SENDAI, KITA_5, C_FOOD])
    # Declined, or a required case missing: fails.
    assert not _passes(declined=True, cited_cases=cited, passages=[SENDAI, KITA_5, C_FOOD])
    assert not _passes(cited_cases=cited[:2], passages=[SENDAI, KITA_5, C_FOOD])
    # C市 cited, but with a passage that does not hold its evidence: fails.
    assert not _passes(cited_cases=cited, passages=[SENDAI, KITA_5, "C市の別の箇所"])
    # Evidence of a case that is not cited does not stand in for another case.
    assert not _passes(cited_cases=["仙台市", "北九州市", "大阪市"],
                       passages=[SENDAI, KITA_5, C_FOOD])
    # Two of three required: the two cited cases must both have evidence.
    assert _passes(min_cases=2, cited_cases=["仙台市", "C市②"], passages=[SENDAI, C_FOOD])
    assert not _passes(min_cases=2, cited_cases=["仙台市", "C市②"], passages=[SENDAI, "別"])


def test_answer_pass_accepts_any_alternative_evidence_of_a_case():
    # 北九州市 has two entries (points ① and ⑤): a passage of either is evidence.
    assert _passes(min_cases=1, expected_cases=["北九州市"], cited_cases=["北九州市"],
                   passages=[KITA_5])
    assert _passes(min_cases=1, expected_cases=["北九州市"], cited_cases=["北九州市"],
                   passages=["庁内関係課長連携会議（8局\n12課）を発足"])


def test_answer_pass_of_out_of_scope_items_is_declining():
    oos = {"answerable": False, "expected_cases": [], "min_cases": 0, "evidence_by_case": {},
           "passages": []}
    assert answer_passes(declined=True, cited_cases=[], **oos)
    assert not answer_passes(declined=False, cited_cases=["仙台市"], **oos)


def test_answer_pass_requires_evidence_outside_cases_too():
    ev = {"": ["令和6年10月上旬〜令和7年1月下旬"]}
    kw = {"answerable": True, "declined": False, "cited_cases": [], "expected_cases": [],
          "min_cases": 0, "evidence_by_case": ev}
    assert answer_passes(passages=["調査期間 令和6年10月上旬〜令和7年1月下旬"], **kw)
    assert not answer_passes(passages=["調査期間"], **kw)


def test_case_precision_counts_distinct_cases_and_skips_uncased_citations():
    from tsunagari.evaluation.metrics import case_precision

    # 11 cases cited where 3 qualify (the failure the issue describes): 3/11.
    cited = ["富山県", "埼玉県", "岐阜県", "仙台市", "北九州市", "江東区", "徳島市", "枚方市",
             "名張市", "市原市", "A市"]
    assert case_precision(cited, ["富山県", "埼玉県", "岐阜県"]) == 3 / 11
    # A case cited twice, column parts and alias spellings count once.
    assert case_precision(["C市①", "C市②", "牧方市", "牧方市"], ["C市", "枚方市"]) == 1.0
    assert case_precision(["C市①", "北海道"], ["C市"]) == 0.5
    # Passages outside any case (chapter 1, the summary) are not list entries.
    assert case_precision(["", "仙台市", ""], ["仙台市"]) == 1.0
    # Nothing cited (declined): no list to judge.
    assert case_precision([], ["仙台市"]) is None
    assert case_precision([""], ["仙台市"]) is None
    # Expected cases that are not cited do not lower precision (that is completeness).
    assert case_precision(["仙台市"], ["仙台市", "北海道", "座間市"]) == 1.0


def test_hub_passages_and_share():
    from tsunagari.evaluation.metrics import hub_passages, hub_share

    answers = [["c2-7", "a"], ["c2-7"], ["b", "c2-7", "c2-7"], ["b"], [], [""]]
    assert hub_passages(answers) == [("c2-7", 3), ("b", 2), ("a", 1)]
    # 4 answers cite something; 3 of them cite the most-cited passage.
    assert hub_share(answers) == 3 / 4
    # Every answer citing a different passage: the hub is cited by one answer of four.
    assert hub_share([["a"], ["b"], ["c"], ["d"]]) == 0.25
    assert hub_share([]) is None and hub_share([[], [""]]) is None
    assert hub_passages([]) == []
