"""Checks on the frozen held-out set eval/heldout.jsonl: schema, known types, and that every
evidence string is in the report, on the printed page its source names.

The set is frozen (written from the report alone, before the engine changed); these tests only
guard its integrity. They never look at answers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tsunagari.chunking.pages import recover
from tsunagari.domain import MUNICIPALITY_ALIASES
from tsunagari.evaluation.metrics import TYPE_LABELS
from tsunagari.evaluation.runner import COLUMN_CASES, load_qa, source_case

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "eval" / "heldout.jsonl"
QA = ROOT / "eval" / "qa.jsonl"
CORPUS = ROOT / "corpus" / "chiho-pf-suiheiteki-renkei-jireishu.txt"
FIRST_PAGE = 3  # corpus/chiho-pf-suiheiteki-renkei-jireishu.toml
CASES = {"仙台市", "富山県", "北九州市", "埼玉県", "江東区", "徳島市", "岐阜県", "枚方市", "名張市",
         "北海道", "市原市", "生駒市", "座間市", "A市", "B市", "C市"}
# Failure classes of issue 17, each with the tag or type that marks its items, and a minimum.
CLASSES = {"casual": 15, "situation": 6, "variant": 15, "multiturn": 12, "false-premise": 6,
           "legal": 3, "date": 3, "number": 6, "background": 5, "report": 12}
TYPE_MINIMUMS = {"enumerate": 15, "negation": 6, "compare": 8, "profile": 10, "paraphrase": 12,
                 "followup": 10, "fact": 8, "why": 8, "overview": 8, "premise": 5,
                 "outofscope": 12}
_WS = re.compile(r"\s+")


def norm(text: str) -> str:
    return _WS.sub("", text)


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return load_qa(HELDOUT)


@pytest.fixture(scope="module")
def paged() -> tuple[str, list[int]]:
    """The report's cleaned body text (no whitespace) and the printed page of each character."""
    lines, _ = recover(CORPUS.read_text(encoding="utf-8"), FIRST_PAGE)
    chars, pages = [], []
    for line in lines:
        for ch in norm(line.text):
            chars.append(ch)
            pages.append(line.page)
    return "".join(chars), pages


def test_size_ids_and_types(items):
    assert len(items) >= 120
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids))
    counts = Counter(i.get("type") for i in items)
    assert None not in counts, "every held-out item is typed"
    assert set(counts) <= set(TYPE_LABELS), set(counts) - set(TYPE_LABELS)
    for kind, minimum in TYPE_MINIMUMS.items():
        assert counts[kind] >= minimum, (kind, counts[kind])


def test_schema_fields(items):
    for it in items:
        assert it["question"].strip(), it["id"]
        assert isinstance(it["answerable"], bool)
        assert len(it["sources"]) == len(it["evidence"]), it["id"]
        assert it["type"] in it["tags"], it["id"]
        assert isinstance(it["min_cases"], int) and 0 <= it["min_cases"] <= len(it["expected_cases"])
        if it["type"] == "outofscope":
            assert not it["answerable"] and not it["evidence"] and not it["expected_cases"]
            assert it["reference"].startswith("この資料には該当する記述が見つかりませんでした。")
        else:
            assert it["answerable"] and it["evidence"], it["id"]
        for turn in it.get("history", []):
            assert turn["role"] in ("user", "assistant") and turn["content"].strip()


def test_expected_cases_are_named_as_the_runner_names_them(items):
    for it in items:
        for case in it["expected_cases"]:
            assert case in CASES, (it["id"], case)
            assert case not in MUNICIPALITY_ALIASES  # canonical spelling (枚方市, not 牧方市)
        # Every expected case has at least one evidence string from a source of that case.
        cased = {source_case(s) for s in it["sources"]}
        assert set(it["expected_cases"]) <= cased, it["id"]
        for s in it["sources"]:
            if "column" in s:
                assert s["column"] in COLUMN_CASES and s["section"] == "3"


def test_every_evidence_is_in_the_report_on_its_page(items, paged):
    text, pages = paged
    raw = norm(CORPUS.read_text(encoding="utf-8"))
    for it in items:
        for src, ev in zip(it["sources"], it["evidence"]):
            needle = norm(ev)
            assert needle, it["id"]
            at = text.find(needle)
            if at < 0:  # a footnote (moved off the body text by the page recovery)
                assert needle in raw, (it["id"], ev)
                continue
            found = {pages[m.start()] for m in re.finditer(re.escape(needle), text)}
            assert src["page"] in found, (it["id"], ev, src["page"], found)


def test_sections_match_the_pages_they_print_on(items):
    spans = {"2-1-1": (6, 6), "2-1-2": (6, 7), "2-2-1": (8, 8), "2-2-2": (8, 8), "2-3-1": (9, 9),
             "2-3-2": (9, 10), "2-4-1": (11, 11), "2-4-2": (11, 12), "2-5-1": (13, 13),
             "2-5-2": (13, 13), "2-6": (14, 15), "4": (30, 31), "3": (16, 29)}
    for it in items:
        for s in it["sources"]:
            sec = s["section"]
            if sec.startswith("1-"):
                assert 3 <= s["page"] <= 5, (it["id"], s)
            else:
                lo, hi = spans[sec]
                assert lo <= s["page"] <= hi, (it["id"], s)


def test_covers_every_failure_class_of_the_issue(items):
    tags = Counter(t for it in items for t in it["tags"])
    for tag, minimum in CLASSES.items():
        assert tags[tag] >= minimum, (tag, tags[tag])
    multi = [it for it in items if it.get("history")]
    assert sum(1 for it in multi if len(it["history"]) >= 4) >= 6  # referents across turns


def test_no_question_is_copied_from_qa_jsonl(items):
    qa = {norm(i["question"]) for i in load_qa(QA)}
    assert not [it["id"] for it in items if norm(it["question"]) in qa]
