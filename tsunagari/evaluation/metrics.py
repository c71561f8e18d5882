"""Pure metric functions for scoring retrieval, citations, answers and abstention."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

from tsunagari.domain import MUNICIPALITY_ALIASES

# Any Unicode whitespace (str.split semantics cover the full-width space U+3000 too).
_WHITESPACE = re.compile(r"\s+")
# Question types of the eval set's typed items and their Japanese names, in report order.
TYPE_LABELS = {"enumerate": "列挙", "compare": "比較", "profile": "概要", "paraphrase": "言い換え",
               "negation": "否定・対比", "followup": "続きの質問", "fact": "事実",
               "why": "理由", "overview": "資料全体", "premise": "誤った前提",
               "table": "表", "crossreport": "報告書の横断", "outofscope": "資料の範囲外"}
# Types whose answers are lists of cases: their case precision is reported ("list answers").
LIST_TYPES = ("enumerate", "negation")
# The part mark of a column city split over several columns (C市① and C市② are one case, C市).
_PART_MARK = re.compile(r"[①-⑳]+$")

def normalize(text: str) -> str:
    """Remove all whitespace (including full-width spaces and newlines) for matching.

    >>> normalize(" 8局\\n12課　(庁内) ")
    '8局12課(庁内)'
    """
    return _WHITESPACE.sub("", text)


def contains_evidence(text: str, evidence: str) -> bool:
    """Whitespace-insensitive substring test; an empty evidence string never matches.

    >>> contains_evidence("庁内関係課長連携会議（8局\\n12課）を発足", "8局12課")
    True
    >>> contains_evidence("abc", "")
    False
    """
    needle = normalize(evidence)
    return bool(needle) and needle in normalize(text)


def _any_evidence(text: str, evidence: Sequence[str]) -> bool:
    """True when ``text`` contains at least one of the evidence strings.

    >>> _any_evidence("仙台市の事例", ["北海道", "仙台"])
    True
    """
    haystack = normalize(text)
    return any((needle := normalize(e)) and needle in haystack for e in evidence)


def first_relevant_rank(texts: Sequence[str], evidence: Sequence[str], k: int) -> int | None:
    """1-based rank of the first of the top-``k`` texts containing any evidence string.

    >>> first_relevant_rank(["a", "b c", "c"], ["c"], 3)
    2
    >>> first_relevant_rank(["a", "b", "c"], ["c"], 2) is None
    True
    """
    for rank, text in enumerate(texts[: max(k, 0)], start=1):
        if _any_evidence(text, evidence):
            return rank
    return None


def recall_at_k(texts: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Fraction of evidence strings found in at least one of the top-``k`` texts.

    Returns 0.0 when there is no evidence to find.

    >>> recall_at_k(["x a", "b"], ["a", "b", "c"], 2)
    0.6666666666666666
    >>> recall_at_k(["x a", "b"], ["b"], 1)
    0.0
    """
    needles = [normalize(e) for e in evidence if normalize(e)]
    if not needles:
        return 0.0
    top = [normalize(t) for t in texts[: max(k, 0)]]
    found = sum(1 for n in needles if any(n in t for t in top))
    return found / len(needles)


def reciprocal_rank(texts: Sequence[str], evidence: Sequence[str], k: int = 10) -> float:
    """1/rank of the first relevant text within the top ``k``, else 0.0.

    >>> reciprocal_rank(["a", "b", "c"], ["b"])
    0.5
    >>> reciprocal_rank(["a", "b", "c"], ["c"], k=2)
    0.0
    """
    rank = first_relevant_rank(texts, evidence, k)
    return 0.0 if rank is None else 1.0 / rank


def citation_precision(cited_texts: Sequence[str], evidence: Sequence[str]) -> float | None:
    """Share of cited passages that contain any evidence string; None when nothing is cited.

    >>> citation_precision(["a", "b", "ab", "c"], ["a"])
    0.5
    >>> citation_precision([], ["a"]) is None
    True
    """
    if not cited_texts:
        return None
    hits = sum(1 for t in cited_texts if _any_evidence(t, evidence))
    return hits / len(cited_texts)


def cited_page_accuracy(
    cited: Sequence[tuple[str, Sequence[int]]],
    evidence: Sequence[str],
    gold_pages: Iterable[int],
) -> float | None:
    """Share of cited passages whose pages intersect ``gold_pages``.

    Only citations containing evidence are judged; when none does, all citations are.
    None when nothing is cited or there are no gold pages.

    >>> cited_page_accuracy([("8局12課", [7]), ("other", [3])], ["8局12課"], [7])
    1.0
    >>> cited_page_accuracy([("x", [6]), ("y", [7])], ["8局12課"], [7])
    0.5
    >>> cited_page_accuracy([], ["a"], [7]) is None
    True
    """
    gold = set(gold_pages)
    if not cited or not gold:
        return None
    judged = [c for c in cited if _any_evidence(c[0], evidence)] or list(cited)
    hits = sum(1 for _, pages in judged if gold.intersection(pages))
    return hits / len(judged)


def keyword_coverage(answer: str, keywords: Sequence[str]) -> float | None:
    """Whitespace-insensitive share of keywords present in ``answer``; None without keywords.

    >>> keyword_coverage("会議は8局 12課で構成", ["8局12課", "課長", "8局"])
    0.6666666666666666
    >>> keyword_coverage("anything", []) is None
    True
    """
    needles = [normalize(k) for k in keywords if normalize(k)]
    if not needles:
        return None
    haystack = normalize(answer)
    return sum(1 for n in needles if n in haystack) / len(needles)


def canonical_label(label: str) -> str:
    """Canonical form of a municipality/column label (whitespace removed, aliases merged).

    >>> canonical_label(" 牧方市 ")
    '枚方市'
    >>> canonical_label("コラム 1")
    'コラム1'
    """
    norm = normalize(label)
    return MUNICIPALITY_ALIASES.get(norm, norm)


def case_coverage(cited_labels: Iterable[str], gold_labels: Iterable[str]) -> float | None:
    """Share of gold municipalities/columns that appear among the cited ones; None without gold.

    >>> case_coverage(["牧方市", "仙台市"], ["枚方市", "北海道"])
    0.5
    >>> case_coverage(["仙台市"], []) is None
    True
    """
    gold = {canonical_label(g) for g in gold_labels if normalize(g)}
    if not gold:
        return None
    cited = {canonical_label(c) for c in cited_labels}
    return len(gold & cited) / len(gold)


def case_label(name: str) -> str:
    """The case a citation or source names: canonical municipality, or column city without its
    part mark. Empty for passages outside any case.

    >>> case_label("牧方市"), case_label("C市②"), case_label(" A市 "), case_label("")
    ('枚方市', 'C市', 'A市', '')
    """
    return _PART_MARK.sub("", canonical_label(name))


def case_completeness(cited_cases: Iterable[str], expected_cases: Iterable[str],
                      min_cases: int) -> float | None:
    """Expected cases cited, over the number required (``min_cases``), capped at 1.

    None when no case is required (out-of-scope items).

    >>> case_completeness(["仙台市", "C市①", "大阪府"], ["仙台市", "C市", "北海道"], 3)
    0.6666666666666666
    >>> case_completeness(["牧方市", "北海道"], ["枚方市", "北海道", "座間市"], 2)
    1.0
    >>> case_completeness([], [], 0) is None
    True
    """
    if min_cases <= 0:
        return None
    cited = {case_label(c) for c in cited_cases}
    hits = {case_label(e) for e in expected_cases} & cited
    return min(len(hits) / min_cases, 1.0)


def case_precision(cited_cases: Iterable[str], expected_cases: Iterable[str]) -> float | None:
    """Of the distinct cases an answer cites, the share that are expected; None when it cites
    no case (a declined answer, or one citing only passages outside any case).

    Citations of one case count once (C市① and C市② are C市; 牧方市 is 枚方市).

    >>> case_precision(["仙台市", "仙台市", "C市①", "大阪府", ""], ["仙台市", "C市"])
    0.6666666666666666
    >>> case_precision(["牧方市"], ["枚方市"])
    1.0
    >>> case_precision(["", ""], ["仙台市"]) is None
    True
    """
    cited = {case_label(c) for c in cited_cases} - {""}
    if not cited:
        return None
    expected = {case_label(e) for e in expected_cases}
    return len(cited & expected) / len(cited)


def hub_passages(cited_per_answer: Iterable[Iterable[str]]) -> list[tuple[str, int]]:
    """Passages by the number of answers citing them, most cited first (ties by id).

    Each answer counts a passage once however often it cites it; empty ids are skipped.

    >>> hub_passages([["a", "b", "a"], ["a"], ["c", ""], []])
    [('a', 2), ('b', 1), ('c', 1)]
    """
    counts: dict[str, int] = {}
    for ids in cited_per_answer:
        for pid in {i for i in ids if i}:
            counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def hub_share(cited_per_answer: Sequence[Sequence[str]]) -> float | None:
    """Share of the answers citing anything that cite the single most-cited passage.

    A passage that many unrelated answers cite is a "hub"; lower is better. None when no
    answer cites a passage.

    >>> hub_share([["a", "b"], ["a"], ["c"], []])
    0.6666666666666666
    >>> hub_share([[], []]) is None
    True
    """
    citing = [ids for ids in cited_per_answer if any(ids)]
    hubs = hub_passages(citing)
    if not hubs:
        return None
    return hubs[0][1] / len(citing)


def evidenced_cases(passages: Sequence[str], evidence_by_case: Mapping[str, Sequence[str]]
                    ) -> set[str]:
    """Cases with at least one of their evidence strings in some passage.

    >>> sorted(evidenced_cases(["…8局 12課…"], {"北九州市": ["会長や座長", "8局12課"],
    ...                                         "仙台市": ["重層的支援"]}))
    ['北九州市']
    """
    return {case for case, strings in evidence_by_case.items()
            if any(contains_evidence(p, e) for p in passages for e in strings)}


def answer_passes(*, answerable: bool, declined: bool, cited_cases: Iterable[str],
                  passages: Sequence[str], expected_cases: Sequence[str], min_cases: int,
                  evidence_by_case: Mapping[str, Sequence[str]]) -> bool:
    """Whether an answer serves the person asking.

    Out of scope (not answerable): passes when declined. Otherwise it must not decline, must
    cite at least ``min_cases`` expected cases (completeness 1), and at least ``min_cases`` of
    the cited expected cases must have evidence in a cited passage: evidence is grouped by the
    case of its source, and any one string of a case counts (a case's alternatives, e.g. its
    two entries under different points). Evidence under the key ``""`` (no case) is all required.

    >>> ev = {"仙台市": ["重層的支援"], "北九州市": ["8局12課", "会長や座長"]}
    >>> ok = dict(answerable=True, declined=False, expected_cases=["仙台市", "北九州市"],
    ...           min_cases=2, evidence_by_case=ev)
    >>> answer_passes(cited_cases=["仙台市", "北九州市"], passages=["重層的支援…", "会長や座長…"], **ok)
    True
    >>> answer_passes(cited_cases=["仙台市"], passages=["重層的支援…8局12課"], **ok)
    False
    >>> answer_passes(cited_cases=["仙台市", "北九州市"], passages=["重層的支援", "別の箇所"], **ok)
    False
    >>> answer_passes(answerable=False, declined=True, cited_cases=[], passages=[],
    ...               expected_cases=[], min_cases=0, evidence_by_case={})
    True
    """
    if not answerable:
        return declined
    if declined:
        return False
    cited = {case_label(c) for c in cited_cases}
    if min_cases > 0 and (case_completeness(cited, expected_cases, min_cases) or 0.0) < 1.0:
        return False
    uncased = evidence_by_case.get("", ())
    if not all(any(contains_evidence(p, e) for p in passages) for e in uncased):
        return False
    cased: dict[str, list[str]] = {}
    for case, strings in evidence_by_case.items():
        if case:
            cased.setdefault(case_label(case), []).extend(strings)
    expected = {case_label(e) for e in expected_cases}
    supported = evidenced_cases(passages, cased) & cited & expected
    return len(supported) >= min_cases


def abstention_scores(
    predicted_abstained: Sequence[bool], answerable: Sequence[bool]
) -> dict[str, float | int | None]:
    """Precision/recall of abstention (positive class: unanswerable) and error counts.

    ``false_abstentions`` counts answerable items the system abstained on; ``missed``
    counts unanswerable items it answered. Precision/recall are None when undefined.

    >>> s = abstention_scores([True, True, False, False], [False, True, True, True])
    >>> (s["precision"], s["recall"], s["false_abstentions"], s["missed"])
    (0.5, 1.0, 1, 0)
    """
    if len(predicted_abstained) != len(answerable):
        raise ValueError("predicted_abstained and answerable must have the same length")
    pairs = list(zip(predicted_abstained, answerable))
    true_pos = sum(1 for abst, ans in pairs if abst and not ans)
    predicted_pos = sum(1 for abst, _ in pairs if abst)
    actual_pos = sum(1 for _, ans in pairs if not ans)
    return {
        "precision": true_pos / predicted_pos if predicted_pos else None,
        "recall": true_pos / actual_pos if actual_pos else None,
        "false_abstentions": sum(1 for abst, ans in pairs if abst and ans),
        "missed": sum(1 for abst, ans in pairs if not abst and not ans),
    }


def percentile(values: Iterable[float | None], p: float) -> float | None:
    """Linear-interpolation percentile (``p`` in 0..100) ignoring None; None when empty.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    >>> percentile([10, None, 20], 100)
    20.0
    >>> percentile([], 90) is None
    True
    """
    if not 0 <= p <= 100:
        raise ValueError("p must be within 0..100")
    data = sorted(float(v) for v in values if v is not None)
    if not data:
        return None
    pos = (len(data) - 1) * p / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    """Arithmetic mean ignoring None; None when no value is left.

    >>> mean([1.0, None, 0.0])
    0.5
    >>> mean([None]) is None
    True
    """
    data = [float(v) for v in values if v is not None]
    return sum(data) / len(data) if data else None


# --- Ranking metrics computed by ranx (comparable with the IR literature: nDCG@10 as in JQaRA) ---

RANX_KS = (1, 3, 5, 10)
_MISSING = "\x00missing"  # qrels id of a gold source that no retrieved passage holds
_NONE = "\x00none"  # the one, unjudged, entry of an empty run


def gold_passages(ids: Sequence[str], texts: Sequence[str],
                  evidence: Sequence[str]) -> list[str | None]:
    """For each gold source (evidence string), the id of the first passage holding it, or None.

    Relevance is the one of `recall_at_k`: a passage holds a source when it contains its
    evidence string (whitespace-insensitive). Empty evidence strings are not gold sources.

    >>> gold_passages(["c1", "c2", "c3"], ["x", "a b", "ab c"], ["ab", "c", "z", " "])
    ['c2', 'c3', None]
    """
    norm = [normalize(t) for t in texts]
    out: list[str | None] = []
    for needle in (normalize(e) for e in evidence):
        if needle:
            out.append(next((i for i, t in zip(ids, norm) if needle in t), None))
    return out


def unique_ids(ids: Sequence[str | None]) -> list[str]:
    """Passage ids made unique by position (a run cannot rank one id twice).

    >>> unique_ids(["a", "b", "a", None])
    ['a', 'b', 'a#3', '#4']
    """
    seen: set[str] = set()
    out = []
    for rank, cid in enumerate(ids, start=1):
        key = cid if cid and cid not in seen else f"{cid or ''}#{rank}"
        seen.add(key)
        out.append(key)
    return out


def ranx_scores(rankings: Sequence[tuple[Sequence[str | None], Sequence[str], Sequence[str]]],
                ks: Sequence[int] = RANX_KS) -> list[dict[str, float]]:
    """recall@k, mrr@10 and ndcg@10 of each ranking, computed by ranx.

    Each ranking is (passage ids best first, their texts, the item's evidence strings); items
    without evidence must be left out. Qrels come from the gold sources: each source is
    relevant in the first passage that holds it (`gold_passages`), or in a placeholder no run
    retrieves when none does, so the ideal ranking puts one passage per source at the top.

    - recall@k: share of gold sources held in the top k (ranx recall@k of one query per
      source), equal to `recall_at_k`;
    - mrr@10: ranx mrr@10, equal to `reciprocal_rank(..., 10)`;
    - ndcg@10: ranx ndcg@10 (Järvelin–Kekäläinen, binary gain per source: a passage holding
      several sources gains that many; a second passage holding the same source gains 0).
    """
    # ranx imports numba (~1.5 s; more on a busy machine): only here, so importing the runner
    # (`python -m eval --help`, the app's eval page) stays fast.
    import warnings

    from ranx import evaluate

    if not rankings:
        return []
    # Plain dicts, not ranx.Qrels/Run: numba's on-disk cache misses for their typed dicts, which
    # cost 30-60 s of JIT compiling in every process. With dicts, ranx evaluates the queries in
    # insertion order, so the qrels and the run are built in the same order.
    item_qrels: dict[str, dict[str, int]] = {}
    item_run: dict[str, dict[str, float]] = {}
    source_qrels: dict[str, dict[str, int]] = {}
    source_run: dict[str, dict[str, float]] = {}
    sources_of: list[range] = []
    for n, (ids, texts, evidence) in enumerate(rankings):
        pids = unique_ids(list(ids))
        # Strictly decreasing scores keep the order; an empty run gets one unjudged entry
        # (ranx cannot type an empty one) that changes no metric.
        run = {pid: float(len(pids) - rank) for rank, pid in enumerate(pids)} or {_NONE: 0.0}
        qrels: dict[str, int] = {}
        first = len(source_qrels)
        for s, pid in enumerate(gold_passages(pids, texts, evidence)):
            gold = pid or f"{_MISSING}{s}"
            qrels[gold] = qrels.get(gold, 0) + 1
            source_qrels[f"s{len(source_qrels)}"] = {gold: 1}
            source_run[f"s{len(source_run)}"] = run
        if not qrels:
            raise ValueError(f"ranking {n} has no evidence; leave such items out")
        item_qrels[f"q{n}"], item_run[f"q{n}"] = qrels, run
        sources_of.append(range(first, len(source_qrels)))
    with warnings.catch_warnings():  # ranx hashes ids to uint64; numba warns on the cast
        warnings.simplefilter("ignore")
        per_item = evaluate(item_qrels, item_run, ["mrr@10", "ndcg@10"], return_mean=False,
                            threads=1, save_results_in_run=False)
        # (mrr@10 is extra: ranx 0.3 fails on a single metric with return_mean=False)
        per_source = evaluate(source_qrels, source_run, [*(f"recall@{k}" for k in ks), "mrr@10"],
                              return_mean=False, threads=1, save_results_in_run=False)
    out = []
    for n, sources in enumerate(sources_of):
        scores = {"mrr@10": float(per_item["mrr@10"][n]),
                  "ndcg@10": float(per_item["ndcg@10"][n])}
        for k in ks:
            found = [float(per_source[f"recall@{k}"][i]) for i in sources]
            scores[f"recall@{k}"] = sum(found) / len(found)
        out.append(scores)
    return out
