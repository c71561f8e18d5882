"""Query expansion: practitioners' everyday words → the vocabulary the reports use."""

from __future__ import annotations

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
