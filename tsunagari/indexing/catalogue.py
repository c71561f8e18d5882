"""The case catalogue: every case and interview column of the indexed reports, as entities.

Built from the structure that chunking recovers (municipality, case label, column, region and
size, point, section, heading, pages, original report, speakers), for any report whose cases or
columns were recognised — the first report's profile and the generic one alike. One entity per
municipality or column city: a municipality with cases under two points (北九州市 ① and ⑤) is one
entity with both; a column in two parts (コラム３-１, ３-２ of C市) is one entity too.

Everything that belongs to a place in a report is scoped by the report (`doc_id`): the same
body in two reports is one entity with one `ReportPart` per report (its own sections, pages and
passages), and two reports' section "2-1" never mix. An anonymised column city (A市) is one
report's own: the same label in another report is another entity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tsunagari.domain import body_kind
from tsunagari.types import Chunk

_PART_MARK = re.compile(r"[①-⑳]$")


@dataclass(frozen=True)
class ReportPart:
    """What one report says about an entity: its sections, pages and passages there."""

    doc_id: str
    doc_title: str
    chapter: str
    sections: tuple[str, ...]
    cases: tuple[str, ...]
    headings: tuple[str, ...]
    pages: tuple[int, ...]
    chunk_ids: tuple[str, ...]
    points: tuple[int, ...] = ()

    def describe(self, kind: str) -> str:
        """What the passages are in their report (the first report's chapter-2 cases keep their
        name: they are the chapter's アクション事例).

        >>> ReportPart("d", "t", "第2章", ("2-1-2",), (), (), (6,), (), (1,)).describe("case")
        '第2章のアクション事例'
        >>> ReportPart("d", "t", "", ("3",), (), (), (4,), ()).describe("case")
        '事例'
        """
        if kind == "column":
            return "ヒアリング調査のコラム"
        return f"{self.chapter}のアクション事例" if self.points and self.chapter else "事例"


@dataclass(frozen=True)
class Entity:
    """One case (a named municipality) or interview column (an anonymised city)."""

    key: str  # what the answer and the eval call it: 仙台市, A市, C市
    kind: str  # "case" | "column"
    label: str  # how a reader sees it: 仙台市 / コラム１：A市（中国地方、小都市）
    body: str  # 都道府県 / 政令市 / 特別区 / 市 / 町村 / "" (see domain.body_kind)
    region: str
    size: str
    points: tuple[int, ...]
    sections: tuple[str, ...]
    cases: tuple[str, ...]  # the report's case labels (A：仙台市) or column labels (コラム１)
    headings: tuple[str, ...]
    pages: tuple[int, ...]
    sources: tuple[tuple[str, str], ...]  # (original report, page) from table 2-6
    speakers: tuple[str, ...]
    chunk_ids: tuple[str, ...]
    doc_ids: tuple[str, ...]
    # One part per report that presents the entity, in document order.
    parts: tuple[ReportPart, ...] = ()

    def part(self, doc_id: str) -> ReportPart | None:
        """What one report says about the entity (None: the report does not present it)."""
        return next((p for p in self.parts if p.doc_id == doc_id), None)

    @property
    def names(self) -> tuple[str, ...]:
        """Names a question may use for this entity (the key, column labels, the bare name).

        >>> _entity("仙台市").names
        ('仙台市', '仙台')
        """
        out = [self.key]
        if self.kind == "column":
            out += [c for c in self.cases if c]
        elif len(self.key) > 2 and self.key[-1] in "市区町村県":
            out.append(self.key[:-1])
        return tuple(dict.fromkeys(out))

    def describe(self) -> str:
        """One line of facts from the report: kind of body, region and size, points, pages.

        >>> _entity("A市", kind="column", region="中国地方", size="小都市").describe()
        'ヒアリング調査のコラム（市、中国地方、小都市）'
        """
        facts = [x for x in (self.body, self.region, self.size) if x]
        if self.parts:
            what = self.parts[0].describe(self.kind)
        else:
            what = "ヒアリング調査のコラム" if self.kind == "column" else "第2章のアクション事例"
        return f"{what}（{'、'.join(facts)}）" if facts else what


def section_key(chunk: Chunk) -> tuple[str, str]:
    """A section as one report numbers it: two reports' "2-1" are two sections.

    >>> section_key(Chunk("c", "d", "t", "x", (6,), section="2-1"))
    ('d', '2-1')
    """
    return chunk.doc_id, chunk.section


def entity_key(chunk: Chunk) -> str:
    """The entity a chunk belongs to, or '' for text outside any case or column.

    >>> entity_key(Chunk("c", "d", "t", "x", (25,), column="コラム３-１", column_city="C市①"))
    'C市'
    """
    if chunk.municipality:
        return chunk.municipality
    if chunk.column:
        return _PART_MARK.sub("", chunk.column_city) or chunk.column
    return ""


@dataclass(frozen=True)
class Catalogue:
    """The entities of the index, in document order, with lookups."""

    entities: tuple[Entity, ...]

    def __post_init__(self) -> None:
        by_chunk = {cid: e for e in self.entities for cid in e.chunk_ids}
        object.__setattr__(self, "_by_chunk", by_chunk)

    def get(self, key: str) -> Entity | None:
        return next((e for e in self.entities if e.key == key), None)

    def of_chunk(self, chunk: Chunk) -> Entity | None:
        """The entity a passage belongs to (by its id, so another report's A市 is its own)."""
        found = self._by_chunk.get(chunk.chunk_id)  # type: ignore[attr-defined]
        if found is not None:
            return found
        key = entity_key(chunk)
        return self.get(key) if key else None

    @property
    def doc_ids(self) -> tuple[str, ...]:
        """The reports that present at least one entity, in document order."""
        return tuple(dict.fromkeys(d for e in self.entities for d in e.doc_ids))

    def of_report(self, doc_id: str) -> list[Entity]:
        """The entities one report presents, in the order it presents them."""
        found = [(e.part(doc_id), e) for e in self.entities]
        return [e for p, e in found if p is not None]

    def find(self, text: str) -> list[Entity]:
        """Entities a text names, in the order they appear (longest name wins at a position)."""
        found: list[tuple[int, int, Entity]] = []
        for e in self.entities:
            for name in e.names:
                pos = text.find(name)
                if pos >= 0 and _standalone(text, pos, name):
                    found.append((pos, -len(name), e))
                    break
        found.sort(key=lambda x: (x[0], x[1]))
        return list(dict.fromkeys(e for _, _, e in found))


def _standalone(text: str, pos: int, name: str) -> bool:
    """Whether a name at `pos` stands as a name: not "C市" inside "ABC市場", not "仙台" inside a
    longer word.

    >>> _standalone("ABC市場", 2, "C市"), _standalone("C市の話", 0, "C市")
    (False, True)
    """
    end = pos + len(name)
    before = text[pos - 1] if pos else ""
    after = text[end] if end < len(text) else ""
    if name[0].isascii() and before.isascii() and before.isalnum():
        return False
    if name[-1] in "市区町村県道都府":
        return after not in _WORD_AFTER
    return not after or not after.isascii() or not after.isalnum()


_WORD_AFTER = set("場民役長内営立議職外部全")


def build_catalogue(chunks: Iterable[Chunk]) -> Catalogue:
    """Group chunks into entities (document order) and collect their facts.

    >>> cat = build_catalogue([
    ...     Chunk("a", "d", "t", "x", (6,), section="2-1-2", point=1, municipality="北九州市",
    ...           case="C：北九州市", source_report="報告書", source_page="78/117"),
    ...     Chunk("b", "d", "t", "y", (13,), section="2-5-2", point=5, municipality="北九州市",
    ...           case="A：北九州市"),
    ...     Chunk("c", "d", "t", "z", (20,), section="3-1", column="コラム１", column_city="A市",
    ...           region="中国地方", city_size="小都市", point=2, speakers=("PF担当者",))])
    >>> [(e.key, e.kind, e.body, e.points, e.pages) for e in cat.entities]
    [('北九州市', 'case', '政令市', (1, 5), (6, 13)), ('A市', 'column', '市', (2,), (20,))]
    >>> cat.entities[1].label
    'コラム１：A市（中国地方、小都市）'
    """
    groups: dict[tuple[str, str], list[Chunk]] = {}
    for c in chunks:
        key = entity_key(c)
        if key:
            # A named body is one entity over every report; an anonymised column city is one
            # report's own.
            scope = c.doc_id if not c.municipality else ""
            groups.setdefault((key, scope), []).append(c)
    taken = {key for key, scope in groups if not scope}
    entities = []
    for (key, scope), cs in groups.items():
        if scope and key in taken:  # another report's A市: named with its report
            key = f"{key}（{cs[0].doc_title}）"
        taken.add(key)
        entities.append(_entity_of(key, cs))
    return Catalogue(tuple(entities))


def _entity_of(key: str, cs: list[Chunk]) -> Entity:
    first = cs[0]
    kind = "case" if first.municipality else "column"
    cases = tuple(dict.fromkeys((c.case if kind == "case" else c.column) for c in cs))
    region = next((c.region for c in cs if c.region), "")
    size = next((c.city_size for c in cs if c.city_size), "")
    if kind == "column":
        place = "、".join(x for x in (region, size) if x)
        label = f"{cases[0]}：{_PART_MARK.sub('', first.column_city) or key}" + \
            (f"（{place}）" if place else "")
    else:
        label = key
    by_doc: dict[str, list[Chunk]] = {}
    for c in cs:
        by_doc.setdefault(c.doc_id, []).append(c)
    parts = tuple(_part(doc_cs, kind) for doc_cs in by_doc.values())
    return Entity(
        key=key, kind=kind, label=label, body=body_kind(key), region=region, size=size,
        points=tuple(sorted({c.point for c in cs if c.point})),
        sections=parts[0].sections,
        cases=cases,
        headings=tuple(dict.fromkeys(h for c in cs for h in _headings(c))),
        pages=parts[0].pages,
        sources=tuple(dict.fromkeys((c.source_report, c.source_page) for c in cs
                                    if c.source_report)),
        speakers=tuple(dict.fromkeys(s for c in cs for s in c.speakers)),
        chunk_ids=tuple(c.chunk_id for c in cs),
        doc_ids=tuple(by_doc),
        parts=parts,
    )


def _part(cs: list[Chunk], kind: str) -> ReportPart:
    # A summary table's row about the body (kind "table") is one of its passages, but the
    # body's sections, headings and pages are those of its own text where it has some.
    own = [c for c in cs if c.kind != "table"] or cs
    first = own[0]
    return ReportPart(
        doc_id=first.doc_id, doc_title=first.doc_title, chapter=first.chapter,
        sections=tuple(dict.fromkeys(c.section for c in own if c.section)),
        cases=tuple(dict.fromkeys((c.case if kind == "case" else c.column) for c in own)),
        headings=tuple(dict.fromkeys(h for c in own for h in _headings(c))),
        pages=tuple(sorted({p for c in own for p in c.pages})),
        chunk_ids=tuple(c.chunk_id for c in cs),
        points=tuple(sorted({c.point for c in cs if c.point})),
    )


def _headings(chunk: Chunk) -> list[str]:
    return [h for h in chunk.heading.split(" ") if h] if chunk.heading else []


def _entity(key: str, kind: str = "case", region: str = "", size: str = "") -> Entity:
    """A bare entity (for the doctests)."""
    return Entity(key, kind, key, body_kind(key), region, size, (), (), (), (), (), (), (), (),
                  ())
