"""What kind of answer a question wants: enumerate, compare, profile, fact, yes/no or how-to.

Pure: the question text and the case catalogue in, an `Intent` out. The answerer routes each kind
to a fitting retrieval (case-level for enumerations, one retrieval per entity for comparisons,
all passages of an entity for a profile, metadata for pages and sources).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tsunagari.domain import (BODY_KINDS, CONTENT_TERMS, NEGATION_HINTS, body_region,
                              mentioned_points)
from tsunagari.indexing.catalogue import Catalogue, Entity

_ENUMERATE = re.compile(
    r"全部|すべて|全て|もれなく|漏れなく|一覧|挙げて|どこ(?:の自治体|が|に|ですか)|どの自治体|"
    r"どれ(?:です|が|か)|事例は(?:どこ|何|ありますか)|ありますか|何件|いくつの事例|まとめて|"
    r"(?:両方|どちら)の(?:報告書|資料)|(?:報告書|資料)をまたいで"  # cases of several reports
)
_COMPARE = re.compile(r"違い|違う|比べ|比較|共通|どちら|異なる|差")
_PROFILE = re.compile(
    r"どんな(?:自治体|市|県|区|町|ところ)|どういう(?:自治体|市|県|区|町|ところ)|について(?:まとめて|教えて)|"
    r"取り?組み?(?:の概要)?を教えて|概要|何をした|何をやった|どんな取り?組み?(?:で|を|をして)|"
    r"紹介されて|まとめて教えて"
)
_PAGE = re.compile(r"何ページ|どのページ|ページ数|どこに(?:書|載)|何頁")
_SOURCE = re.compile(r"(?:元|もと)の?報告書|どの報告書|出典|引用元|何という報告書")
_COUNT = re.compile(r"何(?:か所|箇所|カ所|回|件|人|名|団体|つ|年|か月|ヶ月)|いくつ|どのくらいの(?:期間|数)|"
                    r"何年|どれくらい")
_WHEN = re.compile(r"いつ|何年|時期|期間")
_WHO = re.compile(r"誰|だれ|どなた|どんな立場|どの課|どこの課|どの部署")
_REGION = re.compile(r"(北海道|東北|関東|中部|北陸|東海|近畿|関西|中国|四国|九州|沖縄)(?:地方)?")
# Size in everyday words too: 「規模が小さめのまち」「小さい町」「小さめの自治体」.
_PLACE = r"(?:市|町|まち|村|自治体|ところ|都市)"
_SIZE = re.compile(rf"小都市|小さ(?:な|い|め)(?:の)?{_PLACE}|小規模な?(?:の)?{_PLACE}|"
                   rf"規模が小さ(?:い|め|な)?(?:の)?{_PLACE}?|大都市|中都市")
_COLUMN_WORDS = re.compile(r"コラム|ヒアリング|インタビュー")
_CHAPTER2_WORDS = re.compile(r"第\s*2\s*章|アクション事例")
# Negation and contrast: the phrase before the marker is what the user does NOT want. 以外 only
# counts before a case word (「県以外の事例」); 「福祉以外の部署」 is what the question is about.
_NEGATION = re.compile(
    r"([^、。？?！!]{1,40}?)(?:ではなく|じゃなく|でなく|でもない|でもなく|ではない|"
    r"以外の(?=事例|自治体|市|県|区|町|村|都道府県|コラム|ケース|例)|を除(?:いて|く)|は除(?:いて|く))"
)
# 「富山県以外を教えて」「県以外は？」: X以外 also negates when X itself (the words after the last
# particle) names a case or a kind of case; 「福祉以外の部署」 names neither, and stays the topic.
# 「都道府県のものじゃないのは？」 likewise (not a quoted 「うちの担当じゃない」, not 「…んじゃない？」).
_EXCEPT = re.compile(r"([^、。？?！!\s]{1,40}?)(?:以外(?!の(?:事例|自治体|市|県|区|町|村|都道府県|"
                     r"コラム|ケース|例))|(?<!ん)じゃない(?!か|で|でしょ))")
_OF_THING = re.compile(r"(?:の)?(?:もの|こと|ところ|とこ|事例|の)$")
_PARTICLE = re.compile(r"から|まで|より|の|で|は|を|と|も|が|に")
# 「Aの話は聞きますが、逆にB…」: what comes before 逆に is the side not asked about.
_CONTRAST = re.compile(r"^(.+?)逆に[、,]?")
# 〜ずに / 〜せずに describe the wanted case by what it did not do: reworded with NEGATION_HINTS.
_WITHOUT = re.compile(r"([^、。？?！!]{1,20}?)(?:せずに|ずに|せず)")


_NAME_CHAR = re.compile(r"[一-龥ァ-ヶーA-Za-zＡ-Ｚ々]")
_WORD_AFTER = set("役民内長場域議職外部全営立政有道村")


@dataclass(frozen=True)
class Conditions:
    """Facts an entity must (or must not) have: kind of body, region, size, points, origin."""

    bodies: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    sizes: frozenset[str] = frozenset()
    points: frozenset[int] = frozenset()
    reports: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()  # "case" (chapter 2) / "column" (interviews)

    def __bool__(self) -> bool:
        return bool(self.bodies or self.regions or self.sizes or self.points or self.reports
                    or self.kinds)

    def match(self, e: Entity) -> bool:
        """Whether an entity has every fact asked for."""
        bodies = self.bodies | ({"政令市"} if "市" in self.bodies else set())  # a 政令市 is a 市
        return ((not bodies or e.body in bodies)
                and (not self.regions or any(r in (e.region or body_region(e.key))
                                             for r in self.regions))
                and (not self.sizes or _size_fits(e, self.sizes))
                and (not self.points or bool(self.points & set(e.points)))
                and (not self.reports or any(r in _norm(s) for r in self.reports
                                             for s, _ in e.sources))
                and (not self.kinds or e.kind in self.kinds))

    def hits(self, e: Entity) -> bool:
        """Whether an entity has any of the facts (for excluded conditions)."""
        return ((bool(self.bodies) and e.body in self.bodies)
                or any(r in e.region for r in self.regions)
                or (bool(self.sizes) and _size_fits(e, self.sizes))
                or bool(self.points & set(e.points))
                or any(r in _norm(s) for r in self.reports for s, _ in e.sources)
                or (bool(self.kinds) and e.kind in self.kinds))


def _size_fits(e: Entity, sizes: frozenset[str]) -> bool:
    """A size the report states; a town or village (町村) always counts as small (小都市):
    whatever its population, it is smaller than a city (a report may give only 人口約1.8万人).

    >>> from tsunagari.indexing.catalogue import Entity
    >>> town = Entity("芽室町", "case", "芽室町", "町村", "", "人口約1.8万人", *((),) * 9)
    >>> _size_fits(town, frozenset({"小都市"})), _size_fits(town, frozenset({"大都市"}))
    (True, False)
    """
    return e.size in sizes or (e.body == "町村" and "小都市" in sizes)


def _norm(report: str) -> str:
    """A report title as questions write it (the report types 第ニ次 with a katakana ニ)."""
    return report.replace("第ニ次", "第二次")


@dataclass(frozen=True)
class Intent:
    """The kind of answer wanted and what it is about."""

    kind: str  # enumerate | compare | profile | fact | yesno | howto
    query: str  # the text to retrieve with (negated phrases removed)
    entities: tuple[Entity, ...] = ()
    conditions: Conditions = field(default_factory=Conditions)
    excluded: Conditions = field(default_factory=Conditions)
    excluded_entities: tuple[Entity, ...] = ()
    terms: tuple[tuple[str, ...], ...] = ()  # content terms (each with its synonyms)
    negated: tuple[str, ...] = ()  # the negated phrases
    fact: str = ""  # page | source | count | when | who


def _conditions(text: str, catalogue: Catalogue) -> Conditions:
    bodies = set()
    for kind, words in BODY_KINDS.items():
        for w in words:
            if len(w) > 1:
                if w in text:
                    bodies.add(kind)
                continue
            # A bare 県/市/区/町/村 is a kind of body unless it ends a name (富山県) or starts
            # another word (市長, 県内, 市役所).
            for m in re.finditer(w, text):
                before = text[m.start() - 1] if m.start() else ""
                after = text[m.end()] if m.end() < len(text) else ""
                if not _NAME_CHAR.match(before) and after not in _WORD_AFTER:
                    bodies.add(kind)
    regions = {m.group(1).replace("関西", "近畿") for m in _REGION.finditer(text)}
    regions.discard("北海道") if "北海道" in text and not re.search(r"北海道地方", text) else None
    sizes = set()
    for m in _SIZE.finditer(text):
        word = m.group(0)
        sizes.add("大都市" if "大" in word else "中都市" if "中" in word else "小都市")
    known_regions = {e.region for e in catalogue.entities if e.region}
    regions = {r for r in regions if any(r in k for k in known_regions)}
    reports = {full for name, full in _report_names(catalogue).items() if name in text}
    for qualifier in ("第一次", "第二次"):
        if reports and qualifier in text:
            reports = {f"{r}（{qualifier}" for r in reports}
    kinds = set()
    if _COLUMN_WORDS.search(text):
        kinds.add("column")
    if _CHAPTER2_WORDS.search(text):
        kinds.add("case")
    if len(kinds) == 2 or re.search(r"両方|どちらも|含めて", text):
        kinds = set()  # "chapter 2 and the columns": no restriction
    if reports:  # 「（東北、関東…）」 after a report's name says what the report covers
        regions = set()
    return Conditions(frozenset(bodies), frozenset(regions), frozenset(sizes),
                      frozenset(mentioned_points(text)), frozenset(reports), frozenset(kinds))


def spell_out(question: str, catalogue: Catalogue) -> str:
    """A question with short names of the original reports' authors written out (日本総研 →
    日本総合研究所), so that the scope check finds them in the reports.

    >>> spell_out("日本総研の報告書", Catalogue(()))
    '日本総研の報告書'
    """
    for short, full in _report_names(catalogue).items():
        if short != full and short in question:
            question = question.replace(short, full)
    return question


def _report_names(catalogue: Catalogue) -> dict[str, str]:
    """Names of the original reports' authors as a question may write them → the name in the
    report (株式会社日本総合研究所 → 日本総合研究所, also 日本総研)."""
    names: dict[str, str] = {}
    for e in catalogue.entities:
        for report, _ in e.sources:
            for m in re.finditer(r"株式会社([^（「]+)", report):
                full = m.group(1)
                names[full] = full
                short = re.sub(r"総合研究所$", "総研", full)
                names.setdefault(short, full)
    return names


def _terms(text: str) -> tuple[tuple[str, ...], ...]:
    """Content terms of an enumeration (actors, practices), each with its synonyms."""
    out = []
    for words in CONTENT_TERMS:
        if any(w in text for w in words):
            out.append(words)
    return tuple(out)


def classify(question: str, catalogue: Catalogue) -> Intent:
    """The intent of a (standalone) question.

    >>> from tsunagari.indexing.catalogue import build_catalogue
    >>> from tsunagari.types import Chunk
    >>> cat = build_catalogue([Chunk("a", "d", "t", "x", (6,), municipality="仙台市", point=1),
    ...     Chunk("b", "d", "t", "y", (8,), municipality="埼玉県", point=2),
    ...     Chunk("c", "d", "t", "z", (21,), column="コラム２", column_city="B市")])
    >>> [classify(q, cat).kind for q in ("仙台市と埼玉県の違いは？", "B市はどんな自治体ですか",
    ...     "県の事例を全部教えて", "仙台市の話は何ページ？", "会議の進め方の工夫は？")]
    ['compare', 'profile', 'enumerate', 'fact', 'howto']
    >>> classify("県ではなく市の事例は？", cat).excluded.bodies
    frozenset({'都道府県'})
    """
    negated = []
    query = question
    excluded = Conditions()
    excluded_entities: list[Entity] = []
    for m in _NEGATION.finditer(question):
        span = m.group(1)
        negated.append(span)
        query = query.replace(m.group(0), " ", 1)
        excluded = _union(excluded, _conditions(span, catalogue))
        excluded_entities += catalogue.find(span)
    for m in _EXCEPT.finditer(query):
        if query.count("「", 0, m.start()) > query.count("」", 0, m.start()):
            continue  # inside a quotation: someone's words, not what is asked
        span = m.group(1)
        head = _OF_THING.sub("", span)
        tail = _PARTICLE.split(head)[-1]
        named, kinds = (catalogue.find(tail), _conditions(tail, catalogue)) if tail else ((), None)
        if named or kinds:
            negated.append(tail)
            # the excluded words and the marker go; what came before them (ポイント②の…) stays
            query = query.replace(m.group(0), head[:len(head) - len(tail)] + " ", 1)
            excluded = _union(excluded, kinds) if kinds else excluded
            excluded_entities += named
    if m := _CONTRAST.search(query):
        negated.append(m.group(1))
        query = query[m.end():]
    for m in _WITHOUT.finditer(query):
        hint = next((v for k, v in NEGATION_HINTS.items() if k in m.group(1)), "")
        if hint:
            negated.append(m.group(1))
            query = query.replace(m.group(0), f" {hint} ", 1)
    wanted_text = query
    entities = tuple(e for e in catalogue.find(wanted_text) if e not in excluded_entities)
    conditions = _conditions(wanted_text, catalogue)
    # What is asked for cannot also be excluded («関東の県は除いて、それ以外の都道府県»).
    excluded = Conditions(excluded.bodies - conditions.bodies, excluded.regions - conditions.regions,
                          excluded.sizes - conditions.sizes, excluded.points - conditions.points,
                          excluded.reports - conditions.reports, excluded.kinds - conditions.kinds)
    terms = _terms(wanted_text)
    fact = ("page" if _PAGE.search(question) else "source" if _SOURCE.search(question)
            else "count" if _COUNT.search(question) else "who" if _WHO.search(question)
            else "when" if _WHEN.search(question) else "")
    listing = _has_list_cue(question) or bool(_ENUMERATE.search(question)) \
        or bool(_WHICH_PLACES.search(question.strip()))
    about_cases = bool(re.search(r"事例|例|自治体|どこ|とこ|まち|話(?:を|は|が|って)", question))
    if len(entities) >= 2 and (_COMPARE.search(question) or "それぞれ" in question):
        kind = "compare"
    elif len(entities) == 1 and fact in ("page", "source"):
        kind = "fact"
    elif len(entities) == 1 and _PROFILE.search(question) and not terms:
        kind = "profile"
    elif not entities and about_cases and (
            _has_list_cue(question) or (listing and (conditions or excluded or terms))
            or (bool(conditions or excluded) and "事例" in question)):
        kind = "enumerate"
    elif fact:
        kind = "fact"
    elif "ありますか" in question or "ある？" in question:
        kind = "yesno"
    else:
        kind = "howto"
    return Intent(kind, query.strip() or question, entities, conditions, excluded,
                  tuple(dict.fromkeys(excluded_entities)), terms, tuple(negated), fact)


def negated_words(intent: Intent) -> tuple[str, ...]:
    """Key words of the negated phrases that the wanted side does not use.

    >>> negated_words(Intent("howto", "ボトムアップで進めた例は？", negated=("首長のトップダウン",)))
    ('首長', 'トップダウン')
    """
    words = []
    for phrase in intent.negated:
        for w in re.findall(r"[ァ-ヶー]{3,}|[一-龥]{2,}", phrase):
            if w not in intent.query:
                words.append(w)
    return tuple(dict.fromkeys(words))


# Cues that every qualifying case is wanted: quantifiers (全部, 残らず), verbs of gathering
# (拾って, 洗い出して, リストアップ) and a reduplicated question word (どこどこ, どれどれ).
_LIST_CUE = re.compile(r"全部|ぜんぶ|すべて|全て|もれなく|漏れなく|残らず|一覧|挙げて|あげて|列挙|"
                       r"リストアップ|洗い出|拾って|ひろって|拾い出|片っ端|どこどこ|どれどれ")
# 「…してるところは？」「…の事例はどこ？」: which places, asked at the end of the question (a list
# when the question also gives a condition; a lone どこ may ask for one place).
_WHICH_PLACES = re.compile(r"(?:ところ|とこ|事例|自治体|例)(?:って|は)(?:どこ)?(?:[？?]|です[かの]|$)|"
                           r"どこ(?:[？?]|なの|でしょう|かな|だろう|$)")


def _has_list_cue(question: str) -> bool:
    """Whether a question asks for every case (全部, 全部ひろって, どこどこ？).

    >>> _has_list_cue("大学と組んでるとこってどこどこ？"), _has_list_cue("社協が出てくる自治体、全部ひろって")
    (True, True)
    >>> _has_list_cue("会議の進め方は？")
    False
    """
    return bool(_LIST_CUE.search(question))


def _union(a: Conditions, b: Conditions) -> Conditions:
    return Conditions(a.bodies | b.bodies, a.regions | b.regions, a.sizes | b.sizes,
                      a.points | b.points, a.reports | b.reports, a.kinds | b.kinds)
