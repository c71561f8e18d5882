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
# The report itself as the subject: who it is for, why it was made, how it is built, where its
# material comes from (「この事例集って、どういう立場の人が読むと…」「なんでこの調査をやることに…」).
_ABOUT_REPORT = re.compile(
    rf"(?:(?:この|本|今回の){_REPORT}|本書|本調査).{{0,24}}(?:立場|読む|読め|向け|構成|章立て|全体像|背景|"
    rf"きっかけ|なぜ|なんで(?!す)|どうして|経緯|いつ|期間)|"
    rf"(?:なぜ|なんで(?!す)|どうして).{{0,4}}(?:この|本|今回の){_REPORT}|"
    r"ネタ元|情報源|出典は|引用元|どこから集め|元(?:に|と)なった(?:報告書|資料)|"
    r"(?:ポイント|観点)\s*[0-9０-９一二三四五六七八九]\s*(?:点|つ)|"
    r"[0-9０-９一二三四五六七八九]\s*つの(?:ポイント|観点)"
)
# Which of the purpose chapter's sections a question asks for, by the words of their titles
# (調査方法, 目的, 調査対象, 調査期間, 課題背景, 調査事項): general question words, no report's terms.
_TITLE_CUES = (
    (re.compile(r"どうやって|どのように|どんな(?:方法|やり方|風に|ふうに)|方法|手法|調べ方|ふうに"),
     ("方法",)),
    (re.compile(r"ネタ元|情報源|出典|引用|どこから集め|元(?:に|と)なった"), ("収集", "方法")),
    (re.compile(r"誰|だれ|立場|向け|読む|読め|読者|目的|狙い|ねらい|何のため|なんのため"), ("目的",)),
    (re.compile(r"どこの自治体|何自治体|いくつの自治体|調査(?:の)?対象"), ("対象",)),
    (re.compile(r"いつ|期間|時期"), ("期間",)),
    (re.compile(r"背景|きっかけ|経緯|なぜ|なんで(?!す)|どうして"), ("背景",)),
    (re.compile(r"ポイント|観点|調査事項|何を調べ"), ("事項",)),
)


def title_cues(question: str) -> tuple[str, ...]:
    """Title words of the purpose sections a question asks for, best first.

    >>> title_cues("ざっくり、どうやって調べた調査なんですか"), title_cues("この冊子は誰に向けたもの？")
    (('方法',), ('目的',))
    >>> title_cues("要するに何が言いたいの？")
    ()
    """
    out: list[str] = []
    for pattern, words in _TITLE_CUES:
        if pattern.search(question):
            out.extend(w for w in words if w not in out)
    return tuple(out)


_TITLE_RUN = re.compile(r"[一-龥々ァ-ヶー]{4,}")


def cued_positions(chunks: Sequence[Chunk], positions: Sequence[int], question: str
                   ) -> list[int]:
    """The positions among `positions` whose section title shares a word of 4+ kanji or
    katakana with the question (「ヒアリング調査は…」 → 現地訪問によるヒアリング調査), else whose
    title has the question's first cue word that any of them has; else all of them.

    >>> cs = [Chunk(str(i), "d", "t", "x", (3,), section_title=t)
    ...       for i, t in enumerate(["第1章／調査方法", "第1章／現地訪問によるヒアリング調査", "第1章／目的"])]
    >>> cued_positions(cs, [0, 1, 2], "ヒアリング調査は誰を相手に、どんなふうに話を聞いたの？")
    [1]
    >>> cued_positions(cs, [0, 1, 2], "どうやって調べたの？"), cued_positions(cs, [0, 1, 2], "要するに？")
    ([0], [0, 1, 2])
    """
    shared = [i for i in positions
              if any(run in question for run in _TITLE_RUN.findall(_own_title(chunks[i])))]
    if shared:
        return shared
    for word in title_cues(question):
        picked = [i for i in positions if word in _own_title(chunks[i])]
        if picked:
            return picked
    return list(positions)


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
    >>> question_role("なんでこの調査をやることになったの？"), question_role("事例のネタ元って何？")
    (('purpose',), ('purpose',))
    """
    if _PURPOSE_Q.search(question) or _ABOUT_REPORT.search(question):
        # 「目的をひとことで」: the purpose, said briefly
        return (PURPOSE, SUMMARY) if _SUMMARY_Q.search(question) else (PURPOSE,)
    if _SUMMARY_Q.search(question):
        return (SUMMARY, PURPOSE)
    if _WHY_Q.search(question):
        return (WHY,)
    return ()
