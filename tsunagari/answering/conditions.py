"""Casual conditions of a list question, decided per case from all of its passages.

「食べ物の支援をしてるところ」「議員さんが絡む話」「若い人の支援に関わる団体」: the condition is
in the asker's words, not the report's. Its content words (Sudachi nouns and adjectives, compound
nouns first) are looked up in each case's whole text; a word the report never uses backs off to
its longest part the report does use (不動産屋 → 不動産) or to its rarest kanji (食べ物 → 食, as in
食支援; 若い → 若, as in 若者). A word is a condition only when it tells cases apart: it occurs in
at least one case and in at most DISCRIMINATIVE of them (支援 or 地域 occur everywhere and say
nothing). A question of more than MAX_WORDS content words describes a practice, which retrieval
matches by meaning, and is left alone. The words found become the intent's content terms, so membership and the quoted
evidence follow the same rule as the report's own terms (intent.CONTENT_TERMS).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

Morphemes = Callable[[str], list[tuple[str, tuple[str, ...], str]]]

DISCRIMINATIVE = 0.34  # at most this share of the candidate cases may use a condition word
MAX_WORDS = 3  # a condition of more content words describes a practice (left to retrieval)
# Words that say what kind of answer is wanted or what is listed, not the condition.
_LISTING = {"ところ", "所", "全部", "全て", "すべて", "事例", "例", "話", "人", "こと", "もの", "一覧",
            "自治体", "市", "県", "町", "村", "区", "まち", "ケース", "取り組み", "取組", "どこ", "何",
            "ほか", "他", "等", "など", "中", "方", "感じ", "資料", "報告書", "コラム", "章", "第",
            "事例集", "冊子", "両方", "本資料", "本書", "調査", "ヒアリング", "アクション事例"}
_ALTERNATIVES = re.compile(r"とか|や|・|、|または|もしくは|あるいは|か")
_KANJI = re.compile(r"[一-龥]")
_KANJI_STEM = re.compile(r"[一-龥]+(?=[ぁ-ん]+$)")


def condition_words(question: str, morphemes: Morphemes) -> list[list[str]]:
    """Content words of a question, compound nouns joined, grouped by alternatives
    (「知事とか市長」 is one group of two words)."""
    groups: list[list[str]] = []
    compound = ""
    joined = False  # the previous word ended with an alternative marker (とか, や, ・)

    def flush() -> None:
        nonlocal compound, joined
        if compound and compound not in _LISTING and (len(compound) > 1 or _KANJI.match(compound)):
            if joined and groups:
                groups[-1].append(compound)
            else:
                groups.append([compound])
            joined = False
        compound = ""

    for surface, pos, _norm in morphemes(question):
        if pos[0] == "名詞" and pos[1] in ("普通名詞", "固有名詞") or \
                (pos[0] == "接尾辞" and compound):
            # Things and actors (食べ物, 議員, 大学), not actions or adverbs (議論, 一緒, 先):
            # a practice is matched by meaning (retrieval), not by one word.
            if pos[1] == "普通名詞" and pos[2] in ("サ変可能", "副詞可能", "サ変形状詞可能") \
                    and not compound:
                flush()
                continue
            compound += surface
            continue
        flush()
        if pos[0] == "形容詞" and pos[1] == "一般" and surface not in _LISTING:
            groups.append([surface])
        elif _ALTERNATIVES.fullmatch(surface) and groups:
            joined = True
        elif pos[0] not in ("補助記号", "助詞"):
            joined = False
    flush()
    return groups


def _backoff(word: str, present: Callable[[str], bool]) -> str:
    """The word, else its longest part (2+ characters) the texts use, else its rarest kanji."""
    if present(word):
        return word
    for n in range(len(word) - 1, 1, -1):
        for i in range(len(word) - n + 1):
            part = word[i:i + n]
            if _KANJI.search(part) and present(part):
                return part
    return ""


def condition_terms(question: str, texts: Mapping[str, str], morphemes: Morphemes
                    ) -> tuple[tuple[str, ...], ...]:
    """Content-term groups for a list question's casual condition, from the cases' texts
    ({case key: all its text}); () when no word of the question tells cases apart.

    >>> texts = {"C市": "食支援を入口に", "A市": "議員や市長", "B市": "市長の呼びかけ",
    ...          "X市": "支援と地域", "Y市": "支援の地域", "Z市": "地域で支援"}
    >>> from tsunagari.japanese import default_tokenizer
    >>> m = default_tokenizer().morphemes
    >>> condition_terms("食べ物の支援をしているところを全部", texts, m)
    (('食',),)
    >>> condition_terms("議員さんが絡む話", texts, m)
    (('議員',),)
    >>> condition_terms("地域で支援している事例", texts, m)
    ()
    """
    n = len(texts)
    if n == 0:
        return ()

    def share(word: str) -> int:
        return sum(1 for t in texts.values() if word in t)

    def present(word: str) -> bool:
        return share(word) > 0

    groups = condition_words(question, morphemes)
    if sum(len(g) for g in groups) > MAX_WORDS:
        return ()  # a described practice, not a short condition: retrieval judges it by meaning
    out: list[tuple[str, ...]] = []
    for group in groups:
        words = []
        for w in group:
            found = _backoff(w, present)
            if not found:
                kanji = [ch for ch in w if _KANJI.match(ch) and present(ch)]
                found = min(kanji, key=share) if kanji else ""
            if found and share(found) <= max(1, DISCRIMINATIVE * n):
                words.append(found)
            stem = _KANJI_STEM.match(w)  # 若い is 若者 too: an adjective also by its kanji stem
            if stem and w[stem.end():] and _KANJI.search(w[-1]) is None and stem.group(0) != found \
                    and present(stem.group(0)) and share(stem.group(0)) <= max(1, DISCRIMINATIVE * n):
                words.append(stem.group(0))
        if words:
            out.append(tuple(dict.fromkeys(words)))
    if len(out) > 1 and not _all_met(out, texts):
        out = [min(out, key=lambda g: sum(share(w) for w in g))]  # the most telling one
    return tuple(out)


def _all_met(groups: Sequence[tuple[str, ...]], texts: Mapping[str, str]) -> bool:
    """Whether some case meets every group."""
    return any(all(any(w in t for w in g) for g in groups) for t in texts.values())
