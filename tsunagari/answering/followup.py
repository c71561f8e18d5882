"""Resolve follow-up questions («その市では…») against the previous turns of a conversation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tsunagari.domain import MUNICIPALITY_ALIASES
from tsunagari.errors import InputError
from tsunagari.indexing.catalogue import Catalogue
from tsunagari.types import Filters

_ANAPHORA = re.compile(
    r"(その|同|この|当該)(市|町|村|区|県|都|道|府|自治体|団体|NPO|事例|取組|取り組み|ケース|地域)"
    r"|そちら"
)
# Words that point back to the previous topic without naming a place («そこまで絞った»).
_BACK_REFERENCE = re.compile(r"そこ(?:の|では|には|は|まで)|それで|その(?:後|際|時|とき|結果|ため)")
_CONTINUE = re.compile(r"^(他に|ほかに|他には|ほかには|さらに|もっと|それ(?!ぞれ|以外)|じゃあ|あと)")
# 「後のほうの市」「前者」「最初に挙がった…」: a position in the previous answer's list.
_FIRST = re.compile(r"前者|最初の(?=市|県|区|町|自治体|事例)|はじめの(?=市|県|区|自治体|事例)|一つ目の")
_LAST = re.compile(r"後者|後(?:のほう|の方)の|最後の(?=市|県|区|町|自治体|事例)|二つ目の")
_ORDINAL_CUE = re.compile(r"最初に|はじめに|前者|後者|後のほう|後の方|最後に")
# What kind of body an anaphor points to (その市 → a city, その県 → a prefecture).
_ANAPHOR_KIND = {"市": ("市", "政令市"), "区": ("特別区",), "県": ("都道府県",), "都": ("都道府県",),
                 "道": ("都道府県",), "府": ("都道府県",), "町": ("町村",), "村": ("町村",)}
_COLUMN_CITY = re.compile(r"([ABCＡＢＣ])市")


@dataclass(frozen=True)
class Resolved:
    """A standalone question and the filter implied by the conversation."""

    question: str
    filters: Filters
    entity: str = ""


def validate_history(history: object) -> None:
    """Raise InputError unless history is None or a list of strings / {"role","content"}.

    >>> validate_history([{"role": "user", "content": "仙台市は？"}, "前の質問"])
    >>> validate_history("前の質問")
    Traceback (most recent call last):
    ...
    tsunagari.errors.InputError: 会話の履歴（history）は、発言（文字列か {"role", "content"}）のリストで指定してください。
    """
    if history is None:
        return
    if isinstance(history, str | bytes) or not isinstance(history, Sequence) or not all(
        isinstance(t, str) or (isinstance(t, dict) and isinstance(t.get("content", ""), str))
        for t in history
    ):
        raise InputError(
            "会話の履歴（history）は、発言（文字列か {\"role\", \"content\"}）のリストで指定してください。"
        )


def _turn_texts(history: Sequence[object] | None, role: str | None = None) -> list[str]:
    out = []
    for turn in history or ():
        if isinstance(turn, str):
            if role in (None, "user"):
                out.append(turn)
        elif isinstance(turn, dict):
            if role is None or turn.get("role") == role:
                out.append(str(turn.get("content", "")))
    return out


def find_entities(text: str, known: Iterable[str]) -> list[str]:
    """Known municipalities / column cities mentioned in a text, in order of appearance.

    >>> find_entities("仙台市と富山県の例", ["富山県", "仙台市", "北九州市"])
    ['仙台市', '富山県']
    >>> find_entities("B市のコラム", [])
    ['B市']
    """
    found: list[tuple[int, str]] = []
    for name in set(known) | set(MUNICIPALITY_ALIASES):
        pos = text.find(name)
        if pos >= 0:
            found.append((pos, MUNICIPALITY_ALIASES.get(name, name)))
    for m in _COLUMN_CITY.finditer(text):
        found.append((m.start(), m.group(1).translate(str.maketrans("ＡＢＣ", "ABC")) + "市"))
    seen: list[str] = []
    for _, name in sorted(found):
        if name not in seen:
            seen.append(name)
    return seen


def _latest_entity(texts: list[str], known: list[str]) -> str:
    """The first entity of the most recent text that names one."""
    for text in reversed(texts):
        names = find_entities(text, known)
        if names:
            return names[0]
    return ""


def resolve(question: str, history: Sequence[object] | None, known: Iterable[str],
            catalogue: Catalogue | None = None) -> Resolved:
    """Rewrite a follow-up into a standalone question using the latest entity in the history.

    With the case catalogue, an anaphor picks an entity of its kind (その区 → 江東区, not the
    埼玉県 named before it), an ordinal picks from the previous answer's list (後のほうの市),
    and a descriptor narrows it (そのうち中国地方の市 → A市).
    """
    validate_history(history)
    known = list(known)
    if not history or find_entities(question, known):
        return Resolved(question, Filters())
    is_followup = bool(_ANAPHORA.search(question) or _BACK_REFERENCE.search(question)
                       or _CONTINUE.search(question) or _ORDINAL_CUE.search(question)
                       or _FIRST.search(question) or _LAST.search(question))
    if not is_followup:
        return Resolved(question, Filters())
    entity = _typed_entity(question, history, catalogue) if catalogue is not None else ""
    entity = entity or _latest_entity(_turn_texts(history, "user"), known) or _latest_entity(
        _turn_texts(history, "assistant"), known)
    if not entity:
        previous = _turn_texts(history, "user")
        merged = f"{previous[-1]} {question}" if previous else question
        return Resolved(merged, Filters())
    standalone = _ANAPHORA.sub(entity, question, count=1)
    if standalone == question:
        standalone = f"{entity}について、{question}"
    known_entity = catalogue.get(entity) if catalogue is not None else None
    if known_entity is not None:  # a column city of any report filters by its column
        kind = "column" if known_entity.kind == "column" else "municipality"
        return Resolved(standalone, Filters(**{kind: entity}), entity)
    if re.fullmatch(r"[ABC]市", entity):
        return Resolved(standalone, Filters(column=entity), entity)
    return Resolved(standalone, Filters(municipality=entity), entity)


def _typed_entity(question: str, history: Sequence[object], catalogue: Catalogue) -> str:
    """The entity a typed anaphor, an ordinal or a descriptor points to, or ''."""
    m = _ANAPHORA.search(question)
    kinds = _ANAPHOR_KIND.get(m.group(2), ()) if m and m.group(2) else ()
    ordinal = "first" if _FIRST.search(question) else "last" if _LAST.search(question) else ""
    if ordinal and not kinds:
        after = question[(_FIRST.search(question) or _LAST.search(question)).end():]
        kinds = next((v for k, v in _ANAPHOR_KIND.items() if after.startswith(k)), ())
    region = next((e.region for e in catalogue.entities
                   if e.region and e.region[:2] in question), "")
    if not (kinds or ordinal or region):
        return ""
    turns = [*_turn_texts(history, "assistant")[-1:], *reversed(_turn_texts(history, "user"))]
    for text in turns:
        names = [e for e in catalogue.find(text)
                 if (not kinds or e.body in kinds) and (not region or e.region == region)]
        if names:
            if ordinal == "first":
                return names[0].key
            if ordinal == "last":
                return names[-1].key
            return names[-1].key if kinds and len(names) > 1 else names[0].key
    return ""
