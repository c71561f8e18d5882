"""Facts used across the pipeline, in one place.

General facts (kinds of local bodies as a question names them, everyday words → the reports'
vocabulary, the actors a question may list cases by) are data here. Facts about one report (its
points, the spellings it uses for bodies, the words tied to its points) belong to its registered
profile (`tsunagari.chunking.registry`); the names below (`POINTS`, `POINT_MARKS`,
`MUNICIPALITY_ALIASES`, `canonical_municipality`, `topic_points`) read the registered profiles,
so callers need no change. Kinds of body come from the official list (`tsunagari.bodies`).
"""

from __future__ import annotations

import re
from types import MappingProxyType

from tsunagari import bodies
from tsunagari.chunking import registry

_POINTED = registry.profile_with_points()
# The points of the profile that declares them (the first report's five points).
POINTS = _POINTED.points if _POINTED else MappingProxyType({})
POINT_MARKS = _POINTED.point_marks if _POINTED else ""
# Spellings of body names in the reports (every registered profile's).
MUNICIPALITY_ALIASES = MappingProxyType(registry.aliases())

# Kinds of local body, as a question may name them (the key is the kind `body_kind` returns).
BODY_KINDS: dict[str, tuple[str, ...]] = {
    "都道府県": ("都道府県", "県", "道府県", "都道府", "広域自治体"),
    "政令市": ("政令市", "政令指定都市", "指定都市", "大都市"),
    "特別区": ("特別区", "東京23区", "23区", "区"),
    "市": ("一般市", "市"),
    "町村": ("町村", "町", "村"),
}


def body_region(name: str) -> str:
    """The region (八地方区分) of a named local body from the official list, '' when the name
    is not a listed body or names several (a prefecture is its own region's).

    >>> [body_region(n) for n in ("生駒市", "枚方市", "北九州市", "北海道", "A市", "府中市")]
    ['近畿地方', '近畿地方', '九州地方', '北海道地方', '', '']
    """
    body = bodies.lookup(canonical_municipality(name))
    if body is None or not body.official:
        return ""
    return body.region or bodies.region_of(body.name)


def body_kind(name: str) -> str:
    """The kind of local body a municipality's name denotes (a key of BODY_KINDS), from the
    official list (`tsunagari.bodies`), else from the name's form.

    >>> [body_kind(n) for n in ("富山県", "北海道", "仙台市", "江東区", "徳島市", "A市", "X町")]
    ['都道府県', '都道府県', '政令市', '特別区', '市', '市', '町村']
    >>> body_kind("札幌市中央区"), body_kind("白川村"), body_kind("潮見原市")
    ('政令市', '町村', '市')
    """
    name = canonical_municipality(name)
    body = bodies.lookup(name)
    kind = body.kind if body is not None else ""
    if kind in ("政令指定都市", "行政区"):
        return "政令市"
    if kind in ("町", "村"):
        return "町村"
    if kind in BODY_KINDS:
        return kind
    if name.endswith(("都", "道", "府", "県")):
        return "都道府県"
    if name.endswith("区"):
        # Every special ward is in the official list, so a ward it does not know by that name
        # alone (港北区) is a ward of a designated city.
        return "特別区" if body is not None and body.official else "政令市"
    if name.endswith("市"):
        return "市"
    if name.endswith(("町", "村")):
        return "町村"
    return ""


def canonical_municipality(name: str) -> str:
    """The municipality name used for filtering (the reports' typos mapped, as their profiles
    declare them).

    >>> canonical_municipality("牧方市")
    '枚方市'
    >>> canonical_municipality("仙台市")
    '仙台市'
    """
    name = name.strip()
    return MUNICIPALITY_ALIASES.get(name, name)


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


def topic_points(query: str) -> set[int]:
    """Points whose own key terms a question uses (a weaker cue than naming the point; the
    key terms are the registered profiles' `point_topics`).

    >>> sorted(topic_points("行政と民間団体が対等な関係で運営している例"))
    [5]
    """
    return {p for p, pattern in registry.point_topics() if pattern.search(query)}


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
