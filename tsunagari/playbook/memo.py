"""Build a 手引き memo for a profile: per point, why it matters, the fitting cases, the advice.

Extractive and offline: every text of the memo is either a verbatim quote of the report (with
its citation number) or a short Japanese label made from the catalogue's facts (why a case was
chosen, what the report lacks). Works for any index with recognised cases and points: the
explanation of a point is the report's body text under that point outside any case (2-N-1),
the advice is the summary chapter (the section titled 総括／まとめ, else the last chapter).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tsunagari.answering.retrieve import Retriever
from tsunagari.answering.sentences import Quote, best_quotes, citations_for, quotable
from tsunagari.chunking import registry
from tsunagari.domain import POINT_MARKS, POINTS
from tsunagari.indexing.catalogue import Entity
from tsunagari.playbook.profile import Profile
from tsunagari.types import Chunk, Citation, Hit

MAX_CASES = 3
# Words of the summary chapter that speak to a stage of a platform (the stage's concerns).
STAGE_TERMS: dict[str, tuple[str, ...]] = {
    "これから立ち上げる": ("重層", "整理", "支援対象", "テーマ", "特定", "設置", "ヒント"),
    "立ち上げ直後": ("参画団体", "幅広い主体", "対話", "情報共有", "つながりを作", "テーマ"),
    "運営が停滞している": ("粘り強く", "説得", "メリット", "交流", "悩みと工夫", "参画してもらう"),
}
# Words of the summary chapter that speak to a point.
POINT_TERMS: dict[int, tuple[str, ...]] = {
    1: ("他部局", "部局横断", "庁内"),
    2: ("トップダウン", "首長", "キーパーソン"),
    3: ("参画団体", "民間主体", "多様な主体", "幅広い主体"),
    4: ("支援対象", "テーマ", "課題", "困りごと"),
    5: ("水平的連携", "対等", "対話"),
}
_SUMMARY_TITLE = re.compile(r"総括|まとめ")
_KANA_ONLY = re.compile(r"^[\u3040-\u309f\u30fc]+$")  # function words: いる, なっ


@dataclass(frozen=True)
class Quoted:
    """A verbatim quote of the report and the number of its citation."""

    text: str
    n: int


@dataclass(frozen=True)
class CasePick:
    """A case or column chosen for a point, with the reasons it was chosen for this profile."""

    key: str
    label: str
    kind: str  # "case" | "column"
    body: str
    size: str
    region: str
    heading: str
    quote: Quoted
    reasons: tuple[str, ...]
    similar: bool  # the same kind of body or size as the profile


@dataclass(frozen=True)
class Section:
    """One of the five points."""

    point: int
    title: str
    difficult: bool  # the user named it as hard now
    why: tuple[Quoted, ...]
    cases: tuple[CasePick, ...]
    advice: tuple[Quoted, ...]
    notes: tuple[str, ...]  # what the report lacks for this profile (said, not filled)

    @property
    def mark(self) -> str:
        return POINT_MARKS[self.point - 1]


@dataclass(frozen=True)
class Memo:
    profile: Profile
    sections: tuple[Section, ...]
    citations: tuple[Citation, ...]
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Draft:
    """A section before citation numbers are known (quotes still tied to their chunks)."""

    point: int
    why: tuple[Quote, ...]
    cases: tuple[tuple[Entity, str, Quote, tuple[str, ...], bool], ...]
    advice: tuple[Quote, ...]
    notes: tuple[str, ...]


def build_memo(retriever: Retriever, profile: Profile) -> Memo:
    """The memo for a profile over the indexed reports."""
    relevance = _relevance(retriever, profile.situation)
    summary = _summary_chunks(retriever.chunks)
    used_advice: set[tuple[str, int]] = set()
    drafts = []
    for point in profile.point_order():
        why = _why(retriever, point)
        cases, notes = _cases(retriever, profile, point, relevance)
        advice = _advice(summary, profile.stage, point, used_advice)
        if not why:
            notes.insert(0, "この資料には、このポイントが求められる背景の説明が見つかりませんでした。")
        if not summary:
            notes.append("この資料には総括の章が見つかりませんでした。")
        elif profile.stage and not advice:
            notes.append(f"総括には「{profile.stage}」段階に向けた記述が見つかりませんでした。")
        drafts.append(_Draft(point, tuple(why), tuple(cases), tuple(advice), tuple(notes)))
    quotes = [q for d in drafts for q in (*d.why, *(c[2] for c in d.cases), *d.advice)]
    citations, numbers = citations_for(quotes)

    def cite(q: Quote) -> Quoted:
        return Quoted(q.text, numbers[q.hit.chunk.chunk_id])

    sections = tuple(
        Section(
            point=d.point, title=POINTS.get(d.point, ""), difficult=d.point in profile.difficulties,
            why=tuple(cite(q) for q in d.why),
            cases=tuple(CasePick(e.key, e.label, e.kind, e.body, e.size, e.region, head, cite(q),
                                 reasons, similar)
                        for e, head, q, reasons, similar in d.cases),
            advice=tuple(cite(q) for q in d.advice), notes=d.notes)
        for d in drafts)
    notices = () if retriever.catalogue.entities else (
        "この資料では事例が認識されていないため、事例を選べませんでした。",)
    return Memo(profile, sections, citations, notices)


# --- the parts of a section ------------------------------------------------------------------

def _hits(chunks: Sequence[Chunk]) -> list[Hit]:
    return [Hit(c, 1.0, i) for i, c in enumerate(chunks, start=1)]


def _why(retriever: Retriever, point: int) -> list[Quote]:
    """The report's explanation of why a point matters: its body text outside any case."""
    chunks = [c for c in retriever.chunks
              if c.point == point and c.kind == "body" and not c.municipality and not c.column]
    if not chunks:
        return []
    query = f"{POINTS.get(point, '')} 重要 必要 効果的"
    return best_quotes(_hits(chunks[:1]), retriever, query, 2,
                       terms=(("重要である", "必要である", "効果的である"),))


def _relevance(retriever: Retriever, text: str) -> np.ndarray:
    """BM25 score of every chunk against the free-text situation (zeros when there is none)."""
    tokens = retriever.query_tokens(text) if text.strip() else []
    if not tokens or not retriever.chunks:
        return np.zeros(len(retriever.chunks))
    return np.asarray(retriever.bm25.get_scores(tokens), dtype=float)


def _cases(retriever: Retriever, profile: Profile, point: int,
           relevance: np.ndarray) -> tuple[list, list[str]]:
    """The cases of a point ranked for the profile, and notes on what the report lacks."""
    mark = POINT_MARKS[point - 1]
    scored = []
    for order, entity in enumerate(retriever.catalogue.entities):
        chunks = [c for c in retriever.entity_chunks(entity) if point_of(c) == point]
        if not chunks:
            continue
        rel = max(relevance[retriever.by_id[c.chunk_id]] for c in chunks) if len(relevance) else 0
        similarity, reasons = _similarity(entity, profile, "\n".join(c.text for c in chunks))
        if rel > 0:
            shared = _shared_words(retriever, profile.situation, chunks)
            if shared:
                reasons.append(f"状況の説明と共通する語（{'・'.join(shared)}）")
        scored.append((-similarity, -rel, order, entity, chunks, tuple(reasons), similarity > 0))
    scored.sort(key=lambda x: x[:3])
    notes = []
    if not scored:
        return [], [f"この資料にはポイント{mark}の事例がありません。"]
    if profile.body_kind and not any(e.body == profile.body_kind for *_, e, _, _, _ in scored):
        notes.append(f"この資料には、ポイント{mark}の{profile.body}の事例はありません。"
                     "ほかの種類の自治体の事例を示します。")
    if profile.size and not any(e.size == profile.size for *_, e, _, _, _ in scored) \
            and not any(e.body == profile.body_kind for *_, e, _, _, _ in scored):
        notes.append(f"この資料には、ポイント{mark}の{profile.size}の事例はありません。")
    picked = []
    query = f"{POINTS.get(point, '')} {profile.situation}".strip()
    for _, _, _, entity, chunks, reasons, similar in scored[:MAX_CASES]:
        ranked = sorted(chunks, key=lambda c: -relevance[retriever.by_id[c.chunk_id]]) \
            if profile.situation.strip() else chunks
        quotes = best_quotes(_hits(ranked), retriever, query, 1)
        if not quotes:
            continue
        heading = next((h for c in chunks for h in c.heading.split(" ") if h), "")
        picked.append((entity, heading, quotes[0],
                       reasons or (f"ポイント{mark}の事例",), similar))
    return picked, notes


def point_of(chunk: Chunk) -> int | None:
    """The point a case passage is under: its own, or — for a case of a report without
    points — the point whose words its text uses (the rule that gives the first report's
    interview topics theirs), its heading line left out (「【今後の課題】」 is no 課題の議論).

    >>> point_of(Chunk("c", "d", "t", "【取組の経緯】\\n庁内の関係課による勉強会を開いた。", (3,),
    ...                municipality="上越市"))
    1
    >>> point_of(Chunk("c", "d", "t", "【今後の課題】\\n連携が限られがちである。", (3,),
    ...                municipality="上越市", heading="【今後の課題】"))
    """
    if chunk.point or not chunk.municipality:
        return chunk.point
    pointed = registry.profile_with_points()
    if pointed is None:
        return None
    lines = chunk.text.split("\n")
    body = "\n".join(lines[1:] if lines and lines[0] == chunk.heading else lines)
    return pointed.infer_point(body)


def _similarity(entity: Entity, profile: Profile, text: str) -> tuple[int, list[str]]:
    """How close a case is to the profile (kind of body, size, region, department), with reasons.

    >>> from tsunagari.indexing.catalogue import build_catalogue
    >>> from tsunagari.types import Chunk
    >>> e = build_catalogue([Chunk("c", "d", "t", "x", (20,), column="コラム１", column_city="A市",
    ...                            region="中国地方", city_size="小都市", point=2)]).entities[0]
    >>> _similarity(e, Profile(body="一般市", population="5万人未満", region="中国"), "")
    (8, ['同じ一般市・小都市の事例', '同じ中国地方'])
    """
    score, reasons = 0, []
    same_body = bool(profile.body_kind) and entity.body == profile.body_kind
    same_size = bool(profile.size) and entity.size == profile.size
    if same_body:
        score += 4
    if same_size:
        score += 3
    if same_body and same_size:
        reasons.append(f"同じ{profile.body}・{entity.size}の事例")
    elif same_body:
        reasons.append(f"同じ{profile.body}の事例")
    elif same_size:
        reasons.append(f"同じ{entity.size}の事例")
    if profile.region and entity.region.startswith(profile.region):
        score += 1
        reasons.append(f"同じ{entity.region}")
    if profile.department in ("企画", "福祉") and f"{profile.department}部" in text:
        score += 1
        reasons.append(f"{profile.department}部門が担当")
    return score, reasons


def _shared_words(retriever: Retriever, situation: str, chunks: Sequence[Chunk]) -> list[str]:
    """Up to two content words the situation shares with the passages (rarest first)."""
    text = "\n".join(c.text for c in chunks)
    words = {t for t in (retriever.tokenizer(situation) if retriever.tokenizer else [])
             if len(t) >= 2 and not _KANA_ONLY.match(t) and t in text}
    return sorted(words, key=lambda t: -retriever.idf.get(t, 0.0))[:2]


def _summary_chunks(chunks: Sequence[Chunk]) -> list[Chunk]:
    """The summary chapter: the section titled 総括／まとめ, else the last chapter's body text."""
    found = [c for c in chunks if c.kind == "body" and _SUMMARY_TITLE.search(c.section_title)]
    if found:
        return found
    chapters = [c.chapter for c in chunks if c.chapter and c.kind == "body"]
    return [c for c in chunks if chapters and c.chapter == chapters[-1] and c.kind == "body"]


def _advice(summary: Sequence[Chunk], stage: str, point: int,
            used: set[tuple[str, int]]) -> list[Quote]:
    """The summary's sentence that best fits the stage and the point (not already quoted)."""
    stage_terms = STAGE_TERMS.get(stage, ())
    point_terms = POINT_TERMS.get(point, ())
    best: tuple[float, Quote] | None = None
    for hit in _hits(summary):
        for text, offset, _ in quotable(hit):
            if (hit.chunk.chunk_id, offset) in used:
                continue
            s = sum(2 for t in stage_terms if t in text)
            p = sum(1 for t in point_terms if t in text)
            if not (s if stage_terms else p):
                continue  # with a stage, the sentence must speak to it; else to the point
            score = s + p - len(text) / 1000
            if best is None or score > best[0]:
                best = (score, Quote(hit, text, offset, score))
    if best is None:
        return []
    used.add((best[1].hit.chunk.chunk_id, best[1].offset))
    return [best[1]]
