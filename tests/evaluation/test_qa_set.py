"""Checks on the evaluation set eval/qa.jsonl itself: schema, coverage minimums, evidence in the report.

Items written for the answer-type design (issue 10) carry a ``type`` (also in their tags), the
cases a complete answer must cite (``expected_cases``: canonical municipality names or the column
cities A市/B市/C市) and how many of them it must cite at least (``min_cases``).

Items about another report (issue 18) name it in ``doc`` (a doc_id, or a list for items over
several reports) and each of their sources names its report too; they are checked against that
report's text (the second report is the Markdown of the test fixture) at the end of this file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tsunagari.domain import MUNICIPALITY_ALIASES
from tsunagari.evaluation.metrics import TYPE_LABELS
from tsunagari.evaluation.runner import COLUMN_CASES, source_case

ROOT = Path(__file__).resolve().parents[2]
QA_PATH = ROOT / "eval" / "qa.jsonl"
CORPUS_PATH = ROOT / "corpus" / "chiho-pf-suiheiteki-renkei-jireishu.txt"

# Question types of the answer engine; each typed item also carries its type as a tag.
TYPES = set(TYPE_LABELS)
ALLOWED_TAGS = {"case", "column", "chapter1", "chapter4", "paraphrase", "multi", "unanswerable",
                "followup"} | TYPES
TYPE_MINIMUMS = {"enumerate": 8, "compare": 6, "profile": 5, "paraphrase": 8, "negation": 4,
                 "followup": 5, "outofscope": 4}
MIN_TYPED_ITEMS = 40
COLUMNS = {"コラム１", "コラム２", "コラム３-１", "コラム３-２"}
NOT_FOUND = "この資料には該当する記述が見つかりませんでした。"
HIRAKATA = {"枚方市", "牧方市"}  # the report misspells 枚方市 as 牧方市

# Every chapter-2 case: (point section, municipality).
CASES = [
    ("2-1", "仙台市"), ("2-1", "富山県"), ("2-1", "北九州市"),
    ("2-2", "埼玉県"), ("2-2", "江東区"), ("2-2", "富山県"),
    ("2-3", "徳島市"), ("2-3", "岐阜県"), ("2-3", "牧方市"),
    ("2-4", "名張市"), ("2-4", "北海道"), ("2-4", "市原市"),
    ("2-5", "北九州市"), ("2-5", "生駒市"), ("2-5", "座間市"),
]
MINIMUMS = {"paraphrase": 15, "multi": 8, "unanswerable": 8, "followup": 5}

_WS = re.compile(r"\s+")
# A lone number on its own line is a footnote (or printed page) number left by the PDF extraction.
_LONE_NUMBER = re.compile(r"^\s*\d+\s*$")
# Lines that open a new block (heading, speaker, list item, case label, section number).
_BLOCK_START = re.compile(r"^\s*(?:[＜～【■・①②③④⑤]|[A-CＡ-Ｃ]：|\d-\d|第\d章|コラム)")
# Lines after which a block ends: a closing heading, a bare speaker label such as
# "・保護担当 係長）", or a footnote reference marker (" F" / "2F") at the line end.
_BLOCK_END = re.compile(r"(?:[＞～】]|^\s*・[^。]{0,30}）|(?:\s|\d)F)\s*$")
_SENTINEL = "\x00"


def norm(text: str) -> str:
    return _WS.sub("", text)


@pytest.fixture(scope="module")
def all_items() -> list[dict]:
    with QA_PATH.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def items(all_items) -> list[dict]:
    """The items over the first report alone (the original set)."""
    return [it for it in all_items if "doc" not in it]


@pytest.fixture(scope="module")
def report_raw() -> str:
    if not CORPUS_PATH.exists():
        pytest.fail(f"report text missing: {CORPUS_PATH}")
    return CORPUS_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report_norm(report_raw: str) -> str:
    return norm(report_raw)


@pytest.fixture(scope="module")
def report_blocked(report_raw: str) -> str:
    """Whitespace-free report with a sentinel at footnote-number lines and block boundaries.

    Evidence must still match here, so it cannot span a lone footnote number, a heading
    or a speaker/case/list boundary.
    """
    out: list[str] = []
    for line in report_raw.splitlines():
        if _LONE_NUMBER.match(line):
            out.append(_SENTINEL)
            continue
        if _BLOCK_START.match(line):
            out.append(_SENTINEL)
        out.append(norm(line))
        if _BLOCK_END.search(line):
            out.append(_SENTINEL)
    return "".join(out)


def test_file_is_utf8_jsonl_without_ascii_escapes():
    raw = QA_PATH.read_text(encoding="utf-8")
    lines = [line for line in raw.splitlines() if line.strip()]
    assert lines, "empty QA set"
    for line in lines:
        assert isinstance(json.loads(line), dict)
        assert "\\u" not in line, "write with ensure_ascii=False"


def test_ids_unique_and_well_formed(all_items):
    ids = [it["id"] for it in all_items]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"
    for i in ids:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", i), i


def test_required_fields_and_types(items):
    required = {
        "id": str, "question": str, "answerable": bool, "reference": str,
        "sources": list, "evidence": list, "keywords": list, "tags": list,
    }
    for it in items:
        for key, typ in required.items():
            assert isinstance(it.get(key), typ), f"{it.get('id')}: {key} should be {typ.__name__}"
        optional = {"history", "type", "expected_cases", "min_cases"}
        assert set(it) <= set(required) | optional, f"{it['id']}: unknown fields {set(it) - set(required) - optional}"
        assert it["question"].strip() and it["reference"].strip()
        assert all(isinstance(k, str) and k.strip() for k in it["keywords"]), it["id"]
        assert all(isinstance(e, str) for e in it["evidence"]), it["id"]
        tags = set(it["tags"])
        assert tags and tags <= ALLOWED_TAGS, f"{it['id']}: bad tags {tags - ALLOWED_TAGS}"
        assert len(tags) == len(it["tags"]), f"{it['id']}: repeated tag"


def test_sources_shape(items):
    for it in items:
        for src in it["sources"]:
            assert isinstance(src, dict), it["id"]
            assert set(src) <= {"section", "municipality", "column", "page"}, it["id"]
            assert isinstance(src.get("section"), str) and src["section"], it["id"]
            assert type(src.get("page")) is int and 3 <= src["page"] <= 31, f"{it['id']}: page {src.get('page')}"
            assert not ("municipality" in src and "column" in src), it["id"]
            if "column" in src:
                assert src["column"] in COLUMNS, f"{it['id']}: column {src['column']}"
                assert src["section"] == "3", it["id"]
            if src["section"].startswith("2-") and src["section"] != "2-6":
                assert "municipality" in src, f"{it['id']}: chapter-2 source without municipality"
            if src["section"] == "1" or src["section"].startswith("1-") or src["section"] == "4":
                assert "municipality" not in src and "column" not in src, it["id"]


def test_answerable_items_have_evidence_sources_and_keywords(items):
    for it in items:
        if not it["answerable"]:
            continue
        assert it["evidence"], f"{it['id']}: no evidence"
        assert it["sources"], f"{it['id']}: no sources"
        assert 2 <= len(it["keywords"]) <= 5, f"{it['id']}: {len(it['keywords'])} keywords"
        assert "unanswerable" not in it["tags"], it["id"]
        assert NOT_FOUND not in it["reference"], it["id"]
        if "multi" in it["tags"]:
            assert len(it["evidence"]) >= 2 and len(it["sources"]) >= 2, f"{it['id']}: multi needs several cases"
        else:
            assert len(it["evidence"]) == 1, f"{it['id']}: single-case item needs exactly one evidence string"
        # One evidence string per case; sources are listed in the same order.
        assert len(it["evidence"]) == len(it["sources"]), it["id"]


def test_unanswerable_items_have_no_evidence(items):
    for it in items:
        if it["answerable"]:
            continue
        assert "unanswerable" in it["tags"], it["id"]
        assert it["evidence"] == [] and it["sources"] == [], it["id"]
        assert it["reference"].startswith(NOT_FOUND), it["id"]
        assert len(it["reference"]) > len(NOT_FOUND), f"{it['id']}: say what the report does cover"


def test_evidence_occurs_in_report(items, report_norm):
    missing = [
        (it["id"], ev) for it in items for ev in it["evidence"] if norm(ev) not in report_norm
    ]
    assert not missing, f"evidence not found in report: {missing}"


def test_evidence_length_and_boundaries(items, report_blocked):
    for it in items:
        for ev in it["evidence"]:
            n = norm(ev)
            assert 8 <= len(n) <= 40, f"{it['id']}: evidence length {len(n)}: {ev}"
            assert n in report_blocked, f"{it['id']}: evidence spans a footnote/heading boundary: {ev}"


def test_keywords_in_reference_and_report(items, report_norm):
    for it in items:
        ref = norm(it["reference"])
        for kw in it["keywords"]:
            assert norm(kw) in ref, f"{it['id']}: keyword {kw!r} not in reference"
            assert norm(kw) in report_norm, f"{it['id']}: keyword {kw!r} not in report"


def test_history_only_on_followups(items):
    for it in items:
        has_history = "history" in it
        assert has_history == ("followup" in it["tags"]), it["id"]
        if not has_history:
            continue
        history = it["history"]
        assert isinstance(history, list) and history, it["id"]
        for turn in history:
            assert set(turn) == {"role", "content"}, it["id"]
            assert turn["role"] in {"user", "assistant"}, it["id"]
            assert isinstance(turn["content"], str) and turn["content"].strip(), it["id"]
        assert history[0]["role"] == "user", it["id"]


def test_size_and_category_minimums(items):
    assert len(items) >= 60
    counts = Counter(tag for it in items for tag in it["tags"])
    for tag, minimum in MINIMUMS.items():
        assert counts[tag] >= minimum, f"{tag}: {counts[tag]} < {minimum}"
    assert Counter(it["answerable"] for it in items)[False] == counts["unanswerable"]


def test_every_chapter2_case_is_covered(items):
    covered = {
        (src["section"][:3], src["municipality"])
        for it in items
        for src in it["sources"]
        if "municipality" in src and src["section"].startswith("2-")
    }
    covered |= {(sec, "牧方市") for sec, m in covered if m == "枚方市"}
    missing = [case for case in CASES if case not in covered]
    assert not missing, f"cases without a question: {missing}"
    # And each case has an item dedicated to it alone.
    single = {
        (it["sources"][0]["section"][:3], it["sources"][0].get("municipality"))
        for it in items
        if it["answerable"] and len(it["sources"]) == 1
    }
    assert not [case for case in CASES if case not in single]


def test_hirakata_question_uses_correct_name_with_report_evidence(items, report_norm):
    hits = [
        it for it in items
        if "枚方市" in it["question"] and any(src.get("municipality") in HIRAKATA for src in it["sources"])
    ]
    assert hits, "need a question that says 枚方市"
    for it in hits:
        assert all(norm(ev) in report_norm for ev in it["evidence"])


def test_every_column_has_several_questions(items):
    counts = Counter(src["column"] for it in items for src in it["sources"] if "column" in src)
    for column in COLUMNS:
        assert counts[column] >= 3, f"{column}: only {counts[column]} questions"


def test_chapter1_and_chapter4_coverage(items):
    sections = {src["section"] for it in items for src in it["sources"]}
    for needed in ("1-2", "1-3", "1-4", "1-5", "1-7"):
        assert needed in sections, f"no question on {needed}"
    assert sum(1 for it in items if "chapter4" in it["tags"]) >= 2
    refs = "".join(norm(it["reference"]) for it in items if "chapter4" in it["tags"])
    assert "交流" in refs  # the closing proposal about a place for officers to exchange
    period = [it for it in items if any(src["section"] == "1-7" for src in it["sources"])]
    assert any("令和6年10月上旬" in it["reference"] and "令和7年1月下旬" in it["reference"] for it in period)


def test_tags_agree_with_sources(items):
    for it in items:
        tags = set(it["tags"])
        srcs = it["sources"]
        if any("column" in s for s in srcs):
            assert "column" in tags, it["id"]
        if any(s["section"].startswith("2-") for s in srcs):
            assert "case" in tags, it["id"]
        if any(s["section"].startswith("1") for s in srcs):
            assert "chapter1" in tags, it["id"]
        if any(s["section"] == "4" for s in srcs):
            assert "chapter4" in tags, it["id"]


# --- Typed items (answer types, expected cases) ---------------------------------------------


@pytest.fixture(scope="module")
def typed(items) -> list[dict]:
    return [it for it in items if "type" in it]


def test_typed_items_have_type_cases_and_minimum(items):
    for it in items:
        fields = {"type", "expected_cases", "min_cases"} & set(it)
        assert fields in (set(), {"type", "expected_cases", "min_cases"}), f"{it['id']}: {fields}"
        type_tags = set(it["tags"]) & (TYPES - {"paraphrase", "followup"})
        if "type" not in it:
            assert not type_tags, f"{it['id']}: type tags {type_tags} without a type"
            continue
        assert it["type"] in TYPES, f"{it['id']}: type {it['type']}"
        assert it["type"] in it["tags"], f"{it['id']}: the type is also a tag"
        assert type_tags <= {it["type"]}, f"{it['id']}: tags of another type {type_tags}"
        assert (it["type"] == "followup") == ("history" in it), it["id"]
        assert (it["type"] == "outofscope") == (not it["answerable"]), it["id"]
        cases, minimum = it["expected_cases"], it["min_cases"]
        assert isinstance(cases, list) and all(isinstance(c, str) and c.strip() for c in cases)
        assert len(set(cases)) == len(cases), f"{it['id']}: repeated expected case"
        assert type(minimum) is int, it["id"]
        if it["answerable"]:
            assert cases and 1 <= minimum <= len(cases), f"{it['id']}: {minimum} of {cases}"
        else:
            assert cases == [] and minimum == 0, it["id"]


def test_expected_cases_are_canonical_names_in_the_report(typed, report_norm):
    for it in typed:
        for case in it["expected_cases"]:
            assert case not in MUNICIPALITY_ALIASES, f"{it['id']}: write {MUNICIPALITY_ALIASES[case]}, not {case}"
            spellings = {case} | {alias for alias, name in MUNICIPALITY_ALIASES.items() if name == case}
            assert any(norm(s) in report_norm for s in spellings), f"{it['id']}: {case} not in report"


def test_expected_cases_match_the_sources(typed):
    # Evidence is grouped by the case of its source: every expected case has evidence, and
    # no evidence belongs to a case the item does not expect.
    for it in typed:
        if not it["answerable"]:
            continue
        source_cases = [source_case(src) for src in it["sources"]]
        assert all(source_cases), f"{it['id']}: a source without a case"
        assert set(source_cases) == set(it["expected_cases"]), (
            f"{it['id']}: sources {sorted(set(source_cases))} vs expected {sorted(it['expected_cases'])}")


def test_column_cases_agree_with_the_report(report_norm):
    assert set(COLUMN_CASES) == COLUMNS
    for column, city in COLUMN_CASES.items():
        assert norm(f"{column}：{city}") in report_norm, f"{column} is not {city}"


def test_typed_minimums(typed):
    assert len(typed) >= MIN_TYPED_ITEMS
    counts = Counter(it["type"] for it in typed)
    for kind, minimum in TYPE_MINIMUMS.items():
        assert counts[kind] >= minimum, f"{kind}: {counts[kind]} < {minimum}"


# --- Items over the second report (and over both) --------------------------------------------

FIRST_DOC = "chiho-pf-suiheiteki-renkei-jireishu"
SECOND_DOC = "pf-torikumi-jireishu"
SECOND_PATH = ROOT / "tests" / "fixtures" / "reports" / f"{SECOND_DOC}.md"
SECOND_BODIES = {"上越市", "芽室町", "豊島区", "南箕輪村", "鳥取県", "潮見原市", "豊岡市"}
DOC_TYPES = {"fact", "table", "enumerate", "compare", "crossreport", "outofscope"}


@pytest.fixture(scope="module")
def doc_items(all_items) -> list[dict]:
    return [it for it in all_items if "doc" in it]


@pytest.fixture(scope="module")
def doc_texts(report_norm) -> dict[str, str]:
    return {FIRST_DOC: report_norm, SECOND_DOC: norm(SECOND_PATH.read_text(encoding="utf-8"))}


def _docs(item: dict) -> list[str]:
    return [item["doc"]] if isinstance(item["doc"], str) else list(item["doc"])


def test_doc_items_cover_every_type_over_the_second_report(doc_items):
    assert len(doc_items) >= 20
    counts = Counter(it["type"] for it in doc_items)
    assert DOC_TYPES <= set(counts), DOC_TYPES - set(counts)
    cross = [it for it in doc_items if it["type"] == "crossreport"]
    assert cross and all(set(_docs(it)) == {FIRST_DOC, SECOND_DOC} for it in cross)


def test_doc_items_schema_and_sources(doc_items, doc_texts):
    for it in doc_items:
        assert set(_docs(it)) <= set(doc_texts), it["id"]
        assert it["type"] in TYPES and it["type"] in it["tags"], it["id"]
        assert set(it["tags"]) <= ALLOWED_TAGS | {"doc2"}, it["id"]
        assert (it["type"] == "outofscope") == (not it["answerable"]), it["id"]
        assert (it["type"] == "followup") == ("history" in it), it["id"]
        if not it["answerable"]:
            assert it["sources"] == it["evidence"] == it["expected_cases"] == [], it["id"]
            assert it["reference"].startswith(NOT_FOUND) and it["min_cases"] == 0, it["id"]
            continue
        assert len(it["evidence"]) == len(it["sources"]) and it["sources"], it["id"]
        assert 1 <= it["min_cases"] <= len(it["expected_cases"]), it["id"]
        for src in it["sources"]:
            assert set(src) <= {"section", "municipality", "column", "page", "doc"}, it["id"]
            assert src.get("doc") in _docs(it), it["id"]
            last = 7 if src["doc"] == SECOND_DOC else 31
            assert type(src["page"]) is int and 1 <= src["page"] <= last, it["id"]
            if src["doc"] == SECOND_DOC:
                assert src.get("municipality") in SECOND_BODIES, it["id"]
        assert {source_case(s) for s in it["sources"]} == set(it["expected_cases"]), it["id"]


def test_doc_items_evidence_and_keywords_are_in_their_reports(doc_items, doc_texts):
    for it in doc_items:
        for ev, src in zip(it["evidence"], it["sources"]):
            n = norm(ev)
            shortest = 4 if it["type"] == "table" else 8  # a cell of 表1: 27団体, 令和4年8月
            assert shortest <= len(n) <= 40, f"{it['id']}: evidence length {len(n)}: {ev}"
            assert n in doc_texts[src["doc"]], f"{it['id']}: {ev} not in {src['doc']}"
        text = "".join(doc_texts[d] for d in _docs(it))
        for kw in it["keywords"]:
            assert norm(kw) in norm(it["reference"]), f"{it['id']}: keyword {kw!r}"
            assert norm(kw) in text or kw.startswith("p."), f"{it['id']}: keyword {kw!r}"


def test_the_held_out_part_is_over_the_second_report_and_apart_from_qa(doc_items, doc_texts):
    path = ROOT / "eval" / "heldout_doc2.jsonl"
    held = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(held) >= 15
    questions = {it["question"] for it in doc_items}
    for it in held:
        assert it["question"] not in questions, it["id"]
        assert SECOND_DOC in _docs(it) and it["type"] in TYPES, it["id"]
        for ev, src in zip(it["evidence"], it["sources"]):
            assert norm(ev) in doc_texts[src["doc"]], f"{it['id']}: {ev}"
        assert {source_case(s) for s in it["sources"]} == set(it["expected_cases"]), it["id"]
