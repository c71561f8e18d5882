"""Section roles: which passages state a report's purpose and method, why a practice matters,
and what the report concludes — derived from section titles, for any report layout.

A role is read off chunk fields that every chunker fills (chapter, section_title, kind), not
stored on the chunk, so no index changes. `question_role` says which role a question asks for:
「この冊子は誰に向けたもの？」 → purpose, 「要するに何が言いたいの？」 → summary (then purpose),
「なぜ首長を巻き込むの？」 → why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tsunagari.types import Chunk

PURPOSE, WHY, SUMMARY = "purpose", "why", "summary"

_SUMMARY_TITLE = re.compile(r"総括|まとめ|おわりに|結び|結論|提言|今後に向けて")
_PURPOSE_TITLE = re.compile(r"目的|趣旨|調査対象|調査方法|調査事項|調査期間|調査の概要|はじめに|本書の")
_WHY_TITLE = re.compile(r"背景|理由|必要性|意義|重要性")


def _own_title(chunk: Chunk) -> str:
    return chunk.section_title.split("／")[-1]


def first_chapters(chunks: Sequence[Chunk]) -> dict[str, str]:
    """Each document's first chapter label (in document order)."""
    out: dict[str, str] = {}
    for c in chunks:
        if c.chapter and c.doc_id not in out:
            out[c.doc_id] = c.chapter
    return out


def section_role(chunk: Chunk, first_chapter: str = "") -> str:
    """purpose | why | summary | '' for a chunk's section.

    >>> section_role(Chunk("a", "d", "t", "x", (30,), chapter="第4章", section_title="第4章： 総括"))
    'summary'
    >>> section_role(Chunk("b", "d", "t", "x", (6,), chapter="第2章",
    ...                    section_title="部局横断的な連携体制の構築／求められる背景"))
    'why'
    >>> section_role(Chunk("c", "d", "t", "x", (6,), chapter="第2章", kind="case",
    ...                    section_title="部局横断／求められる背景／アクション事例"))
    ''
    """
    if chunk.kind not in ("body", "section", "paragraph"):
        return ""
    title = _own_title(chunk)
    if _SUMMARY_TITLE.search(title):
        return SUMMARY
    if _PURPOSE_TITLE.search(title) or (first_chapter and chunk.chapter == first_chapter):
        return PURPOSE
    if _WHY_TITLE.search(title):
        return WHY
    return ""


def role_indices(chunks: Sequence[Chunk]) -> dict[str, list[int]]:
    """Chunk positions by role."""
    firsts = first_chapters(chunks)
    out: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        role = section_role(c, firsts.get(c.doc_id, ""))
        if role:
            out.setdefault(role, []).append(i)
    return out


_REPORT = r"(?:冊子|資料|報告書|事例集|調査|レポート|この本|本書|この文書)"
_PURPOSE_Q = re.compile(
    rf"{_REPORT}.{{0,12}}(?:誰|だれ|目的|狙い|ねらい|何のため|なんのため|対象|どうやって|どのように|方法|"
    rf"作った|作られた|いつ)|(?:誰|だれ)(?:に|の)(?:向け|ため).{{0,6}}{_REPORT}|"
    rf"(?:目的|狙い|ねらい)(?:は|を|って).{{0,8}}{_REPORT}|"
    rf"(?:どうやって|どのように|どんな方法で)(?:調べ|作|まとめ|集め).{{0,6}}{_REPORT}"
)
_SUMMARY_Q = re.compile(r"要するに|結局|ひとことで|一言で|まとめると|結論|総括|最後のまとめ|言いたい|"
                        r"提案して|伝えたい|全体として")
_WHY_Q = re.compile(r"なぜ|なんで(?!す)|どうして(?![もいるおた])|理由|必要性|意味(?:って|とは)|ないといけない|"
                    r"なければならない|なきゃ(?:いけない|だめ)|ないとだめ|じゃないとだめ|べきなの|重要なの")


def question_role(question: str) -> tuple[str, ...]:
    """The section roles a question asks for, best first.

    >>> question_role("この冊子は誰に向けたもの？"), question_role("要するに何が言いたいの？")
    (('purpose',), ('summary', 'purpose'))
    >>> question_role("なんで首長を巻き込まないといけないの？"), question_role("仙台市の工夫は？")
    (('why',), ())
    """
    if _PURPOSE_Q.search(question):  # 「目的をひとことで」: the purpose, said briefly
        return (PURPOSE, SUMMARY) if _SUMMARY_Q.search(question) else (PURPOSE,)
    if _SUMMARY_Q.search(question):
        return (SUMMARY, PURPOSE)
    if _WHY_Q.search(question):
        return (WHY,)
    return ()
