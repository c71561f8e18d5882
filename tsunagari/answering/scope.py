"""Decide when the reports do not cover a question, from evidence in the question itself."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tsunagari.answering.asked_names import asked_name, states_name
from tsunagari.indexing.termindex import TermIndex
from tsunagari.japanese import normalize
from tsunagari.types import Chunk

Morphemes = Callable[[str], list[tuple[str, tuple[str, ...], str]]]

# Kinds of facts a practitioner may ask for that a report either states or not.
FACT_TERMS = {
    "金額", "締切", "締め切り", "期限", "期日", "連絡先", "電話番号", "電話", "メールアドレス",
    "住所", "URL", "ホームページ", "人数", "件数", "倍率", "補助率", "補助額", "交付額", "単価",
    "報酬", "給与", "時給", "費用", "罰則", "罰金", "申請書", "様式", "公募", "応募", "募集",
    "日時", "日程", "開催日", "定員", "名簿", "氏名", "年齢", "統計", "割合", "人口",
    "手続き", "手続", "条文", "条例", "義務", "義務付け", "法的義務",
}
# "When exactly" questions: a date the passages must state (発足日, 何年何月, いつ…).
_ASKS_DATE = re.compile(r"いつ|何年|何月|何日|日付|年月日|設置日|発足日|開始日|開催日|時期")
_N = "[0-9０-９一二三四五六七八九十数]+"
_STATES_DATE = re.compile(r"令和|平成|昭和|[0-9０-９]{4}年|[0-9０-９元]+年度|[0-9０-９]+月|"
                          rf"{_N}年(?:前|間|目)|"
                          # when it happens: a frequency or schedule answers 「いつ開いている？」 too
                          rf"(?:週|月|年|日){_N}回|毎(?:週|月|年|日|朝|晩|夕)|隔(?:週|月|年)|"
                          rf"[月火水木金土日]曜|{_N}時|四半期")


def asks_date(question: str) -> bool:
    """Whether a question asks when something happened or happens.

    >>> asks_date("会議は何年何月に発足しましたか"), asks_date("会議の進め方は？")
    (True, False)
    """
    return bool(_ASKS_DATE.search(question))


def states_date(texts: Sequence[str]) -> bool:
    """Whether any text states a date or a period (令和5年度, 10月, 3年間).

    >>> states_date(["令和5年度から開催"]), states_date(["会議を発足した。"])
    (True, False)
    >>> states_date(["商店街で子ども食堂を週2回開いている。"]), states_date(["毎月の定例会"])
    (True, True)
    """
    return any(_STATES_DATE.search(t) for t in texts)
_LAW_ARTICLE = re.compile(r"第\s*[0-9０-９一二三四五六七八九十百]+\s*条")
# Nouns that say what kind of answer is wanted, not what it is about.
_GENERIC = {
    "方法", "工夫", "事例", "ポイント", "具体", "具体例", "内容", "理由", "こと", "もの", "ため",
    "点", "例", "何", "どこ", "いつ", "誰", "どれ", "どう", "よう", "感じ", "場合", "コツ",
    "秘訣", "ヒント", "やり方", "進め方", "教え", "説明", "概要", "特徴", "違い", "比較",
    "自治体", "市", "町", "村", "県", "区", "他", "ほか", "以外", "全部", "一覧", "まとめ",
    "資料", "報告書", "本", "ところ", "時", "際", "上", "中", "後", "前", "等", "など",
    # words for the report itself (「この事例集は誰向け？」): the corpus is what they name
    "事例集", "冊子", "本書", "本資料", "報告", "調査報告書", "白書", "手引き", "ガイドブック",
    # how a list is asked for (全部ひろって, 洗い出して): not what it is about
    "ぜんぶ", "とこ", "洗い出し", "洗い出す", "拾う", "ひろう", "拾い出す", "リストアップ", "列挙",
    "どこどこ", "どれどれ", "片っ端",
}
# A sentence that asks (a question mark, a request or a question word); the others in a
# multi-sentence question set the scene (「新しく配属された者です。」「大阪市の職員です。」).
_ASKING = re.compile(r"[？?]|教えて|ください|下さい|知りたい|ですか|ますか|でしょうか|か[。.]?$|"
                     r"何|なに|どう|どこ|どれ|どの|どんな|誰|だれ|いつ|なぜ|なんで|ありますか")
_KANJI_STEM = re.compile(r"^[一-龥々]+")
# 「北海道内」「県外」「市全域」: a place the reports name, with a word for its area around it.
_PLACE_SUFFIX = re.compile(r"(?<=..)(?:内|外|全域|全体|全土|周辺|近郊|出身|在住|以外)$")


def asked_part(question: str) -> str:
    """The sentences of a question that ask; all of it when none or every one does.

    >>> asked_part("大阪市の職員です。仙台市の工夫を教えて")
    '仙台市の工夫を教えて'
    >>> asked_part("会議の進め方は？")
    '会議の進め方は？'
    """
    sentences = [x for x in re.split(r"(?<=[。！!？?])", question) if x.strip()]
    asking = [x for x in sentences if _ASKING.search(x)]
    return "".join(asking) if asking and len(asking) < len(sentences) else question


# "How many / how much" questions and the unit each asks for.
_QUANTITY = re.compile(
    r"いくら|何\s*(円|人|名|団体|回|件|か所|箇所|カ所|割|%|％|パーセント|年|日|歳|社|校|課|局)"
    r"|(人数|件数|団体数|回数|金額|予算額|割合)(は|を|が|も)"
)
_UNIT_OF = {"いくら": "円", "金額": "円", "予算額": "円", "人数": "人", "件数": "件",
            "団体数": "団体", "回数": "回", "割合": "%", "パーセント": "%", "％": "%", "名": "人",
            "カ所": "か所", "箇所": "か所"}
_NUMBER = r"[0-9０-９一二三四五六七八九十百千万]+"
# Questions that ask which real city an anonymised column city (A市, B市, C市) is.
_ANONYMISED = re.compile(r"[ABCＡＢＣ]市.*(どこ|市名|実名|本当の名前|正式名|名前)")


def quantity_units(question: str) -> list[str]:
    """Units of the quantities a question asks for.

    >>> quantity_units("何団体が参加して、会議は年に何回開かれていますか？")
    ['団体', '回']
    >>> quantity_units("交付金はいくら出ますか")
    ['円']
    >>> quantity_units("どんな工夫をしましたか")
    []
    """
    units = []
    for m in _QUANTITY.finditer(question):
        word = m.group(1) or m.group(2) or m.group(0)
        unit = _UNIT_OF.get(word, word)
        if unit not in units:
            units.append(unit)
    return units


# Counters a report may use for the unit a question asks with (何か所 ← 15の地域に設置).
_UNIT_WORDS = {
    "か所": ("か所", "箇所", "カ所", "ヶ所", "ケ所", "拠点", "の地域", "地域", "圏域"),
    "人": ("人", "名"),  # people are counted with either counter (5名の委員 answers 何人)
}


def states_quantity(texts: Sequence[str], unit: str, exact: bool = False) -> bool:
    """Whether any text states a number with the unit (e.g. 8回, 3倍, 54自治体 for 団体).

    >>> states_quantity(["概ね小学校区で分割し15の地域に設置。"], "か所")
    True
    >>> states_quantity(["会議を開催した。"], "回")
    False
    >>> states_quantity(["5名のエリアディレクターが調整する。"], "人")
    True
    >>> states_quantity(["5名のエリアディレクターが調整する。"], "人", exact=True)  # 人口
    False
    """
    words = "|".join(re.escape(w) for w in ((unit,) if exact else _UNIT_WORDS.get(unit, (unit,))))
    pattern = {"%": rf"{_NUMBER}\s*(%|％|割)", "円": rf"{_NUMBER}\s*(円|万円|億円|倍)"}.get(
        unit, rf"{_NUMBER}\s*(?:{words})")
    return any(re.search(pattern, normalize(t)) for t in texts)


@dataclass(frozen=True)
class ScopeVerdict:
    """Whether to decline, and the terms that the reports never mention."""

    abstain: bool
    missing: tuple[str, ...] = ()
    reason: str = ""


class Terms(Protocol):
    """Answers whether a term occurs in the corpus (`TermIndex`)."""

    def contains(self, term: str) -> bool: ...


class ScopeChecker:
    """Flags questions about named things or facts that occur nowhere in the corpus.

    Terms are looked up in a `TermIndex` (saved with the index; `from_chunks` builds one in
    memory). Answers to look-ups are kept: the index never changes under a checker, and every
    question asks about the same fact terms (FACT_TERMS).
    """

    MEMO_SIZE = 100_000  # remembered look-ups; the memo starts over when full

    def __init__(self, terms: Terms, morphemes: Morphemes, remember: bool = True) -> None:
        self.terms = terms
        self._morphemes = morphemes
        self._memo: dict[str, bool] = {}
        self._memo_size = self.MEMO_SIZE if remember else 0

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk], morphemes: Morphemes) -> ScopeChecker:
        """A checker over chunks held in memory (tests, callers without a data dir)."""
        return cls(TermIndex.from_chunks(chunks), morphemes)

    def in_corpus(self, term: str) -> bool:
        known = self._memo.get(term)
        if known is None:
            known = self.terms.contains(term)
            if len(self._memo) >= self._memo_size:
                self._memo.clear()
            if self._memo_size:
                self._memo[term] = known
        return known

    def _asks_missing_fact(self, surface: str, norm: str, pos: tuple[str, ...]) -> bool:
        """A fact-type noun (or a compound holding one, e.g. 申請期限) absent from the corpus."""
        if self.in_corpus(surface) or self.in_corpus(norm):
            return False
        if surface[:1] in "大少多小" and surface[1:] in FACT_TERMS:
            return False  # 大人数・少人数 say how large, they do not ask for a number
        if surface in FACT_TERMS or norm in FACT_TERMS:
            return True
        return pos[0] == "名詞" and any(t in surface and not self.in_corpus(t)
                                        for t in FACT_TERMS if len(t) >= 2)

    def content_words(self, question: str) -> list[str]:
        """Words that say what the question is about (not question words or particles)."""
        return [
            surface for surface, pos, _ in self._morphemes(question)
            if pos[0] in ("名詞", "動詞", "形容詞") and surface not in _GENERIC
            and pos[1] not in ("数詞", "代名詞", "非自立可能") and len(surface) > 1
            or (pos[0] == "名詞" and pos[1] == "固有名詞")
        ]

    def check(self, question: str, passages: Sequence[str] = ()) -> ScopeVerdict:
        """Decline when a named thing, an asked-for fact type or figure is not in the reports.

        `passages` are the texts retrieved for the question: a "how many" question is
        declined when none of them states a number with the asked unit.
        """
        if _ANONYMISED.search(normalize(question)):
            return ScopeVerdict(True, ("市の実名",), "anonymised")
        units = quantity_units(question)
        exact = "人口" in question  # a population is counted in 人, never in 名
        if units and passages and not any(states_quantity(passages, u, exact) for u in units):
            return ScopeVerdict(True, tuple(f"何{u}" if u != "円" else "金額" for u in units),
                                "no-figure")
        if asks_date(question) and passages and not states_date(passages):
            return ScopeVerdict(True, ("日付・時期",), "no-date")
        whole = self._morphemes(question)
        asked = asked_name(question, self._morphemes)
        given = [m[0] for m in whole if m[1][0] == "名詞" and m[1][1] == "固有名詞"]
        if asked and passages and not states_name(passages, asked, self._morphemes, given):
            return ScopeVerdict(True, (f"{asked.thing}の名前",), "no-name")
        asking = asked_part(question)
        morphs = whole if asking == question else self._morphemes(asking)
        missing: list[str] = []
        content: list[str] = []
        compound = ""
        compounds: list[str] = []
        for surface, pos, norm in morphs:
            if pos[0] == "名詞" or (pos[0] == "接尾辞" and compound):
                compound += surface
            else:
                if compound:
                    compounds.append(compound)
                compound = ""
            if pos[0] == "名詞" and pos[1] == "固有名詞" and not self.in_corpus(surface) \
                    and not self.in_corpus(_PLACE_SUFFIX.sub("", surface) or surface):
                # A place, person or organisation the reports never mention.
                if not (pos[2] == "人名" and len(surface) == 1):
                    missing.append(surface)
            elif self._asks_missing_fact(surface, norm, pos):
                missing.append(surface)
            if pos[0] in ("名詞", "動詞", "形容詞") and surface not in _GENERIC \
                    and pos[1] not in ("数詞", "代名詞", "非自立可能"):
                content.append((surface, pos, norm))
        if compound:
            compounds.append(compound)
        for article in _LAW_ARTICLE.findall(normalize(question)):
            if not self.in_corpus(article):
                missing.append(article)  # a law article the reports never quote
        if missing:
            return ScopeVerdict(True, tuple(dict.fromkeys(missing)), "missing")
        known = [t for t in content if self._word_in_corpus(*t)]
        if content and len(known) / len(content) < 0.34 and len(content) >= 2:
            absent = tuple(t[0] for t in content if t not in known)
            return ScopeVerdict(True, absent[:3], "low-coverage")
        return ScopeVerdict(False)

    def _word_in_corpus(self, surface: str, pos: tuple[str, ...], norm: str) -> bool:
        """A word occurs as written, in its dictionary form (新しく → 新しい), or, for a verb or
        adjective, by its kanji stem (読ん → 読む → 読: 読み, 読める…)."""
        if self.in_corpus(surface) or (norm and self.in_corpus(norm)):
            return True
        if pos[0] in ("動詞", "形容詞"):
            stem = _KANJI_STEM.match(surface) or _KANJI_STEM.match(norm or "")
            return bool(stem) and self.in_corpus(stem.group(0))
        return False

    def readable(self, question: str) -> bool:
        """Whether a question has anything to look up: a content word, or a noun the reports
        use (「ポイント5点を一覧で」 asks with words that are generic, yet in the reports)."""
        if self.content_words(question):
            return True
        return any(pos[0] == "名詞" and pos[1] not in ("数詞", "代名詞") and len(surface) > 1
                   and self.in_corpus(surface) for surface, pos, _ in self._morphemes(question))
