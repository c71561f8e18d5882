"""Edge-case tests for tsunagari.evaluation.metrics."""

from __future__ import annotations

import pytest

from tsunagari.evaluation.metrics import (
    abstention_scores,
    case_coverage,
    citation_precision,
    cited_page_accuracy,
    contains_evidence,
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
