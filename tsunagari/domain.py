"""Facts about the reports, in one place: the five points, municipality aliases and the keyword
tables that tie words to points and everyday words to the reports' vocabulary.

Everything here is data or a pure function over it; no stage of the pipeline keeps its own copy.
"""

from __future__ import annotations

import re

# The five points of horizontal collaboration (chapter 2 of the first report).
POINTS: dict[int, str] = {
    1: "部局横断的な連携体制の構築",
    2: "首長・権限をもつキーパーソンの巻き込み",
    3: "これまで連携実績のない民間団体の巻き込み",
    4: "課題の議論と施策の設定",
    5: "自立的かつ対等な連携と協働",
}
POINT_MARKS = "①②③④⑤"

# The 20 designated cities (政令指定都市): a public fact, so that a question about 政令市 finds them.
DESIGNATED_CITIES = frozenset({
    "札幌市", "仙台市", "さいたま市", "千葉市", "横浜市", "川崎市", "相模原市", "新潟市", "静岡市",
    "浜松市", "名古屋市", "京都市", "大阪市", "堺市", "神戸市", "岡山市", "広島市", "北九州市",
    "福岡市", "熊本市",
})
# Kinds of local body, as a question may name them (the key is the kind `body_kind` returns).
BODY_KINDS: dict[str, tuple[str, ...]] = {
    "都道府県": ("都道府県", "県", "道府県", "都道府", "広域自治体"),
    "政令市": ("政令市", "政令指定都市", "指定都市", "大都市"),
    "特別区": ("特別区", "東京23区", "23区", "区"),
    "市": ("一般市", "市"),
    "町村": ("町村", "町", "村"),
}


def body_kind(name: str) -> str:
    """The kind of local body a municipality's name denotes.

    >>> [body_kind(n) for n in ("富山県", "北海道", "仙台市", "江東区", "徳島市", "A市", "X町")]
    ['都道府県', '都道府県', '政令市', '特別区', '市', '市', '町村']
    """
    name = canonical_municipality(name)
    if name.endswith(("都", "道", "府", "県")):
        return "都道府県"
    if name in DESIGNATED_CITIES or ("市" in name[:-1] and name.endswith("区")):
        return "政令市"
    if name.endswith("区"):
        return "特別区"
    if name.endswith("市"):
        return "市"
    if name.endswith(("町", "村")):
        return "町村"
    return ""


# Spellings that denote the same municipality: the report misspells 枚方市 as 牧方市, and once
# as 牧方氏 in its source table.
MUNICIPALITY_ALIASES = {"牧方市": "枚方市", "牧方氏": "枚方市"}

# Keywords that tie an interview topic to one of the five points (only used
# where the report itself does not state the point, i.e. in the columns).
POINT_HINTS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (2, re.compile(r"市長|首長|議員|キーパーソン|キーマン")),
    (1, re.compile(r"庁内|部局|他部署|他課|うちじゃない")),
    (3, re.compile(r"民間(?:団体)?の巻き込み|参画団体|巻き込み|参画を呼びかけ")),
    (5, re.compile(r"水平的|対等|信頼関係|官と民の役割")),
    (4, re.compile(r"グループワーク|情報交換会|課題|施策|事業を作")),
)


def canonical_municipality(name: str) -> str:
    """The municipality name used for filtering (the report's typos mapped).

    >>> canonical_municipality("牧方市")
    '枚方市'
    >>> canonical_municipality("仙台市")
    '仙台市'
    """
    name = name.strip()
    return MUNICIPALITY_ALIASES.get(name, name)


def infer_point(text: str) -> int | None:
    """Best-effort point (1–5) for an interview topic; None when unclear."""
    for point, pattern in POINT_HINTS:
        if pattern.search(text):
            return point
    return None


POINT_REF = re.compile(
    r"(?:ポイント|point)\s*([①-⑤1-5１-５])(?![点つ個])|([①-⑤])"
    r"|([1-5１-５一二三四五])\s*(?:つ目|番目)のポイント"
)


def mentioned_points(query: str) -> set[int]:
    """Points (1–5) that a question refers to explicitly.

    >>> sorted(mentioned_points("そのうち3つ目のポイントの事例は？ ④も"))
    [3, 4]
    >>> mentioned_points("首長を巻き込むには")
    set()
    >>> mentioned_points("「ポイント5点」とは何ですか")  # five points, not point 5
    set()
    """
    out = set()
    for m in POINT_REF.finditer(query):
        ch = next(g for g in m.groups() if g)
        out.add(POINT_MARKS.find(ch) + 1 if ch in POINT_MARKS
                else "12345１２３４５一二三四五".find(ch) % 5 + 1)
    return out


# Key terms of each point in a question (a weaker cue than naming the point).
POINT_TOPICS = (
    (1, re.compile(r"部局横断|庁内連携|他部局|他の部署|他部署|部署を")),
    (2, re.compile(r"首長|キーパーソン|市長|知事|トップ")),
    (3, re.compile(r"連携実績のない|新たな(?:民間)?団体|民間団体の巻き込み|民間団体を巻き込")),
    (4, re.compile(r"課題の議論|施策の設定|一緒に(?:課題|議論)")),
    (5, re.compile(r"対等|水平的連携|上下関係|フラット")),
)


def topic_points(query: str) -> set[int]:
    """Points whose own key terms a question uses (a weaker cue than naming the point).

    >>> sorted(topic_points("行政と民間団体が対等な関係で運営している例"))
    [5]
    """
    return {p for p, pattern in POINT_TOPICS if pattern.search(query)}


# Everyday word (as Sudachi splits it, lower-cased NFKC) → report terms added to the query.
# Only general domain synonyms belong here, never answers to particular questions.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "部署": ("部局",), "課": ("部局",), "部門": ("部局",), "他課": ("他部局",),
    "役所": ("自治体", "行政"), "市役所": ("自治体",),
    "市長": ("首長",), "知事": ("首長",), "町長": ("首長",), "村長": ("首長",),
    "トップ": ("首長",), "市町村長": ("首長", "市町村"), "幹部": ("キーパーソン",),
    "npo": ("民間団体",), "企業": ("民間団体",), "団体": ("民間団体",), "事業者": ("民間団体",),
    "協力": ("連携",), "参加": ("参画",), "巻き込む": ("巻き込み",), "引き込む": ("巻き込み",),
    "住民": ("市民",), "地域住民": ("市民",), "フラット": ("対等",), "上下関係": ("対等",),
    "仕切る": ("行政", "役割"), "pf": ("プラットフォーム",), "プラットフォーム": ("pf",),
    "社協": ("社会福祉協議会",), "重層事業": ("重層的支援体制整備事業",),
    "小さい": ("小規模",), "お金": ("予算",), "費用": ("予算",), "ルール": ("仕組み",),
    "広い": ("広大",), "いつ": ("期間", "時期"),
}


def expand(tokens: list[str]) -> list[str]:
    """The tokens plus the report terms of their synonyms.

    >>> expand(["他", "部署", "巻き込む"])
    ['他', '部署', '巻き込む', '部局', '巻き込み']
    """
    return tokens + [t for w in tokens for t in SYNONYMS.get(w, ())]


# Actors and practices a question may list cases by, each with the words the reports use for it.
# A case qualifies for 「社協が関わる事例」 when its passages use one of the words.
CONTENT_TERMS: tuple[tuple[str, ...], ...] = (
    ("社会福祉協議会", "社協"),
    ("大学", "教授", "准教授", "研究者"),
    ("企業", "事業所", "民間企業", "会社", "業界", "商店"),
    ("民生委員",),
    ("首長", "市長", "知事", "町長", "村長", "副市長", "トップ"),
    ("NPO", "ＮＰＯ", "NPO法人"),
    ("情報交換会", "意見交換会", "交流会"),
    ("講演", "勉強会", "研修", "セミナー"),
    ("ワークショップ", "グループワーク"),
    ("アンケート",),
    ("重層的支援体制整備事業", "重層事業", "重層"),
    ("子ども食堂", "食支援", "フードバンク"),
    ("ひきこもり", "8050"),
    ("不動産",),
    ("居場所",),
    ("相談窓口", "窓口"),
    ("予算", "補助金", "交付金", "財源"),
    ("幹事団体", "幹事会"),
)

# Words a question negates with 〜ずに/〜せずに, and what the report says instead.
NEGATION_HINTS: dict[str, str] = {
    "新しく作": "既存 転用 活用", "新設": "既存 転用 活用", "新たに作": "既存 転用 活用",
    "トップダウン": "ボトムアップ 現場", "行政主導": "民間 主体 対等",
}
