"""Sidebar filters and the case list, derived from the indexed chunks (pure, no Streamlit)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tsunagari.answering.citations import page_range
from tsunagari.app.html import point_label
from tsunagari.domain import POINT_MARKS, POINTS
from tsunagari.types import Chunk, Filters

ALL = ""


@dataclass(frozen=True)
class FilterOptions:
    """Choices for the sidebar filters, derived from the indexed chunks."""

    municipalities: tuple[str, ...]
    # (value, label): value 'chapter:第2章' or 'column:コラム１'.
    scopes: tuple[tuple[str, str], ...]


def filter_options(chunks: Iterable[Chunk]) -> FilterOptions:
    """Municipalities in point order, then chapters and columns in document order.

    >>> o = filter_options([Chunk("a", "d", "t", "x", (6,), chapter="第2章", point=1,
    ...     municipality="仙台市"), Chunk("b", "d", "t", "x", (20,), chapter="第3章",
    ...     column="コラム１", column_city="A市")])
    >>> o.municipalities
    ('仙台市',)
    >>> o.scopes
    (('chapter:第2章', '第2章'), ('chapter:第3章', '第3章'), ('column:コラム１', 'コラム１（A市）'))
    """
    chunks = list(chunks)
    munis = sorted({(c.point or 9, c.municipality) for c in chunks if c.municipality})
    names = tuple(dict.fromkeys(m for _, m in munis))
    chapters = list(dict.fromkeys(c.chapter for c in chunks if c.chapter))
    columns = list(dict.fromkeys((c.column, c.column_city) for c in chunks if c.column))
    scopes = [(f"chapter:{ch}", ch) for ch in chapters]
    scopes += [(f"column:{col}", f"{col}（{city}）" if city else col) for col, city in columns]
    return FilterOptions(names, tuple(scopes))


def make_filters(point: int | None = None, municipality: str = "", scope: str = "") -> Filters:
    """Filters from the sidebar values.

    >>> make_filters(1, "仙台市", "chapter:第2章")
    Filters(point=1, municipality='仙台市', column='', chapter='第2章', doc_id='')
    >>> make_filters(scope="column:コラム１").column
    'コラム１'
    """
    kind, _, value = scope.partition(":")
    return Filters(
        point=point or None,
        municipality=municipality or "",
        chapter=value if kind == "chapter" else "",
        column=value if kind == "column" else "",
    )


def describe_filters(f: Filters) -> str:
    """Japanese summary of active filters ('' when none).

    >>> describe_filters(Filters(point=1, municipality="仙台市"))
    '絞り込み: ①／仙台市'
    """
    parts = []
    if f.point:
        parts.append(POINT_MARKS[f.point - 1])
    parts += [x for x in (f.municipality, f.chapter, f.column, f.doc_id) if x]
    return "絞り込み: " + "／".join(parts) if parts else ""


# --- Case list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    """One chapter-2 case: a municipality's action under a point."""

    point: int
    municipality: str
    case: str
    section: str
    heading: str
    pages: tuple[int, ...]
    source_report: str
    source_page: str
    doc_title: str
    chunk_ids: tuple[str, ...]

    @property
    def question(self) -> str:
        """The question the case page asks in the chat."""
        return f"{self.municipality}は「{POINTS[self.point]}」についてどのような取組をしましたか？"

    def as_row(self) -> dict[str, Any]:
        """A table row with Japanese column names."""
        return {
            "ポイント": point_label(self.point),
            "自治体": self.municipality,
            "見出し": self.heading,
            "本資料のページ": page_range(self.pages) or "0",
            "出典（元の報告書）": self.source_report,
            "元のページ": self.source_page,
        }


def list_cases(chunks: Iterable[Chunk]) -> list[CaseRow]:
    """Every case (point + municipality), merged over its chunks, in point order.

    >>> rows = list_cases([
    ...     Chunk("a", "d", "t", "x", (15,), section="2-4-2", point=4, municipality="名張市",
    ...           case="A：名張市", heading="＜一＞"),
    ...     Chunk("b", "d", "t", "y", (16,), section="2-4-2", point=4, municipality="名張市",
    ...           case="A：名張市", heading="＜二＞"),
    ...     Chunk("c", "d", "t", "z", (6,), section="2-1-2", point=1, municipality="仙台市")])
    >>> [(r.point, r.municipality, r.heading, r.pages) for r in rows]
    [(1, '仙台市', '', (6,)), (4, '名張市', '＜一＞ ＜二＞', (15, 16))]
    """
    groups: dict[tuple[int, str], list[Chunk]] = {}
    for c in chunks:
        if c.point and c.municipality:
            groups.setdefault((c.point, c.municipality), []).append(c)
    rows = []
    for (point, muni), cs in sorted(groups.items(), key=lambda kv: kv[0][0]):
        first = cs[0]
        rows.append(CaseRow(
            point=point, municipality=muni, case=first.case, section=first.section,
            heading=" ".join(dict.fromkeys(c.heading for c in cs if c.heading)),
            pages=tuple(sorted({p for c in cs for p in c.pages})),
            source_report=first.source_report, source_page=first.source_page,
            doc_title=first.doc_title, chunk_ids=tuple(c.chunk_id for c in cs),
        ))
    return rows
