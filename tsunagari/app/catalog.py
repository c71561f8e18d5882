"""Sidebar filters and the case list, derived from the indexed chunks (pure, no Streamlit)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tsunagari.answering.citations import page_range, title_name
from tsunagari.app.html import point_label
from tsunagari.domain import POINT_MARKS, POINTS
from tsunagari.types import Chunk, Filters

ALL = ""


@dataclass(frozen=True)
class FilterOptions:
    """Choices for the sidebar filters, derived from the indexed chunks."""

    municipalities: tuple[str, ...]
    # (value, label): value 'chapter:第2章' or 'column:コラム１' ('doc:<doc_id>' for a whole
    # report, and '…@<doc_id>' after a chapter or column when several reports are indexed).
    scopes: tuple[tuple[str, str], ...]
    # How the sidebar shows a municipality: with the reports that present it, when the index
    # holds several (「上越市（取組事例集（令和7年度））」).
    municipality_labels: tuple[tuple[str, str], ...] = ()


def filter_options(chunks: Iterable[Chunk]) -> FilterOptions:
    """Municipalities in point order (the bodies of reports without points after them, in
    document order), then chapters and columns in document order — of every report.

    >>> o = filter_options([Chunk("a", "d", "t", "x", (6,), chapter="第2章", point=1,
    ...     municipality="仙台市"), Chunk("b", "d", "t", "x", (20,), chapter="第3章",
    ...     column="コラム１", column_city="A市")])
    >>> o.municipalities
    ('仙台市',)
    >>> o.scopes
    (('chapter:第2章', '第2章'), ('chapter:第3章', '第3章'), ('column:コラム１', 'コラム１（A市）'))
    >>> o = filter_options([Chunk("a", "d", "t", "x", (6,), chapter="第2章", point=1,
    ...     municipality="仙台市"), Chunk("b", "e", "取組事例集", "x", (3,), municipality="上越市")])
    >>> o.municipalities, o.scopes[:2]
    (('仙台市', '上越市'), (('doc:d', '資料「t」全体'), ('doc:e', '資料「取組事例集」全体')))
    >>> dict(o.municipality_labels)["上越市"]
    '上越市（取組事例集）'
    """
    chunks = list(chunks)
    order = {m: i for i, m in reversed(list(enumerate(c.municipality for c in chunks)))}
    munis = sorted({(c.point or 9, c.municipality if c.point else "", order[c.municipality],
                     c.municipality) for c in chunks if c.municipality})
    names = tuple(dict.fromkeys(m for *_, m in munis))
    reports = dict.fromkeys(c.doc_id for c in chunks)
    reports.update({c.doc_id: c.doc_title for c in chunks})
    several = len(reports) > 1

    def at(c: Chunk) -> str:
        return f"@{c.doc_id}" if several else ""

    def of(c: Chunk) -> str:
        return f"（{title_name(c.doc_title)}）" if several else ""

    chapters = list(dict.fromkeys((c.chapter, at(c), of(c)) for c in chunks if c.chapter))
    columns = list(dict.fromkeys((c.column, c.column_city, at(c), of(c)) for c in chunks
                                 if c.column))
    scopes = [(f"doc:{d}", f"資料「{title_name(t)}」全体") for d, t in reports.items()] \
        if several else []
    scopes += [(f"chapter:{ch}{a}", f"{ch}{o}") for ch, a, o in chapters]
    scopes += [(f"column:{col}{a}", (f"{col}（{city}）" if city else col) + o)
               for col, city, a, o in columns]
    labels: tuple[tuple[str, str], ...] = ()
    if several:
        in_docs: dict[str, list[str]] = {}
        for c in chunks:
            if c.municipality:
                in_docs.setdefault(c.municipality, [])
                if title_name(c.doc_title) not in in_docs[c.municipality]:
                    in_docs[c.municipality].append(title_name(c.doc_title))
        labels = tuple((m, f"{m}（{'・'.join(in_docs[m])}）") for m in names)
    return FilterOptions(names, tuple(scopes), labels)


def make_filters(point: int | None = None, municipality: str = "", scope: str = "") -> Filters:
    """Filters from the sidebar values.

    >>> make_filters(1, "仙台市", "chapter:第2章")
    Filters(point=1, municipality='仙台市', column='', chapter='第2章', doc_id='')
    >>> make_filters(scope="column:コラム１").column
    'コラム１'
    >>> make_filters(scope="chapter:第2章@doc-a"), make_filters(scope="doc:doc-b").doc_id
    (Filters(point=None, municipality='', column='', chapter='第2章', doc_id='doc-a'), 'doc-b')
    """
    kind, _, value = scope.partition(":")
    value, _, doc_id = value.partition("@")
    if kind == "doc":
        value, doc_id = "", value
    return Filters(
        point=point or None,
        municipality=municipality or "",
        chapter=value if kind == "chapter" else "",
        column=value if kind == "column" else "",
        doc_id=doc_id,
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
    """One case: a municipality's action under a point (the first report's chapter 2), or a
    municipality's section of a report without points (point 0)."""

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
    doc_id: str = ""

    @property
    def question(self) -> str:
        """The question the case page asks in the chat."""
        if self.point in POINTS:
            return f"{self.municipality}は「{POINTS[self.point]}」についてどのような取組をしましたか？"
        return f"{self.municipality}の取組について教えてください。"

    @property
    def report(self) -> str:
        """The report's short name (「取組事例集（令和7年度）」)."""
        return title_name(self.doc_title)

    def as_row(self) -> dict[str, Any]:
        """A table row with Japanese column names."""
        return {
            "資料": self.report,
            "ポイント": point_label(self.point),
            "自治体": self.municipality,
            "見出し": self.heading,
            "本資料のページ": page_range(self.pages) or "0",
            "出典（元の報告書）": self.source_report,
            "元のページ": self.source_page,
        }


def list_cases(chunks: Iterable[Chunk]) -> list[CaseRow]:
    """Every case of every report, merged over its chunks: the cases under a point (point
    order), then the cases of reports without points (report and document order). The same
    body in two reports has a row in each.

    >>> rows = list_cases([
    ...     Chunk("a", "d", "t", "x", (15,), section="2-4-2", point=4, municipality="名張市",
    ...           case="A：名張市", heading="＜一＞"),
    ...     Chunk("b", "d", "t", "y", (16,), section="2-4-2", point=4, municipality="名張市",
    ...           case="A：名張市", heading="＜二＞"),
    ...     Chunk("c", "d", "t", "z", (6,), section="2-1-2", point=1, municipality="仙台市"),
    ...     Chunk("e", "e", "取組事例集", "w", (3,), section="3", municipality="上越市",
    ...           heading="【取組の経緯】")])
    >>> [(r.point, r.municipality, r.heading, r.pages, r.report) for r in rows]
    ... # doctest: +NORMALIZE_WHITESPACE
    [(1, '仙台市', '', (6,), 't'), (4, '名張市', '＜一＞ ＜二＞', (15, 16), 't'),
     (0, '上越市', '【取組の経緯】', (3,), '取組事例集')]
    """
    groups: dict[tuple[int, str, str], list[Chunk]] = {}
    for c in chunks:
        if c.municipality and (c.point or c.kind != "table"):
            groups.setdefault((c.point or 0, c.doc_id, c.municipality), []).append(c)
    docs = list(dict.fromkeys(doc for _, doc, _ in groups))
    rows = []
    for (point, doc, muni), cs in sorted(groups.items(),
                                         key=lambda kv: (kv[0][0] or 9, docs.index(kv[0][1]))):
        first = cs[0]
        rows.append(CaseRow(
            point=point, municipality=muni, case=first.case, section=first.section,
            heading=" ".join(dict.fromkeys(c.heading for c in cs if c.heading)),
            pages=tuple(sorted({p for c in cs for p in c.pages})),
            source_report=first.source_report, source_page=first.source_page,
            doc_title=first.doc_title, chunk_ids=tuple(c.chunk_id for c in cs), doc_id=doc,
        ))
    return rows
