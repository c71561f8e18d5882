"""Questions that ask for a name (「民生委員の名前は？」「スーパーの店名」「教授はどなた？」), and
whether the passages that answer them state one.

A report often describes an actor without naming it (「地元スーパー」「区内の大学」「民生委員」): such
a question is out of scope even though every word of it occurs in the reports. The asked-for
thing is the noun before the name word; a passage names it when a sentence that mentions the
thing also holds a name — for a person a personal name (Sudachi 人名, or 「立瀬助教」「山本氏」), for
anything else a quoted name (「めむろ ひとりにしないネットワーク」) or a proper noun other than the
places and names the question itself gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tsunagari.japanese import split_sentences

Morphemes = Callable[[str], list[tuple[str, tuple[str, ...], str]]]

_NAME_WORDS = {"名前", "氏名", "名称", "店名", "社名", "団体名", "企業名", "人名", "フルネーム", "正式名称"}
# Name words that carry their own head (店名 → the shop).
_HEADED = {"店名": "店", "社名": "社", "団体名": "団体", "企業名": "企業"}
_PERSON_HEAD = re.compile(r"(?:委員|教授|准教授|助教|講師|先生|課長|部長|係長|会長|室長|局長|所長|"
                          r"市長|町長|村長|区長|知事|職員|担当者|代表者?|者|員|さん)$")
_WHO = re.compile(r"(?:は|って)(?:どなた|誰|だれ)")
_TITLED = re.compile(r"[一-龥]{2,5}(?:氏|さん|教授|准教授|助教|講師|先生)")
_QUOTED = re.compile(r"[「『][^」』]{2,40}[」』]")


@dataclass(frozen=True)
class AskedName:
    """What a name is asked for: the thing (its noun) and whether it is a person."""

    thing: str
    person: bool


def asked_name(question: str, morphemes: Morphemes) -> AskedName | None:
    """The thing whose name a question asks for, if it asks for one.

    >>> from tsunagari.japanese import default_tokenizer
    >>> m = default_tokenizer().morphemes
    >>> asked_name("芽室町で中心になっている民生委員の名前は？", m)
    AskedName(thing='民生委員', person=True)
    >>> asked_name("上越市の地元スーパーの店名を教えて", m)
    AskedName(thing='地元スーパー', person=False)
    >>> asked_name("調査を担当した教授はどなたですか？", m)
    AskedName(thing='教授', person=True)
    >>> asked_name("講演したのは誰ですか？", m) is None, asked_name("会議の進め方は？", m) is None
    (True, True)
    """
    parts: list[tuple[bool, str]] = []  # (is a noun compound, text)
    compound = ""
    for surface, pos, _norm in morphemes(question):
        if (pos[0] == "名詞" and pos[1] != "代名詞") or (pos[0] == "接尾辞" and compound):
            compound += surface
            continue
        if compound:
            parts.append((True, compound))
        compound = ""
        parts.append((False, surface))
    if compound:
        parts.append((True, compound))
    for i, (noun, text) in enumerate(parts):
        if not noun:
            continue
        word = next((w for w in _NAME_WORDS if text.endswith(w)), "")
        if word and i + 1 < len(parts) and parts[i + 1][1] == "の":
            continue  # 「名前の付け方」 asks about naming, not for a name
        if word:
            thing = text[: -len(word)] or (parts[i - 2][1] if i >= 2 and parts[i - 1][1] == "の"
                                           and parts[i - 2][0] else "") or _HEADED.get(word, "")
            if not thing:
                return None
            return AskedName(thing, bool(_PERSON_HEAD.search(thing)) or word in ("氏名", "人名"))
        rest = "".join(t for _, t in parts[i + 1:])
        if _WHO.match(rest) and _PERSON_HEAD.search(text):
            return AskedName(text, True)
    return None


def states_name(texts: Sequence[str], asked: AskedName, morphemes: Morphemes,
                given: Sequence[str] = ()) -> bool:
    """Whether the texts name the asked thing (`given`: the names the question itself holds,
    which do not answer it). A person is named by a personal name anywhere in the texts; a
    thing by a quoted name, or a proper noun ending in the thing's noun or a place or personal
    name joined to it (鳥取大学),
    in a sentence that mentions the thing.

    >>> from tsunagari.japanese import default_tokenizer
    >>> m = default_tokenizer().morphemes
    >>> states_name(["地元スーパーの店舗に相談窓口の案内を置いた。"], AskedName("地元スーパー", False), m)
    False
    >>> states_name(["令和5年に「めむろ ひとりにしないネットワーク」を設立した。"],
    ...             AskedName("ネットワーク", False), m)
    True
    >>> states_name(["学識有識者（富山大学立瀬助教）を訪問した。"], AskedName("先生", True), m)
    True
    >>> states_name(["鳥取大学とは調査を共同で行った。"], AskedName("大学", False), m)
    True
    """
    head = morphemes(asked.thing)[-1][0] if asked.thing else ""
    for text in texts:
        for sentence in split_sentences(text):
            if asked.person:
                if _TITLED.search(sentence) or any(
                        pos[1] == "固有名詞" and pos[2] == "人名" and len(surface) > 1
                        for surface, pos, _ in morphemes(sentence)):
                    return True
                continue
            if asked.thing not in sentence and not (head and head in sentence):
                continue
            if any(not any(g in q for g in given) for q in _QUOTED.findall(sentence)):
                return True
            end = 0
            for surface, pos, _ in morphemes(sentence):
                end += len(surface)
                if pos[1] != "固有名詞" or surface in given or not head:
                    continue
                if (pos[2] in ("地名", "人名") and sentence.startswith(head, end)) or \
                        (surface.endswith(head) and len(surface) > len(head)):  # 鳥取大学
                    return True
    return False
