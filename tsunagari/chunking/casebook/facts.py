"""Facts about the first report (the casebook): its five points, the spellings it uses for
bodies, and the keyword tables that tie words to its points."""

from __future__ import annotations

import re
from types import MappingProxyType

# The five points of horizontal collaboration (chapter 2 of the first report).
POINTS = MappingProxyType({
    1: "部局横断的な連携体制の構築",
    2: "首長・権限をもつキーパーソンの巻き込み",
    3: "これまで連携実績のない民間団体の巻き込み",
    4: "課題の議論と施策の設定",
    5: "自立的かつ対等な連携と協働",
})
POINT_MARKS = "①②③④⑤"

# Spellings that denote the same municipality: the report misspells 枚方市 as 牧方市, and once
# as 牧方氏 in its source table.
ALIASES = MappingProxyType({"牧方市": "枚方市", "牧方氏": "枚方市"})

# Keywords that tie an interview topic to one of the five points (only used
# where the report itself does not state the point, i.e. in the columns).
POINT_HINTS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (2, re.compile(r"市長|首長|議員|キーパーソン|キーマン")),
    (1, re.compile(r"庁内|部局|他部署|他課|うちじゃない")),
    (3, re.compile(r"民間(?:団体)?の巻き込み|参画団体|巻き込み|参画を呼びかけ")),
    (5, re.compile(r"水平的|対等|信頼関係|官と民の役割")),
    (4, re.compile(r"グループワーク|情報交換会|課題|施策|事業を作")),
)

# Key terms of each point in a question (a weaker cue than naming the point).
POINT_TOPICS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(r"部局横断|庁内連携|他部局|他の部署|他部署|部署を")),
    (2, re.compile(r"首長|キーパーソン|市長|知事|トップ")),
    (3, re.compile(r"連携実績のない|新たな(?:民間)?団体|民間団体の巻き込み|民間団体を巻き込")),
    (4, re.compile(r"課題の議論|施策の設定|一緒に(?:課題|議論)")),
    (5, re.compile(r"対等|水平的連携|上下関係|フラット")),
)

CASE_LABEL = "{letter}：{name}"
FORMATS = ("pdf-text",)  # a sidecar's `format` that means this layout


def canonical_name(name: str) -> str:
    """A body's name as the report means it (its typos mapped).

    >>> canonical_name("牧方市"), canonical_name(" 仙台市")
    ('枚方市', '仙台市')
    """
    name = name.strip()
    return ALIASES.get(name, name)


def infer_point(text: str) -> int | None:
    """Best-effort point (1–5) for an interview topic; None when unclear."""
    for point, pattern in POINT_HINTS:
        if pattern.search(text):
            return point
    return None
