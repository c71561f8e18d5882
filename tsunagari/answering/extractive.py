"""Answer a question: retrieve, decide whether the reports cover it, and quote cited sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace

from tsunagari.answering.citations import in_report, report_name, section_label
from tsunagari.answering.conditions import condition_terms
from tsunagari.answering.intent import Intent, negated_words, spell_out
from tsunagari.answering.names import sudachi_index
from tsunagari.answering.query import Query, parse_query
from tsunagari.answering.question import NOT_FOUND, UNCLEAR, validate_question  # noqa: F401 (re-exported)
from tsunagari.answering.roles import PURPOSE, SUMMARY, cued_positions, role_indices
from tsunagari.answering.retrieve import Retriever, wants_many
from tsunagari.answering.routes import (
    Routed,
    answer_comparison,
    answer_enumeration,
    answer_profile,
    answer_source_fact,
    direct_pattern,
    renumber,
    several_reports,
)
from tsunagari.answering.scope import ScopeChecker, ScopeVerdict
from tsunagari.answering.sentences import Quote, citations_for, score_quotes, select
from tsunagari.answering.tables import answer_table_cell, answer_table_extreme
from tsunagari.config import Settings
from tsunagari.domain import POINT_MARKS, POINT_REF, mentioned_points
from tsunagari.indexing import termindex
from tsunagari.indexing.catalogue import Entity
from tsunagari.types import Answer, Citation, Filters, Hit


def _label(hit: Hit) -> str:
    c = hit.chunk
    if c.municipality:
        point = f"{POINT_MARKS[c.point - 1]} " if c.point else ""
        return f"{c.municipality}（{point}{c.section}）"
    if c.column:
        return f"{c.column}：{c.column_city}（{c.region}、{c.city_size}）"
    if c.section_title.startswith("第"):  # a chapter's own text: its title says it all
        return c.section_title if len(c.section_title) <= 24 else c.section_title[:23] + "…"
    return section_label(c)  # never empty: the report's name where no section shows


def compose(question: str, hits: Sequence[Hit], retriever: Retriever, limit: int,
            query: str | None = None, fact: str = "",
            avoid: Sequence[str] = ()) -> tuple[str, tuple[Citation, ...]]:
    """Extractive Markdown body: a lead, then quoted sentences grouped by case, with [n]."""
    wants_sources = any(w in question for w in ("出典", "報告書", "引用", "ページ"))
    quotable = [h for h in hits if h.chunk.kind != "table" or wants_sources]
    # Words that only name a point (「ポイント⑤」) say where to look, not what to quote.
    scored = score_quotes(quotable, retriever, POINT_REF.sub(" ", query or question))
    if avoid:  # the side a question negates («トップダウンではなく») is not quoted as the answer
        scored = [s for s in scored if not any(w in s.text for w in avoid)] or scored
    if wants_many(question):
        # A question about several cases: one sentence per passage, from more passages.
        chosen = select(scored, limit, per_hit=1, floor=0.25)
    else:
        chosen = select(scored, limit)
    # Keep the retrieval order of chunks, and document order of sentences within a chunk.
    chosen.sort(key=lambda s: (s.hit.rank, s.offset))
    citations, numbers = citations_for(chosen)
    groups: dict[str, list[str]] = {}
    for s in chosen:
        groups.setdefault(_label(s.hit), []).append(f"{s.text}[{numbers[s.hit.chunk.chunk_id]}]")
    labels = [lab.split("（")[0] or lab for lab in groups]
    lead_names = "、".join(dict.fromkeys(labels[:3]))
    lines = [f"資料では、{lead_names}について次の記述があります。", ""]
    pattern = direct_pattern(fact)
    direct = next((s for s in sorted(chosen, key=lambda s: -s.score)
                   if pattern and pattern.search(s.text)), None) if pattern else None
    if direct is not None:  # a direct question: the sentence that answers it comes first
        lines = [f"{direct.text}[{numbers[direct.hit.chunk.chunk_id]}]", ""]
    for label, quotes in groups.items():
        heading = next((s.hit.chunk.heading.split(" ")[0] for s in chosen
                        if _label(s.hit) == label and s.hit.chunk.heading), "")
        lines.append(f"**{label}**" + (f" {heading}" if heading else "")
                     + _report_of(label, chosen, retriever))
        lines.extend(f"- {q}" for q in quotes)
        lines.append("")
    return "\n".join(lines).strip(), citations


def _report_of(label: str, chosen: Sequence[Quote], retriever: Retriever) -> str:
    """「（取組事例集 p.3）」 after a group's label when the index holds several reports."""
    if not several_reports(retriever):
        return ""
    first = next(s for s in chosen if _label(s.hit) == label)
    return f"（{in_report(first.hit.chunk, first.hit.chunk.page_at(first.offset))}）"


def decline(verdict: ScopeVerdict, hits: Sequence[Hit]) -> str:
    """The Japanese refusal, naming what is missing and suggesting nearby topics."""
    lines = [NOT_FOUND]
    if verdict.reason == "anonymised":
        lines.append("ヒアリング先の自治体は、資料では地方と規模（例：中国地方、小都市）だけが示され、"
                     "市の名前は伏せられています。")
    elif verdict.reason == "no-date":
        lines.append("お尋ねの日付・時期は、関連する箇所にも書かれていません。")
    elif verdict.reason == "no-figure":
        names = "」「".join(verdict.missing)
        lines.append(f"お尋ねの数値（「{names}」）は、関連する箇所にも書かれていません。")
    elif verdict.reason == "no-name":
        lines.append(f"お尋ねの名前（{verdict.missing[0]}）は、関連する箇所にも書かれていません。")
    elif verdict.missing:
        names = "」「".join(verdict.missing)
        lines.append(f"「{names}」についての記述はこの資料にありません。")
    topics = []
    titled = len({h.chunk.doc_id for h in hits}) > 1  # say which report each topic is in
    for h in hits:
        c = h.chunk
        label = c.municipality or c.column_city or c.section_title or report_name(c)
        topic = f"{label}：{c.heading.split(' ')[0]}" if c.heading else label
        topic += f"（{in_report(c)}）" if titled else f"（p.{c.page}）"
        if topic not in topics:
            topics.append(topic)
    if topics:
        lines.append("")
        lines.append("この資料で扱っている近いテーマ：")
        lines.extend(f"- {t}" for t in topics[:3])
    return "\n".join(lines)


ROLE_QUOTED = 2  # passages of the asked-for section role that an overview answer quotes
LONG_QUESTION = 40  # characters: a question this long usually describes a situation


class ExtractiveAnswerer:
    """The offline, extractive answerer (the default and the fallback of LLM modes)."""

    def __init__(self, retriever: Retriever, settings: Settings,
                 checker: ScopeChecker | None = None, notices: Sequence[str] = ()) -> None:
        self.retriever = retriever
        self.settings = settings
        tok = retriever.tokenizer
        self.checker = checker or ScopeChecker(termindex.open_index(
            retriever.settings, retriever.store_sha256, retriever.chunks), tok.morphemes)  # type: ignore
        self.notices = tuple(notices)
        self.known = retriever.known_entities
        self.names = sudachi_index([e.key for e in retriever.catalogue.entities], tok) \
            if tok is not None else None
        self._roles: dict[str, list[int]] | None = None
        self._entity_texts: dict[str, str] | None = None

    def ask(self, question: str, history: Sequence[object] | None = None,
            filters: Filters | None = None, k: int | None = None) -> Answer:
        settings = self.settings
        query = self.parse(question, history)
        q, intent = query.raw, query.intent
        merged = _merge_filters(filters or Filters(), query.filters)
        if not (self.checker.readable(query.standalone) or mentioned_points(q)
                or query.entity or query.names or self.retriever.catalogue.find(query.text)):
            # Greetings, thanks or a lone symbol: nothing to look up.
            return Answer(q, UNCLEAR, True, (), (), query.standalone, notices=self.notices)
        k = k or settings.top_k
        search_text = query.search_text
        hits = self._search(search_text, k, merged, intent)
        if not hits and not merged.is_empty() and query.entity:
            hits = self._search(search_text, k, filters or Filters(), intent)
        role_hits = self._role_hits(query, k) if not _user_filtered(filters) else []
        if role_hits:  # the report's own purpose / why / summary sections come first
            ids = {h.chunk.chunk_id for h in role_hits}
            if hits and hits[0].chunk.chunk_id in ids:  # already led by one: keep that order
                role_hits = [h for h in hits if h.chunk.chunk_id in ids] + role_hits
                hits = renumber([*hits, *role_hits])[:k]
            else:
                hits = renumber([*role_hits, *hits])[:k]
            role_hits = [h for h in hits if h.chunk.chunk_id in ids]
        # 「参加団体がいちばん多いのは？」: a summary table's column, compared over its rows
        extreme = answer_table_extreme(self.retriever, intent.query) \
            if not intent.entities and not _user_filtered(filters) else None
        evidence = self._evidence(query, hits) + [c.chunk.text for c in
                                                  (extreme.citations if extreme else ())]
        verdict = self.checker.check(spell_out(query.scope_text, self.retriever.catalogue),
                                     evidence)
        if verdict.abstain or not hits:
            return Answer(q, decline(verdict, hits[: settings.top_k]), True, (), tuple(hits),
                          query.standalone, notices=self.notices)
        routed = extreme or (self._route(intent, hits, merged) if not _user_filtered(filters)
                             else None)
        if routed is not None:
            ranked = tuple(renumber([*routed.hits, *hits]))  # routed hits first
            return Answer(q, routed.body, False, routed.citations, ranked, query.standalone,
                          notices=self.notices)
        if role_hits:
            quoted = role_hits[:ROLE_QUOTED]
        elif _asks_for_cases(q, intent):  # quote the cases first (the ranking stays as it is)
            quoted = self._framing_last(hits[: settings.top_k])
        else:
            quoted = hits[: settings.top_k]
        text, citations = compose(q, quoted, self.retriever,
                                  settings.answer_sentences, query=search_text, fact=intent.fact,
                                  avoid=negated_words(intent))
        return Answer(q, text, False, citations, tuple(hits), query.standalone,
                      notices=self.notices)

    def parse(self, question: object, history: Sequence[object] | None = None) -> Query:
        """The question parsed once (see answering/query.py)."""
        return parse_query(question, history, max_chars=self.settings.max_question_chars,
                           catalogue=self.retriever.catalogue, known=self.known,
                           names=self.names)

    def _with_casual_terms(self, intent: Intent) -> Intent:
        """A list question whose condition is in everyday words (no metadata condition, none
        of the report's terms): the condition words that tell cases apart become its terms."""
        if intent.conditions or intent.excluded or intent.terms or intent.excluded_entities:
            return intent
        if self._entity_texts is None:
            self._entity_texts = {e.key: self.retriever.entity_text(e)
                                  for e in self.retriever.catalogue.entities}
        terms = condition_terms(intent.query, self._entity_texts,
                                self.retriever.tokenizer.morphemes)  # type: ignore[union-attr]
        return replace(intent, terms=terms) if terms else intent

    def _evidence(self, query: Query, hits: Sequence[Hit]) -> list[str]:
        """Passages a figure or date must be stated in: those of the named case when the
        question names one (another case's date does not answer it), else the top three."""
        catalogue = self.retriever.catalogue
        named = [h for h in hits[:5] if catalogue.of_chunk(h.chunk) in query.intent.entities]
        return [h.chunk.text for h in (named[:3] or hits[:3])]

    def _role_hits(self, query: Query, k: int) -> list[Hit]:
        """For an overview or why-question: the best passages of the sections with that role."""
        if not query.roles:
            return []
        if self._roles is None:
            self._roles = role_indices(self.retriever.chunks)
        for role in query.roles:
            positions = self._roles.get(role, [])
            if role == PURPOSE:  # 「どうやって調べた？」: the section titled 調査方法 first
                positions = cued_positions(self.retriever.chunks, positions, query.text)
            hits = self.retriever.rank_within(query.search_text, positions, k)
            if hits:
                return hits
        return []

    def _framing_last(self, hits: list[Hit]) -> list[Hit]:
        """When a report's purpose or summary section (はじめに, まとめ: they mention every theme
        in general words) leads the hits, those sections' passages after the other ones."""
        if self._roles is None:
            self._roles = role_indices(self.retriever.chunks)
        chunks = self.retriever.chunks
        framing = {chunks[i].chunk_id for role in (PURPOSE, SUMMARY)
                   for i in self._roles.get(role, [])}
        if not hits or hits[0].chunk.chunk_id not in framing:
            return hits  # led by a case: retrieval already put the cases first
        return renumber([h for h in hits if h.chunk.chunk_id not in framing]
                        + [h for h in hits if h.chunk.chunk_id in framing])

    def _search(self, query: str, k: int, filters: Filters, intent: Intent) -> list[Hit]:
        """Hybrid search; with a negation, passages of the excluded cases are left out."""
        if not intent.excluded_entities and not intent.excluded:
            return self.retriever.search(query, k=k, filters=filters,
                                         dense_weight=self._dense_weight(query, intent))
        hits = self.retriever.search(query, k=k + 10, filters=filters)
        catalogue = self.retriever.catalogue
        kept = [h for h in hits if not _excluded(catalogue.of_chunk(h.chunk), intent)]
        return [replace(h, rank=i) for i, h in enumerate(kept[:k], start=1)]

    def _dense_weight(self, query: str, intent: Intent) -> float | None:
        """A long question in the asker's own words, naming no case, leans on meaning: the
        dense list weighs as much as BM25 (measured on the paraphrase items)."""
        if intent.kind in ("howto", "yesno") and not intent.entities and \
                len(query) >= LONG_QUESTION:
            return max(self.settings.dense_weight, self.settings.bm25_weight)
        return None

    def _route(self, intent: Intent, hits: list[Hit], filters: Filters) -> Routed | None:
        limit = self.settings.answer_sentences
        if intent.kind == "enumerate":
            return answer_enumeration(self._with_casual_terms(intent), self.retriever, limit)
        if intent.kind == "compare":
            return answer_comparison(intent, self.retriever, limit)
        if intent.kind == "profile":
            return answer_profile(intent, self.retriever, limit)
        if intent.kind == "fact" and intent.fact in ("page", "source"):
            return answer_source_fact(intent, self.retriever, hits, limit)
        if intent.kind in ("fact", "howto") and len(intent.entities) == 1:
            return answer_table_cell(intent, self.retriever, intent.query)
        return None

    def stream(self, question: str, history: Sequence[object] | None = None,
               filters: Filters | None = None, k: int | None = None) -> Iterator[Answer]:
        """The extractive answer is whole at once: the stream is just the final Answer."""
        yield self.ask(question, history, filters, k)


_CASE_WORDS = re.compile(r"事例|例|自治体|ところ|市町村|ケース|取り?組み?")
_EXISTS = re.compile(r"あり(?:ます|ません)か|ある[？?]|あります[？?]|ない[？?]|ないですか|知りたい|教えて")


def _asks_for_cases(question: str, intent: Intent) -> bool:
    """Whether a question asks for cases that did something (「…した例はありますか」), so a
    case's own passage answers it better than a report's general framing.

    >>> _asks_for_cases("少人数から始めた例はありますか？", Intent("yesno", "q"))
    True
    >>> _asks_for_cases("この冊子の目的は？", Intent("howto", "q"))
    False
    """
    return intent.kind in ("yesno", "howto") and bool(_CASE_WORDS.search(question)) \
        and bool(_EXISTS.search(question))


def _user_filtered(filters: Filters | None) -> bool:
    """Filters chosen by the user (sidebar, CLI) keep the plain passage answer."""
    return filters is not None and not filters.is_empty()


def _excluded(entity: Entity | None, intent: Intent) -> bool:
    if entity is None:
        return False
    return entity in intent.excluded_entities or (bool(intent.excluded)
                                                   and intent.excluded.hits(entity))


def _merge_filters(user: Filters, implied: Filters) -> Filters:
    """User-chosen filters win; the conversation fills what the user left empty."""
    if implied.is_empty():
        return user
    return replace(
        user,
        municipality=user.municipality or implied.municipality,
        column=user.column or implied.column,
    )
