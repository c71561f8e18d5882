"""Case names as people type them: kana readings, half-width kana, romaji, one wrong kanji, a
prefecture without 県.

Knowledge comes from general resources only: Sudachi's dictionary gives each catalogue name its
reading (名張市 → ナバリシ) and says whether a written name is a real place (福島市 is one, so it
is never "corrected" to 徳島市); NFKC folds half-width kana (ﾄｸｼﾏ → トクシマ) and full-width
letters; Hepburn/kunrei romaji is derived from the reading; edit distance 1 against catalogue
names of the same length and suffix catches a misspelt kanji (座問市 → 座間市).

`NameIndex.canonical(text)` returns the text with every variant written as the catalogue names
it, and the mentions found (with their spans in the returned text), so the rest of the pipeline
(intent, retrieval, scope check) sees one spelling.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Suffixes of local bodies and their readings.
SUFFIX_READINGS = {"市": ("シ",), "県": ("ケン",), "区": ("ク",), "町": ("チョウ", "マチ"),
                   "村": ("ソン", "ムラ"), "府": ("フ",), "都": ("ト",), "道": ("ドウ",)}
_ROMAJI_SUFFIX = re.compile(r"[\s-]*(?:shi|si|city|ken|prefecture|pref\.?|ku|ward|cho|machi|"
                            r"town|mura|son|village)$")
_HALF_KANA = re.compile(r"[\uff61-\uff9f]+")
_WIDE_LATIN = re.compile(r"[Ａ-Ｚａ-ｚ０-９]+")
_ROMAJI_WORD = re.compile(r"[A-Za-z][A-Za-z\-\s]*[A-Za-z]")
_KANJI_NAME = re.compile(r"[一-龥々ヶ]{1,4}[市県区町村]")


def fold(text: str) -> str:
    """Half-width katakana and full-width letters/digits NFKC-folded, the rest untouched
    (NFKC of the whole question would turn ① into 1).

    >>> fold("ﾄｸｼﾏ市のＰＦ（ポイント①）")
    'トクシマ市のPF（ポイント①）'
    """
    text = _HALF_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    return _WIDE_LATIN.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)


def to_katakana(text: str) -> str:
    """Hiragana as katakana, same length (なばりし → ナバリシ)."""
    return "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in text)


_KANA_ROMAJI = dict(zip(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
    "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポ",
    "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho "
    "ma mi mu me mo ya yu yo ra ri ru re ro wa o n ga gi gu ge go za ji zu ze zo da ji zu de do "
    "ba bi bu be bo pa pi pu pe po".split()))
_SMALL = {"ャ": "ya", "ュ": "yu", "ョ": "yo", "ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o"}


def romaji(kana: str) -> str:
    """Hepburn romaji of a katakana reading (キタキュウシュウ → kitakyuushuu).

    >>> romaji("トヤマ"), romaji("ホッカイドウ"), romaji("キタキュウシュウ")
    ('toyama', 'hokkaidou', 'kitakyuushuu')
    """
    out = ""
    double = False
    for ch in kana:
        if ch == "ッ":
            double = True
            continue
        if ch in _SMALL and out:
            if out.endswith(("shi", "chi", "ji")):
                out = out[:-1] + _SMALL[ch][-1]
            elif out[-2:] in ("ki", "gi", "ni", "hi", "bi", "pi", "mi", "ri"):
                out = out[:-1] + _SMALL[ch]
            continue
        if ch == "ー":
            out += out[-1:] if out else ""
            continue
        syl = _KANA_ROMAJI.get(ch, "")
        if double and syl:
            syl = syl[0] + syl
        double = False
        out += syl
    return out


def romaji_key(word: str) -> str:
    """A spelling-insensitive key of romaji: Hepburn and kunrei agree, long vowels and
    doubled letters drop (Tōyama, Toyama, Touyama; Ichihara, Itihara; Hokkaido, Hokkaidou).

    >>> romaji_key("Itihara") == romaji_key("Ichihara"), romaji_key("Hokkaido") == romaji_key("hokkaidou")
    (True, True)
    """
    w = unicodedata.normalize("NFKD", word.lower())
    w = "".join(ch for ch in w if ch.isascii() and ch.isalpha())
    for a, b in (("shi", "si"), ("chi", "ti"), ("tsu", "tu"), ("fu", "hu"), ("ji", "zi"),
                 ("sh", "sy"), ("ch", "ty"), ("j", "zy"), ("ou", "o"), ("oo", "o"), ("uu", "u"),
                 ("ei", "e"), ("aa", "a"), ("ii", "i"), ("nn", "n"), ("m", "n")):
        w = w.replace(a, b)
    return re.sub(r"(.)\1", r"\1", w)


@dataclass(frozen=True)
class NameMention:
    """A case name found in a text: its span (in the canonical text), how it was written and
    the catalogue name it stands for."""

    start: int
    end: int
    surface: str  # as the user wrote it
    key: str  # the catalogue name (名張市)
    how: str  # exact | reading | romaji | edit


@dataclass(frozen=True)
class _Name:
    key: str
    stem: str  # 名張
    suffix: str  # 市
    reading: str  # ナバリシ
    stem_reading: str  # ナバリ


class NameIndex:
    """Variants of the catalogue's case names, built once per index."""

    def __init__(self, keys: Iterable[str], reading: Callable[[str], str],
                 is_place: Callable[[str], bool] = lambda s: False) -> None:
        self._is_place = is_place
        self._names: list[_Name] = []
        for key in dict.fromkeys(keys):
            if not key or re.fullmatch(r"[A-ZＡ-Ｚ]市", key):
                continue  # anonymised column cities have no reading
            suffix = key[-1] if key[-1] in SUFFIX_READINGS and len(key) > 2 else ""
            stem = key[:-1] if suffix else key
            full = reading(key)
            stem_reading = reading(stem) if suffix else full
            for sr in SUFFIX_READINGS.get(suffix, ()):
                if suffix and full.endswith(sr) and len(full) > len(sr):
                    stem_reading = full[: -len(sr)]
                    break
            self._names.append(_Name(key, stem, suffix, full, stem_reading))
        self.keys = frozenset(n.key for n in self._names)
        # Kana forms, longest first: full reading, stem reading + kanji suffix, bare stem.
        forms: list[tuple[str, _Name, bool]] = []
        for n in self._names:
            if len(n.reading) >= 2:
                forms.append((n.reading, n, False))
            if n.suffix:
                forms.append((n.stem_reading + n.suffix, n, False))
                if len(n.stem_reading) >= 3:
                    forms.append((n.stem_reading, n, True))
        self._forms = sorted(forms, key=lambda f: -len(f[0]))
        self._romaji = {romaji_key(romaji(r)): n for n in self._names
                        for r in (n.stem_reading, n.reading) if len(r) >= 2}

    def canonical(self, text: str) -> tuple[str, tuple[NameMention, ...]]:
        """The text with name variants replaced by catalogue names, and the names found.

        Exact names are reported too (how="exact"); other text is untouched.
        """
        text = fold(text)
        spans: list[tuple[int, int, str, str]] = []  # start, end, key, how
        taken = [False] * len(text)

        def claim(s: int, e: int, key: str, how: str) -> None:
            if not any(taken[s:e]):
                spans.append((s, e, key, how))
                for i in range(s, e):
                    taken[i] = True

        for n in sorted(self._names, key=lambda n: -len(n.key)):
            for m in re.finditer(re.escape(n.key), text):
                claim(m.start(), m.end(), n.key, "exact")
        for n in self._names:  # a prefecture or city without 県/市 (富山, 岐阜): kept as written
            if n.suffix and len(n.stem) >= 2:
                for m in re.finditer(re.escape(n.stem), text):
                    claim(m.start(), m.end(), n.key, "exact")
        kata = to_katakana(text)
        for form, n, bare in self._forms:
            for m in re.finditer(re.escape(form), kata):
                s, e = m.start(), m.end()
                if bare and not _katakana_word(text, s, e):
                    continue  # a bare hiragana stem (こうとう) is too often another word
                if _inside_kana_word(kata, s, e) and not bare:
                    continue
                claim(s, e, n.key, "reading")
        for m in _ROMAJI_WORD.finditer(text):
            word = _ROMAJI_SUFFIX.sub("", m.group(0).lower()).strip()
            n = self._romaji.get(romaji_key(word)) if len(word) >= 3 else None
            if n is not None:
                claim(m.start(), m.end(), n.key, "romaji")
        for m in _KANJI_NAME.finditer(text):
            n = self._near(m.group(0))
            if n is not None:
                claim(m.start(), m.end(), n.key, "edit")
        # Rewrite from the end so earlier spans keep their offsets, then re-anchor them.
        out = text
        for s, e, key, how in sorted(spans, reverse=True):
            if how != "exact":
                out = out[:s] + key + out[e:]
        mentions = []
        shift = 0
        for s, e, key, how in sorted(spans):
            surface = text[s:e]
            length = len(key) if how != "exact" else e - s
            mentions.append(NameMention(s + shift, s + shift + length, surface, key, how))
            shift += length - (e - s)
        return out, tuple(mentions)

    def _near(self, written: str) -> _Name | None:
        """The one catalogue name a written kanji name misses by one character, if the written
        name is not itself a real place (Sudachi's dictionary) or a catalogue name."""
        if written in self.keys or any(written.endswith(k) for k in self.keys):
            return None
        close = [n for n in self._names if len(n.key) == len(written)
                 and n.key[-1] == written[-1] and len(written) >= 3
                 and sum(a != b for a, b in zip(n.key, written)) == 1]
        if len(close) != 1 or self._is_place(written):
            return None
        return close[0]


def _katakana_word(text: str, s: int, e: int) -> bool:
    """Whether text[s:e] was written in katakana (or romaji) and is not part of a longer
    katakana word."""
    if not all("ァ" <= ch <= "ヺ" or ch == "ー" for ch in text[s:e]):
        return False
    before = text[s - 1] if s else ""
    after = text[e] if e < len(text) else ""
    return not _is_katakana(before) and not _is_katakana(after)


def _inside_kana_word(kata: str, s: int, e: int) -> bool:
    """Whether a kana match continues a katakana word on its left (…ナバリシ inside a longer
    loanword)."""
    before = kata[s - 1] if s else ""
    return _is_katakana(before) and before not in "ハガノモトヘ"


def _is_katakana(ch: str) -> bool:
    return bool(ch) and ("ァ" <= ch <= "ヺ" or ch == "ー")


def sudachi_index(keys: Iterable[str], tokenizer) -> NameIndex:
    """A NameIndex with readings and place checks from a Sudachi tokenizer."""

    def is_place(text: str) -> bool:
        morphs = tokenizer.morphemes(text)
        return len(morphs) == 1 and morphs[0][1][:3] == ("名詞", "固有名詞", "地名")

    return NameIndex(keys, tokenizer.reading, is_place)
