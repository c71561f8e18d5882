"""Quotable sentences of retrieved passages, scored against a question, and their citations.

A quote is verbatim text of one passage. A sentence that leans on the one before it (その際に,
また, こうした…) is quoted together with that sentence, so the reader can follow it without
opening the source; labels, headings and interviewer turns are never quoted alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tsunagari.answering.retrieve import Retriever
from tsunagari.japanese import split_sentences
from tsunagari.types import Citation, Hit

# A sentence that starts like this continues the previous one.
DEPENDENT = re.compile(
    r"^(?:その|この|これ|それ|そこ|こうした|そうした|こういった|そういった|同様|また|さらに|一方|"
    r"しかし|ただし|なお|そのため|そこで|これにより|これらの|加えて|あわせて|具体的には|例えば|"
    r"[^、。]{0,6}等です。$|[^、。]{0,20}です。$)"
)
_SKIP_PREFIX = ("＜", "～", "〜", "【", "ヒアリング者：", "■", "・自治体", "・国の", "・NPO", "コラム")
_MIN_CHARS = 12


@dataclass(frozen=True)
class Quote:
    """A quotable span of a passage: verbatim text, its offset in the chunk, and a score."""

    hit: Hit
    text: str
    offset: int
    score: float = 0.0


def quotable(hit: Hit) -> list[tuple[str, int, str]]:
    """Sentences of a chunk that carry content: (quote, offset, the sentence itself). A sentence
    that leans on the one before is quoted with it; it is scored on its own words.

    >>> from tsunagari.types import Chunk
    >>> c = Chunk("c", "d", "t", "＜見出し＞\\n庁内に連携会議を新設した。その際に、庁外の団体も招いた。", (6,))
    >>> [q for q, _, _ in quotable(Hit(c, 1.0, 1))]
    ['庁内に連携会議を新設した。', '庁内に連携会議を新設した。その際に、庁外の団体も招いた。']
    """
    out = []
    offset = 0
    chunk = hit.chunk
    for line in chunk.text.split("\n"):
        line_start = offset
        offset += len(line) + 1
        if line.startswith(_SKIP_PREFIX):
            continue
        if line == chunk.case or (len(line) < 40 and line[:1].isdigit() and ". " in line):
            continue  # a case label or a section heading
        pos = line_start
        previous: tuple[str, int] | None = None
        for s in split_sentences(line):
            start, pos = pos, pos + len(s)
            t = s.strip()
            begin = start + (len(s) - len(s.lstrip()))
            if previous is not None and DEPENDENT.match(t):
                # Quote the sentence with the one it leans on (adjacent: still verbatim).
                out.append((chunk.text[previous[1]:begin + len(t)], previous[1], t))
            elif len(t) >= _MIN_CHARS:
                out.append((t, begin, t))
            previous = (t, begin)
    return out


def score_quotes(hits: Sequence[Hit], retriever: Retriever, query: str,
                 terms: Sequence[Sequence[str]] = ()) -> list[Quote]:
    """Score sentences by the query terms they (or their chunk's heading) share, idf-weighted."""
    tokens = set(retriever.query_tokens(query))
    tokenize = retriever.tokenizer
    out = []
    for hit in hits:
        prior = 1.0 / (1 + 0.35 * (hit.rank - 1))
        c = hit.chunk
        context = set(tokenize(f"{c.section_title} {c.heading} {c.question}")) if tokenize \
            else set()
        for text, offset, core in quotable(hit):
            stoks = set(tokenize(core)) if tokenize else set()
            own = sum(retriever.idf.get(t, 1.0) for t in tokens & stoks)
            inherited = 0.3 * sum(retriever.idf.get(t, 1.0) for t in (tokens & context) - stoks)
            score = prior * (0.5 + (own + inherited) / math.sqrt(max(len(core), 20) / 20))
            if terms and any(w in text for group in terms for w in group):
                score *= 2.0
            out.append(Quote(hit, text, offset, score))
    return out


def select(quotes: list[Quote], limit: int, per_hit: int = 2, floor: float = 0.4) -> list[Quote]:
    """Best quotes, at most `per_hit` per chunk, none far below the best one, no overlaps.

    The best quote of the top-ranked passage is always kept: retrieval (which also
    uses meaning, not only shared words) judged that passage the most relevant.
    """
    ordered = sorted(quotes, key=lambda s: -s.score)
    first_rank = min((s.hit.rank for s in quotes), default=0)
    chosen: list[Quote] = [s for s in ordered if s.hit.rank == first_rank][:1]
    count: dict[str, int] = {s.hit.chunk.chunk_id: 1 for s in chosen}
    best = ordered[0].score if ordered else 0.0
    for s in ordered:
        if len(chosen) >= limit or s.score < best * floor:
            break
        cid = s.hit.chunk.chunk_id
        if s in chosen or count.get(cid, 0) >= per_hit or any(_overlap(s, x) for x in chosen):
            continue
        chosen.append(s)
        count[cid] = count.get(cid, 0) + 1
    return chosen


def _overlap(a: Quote, b: Quote) -> bool:
    if a.hit.chunk.chunk_id != b.hit.chunk.chunk_id:
        return False
    return a.offset < b.offset + len(b.text) and b.offset < a.offset + len(a.text)


def best_quotes(hits: Sequence[Hit], retriever: Retriever, query: str, n: int,
                terms: Sequence[Sequence[str]] = ()) -> list[Quote]:
    """The `n` best quotes of some hits, in retrieval and document order; with terms, among
    the sentences that use one of them when any does (the quote shows why a case qualifies),
    and among those the sentences with a group's own word (its first) before its variants."""
    scored = score_quotes(hits, retriever, query, terms)
    if terms:
        heads = [g[0] for g in terms if g]
        scored = [q for q in scored if any(w in _said(q.text) for w in heads)] or \
            [q for q in scored if any(w in _said(q.text) for g in terms for w in g)] or scored
    chosen = select(scored, n, per_hit=n, floor=0.0)
    return sorted(chosen, key=lambda s: (s.hit.rank, s.offset))


_SPEAKER = re.compile(r"^[^：。、「」\n]{1,24}：")


def _said(text: str) -> str:
    """A quote without its speaker label (「社会福祉協議会 係長：…」 names who speaks, not what
    the case did).

    >>> _said("社会福祉協議会 係長：ただ、それを勉強会と称したり")
    'ただ、それを勉強会と称したり'
    """
    return _SPEAKER.sub("", text, count=1)


def citations_for(quotes: Sequence[Quote]) -> tuple[tuple[Citation, ...], dict[str, int]]:
    """One citation per quoted passage, numbered in order of first quote."""
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    for q in quotes:
        c = q.hit.chunk
        if c.chunk_id in numbers:
            continue
        numbers[c.chunk_id] = len(numbers) + 1
        mine = sorted((x for x in quotes if x.hit.chunk.chunk_id == c.chunk_id),
                      key=lambda x: x.offset)
        # `page`: where the first quote stands; `pages`: every page of the passage.
        citations.append(Citation(n=numbers[c.chunk_id], chunk=c,
                                  text="".join(x.text for x in mine),
                                  page=c.page_at(mine[0].offset), pages=c.pages))
    return tuple(citations), numbers
