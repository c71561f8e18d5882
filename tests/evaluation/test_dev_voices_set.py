"""Checks on the outside-tester development set eval/dev_voices.jsonl.

The set was written from the two reports only (not from the engine or the other sets). Each
answerable item's evidence must be a verbatim (whitespace-normalised) substring of the report
it cites, and at one of its occurrences the cited page, section and case (municipality or
column) must be right: for the first report as recovered from its PDF text (printed pages,
chapter/section headings, the "A：仙台市" case labels, the column headings); for the second
report, pages from its fixture PDF and sections/bodies from its Markdown source (a 表1 source
names the row of its body).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from tsunagari.chunking.pages import recover
from tsunagari.domain import MUNICIPALITY_ALIASES
from tsunagari.evaluation.metrics import TYPE_LABELS
from tsunagari.evaluation.runner import source_case
from tsunagari.loaders.pdf import read_pdf

ROOT = Path(__file__).resolve().parents[2]
SET_PATH = ROOT / "eval" / "dev_voices.jsonl"
FIRST_DOC = "chiho-pf-suiheiteki-renkei-jireishu"
SECOND_DOC = "pf-torikumi-jireishu"
FIRST_TXT = ROOT / "corpus" / f"{FIRST_DOC}.txt"
SECOND_MD = ROOT / "tests" / "fixtures" / "reports" / f"{SECOND_DOC}.md"
SECOND_PDF = SECOND_MD.with_suffix(".pdf")
NOT_FOUND = "この資料には該当する記述が見つかりませんでした。"
FIELDS = {"id", "type", "doc", "question", "history", "answerable", "reference", "sources",
          "evidence", "keywords", "tags", "expected_cases", "min_cases"}

_WS = re.compile(r"\s+")
_CHAPTER = re.compile(r"^第(\d)章")
_SECTION = re.compile(r"^(\d-\d(?:-\d)?)\.")
_COLUMN = re.compile(r"^(コラム[１-３](?:-[１２])?)：")
_CASE = re.compile(r"^[A-CＡ-Ｃ]：(\S+)$")
_MD_SECTION = re.compile(r"^## (\d+)\. ?([^（\s]*)")


def norm(text: str) -> str:
    return _WS.sub("", text)


@pytest.fixture(scope="module")
def items() -> list[dict]:
    lines = SET_PATH.read_text(encoding="utf-8").splitlines()
    assert all("\\u" not in line for line in lines), "write with ensure_ascii=False"
    return [json.loads(line) for line in lines if line.strip()]


def _docs(item: dict) -> list[str]:
    doc = item.get("doc", FIRST_DOC)
    return [doc] if isinstance(doc, str) else list(doc)


def _src_doc(item: dict, src: dict) -> str:
    return src.get("doc") or _docs(item)[0]


class Located:
    """A whitespace-free report text with, per character, where it stands:
    (page, section, case), where case is a municipality, a column name or ''."""

    def __init__(self) -> None:
        self.text = ""
        self.where: list[tuple[int, str, str]] = []

    def add(self, text: str, page: int, section: str, case: str) -> None:
        n = norm(text)
        self.text += n
        self.where += [(page, section, case)] * len(n)

    def places(self, evidence: str) -> set[tuple[int, str, str]]:
        n, found, start = norm(evidence), set(), 0
        while n and (i := self.text.find(n, start)) >= 0:
            found.add(self.where[i])
            start = i + 1
        return found


@pytest.fixture(scope="module")
def first_report() -> Located:
    meta = tomllib.loads(FIRST_TXT.with_suffix(".toml").read_text(encoding="utf-8"))
    lines, _ = recover(FIRST_TXT.read_text(encoding="utf-8"), int(meta["first_page"]))
    out, section, case = Located(), "", ""
    for line in lines:
        s = line.text.strip()
        if m := _CHAPTER.match(s):
            section, case = m.group(1), ""
        elif m := _SECTION.match(s):
            section, case = m.group(1), ""
        elif m := _COLUMN.match(s):
            section, case = "3", m.group(1)
        elif (m := _CASE.match(s)) and section.startswith("2-"):
            case = m.group(1)
        out.add(s, line.page, section, case)
    return out


@pytest.fixture(scope="module")
def second_report() -> dict:
    """Sections of the Markdown source (section -> (body, text)), 表1 rows, PDF pages."""
    sections: dict[str, tuple[str, str]] = {}
    rows: dict[str, str] = {}
    current, body = "", ""
    for line in SECOND_MD.read_text(encoding="utf-8").splitlines():
        if m := _MD_SECTION.match(line):
            current, body = m.group(1), m.group(2)
            heading = norm(line.removeprefix("## "))
            sections[current] = (body if current not in {"1", "2", "10"} else "", heading)
            continue
        if line.startswith("| ") and not line.startswith("| ---") and not line.startswith("| 自治体名"):
            rows[line.split("|")[1].strip()] = norm(line)
        if current:
            name, text = sections[current]
            sections[current] = (name, text + norm(line))
    loaded = read_pdf(SECOND_PDF.name, SECOND_PDF.read_bytes())
    pages = {i + loaded.first_page: norm(p) for i, p in enumerate(loaded.pages)}
    return {"sections": sections, "rows": rows, "pages": pages,
            "all": norm(SECOND_MD.read_text(encoding="utf-8"))}


def test_schema_ids_and_tags(items):
    ids = [it["id"] for it in items]
    assert not [i for i, n in Counter(ids).items() if n > 1], "duplicate ids"
    for it in items:
        assert set(it) <= FIELDS, f"{it['id']}: {set(it) - FIELDS}"
        assert re.fullmatch(rf"dv-{it['type']}-\d\d", it["id"]), it["id"]
        assert it["type"] in TYPE_LABELS, it["id"]
        assert {"dev-voices", it["type"]} <= set(it["tags"]), it["id"]
        assert ("doc2" in it["tags"]) == (SECOND_DOC in _docs(it)), it["id"]
        assert set(_docs(it)) <= {FIRST_DOC, SECOND_DOC}, it["id"]
        assert it["question"].strip() and it["reference"].strip(), it["id"]
        assert (it["type"] == "followup") == ("history" in it), it["id"]
        assert (it["type"] == "outofscope") == (not it["answerable"]), it["id"]
        assert (it["type"] == "crossreport") == (len(_docs(it)) == 2), it["id"]
        for turn in it.get("history", []):
            assert set(turn) == {"role", "content"} and turn["role"] in {"user", "assistant"}
            assert turn["content"].strip(), it["id"]
        if "history" in it:
            assert it["history"][0]["role"] == "user" and it["history"][-1]["role"] == "assistant"


def test_answerable_and_out_of_scope_items(items):
    for it in items:
        if not it["answerable"]:
            assert it["sources"] == it["evidence"] == it["expected_cases"] == [], it["id"]
            assert it["min_cases"] == 0, it["id"]
            assert it["reference"].startswith(NOT_FOUND) and len(it["reference"]) > len(NOT_FOUND)
            continue
        assert it["sources"] and len(it["sources"]) == len(it["evidence"]), it["id"]
        assert NOT_FOUND not in it["reference"], it["id"]
        assert 2 <= len(it["keywords"]) <= 5, it["id"]
        cases = {source_case(s) for s in it["sources"]} - {""}
        assert cases == set(it["expected_cases"]), f"{it['id']}: {cases} vs {it['expected_cases']}"
        if cases:
            assert 1 <= it["min_cases"] <= len(cases), it["id"]
        else:
            assert it["min_cases"] == 0, it["id"]
        for case in it["expected_cases"]:
            assert case not in MUNICIPALITY_ALIASES, f"{it['id']}: write the canonical {case}"
        for src in it["sources"]:
            assert set(src) <= {"section", "municipality", "column", "page", "doc"}, it["id"]
            assert type(src["page"]) is int, it["id"]
            assert ("doc" in src) == ("doc" in it), it["id"]
            assert _src_doc(it, src) in _docs(it), it["id"]


def test_evidence_is_verbatim_and_its_page_section_and_case_are_right(
        items, first_report, second_report):
    wrong = []
    for it in items:
        for ev, src in zip(it["evidence"], it["sources"]):
            n = norm(ev)
            shortest = 4 if it["type"] == "table" else 8
            if not shortest <= len(n) <= 40:
                wrong.append((it["id"], ev, f"evidence length {len(n)}"))
            if _src_doc(it, src) == FIRST_DOC:
                case = src.get("municipality") or src.get("column") or ""
                places = first_report.places(ev)
                if not places:
                    wrong.append((it["id"], ev, "not in the first report"))
                elif (src["page"], src["section"], case) not in places:
                    wrong.append((it["id"], ev, f"cited {src}, found at {sorted(places)}"))
                continue
            sections, rows = second_report["sections"], second_report["rows"]
            if n not in second_report["all"]:
                wrong.append((it["id"], ev, "not in the second report"))
                continue
            body, text = sections.get(src["section"], ("?", ""))
            if src["section"] == "2" and src.get("municipality"):
                ok = n in rows.get(src["municipality"], "")
            else:
                ok = n in text and body == src.get("municipality", "")
            if not ok:
                wrong.append((it["id"], ev, f"not in section {src['section']} / {src.get('municipality')}"))
            if n not in second_report["pages"].get(src["page"], ""):
                wrong.append((it["id"], ev, f"not on PDF page {src['page']}"))
    assert not wrong, wrong


def test_keywords_are_in_reference_and_report(items, first_report, second_report):
    texts = {FIRST_DOC: first_report.text, SECOND_DOC: second_report["all"]}
    wrong = []
    for it in items:
        ref = norm(it["reference"])
        report = "".join(texts[d] for d in _docs(it))
        for kw in it["keywords"]:
            if norm(kw) not in ref:
                wrong.append((it["id"], kw, "not in reference"))
            if norm(kw) not in report:
                wrong.append((it["id"], kw, "not in report"))
    assert not wrong, wrong


def test_coverage_of_types_and_reports(items):
    first = [it for it in items if "doc" not in it]
    second = [it for it in items if "doc" in it]
    assert len(first) >= 60 and len(second) >= 15
    assert set(TYPE_LABELS) <= {it["type"] for it in items}
    assert set(TYPE_LABELS) - {"table", "crossreport"} <= {it["type"] for it in first}
    assert {"table", "crossreport", "outofscope"} <= {it["type"] for it in second}
    for it in items:
        if it["type"] in {"enumerate", "negation"}:
            assert it["min_cases"] >= 2, f"{it['id']}: a list needs several cases"


def test_questions_are_not_taken_from_the_other_sets(items):
    questions = {norm(it["question"]) for it in items}
    assert len(questions) == len(items), "repeated question"
    for name in ("qa.jsonl", "dev_probe.jsonl", "heldout.jsonl", "heldout_doc2.jsonl"):
        path = ROOT / "eval" / name
        if not path.exists():
            continue
        others = {norm(json.loads(line)["question"])
                  for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
        shared = [it["id"] for it in items if norm(it["question"]) in others]
        assert not shared, f"questions also in {name}: {shared}"
