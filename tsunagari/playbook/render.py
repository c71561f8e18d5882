"""A memo rendered as Markdown (footnotes), JSON (sections, cases, citations) and Word (.docx with
real footnotes). Citations are rendered by `tsunagari.answering.citations` only; the Word
footnotes use the chat export's machinery (`tsunagari.app.export`)."""

from __future__ import annotations

import io
import re
import time
from typing import Any

from tsunagari.answering.citations import footnote, source_line
from tsunagari.answering.contract import citation_metadata
from tsunagari.app.export import add_inline, md_text, new_document
from tsunagari.playbook.memo import CasePick, Memo, Quoted, Section

TITLE = "地方版PF 立ち上げ・立て直しの手引き"
NO_CASES = "この資料には、このポイントの事例がありません。"
_TOKENS = re.compile(r"\*\*(.+?)\*\*|\[(\d{1,3})\]")


def _ref(q: Quoted) -> str:
    return f"「{q.text}」[{q.n}]"


def section_lines(section: Section) -> list[tuple[str, str]]:
    """A section as (kind, text) lines; text uses `[n]` markers for its quotes.

    kinds: "h2", "h3", "p", "quote", "bullet", "note". Markdown and Word render the same lines.
    """
    head = f"ポイント{section.mark} {section.title}"
    lines: list[tuple[str, str]] = [("h2", head + ("（いま難しいこと）" if section.difficult else ""))]
    lines.append(("h3", "なぜ大切か（報告書の説明）"))
    lines += [("quote", _ref(q)) for q in section.why]
    lines.append(("h3", "参考になる事例"))
    if not section.cases:
        lines.append(("note", NO_CASES))
    for case in section.cases:
        lines += case_lines(case)
    lines.append(("h3", "総括からの助言"))
    lines += [("quote", _ref(q)) for q in section.advice] or [
        ("note", "総括に、このポイントに当てはまる記述は見つかりませんでした。")]
    lines += [("note", n) for n in section.notes]
    return lines


def case_lines(case: CasePick) -> list[tuple[str, str]]:
    title = case.label + (f" {case.heading}" if case.heading else "")
    return [("bullet", f"**{title}**"), ("p", _ref(case.quote)),
            ("p", "選んだ理由: " + "、".join(case.reasons))]


def memo_markdown(memo: Memo, created: str | None = None) -> str:
    """The memo as Markdown; every quote's `[n]` is a footnote with case, pages and origin."""
    created = created or time.strftime("%Y-%m-%d %H:%M")
    out = [f"# {TITLE}", "", f"{md_text(memo.profile.describe())}（作成: {md_text(created)}）", ""]
    if memo.profile.situation:
        out += [f"> {md_text(memo.profile.situation)}", ""]
    out += [f"※ {md_text(n)}" for n in memo.notices]
    for section in memo.sections:
        for kind, text in section_lines(section):
            body = _md_refs(text)
            out += {"h2": [f"## {body}", ""], "h3": [f"### {body}", ""],
                    "quote": [f"> {body}", ""], "bullet": [f"- {body}", ""],
                    "p": [f"  {body}", ""], "note": [f"※ {body}", ""]}[kind]
    out += [f"[^{c.n}]: {md_text(footnote(c))}" for c in memo.citations]
    return "\n".join(out) + "\n"


def _md_refs(text: str) -> str:
    """Escaped text with **bold** kept and `[n]` as footnote references `[^n]`."""
    out, pos = [], 0
    for m in _TOKENS.finditer(text):
        out.append(md_text(text[pos:m.start()]))
        out.append(f"**{md_text(m.group(1))}**" if m.group(1) else f"[^{m.group(2)}]")
        pos = m.end()
    return "".join(out) + md_text(text[pos:])


def memo_to_dict(memo: Memo) -> dict[str, Any]:
    """The memo as JSON: profile, sections (why, cases with reasons, advice, notes), citations."""
    def quoted(q: Quoted) -> dict[str, Any]:
        return {"text": q.text, "n": q.n}

    return {
        "profile": memo.profile.to_dict(),
        "notices": list(memo.notices),
        "sections": [
            {"point": s.point, "mark": s.mark, "title": s.title, "difficult": s.difficult,
             "why": [quoted(q) for q in s.why],
             "cases": [{"key": c.key, "label": c.label, "kind": c.kind, "body": c.body,
                        "size": c.size, "region": c.region, "heading": c.heading,
                        "quote": quoted(c.quote), "reasons": list(c.reasons),
                        "similar": c.similar} for c in s.cases],
             "advice": [quoted(q) for q in s.advice], "notes": list(s.notes)}
            for s in memo.sections],
        "citations": [{"n": c.n, **citation_metadata(c.chunk), "page": c.page,
                       "pages": list(c.pages), "text": c.text, "source": source_line(c)}
                      for c in memo.citations],
    }


def memo_docx(memo: Memo, created: str | None = None) -> bytes:
    """The memo as a Word document with each citation as a real footnote."""
    created = created or time.strftime("%Y-%m-%d %H:%M")
    doc, notes = new_document()
    cits = {c.n: c for c in memo.citations}
    seen: dict[int, int] = {}  # one footnote per citation; later uses point back to it
    doc.add_heading(TITLE, level=0)
    doc.add_paragraph(f"{memo.profile.describe()}（作成: {created}）")
    if memo.profile.situation:
        doc.add_paragraph(memo.profile.situation, style="Intense Quote")
    for n in memo.notices:
        doc.add_paragraph(f"※ {n}")
    for section in memo.sections:
        for kind, text in section_lines(section):
            if kind in ("h2", "h3"):
                doc.add_heading(text, level=1 if kind == "h2" else 2)
                continue
            style = {"quote": "Quote", "bullet": "List Bullet"}.get(kind)
            p = doc.add_paragraph(style=style) if style else doc.add_paragraph()
            add_inline(p, f"※ {text}" if kind == "note" else text, notes, cits, seen)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
