"""Resolve follow-up questions («その市では…») against the previous turns of a conversation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tsunagari.domain import MUNICIPALITY_ALIASES
from tsunagari.errors import InputError
from tsunagari.types import Filters

_ANAPHORA = re.compile(
    r"(その|同|この|当該)(市|町|村|区|県|都|道|府|自治体|団体|NPO|事例|取組|取り組み|ケース|地域)"
    r"|そちら"
)
# Words that point back to the previous topic without naming a place («そこまで絞った»).
_BACK_REFERENCE = re.compile(r"そこ(?:の|では|には|は|まで)|それで|その(?:後|際|時|とき|結果|ため)")
_CONTINUE = re.compile(r"^(他に|ほかに|他には|ほかには|さらに|もっと|それ(?!ぞれ|以外)|じゃあ|あと)")
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


def resolve(question: str, history: Sequence[object] | None, known: Iterable[str]) -> Resolved:
    """Rewrite a follow-up into a standalone question using the latest entity in the history."""
    validate_history(history)
    known = list(known)
    if not history or find_entities(question, known):
        return Resolved(question, Filters())
    is_followup = bool(_ANAPHORA.search(question) or _BACK_REFERENCE.search(question)
                       or _CONTINUE.search(question))
    if not is_followup:
        return Resolved(question, Filters())
    entity = _latest_entity(_turn_texts(history, "user"), known) or _latest_entity(
        _turn_texts(history, "assistant"), known)
    if not entity:
        previous = _turn_texts(history, "user")
        merged = f"{previous[-1]} {question}" if previous else question
        return Resolved(merged, Filters())
    standalone = _ANAPHORA.sub(entity, question, count=1)
    if standalone == question:
        standalone = f"{entity}について、{question}"
    if re.fullmatch(r"[ABC]市", entity):
        return Resolved(standalone, Filters(column=entity), entity)
    return Resolved(standalone, Filters(municipality=entity), entity)
