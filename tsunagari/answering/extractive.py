"""Answer a question: retrieve, decide whether the reports cover it, and quote cited sentences."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from tsunagari.answering.followup import resolve
from tsunagari.answering.question import NOT_FOUND, UNCLEAR, validate_question
from tsunagari.answering.retrieve import Retriever, wants_many
from tsunagari.answering.scope import ScopeChecker, ScopeVerdict
from tsunagari.config import Settings
from tsunagari.domain import POINT_MARKS, POINT_REF, mentioned_points
from tsunagari.japanese import split_sentences
from tsunagari.types import Answer, Citation, Filters, Hit


@dataclass(frozen=True)
class _Sentence:
    hit: Hit
    text: str
    offset: int
    score: float


def _quotable(hit: Hit) -> list[tuple[str, int]]:
    """Sentences of a chunk that carry content (not labels, headings or interviewer turns)."""
    out = []
    offset = 0
    for line in hit.chunk.text.split("\n"):
        line_start = offset
        offset += len(line) + 1
        if line.startswith(("＜", "～", "〜", "【", "ヒアリング者：", "■", "・自治体", "・国の",
                            "・NPO")):
            continue
        if line == hit.chunk.case or (len(line) < 40 and line[:1].isdigit() and ". " in line):
            continue  # a case label or a section heading
        pos = line_start
        for s in split_sentences(line):
            start, pos = pos, pos + len(s)
            t = s.strip()
            if len(t) >= 12:
                out.append((t, start + (len(s) - len(s.lstrip()))))
    return out


def _score_sentences(hits: Sequence[Hit], retriever: Retriever, query: str) -> list[_Sentence]:
    """Score sentences by the query terms they (or their chunk's heading) share, idf-weighted."""
    tokens = set(retriever.query_tokens(query))
    out = []
    for hit in hits:
        prior = 1.0 / (1 + 0.35 * (hit.rank - 1))
        c = hit.chunk
        context = set(retriever.tokenizer(f"{c.section_title} {c.heading} {c.question}")) \
            if retriever.tokenizer else set()
        for text, offset in _quotable(hit):
            stoks = set(retriever.tokenizer(text)) if retriever.tokenizer else set()
            own = sum(retriever.idf.get(t, 1.0) for t in tokens & stoks)
            inherited = 0.3 * sum(retriever.idf.get(t, 1.0) for t in (tokens & context) - stoks)
            score = prior * (0.5 + (own + inherited) / math.sqrt(max(len(text), 20) / 20))
            out.append(_Sentence(hit, text, offset, score))
    return out


def _label(hit: Hit) -> str:
    c = hit.chunk
    if c.municipality:
        point = f"{POINT_MARKS[c.point - 1]} " if c.point else ""
        return f"{c.municipality}（{point}{c.section}）"
    if c.column:
        return f"{c.column}：{c.column_city}（{c.region}、{c.city_size}）"
    if c.section_title.startswith("第"):  # a chapter's own text: its title says it all
        return c.section_title if len(c.section_title) <= 24 else c.section_title[:23] + "…"
    return f"{c.section} {c.section_title}".strip()


def _select(sentences: list[_Sentence], limit: int, per_hit: int = 2,
            floor: float = 0.4) -> list[_Sentence]:
    """Best sentences, at most `per_hit` per chunk, none far below the best one.

    The best sentence of the top-ranked passage is always kept: retrieval (which also
    uses meaning, not only shared words) judged that passage the most relevant.
    """
    ordered = sorted(sentences, key=lambda s: -s.score)
    first_rank = min((s.hit.rank for s in sentences), default=0)
    top = [s for s in ordered if s.hit.rank == first_rank][:1]
    chosen: list[_Sentence] = list(top)
    count: dict[str, int] = {s.hit.chunk.chunk_id: 1 for s in top}
    best = ordered[0].score if ordered else 0.0
    for s in ordered:
        if len(chosen) >= limit or s.score < best * floor:
            break
        cid = s.hit.chunk.chunk_id
        if s in chosen or count.get(cid, 0) >= per_hit:
            continue
        chosen.append(s)
        count[cid] = count.get(cid, 0) + 1
    return chosen


def compose(question: str, hits: Sequence[Hit], retriever: Retriever, limit: int,
            query: str | None = None) -> tuple[str, tuple[Citation, ...]]:
    """Extractive Markdown body: a lead, then quoted sentences grouped by case, with [n]."""
    wants_sources = any(w in question for w in ("出典", "報告書", "引用", "ページ"))
    quotable = [h for h in hits if h.chunk.kind != "table" or wants_sources]
    # Words that only name a point (「ポイント⑤」) say where to look, not what to quote.
    scored = _score_sentences(quotable, retriever, POINT_REF.sub(" ", query or question))
    if wants_many(question):
        # A question about several cases: one sentence per passage, from more passages.
        chosen = _select(scored, limit, per_hit=1, floor=0.25)
    else:
        chosen = _select(scored, limit)
    # Keep the retrieval order of chunks, and document order of sentences within a chunk.
    chosen.sort(key=lambda s: (s.hit.rank, s.offset))
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    groups: dict[str, list[str]] = {}
    for s in chosen:
        c = s.hit.chunk
        if c.chunk_id not in numbers:
            numbers[c.chunk_id] = len(numbers) + 1
            quoted = [x for x in chosen if x.hit.chunk.chunk_id == c.chunk_id]
            # `page`: where the first quote stands; `pages`: every page of the passage.
            citations.append(Citation(n=numbers[c.chunk_id], chunk=c,
                                      text="".join(x.text for x in quoted),
                                      page=c.page_at(quoted[0].offset), pages=c.pages))
        groups.setdefault(_label(s.hit), []).append(f"{s.text}[{numbers[c.chunk_id]}]")
    labels = [lab.split("（")[0] for lab in groups]
    lead_names = "、".join(dict.fromkeys(labels[:3]))
    lines = [f"資料では、{lead_names}について次の記述があります。", ""]
    for label, quotes in groups.items():
        heading = next((s.hit.chunk.heading.split(" ")[0] for s in chosen
                        if _label(s.hit) == label and s.hit.chunk.heading), "")
        lines.append(f"**{label}**" + (f" {heading}" if heading else ""))
        lines.extend(f"- {q}" for q in quotes)
        lines.append("")
    return "\n".join(lines).strip(), tuple(citations)


def decline(verdict: ScopeVerdict, hits: Sequence[Hit]) -> str:
    """The Japanese refusal, naming what is missing and suggesting nearby topics."""
    lines = [NOT_FOUND]
    if verdict.reason == "anonymised":
        lines.append("ヒアリング先の自治体は、資料では地方と規模（例：中国地方、小都市）だけが示され、"
                     "市の名前は伏せられています。")
    elif verdict.reason == "no-figure":
        names = "」「".join(verdict.missing)
        lines.append(f"お尋ねの数値（「{names}」）は、関連する箇所にも書かれていません。")
    elif verdict.missing:
        names = "」「".join(verdict.missing)
        lines.append(f"「{names}」についての記述はこの資料にありません。")
    topics = []
    for h in hits:
        c = h.chunk
        label = c.municipality or c.column_city or c.section_title
        topic = f"{label}：{c.heading.split(' ')[0]}" if c.heading else label
        topic += f"（p.{c.page}）"
        if topic not in topics:
            topics.append(topic)
    if topics:
        lines.append("")
        lines.append("この資料で扱っている近いテーマ：")
        lines.extend(f"- {t}" for t in topics[:3])
    return "\n".join(lines)


class ExtractiveAnswerer:
    """The offline, extractive answerer (the default and the fallback of LLM modes)."""

    def __init__(self, retriever: Retriever, settings: Settings,
                 checker: ScopeChecker | None = None, notices: Sequence[str] = ()) -> None:
        self.retriever = retriever
        self.settings = settings
        tok = retriever.tokenizer
        self.checker = checker or ScopeChecker(retriever.chunks, tok.morphemes)  # type: ignore
        self.notices = tuple(notices)
        self.known = retriever.known_entities

    def ask(self, question: str, history: Sequence[object] | None = None,
            filters: Filters | None = None, k: int | None = None) -> Answer:
        settings = self.settings
        q = validate_question(question, settings.max_question_chars)
        resolved = resolve(q, history, self.known)
        merged = _merge_filters(filters or Filters(), resolved.filters)
        if not (self.checker.content_words(resolved.question) or mentioned_points(q)
                or resolved.entity):
            # Greetings, thanks or a lone symbol: nothing to look up.
            return Answer(q, UNCLEAR, True, (), (), resolved.question, notices=self.notices)
        k = k or settings.top_k
        hits = self.retriever.search(resolved.question, k=k, filters=merged)
        if not hits and not merged.is_empty() and resolved.entity:
            hits = self.retriever.search(resolved.question, k=k, filters=filters or Filters())
        verdict = self.checker.check(q, [h.chunk.text for h in hits[:3]])
        if verdict.abstain or not hits:
            return Answer(q, decline(verdict, hits[: settings.top_k]), True, (), tuple(hits),
                          resolved.question, notices=self.notices)
        text, citations = compose(q, hits[: settings.top_k], self.retriever,
                                  settings.answer_sentences, query=resolved.question)
        return Answer(q, text, False, citations, tuple(hits), resolved.question,
                      notices=self.notices)

    def stream(self, question: str, history: Sequence[object] | None = None,
               filters: Filters | None = None, k: int | None = None) -> Iterator[Answer]:
        """The extractive answer is whole at once: the stream is just the final Answer."""
        yield self.ask(question, history, filters, k)


def _merge_filters(user: Filters, implied: Filters) -> Filters:
    """User-chosen filters win; the conversation fills what the user left empty."""
    if implied.is_empty():
        return user
    return replace(
        user,
        municipality=user.municipality or implied.municipality,
        column=user.column or implied.column,
    )
