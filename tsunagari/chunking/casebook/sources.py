"""Parse the table that maps each chapter-2 case to the original report and page (table 2-6)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tsunagari.chunking.casebook.facts import canonical_name as canonical_municipality
from tsunagari.chunking.pages import Line
from tsunagari.chunking.structure import nfkc

_ROW = re.compile(r"^(?:([0-9０-９][-－][0-9０-９])\s+)?(\S{2,8}?)\s+(株式会社.*)$")
_PAGE = re.compile(r"^[0-9０-９]+(?:[-－][0-9０-９]+)?\s*/\s*[0-9０-９]+$")
_TABLE_HEADING = re.compile(r"^[0-9０-９][-－][0-9０-９]\.\s*各アクション事例の引用報告書一覧")


@dataclass(frozen=True)
class SourceRow:
    """One row of table 2-6."""

    section: str  # "2-1"
    name_in_report: str  # as printed, e.g. "牧方氏"
    municipality: str  # canonical, e.g. "枚方市"
    report: str
    page: str  # e.g. "15/125", "42-45/123"
    pdf_page: int  # printed page of this report where the row stands


def parse_source_table(lines: list[Line]) -> list[SourceRow]:
    """Rows of the '各アクション事例の引用報告書一覧' table, in order."""
    rows: list[SourceRow] = []
    inside = False
    section = ""
    current: dict[str, object] | None = None
    for line in lines:
        text = line.text.strip()
        if _TABLE_HEADING.match(text):
            inside = True
            continue
        if not inside:
            continue
        if text.startswith("第") and "章" in text[:4]:
            break
        if m := _ROW.match(text):
            section = nfkc(m.group(1)).replace("－", "-") if m.group(1) else section
            current = {"section": section, "name": m.group(2), "report": m.group(3),
                       "page": line.page}
            continue
        if current is None:
            continue
        if _PAGE.match(text):
            rows.append(
                SourceRow(
                    section=str(current["section"]),
                    name_in_report=str(current["name"]),
                    municipality=canonical_municipality(str(current["name"])),
                    report=re.sub(r"（リンク）$", "", str(current["report"])).strip(),
                    page=re.sub(r"\s", "", nfkc(text)).replace("－", "-"),
                    pdf_page=int(current["page"]),  # type: ignore[arg-type]
                )
            )
            current = None
        else:
            current["report"] = str(current["report"]) + text
    return rows


def source_lookup(rows: list[SourceRow]) -> dict[tuple[str, str], SourceRow]:
    """Index rows by (section '2-N', canonical municipality)."""
    return {(r.section, r.municipality): r for r in rows}
