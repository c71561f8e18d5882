"""The 手引き eval: profiles with expected properties (eval/playbook.jsonl), checked on real memos.

Each line: {"id", "profile": {…Profile fields…}, "expect": {…}}. Expectations (all optional):
- "order": the points in section order (or "first_point": the first one);
- "first_case": {"<point>": {"key"|"kind"|"body"|"size": value}} — the section's first case;
- "first_case_all": {attr: value} — in every section that has such a case at all, it comes first;
- "advice_contains" / "advice_excludes": strings the summary advice quotes must (not) contain;
- "note_contains", "reason_contains": strings some note / some case reason must contain;
- "no_notes": true — nothing is reported missing.
Every memo must also have five sections, quotes verbatim from the cited passages, and 1–3 cases
per section. `python -m eval` prints the result; `--check` fails on any failed profile.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tsunagari.answering.retrieve import Retriever
from tsunagari.errors import InputError
from tsunagari.playbook.memo import Memo, build_memo
from tsunagari.playbook.profile import Profile


def load_profiles(path: Path) -> list[dict[str, Any]]:
    rows = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"{path.name} の {no} 行目が JSON として読めません。") from None
        if not isinstance(row, dict) or not isinstance(row.get("profile"), dict):
            raise InputError(f"{path.name} の {no} 行目に profile がありません。")
        rows.append(row)
    return rows


def check_memo(memo: Memo, expect: dict[str, Any], retriever: Retriever) -> list[str]:
    """What a memo gets wrong against the expectations ([] when it passes)."""
    out = []
    sections = {s.point: s for s in memo.sections}
    order = [s.point for s in memo.sections]
    if sorted(order) != [1, 2, 3, 4, 5]:
        out.append(f"sections {order}")
    cits = {c.n: c for c in memo.citations}
    for s in memo.sections:
        if not 1 <= len(s.cases) <= 3:
            out.append(f"point {s.point}: {len(s.cases)} cases")
        for q in (*s.why, *(c.quote for c in s.cases), *s.advice):
            if q.n not in cits or q.text not in cits[q.n].chunk.text:
                out.append(f"point {s.point}: quote not verbatim in [{q.n}]")
    if "order" in expect and order != expect["order"]:
        out.append(f"order {order} != {expect['order']}")
    if "first_point" in expect and order[:1] != [expect["first_point"]]:
        out.append(f"first point {order[:1]} != {expect['first_point']}")
    for point, want in expect.get("first_case", {}).items():
        section = sections.get(int(point))
        first = section.cases[0] if section and section.cases else None
        got = {k: getattr(first, k, None) for k in want}
        if got != want:
            out.append(f"point {point}: first case {got} != {want}")
    want_all = expect.get("first_case_all", {})
    if want_all:
        for s in memo.sections:
            have = [e for e in retriever.catalogue.entities
                    if s.point in e.points and all(getattr(e, k) == v for k, v in want_all.items())]
            first = s.cases[0] if s.cases else None
            if have and not all(getattr(first, k, None) == v for k, v in want_all.items()):
                out.append(f"point {s.point}: first case {first.label if first else None} "
                           f"is not {want_all}")
    advice = " ".join(q.text for s in memo.sections for q in s.advice)
    wanted = expect.get("advice_contains", [])
    if wanted and not any(w in advice for w in wanted):
        out.append(f"advice has none of {wanted}")
    out += [f"advice has {w}" for w in expect.get("advice_excludes", []) if w in advice]
    notes = [n for s in memo.sections for n in s.notes]
    if "note_contains" in expect and not any(expect["note_contains"] in n for n in notes):
        out.append(f"no note with {expect['note_contains']!r}")
    if expect.get("no_notes") and notes:
        out.append(f"unexpected notes {notes}")
    reasons = [r for s in memo.sections for c in s.cases for r in c.reasons]
    if "reason_contains" in expect and not any(expect["reason_contains"] in r for r in reasons):
        out.append(f"no reason with {expect['reason_contains']!r}")
    return out


def run_playbook_eval(path: Path, retriever: Retriever) -> dict[str, Any]:
    """Build the memo of every profile and check it: counts, failures and build times."""
    rows = load_profiles(path)
    failures: dict[str, list[str]] = {}
    times = []
    for i, row in enumerate(rows, start=1):
        profile = Profile.from_mapping(row["profile"])
        start = time.perf_counter()
        memo = build_memo(retriever, profile)
        times.append((time.perf_counter() - start) * 1000)
        problems = check_memo(memo, row.get("expect", {}), retriever)
        if problems:
            failures[str(row.get("id", i))] = problems
    return {"profiles": len(rows), "passed": len(rows) - len(failures), "failures": failures,
            "max_ms": round(max(times, default=0.0), 1)}


def print_playbook(result: dict[str, Any]) -> None:
    print(f"\n手引きの評価: {result['passed']} / {result['profiles']} 件合格"
          f"（1 件の作成 最大 {result['max_ms']} ms）")
    for pid, problems in result["failures"].items():
        for p in problems:
            print(f"  不合格 {pid}: {p}")
