"""Answers at the grain the question asks for: every qualifying case, entities side by side, one
entity's profile, or a page or source fact from the metadata.

Each route retrieves with the same `Retriever` and quotes verbatim sentences with `[n]` markers;
`extractive.py` picks the route from the question's `Intent`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tsunagari.answering.citations import in_report, report_name, title_name
from tsunagari.answering.intent import Intent
from tsunagari.answering.retrieve import Retriever
from tsunagari.answering.focus import COMPARED_PASSAGES, focus_words, focused_quotes
from tsunagari.answering.sentences import Quote, best_quotes, citations_for
from tsunagari.domain import POINT_MARKS, topic_points
from tsunagari.indexing.catalogue import Entity
from tsunagari.types import Citation, Filters, Hit

MAX_ENTITIES = 20


@dataclass(frozen=True)
class Routed:
    """A routed answer: its Markdown body, citations and the hits it stands on."""

    body: str
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]


def entity_filters(entity: Entity, doc_id: str = "") -> Filters:
    """The retrieval filter that keeps one entity's passages (in one report, with `doc_id`)."""
    if entity.kind == "column":
        city = entity.key.split("（")[0]  # another report's A市 is keyed 「A市（その報告書）」
        return Filters(column=city, doc_id=doc_id or (entity.doc_ids[0] if city != entity.key
                                                      else ""))
    return Filters(municipality=entity.key, doc_id=doc_id)


def _short_points(entity: Entity) -> str:
    return "".join(POINT_MARKS[p - 1] for p in entity.points if 1 <= p <= 5)


def _entity_line(entity: Entity) -> str:
    points = _short_points(entity)
    return f"**{entity.label}**" + (f"（ポイント{points}）" if points else "")


def several_reports(retriever: Retriever) -> bool:
    """Whether the index holds more than one report (answers then say which report each
    quote comes from)."""
    return len(retriever.reports) > 1


def named_reports(query: str, retriever: Retriever) -> set[str]:
    """The reports a question names (「取組事例集で…」), by their title or short name without
    its bracketed year; empty when it names none or the index holds one report.

    >>> from types import SimpleNamespace as NS
    >>> r = NS(reports={"a": "地方版PF 取組事例集（令和7年度）", "b": "水平的連携に関する事例集"})
    >>> named_reports("取組事例集で社協が関わる自治体は？", r), named_reports("両方の事例集で", r)
    ({'a'}, set())
    """
    if len(retriever.reports) < 2:
        return set()
    found = set()
    for doc_id, title in retriever.reports.items():
        names = {title, title_name(title), re.split(r"[ 　]", title)[-1]}
        names |= {re.sub(r"[（(][^）)]*[）)]$", "", n).strip() for n in names}
        if any(len(n) >= 4 and n in query for n in names):
            found.add(doc_id)
    return found if len(found) < len(retriever.reports) else set()


def _entity_text(entity: Entity, retriever: Retriever, reports: set[str]) -> str:
    """An entity's text, in the named reports only when a question names some."""
    if not reports:
        return retriever.entity_text(entity)
    return "\n".join(c.text for c in retriever.entity_chunks(entity) if c.doc_id in reports)


def _report_quotes(entity: Entity, retriever: Retriever, query: str, words: Sequence[str],
                   terms, reports: set[str] = frozenset()
                   ) -> list[tuple[Quote | None, list[Quote]]]:
    """The best quote (and a heading line that shows why it qualifies) of each report that
    presents the entity (of the named `reports`, if any); the reports whose passages show
    nothing are left out."""
    out = []
    docs = [p.doc_id for p in entity.parts if not reports or p.doc_id in reports]
    if len(entity.parts) < 2:
        docs = [""]
    for doc_id in docs:
        filters = entity_filters(entity, doc_id)
        n = len(entity.part(doc_id).chunk_ids) if doc_id else len(entity.chunk_ids)
        hits = retriever.search(query, k=max(3, n), filters=filters)
        # Quote the passage that shows why the case qualifies (the term, the size…), if any.
        showing = _narrative_first([h for h in hits if any(w in h.chunk.text for w in words)])
        if doc_id and words and not showing:
            continue  # this report's passages do not show the condition
        found = best_quotes(showing[:4], retriever, query, 1, terms=terms)
        label = None
        if showing and not found:  # only a heading shows it (「コラム１：A市（中国地方、小都市）」)
            label = _line_with(showing[0], words)
        found = found or best_quotes(hits[:2], retriever, query, 1, terms=terms)
        if found:
            out.append((label, found))
    return out


def _narrative_first(hits: Sequence[Hit]) -> list[Hit]:
    """The case's own passages when some show it, else its rows of a summary table (a row
    restates the case in a few words; the case's section says what it did)."""
    return [h for h in hits if h.chunk.kind != "table"] or list(hits)


# --------------------------------------------------------------------------- enumerate


def qualifying(intent: Intent, retriever: Retriever) -> list[Entity]:
    """Every entity that meets the question's conditions (metadata and content terms).

    Metadata conditions (kind of body, region, size, points, original report, chapter or
    column) are exact; a content term (社協, 大学, 情報交換会…) qualifies an entity whose
    passages use one of its words. A question with neither ranks entities by relevance and
    keeps those close to the best (case-level ranking with a threshold).
    """
    catalogue = retriever.catalogue
    conditions = intent.conditions
    terms = intent.terms
    if not conditions.points and "ポイント" in intent.query:
        points = topic_points(intent.query)
        if points:  # 「…を味方につけるポイント」: the point's cases, whatever words they use
            conditions = type(conditions)(conditions.bodies, conditions.regions,
                                          conditions.sizes, frozenset(points),
                                          conditions.reports, conditions.kinds)
            terms = ()
    candidates = [e for e in catalogue.entities
                  if conditions.match(e) and not (intent.excluded and intent.excluded.hits(e))
                  and e not in intent.excluded_entities]
    reports = named_reports(intent.query, retriever)
    if reports:  # 「取組事例集で…」: that report's cases only
        candidates = [e for e in candidates if reports & set(e.doc_ids)]
    if terms:
        texts = {e.key: _entity_text(e, retriever, reports) for e in candidates}
        return [e for e in candidates
                if all(any(w in texts[e.key] for w in group) for group in terms)]
    if conditions or intent.excluded or intent.excluded_entities:
        if not conditions.points and (points := topic_points(intent.query)):
            narrowed = [e for e in candidates if points & set(e.points)]
            return narrowed or candidates
        return candidates
    return _relevant(intent, retriever, candidates)


# A case qualifies when its best passage scores this share of the best case's (fused scores).
# Calibrated on qa.jsonl + dev_probe.jsonl: 0.6 / 0.7 / 0.8 / 0.9 gave list case precision
# 0.914 / 0.922 / 0.938 / 0.932 and completeness 0.947 / 0.947 / 0.947 / 0.942.
RELEVANT_SHARE = 0.8


def _relevant(intent: Intent, retriever: Retriever, candidates: list[Entity]) -> list[Entity]:
    """Entities ranked by their best passage; those within reach of the best one qualify."""
    allowed = {e.key for e in candidates}
    hits = retriever.search(intent.query, k=40)
    best: dict[str, float] = {}
    for h in hits:
        e = retriever.catalogue.of_chunk(h.chunk)
        if e is not None and e.key in allowed and e.key not in best:
            best[e.key] = h.score
    if not best:
        return []
    top = max(best.values())
    keep = [k for k, s in best.items() if s >= top * RELEVANT_SHARE][:8]
    return [e for e in candidates if e.key in keep]


def _qualifying_words(intent: Intent) -> tuple[str, ...]:
    """Words that show a passage meets the conditions: content terms, size, region."""
    c = intent.conditions
    return (*(w for group in intent.terms for w in group), *c.sizes, *c.regions)


def answer_enumeration(intent: Intent, retriever: Retriever, limit: int) -> Routed | None:
    entities = qualifying(intent, retriever)[:MAX_ENTITIES]
    if not entities:
        return None
    query = intent.query
    quotes: list[tuple[Entity, Quote | None, list[Quote]]] = []
    words = _qualifying_words(intent)
    reports = named_reports(query, retriever)
    for e in entities:
        for label, found in _report_quotes(e, retriever, query, words, intent.terms, reports):
            quotes.append((e, label, found))
    if not quotes:
        return None
    every = [q for _, label, qs in quotes for q in ([label] if label else []) + qs]
    citations, numbers = citations_for(every)
    count = len(dict.fromkeys(e.key for e, _, _ in quotes))
    lines = [f"該当する事例は{count}件です。", ""]
    titled = several_reports(retriever)
    for e, label, qs in quotes:
        mark = f"[{numbers[label.hit.chunk.chunk_id]}]" if label else ""
        where = f"（{in_report(qs[0].hit.chunk, qs[0].hit.chunk.page_at(qs[0].offset))}）" \
            if titled else ""
        lines.append(_entity_line(e) + where + mark)
        lines.extend(f"- {q.text}[{numbers[q.hit.chunk.chunk_id]}]" for q in qs)
        lines.append("")
    hits = tuple(renumber([q.hit for q in every]))
    return Routed("\n".join(lines).strip(), citations, hits)


def _line_with(hit: Hit, words: Sequence[str]) -> Quote | None:
    """The first line of a passage that uses one of the words, as a quote."""
    offset = 0
    for line in hit.chunk.text.split("\n"):
        if any(w in line for w in words):
            return Quote(hit, line.strip(), offset + len(line) - len(line.lstrip()))
        offset += len(line) + 1
    return None


# --------------------------------------------------------------------------- compare


def answer_comparison(intent: Intent, retriever: Retriever, limit: int) -> Routed | None:
    """One retrieval per named entity, shown side by side in a table."""
    topic = intent.query
    for e in intent.entities:
        for name in e.names:
            topic = topic.replace(name, " ")
    focus = focus_words(topic, retriever)
    rows: list[tuple[Entity, list[Quote]]] = []
    for e in intent.entities[:4]:
        hits = retriever.search(topic, k=COMPARED_PASSAGES, filters=entity_filters(e))
        rows.append((e, focused_quotes(hits, retriever, focus, 2)))
    if sum(1 for _, q in rows if q) < 2:
        return None
    citations, numbers = citations_for([q for _, qs in rows for q in qs])
    names = "と".join(e.key for e, _ in rows)
    titled = several_reports(retriever)
    lines = [f"{names}の取り組みを、資料の記述で並べます。", "",
             f"| 事例 | 資料の記述 | {'資料とページ' if titled else '本資料のページ'} |",
             "|---|---|---|"]
    for e, qs in rows:
        if not qs:
            lines.append(f"| {e.key} | この観点の記述は見つかりませんでした | |")
            continue
        text = " ".join(f"{_cell(q.text)}[{numbers[q.hit.chunk.chunk_id]}]" for q in qs)
        if titled:  # 「取組事例集 p.3」: the report of each quote
            pages = "、".join(dict.fromkeys(in_report(q.hit.chunk, q.hit.chunk.page_at(q.offset))
                                           for q in qs))
        else:
            pages = "p." + "、".join(dict.fromkeys(str(q.hit.chunk.page_at(q.offset))
                                                  for q in qs))
        lines.append(f"| {_cell(e.label)} | {text} | {pages} |")
    hits = tuple(renumber([q.hit for _, qs in rows for q in qs]))
    return Routed("\n".join(lines), citations, hits)


def _cell(text: str) -> str:
    """Text for a Markdown table cell (no pipes or line breaks)."""
    return text.replace("|", "｜").replace("\n", " ")


# --------------------------------------------------------------------------- profile


def answer_profile(intent: Intent, retriever: Retriever, limit: int) -> Routed | None:
    """What the report says about one entity: its facts, then one quote per heading."""
    entity = intent.entities[0]
    chunks = retriever.entity_chunks(entity)
    if not chunks:
        return None
    topic = intent.query
    for name in entity.names:
        topic = topic.replace(name, " ")
    hits = [Hit(c, 1.0, i + 1) for i, c in enumerate(chunks)]
    by_heading: dict[str, list[Hit]] = {}
    for h in hits:
        by_heading.setdefault(h.chunk.heading.split(" ")[0] or h.chunk.section, []).append(h)
    quotes: list[Quote] = []
    for group in by_heading.values():
        quotes += best_quotes(group, retriever, f"{topic} {group[0].chunk.heading}", 1)
        if len(quotes) >= max(limit, 6):
            break
    if not quotes:
        return None
    citations, numbers = citations_for(quotes)
    first = numbers[quotes[0].hit.chunk.chunk_id]
    titled = several_reports(retriever)
    if titled:  # one clause per report that presents the entity
        where = "、".join(
            f"『{title_name(p.doc_title)}』では{_described(entity, p.describe(entity.kind))}"
            f"として p.{_span(p.pages)}" for p in entity.parts)
        lines = [f"**{entity.label}**は、{where} で紹介されています[{first}]。"]
    else:
        lines = [f"**{entity.label}**は、本資料では{entity.describe()}として"
                 f" p.{_span(entity.pages)} で紹介されています[{first}]。"]
    lines += ["", "主な取り組み（見出しごとに資料から引用）："]
    for q in quotes:
        head = q.hit.chunk.heading.split(" ")[0]
        where = f"（{in_report(q.hit.chunk, q.hit.chunk.page_at(q.offset))}）" if titled else ""
        lines.append(f"- {head + ' ' if head else ''}{q.text}[{numbers[q.hit.chunk.chunk_id]}]"
                     f"{where}")
    used = [q.hit for q in quotes]
    return Routed("\n".join(lines), citations, tuple(renumber(used)))


def _span(pages: Sequence[int]) -> str:
    return f"{pages[0]}–{pages[-1]}" if len(pages) > 1 else str(pages[0]) if pages else "?"


def _described(entity: Entity, what: str) -> str:
    """「事例（町、北海道地方）」: what the passages are, with the entity's facts."""
    facts = [x for x in (entity.body, entity.region, entity.size) if x]
    return f"{what}（{'、'.join(facts)}）" if facts else what


# --------------------------------------------------------------------------- facts


def answer_source_fact(intent: Intent, retriever: Retriever, hits: Sequence[Hit],
                       limit: int) -> Routed | None:
    """Where something is written: the page of this report, or the original report and page."""
    if intent.entities:
        entity = intent.entities[0]
        scoped = retriever.search(intent.query, k=3, filters=entity_filters(entity))
        hits = scoped or hits
    quotes = best_quotes(list(hits[:3]), retriever, intent.query, 1)
    if intent.fact == "source" and intent.entities:
        row = _source_row(intent.entities[0], retriever)
        quotes = [row] if row is not None else quotes
    if not quotes:
        return None
    q = quotes[0]
    citations, numbers = citations_for([q])
    n = numbers[q.hit.chunk.chunk_id]
    c = q.hit.chunk
    who = intent.entities[0].key if intent.entities else "この記述"
    report = c.source_report or (intent.entities[0].sources[0] if intent.entities and
                                 intent.entities[0].sources else ("", ""))[0]
    page = c.source_page or (intent.entities[0].sources[0][1] if report and intent.entities
                             and intent.entities[0].sources else "")
    if intent.fact == "source" and report:
        lead = f"{who}の事例の元の報告書は{report}の p.{page} です（表 2-6）[{n}]。" \
            if c.kind == "table" else f"{who}の事例の元の報告書は{report}の p.{page} です[{n}]。"
    elif several_reports(retriever):  # the report of the quote, and the entity's others
        others = [f"『{title_name(p.doc_title)}』の p.{_span(p.pages)}"
                  for p in (intent.entities[0].parts if intent.entities else ())
                  if p.doc_id != c.doc_id]
        lead = (f"{who}についての記述は『{report_name(c)}』の p.{c.page_at(q.offset)}"
                f" にあります[{n}]。" + (f"{'、'.join(others)}にも記述があります。" if others else ""))
        if intent.fact == "source":  # a report without a table of original reports
            lead += f"『{report_name(c)}』には、元の報告書の記載はありません。"
    else:
        lead = f"{who}についての記述は本資料の p.{c.page_at(q.offset)} にあります[{n}]。"
    body = "\n".join([lead, "", f"- {q.text}[{n}]"])
    return Routed(body, citations, tuple(renumber([q.hit, *[h for h in hits
                                                              if h.chunk != q.hit.chunk]])))


def _source_row(entity: Entity, retriever: Retriever) -> Quote | None:
    """The row of the table of original reports (table 2-6) that names the entity (only the
    tables of reports that cite original reports: another report's summary table is no list
    of sources)."""
    sourced = {c.doc_id for c in retriever.chunks if c.source_report}
    for chunk in retriever.chunks:
        if chunk.kind != "table" or chunk.doc_id not in sourced:
            continue
        offset = 0
        for line in chunk.text.split("\n"):
            if any(name in line for name in (entity.key, *_report_spellings(entity))):
                return Quote(Hit(chunk, 1.0, 1), line, offset, 1.0)
            offset += len(line) + 1
    return None


def _report_spellings(entity: Entity) -> tuple[str, ...]:
    """How the table may spell the entity (the report's own misspelling of a case name)."""
    return tuple(c.split("：", 1)[-1] for c in entity.cases if "：" in c)


_DIRECT = {
    "count": re.compile(r"[0-9０-９一二三四五六七八九十百]+\s*(?:か所|箇所|カ所|回|件|人|名|団体|つ|年|か月|ヶ月|課|局|校|圏域|地域)"),
    "when": re.compile(r"[0-9０-９]+年|令和|平成|[0-9０-９]+月|年度|以前|当初|最初"),
    "who": re.compile(r"氏|教授|先生|市長|知事|課長|部長|担当者|職員|委員|団体|協議会|法人"),
}


def direct_pattern(fact: str) -> re.Pattern[str] | None:
    """The pattern a sentence that answers a count, date or person question contains."""
    return _DIRECT.get(fact)


def renumber(hits: Sequence[Hit]) -> list[Hit]:
    """Hits in the order given, de-duplicated, ranked 1..n."""
    out: list[Hit] = []
    seen: set[str] = set()
    for h in hits:
        if h.chunk.chunk_id in seen:
            continue
        seen.add(h.chunk.chunk_id)
        out.append(Hit(h.chunk, h.score, len(out) + 1, h.bm25_rank, h.dense_rank))
    return out
