"""Local public bodies of Japan: the official list (総務省「全国地方公共団体コード」, see
tsunagari/data/README.md) looked up by name, and names the list does not know recognised by form.

A general fact, not about any one report: which names are prefectures, designated cities, special
wards, cities, towns and villages, their prefecture, region and reading.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "local_bodies.csv"

# Kinds, as the list gives them (the form fallback gives the last four and 都道府県).
KINDS = ("都道府県", "政令指定都市", "特別区", "市", "町", "村", "行政区")

# The eight regions (八地方区分) by prefecture code (JIS X 0401): a general fact. Okinawa is
# counted with Kyushu, Mie with Kinki.
_REGIONS = (
    (1, 1, "北海道地方"), (2, 7, "東北地方"), (8, 14, "関東地方"), (15, 23, "中部地方"),
    (24, 30, "近畿地方"), (31, 35, "中国地方"), (36, 39, "四国地方"), (40, 47, "九州地方"),
)
REGIONS = tuple(name for _, _, name in _REGIONS)

_KANJI = r"[\u4e00-\u9fff々〆ヵヶ]"
_FORM = re.compile(rf"^({_KANJI}{{1,8}}?)(市|区|町|村)$")
_FORM_PREFECTURE = re.compile(rf"^({_KANJI}{{1,3}}?)(都|道|府|県)$")
# Words of that form that are no body: 「市町村」「都道府県」「同市」「県内」… (the stem is generic).
_GENERIC_STEM = re.compile(
    r"[市区町村都道府県]|^(?:同|本|当|各|他|全|両|貴|近隣|周辺|政令|中核|指定|一般|特例|特別|基礎|"
    r"広域|小規模|大|中|小|新|旧|地元|地方|沿線|域内|管内|市内|県内|都内|道内|府内)$"
)


@dataclass(frozen=True)
class Body:
    """A local public body: `official` when it is in the list (then `code` is its code)."""

    name: str
    kind: str
    prefecture: str = ""
    region: str = ""
    reading: str = ""
    code: str = ""
    city: str = ""  # for a ward (行政区): its designated city
    official: bool = True

    @property
    def is_municipality(self) -> bool:
        """True for a city, ward, town or village (not a prefecture)."""
        return self.kind != "都道府県"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


@cache
def _table() -> tuple[dict[str, tuple[Body, ...]], dict[str, str]]:
    """Bodies by name (several for a name like 府中市) and prefecture codes by prefecture."""
    by_name: dict[str, list[Body]] = {}
    pref_codes: dict[str, str] = {}
    with DATA.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["kind"] == "都道府県":
            pref_codes[r["name"]] = r["code"][:2]
    for r in rows:
        body = Body(r["name"], r["kind"], r["prefecture"], region_of(r["prefecture"], pref_codes),
                    r["kana"], r["code"], r["city"])
        by_name.setdefault(r["name"], []).append(body)
    return {k: tuple(v) for k, v in by_name.items()}, pref_codes


def region_of(prefecture: str, _codes: dict[str, str] | None = None) -> str:
    """The region (八地方区分) of a prefecture, '' for an unknown name.

    >>> region_of("青森県"), region_of("三重県"), region_of("沖縄県"), region_of("X県")
    ('東北地方', '近畿地方', '九州地方', '')
    """
    code = (_codes if _codes is not None else _table()[1]).get(prefecture, "")
    if not code:
        return ""
    n = int(code)
    return next(name for lo, hi, name in _REGIONS if lo <= n <= hi)


def prefectures() -> tuple[str, ...]:
    """The 47 prefectures in code order."""
    return tuple(_table()[1])


def candidates(name: str) -> tuple[Body, ...]:
    """Every body of the list with this name (「府中市」 is in 東京都 and 広島県); a name written
    with its prefecture (「青森県十和田市」) finds that one."""
    name = _nfkc(name)
    by_name, pref_codes = _table()
    found = by_name.get(name)
    if found:
        return found
    for pref in pref_codes:
        if name.startswith(pref) and len(name) > len(pref):
            rest = by_name.get(name[len(pref):], ())
            return tuple(b for b in rest if b.prefecture == pref)
    return ()


def by_form(name: str) -> Body | None:
    """A body the list does not know, recognised by its form (漢字＋市/区/町/村/都/道/府/県).

    >>> by_form("緑ヶ丘市").kind, by_form("東都").kind, by_form("市町村"), by_form("同市")
    ('市', '都道府県', None, None)
    """
    name = _nfkc(name)
    if m := _FORM_PREFECTURE.match(name):
        if not _GENERIC_STEM.search(m.group(1)):
            return Body(name, "都道府県", name, "", official=False)
    if m := _FORM.match(name):
        if not _GENERIC_STEM.search(m.group(1)):
            return Body(name, m.group(2), official=False)
    return None


def lookup(name: str, prefecture: str = "") -> Body | None:
    """The body a name denotes: from the list (with `prefecture` to choose among namesakes;
    an ambiguous name without it keeps its kind but no prefecture), else by form, else None.

    >>> b = lookup("十和田市")
    >>> b.kind, b.prefecture, b.region, b.reading
    ('市', '青森県', '東北地方', 'トワダシ')
    >>> lookup("府中市").prefecture, lookup("府中市", "広島県").prefecture
    ('', '広島県')
    """
    found = candidates(name)
    if prefecture:
        chosen = [b for b in found if b.prefecture == _nfkc(prefecture)]
        if chosen:
            return chosen[0]
    if len(found) == 1:
        return found[0]
    if found:
        kinds = {b.kind for b in found}
        kind = found[0].kind if len(kinds) == 1 else ""
        return Body(found[0].name, kind, official=True)
    body = by_form(name)
    if body is not None and prefecture and body.is_municipality:
        pref = _nfkc(prefecture)
        return Body(body.name, body.kind, pref, region_of(pref), official=False)
    return body


def is_body(name: str) -> bool:
    """True when `name` is a local public body (in the list or by its form)."""
    return lookup(name) is not None


_NAME_AT_START = re.compile(rf"^((?:{_KANJI}|[ぁ-んァ-ヶー]){{1,12}}?(?:都|道|府|県|市|区|町|村))")


def body_at_start(text: str) -> Body | None:
    """The body a text starts with (「十和田市（青森県…」, 「青森県十和田市の取組」), or None.

    The longest name of the list wins; a name the list does not know counts when the text goes
    on with a bracket, a space, 「の」 or nothing (so 「市民の声」 names no body).

    >>> body_at_start("十和田市（青森県、人口約6万人）").name
    '十和田市'
    >>> body_at_start("青森県十和田市の取組").name
    '十和田市'
    >>> body_at_start("緑ヶ丘町の取組").official, body_at_start("市民の声")
    (False, None)
    """
    text = _nfkc(text)
    by_name, pref_codes = _table()
    for pref in pref_codes:  # 「青森県十和田市」: the municipality, with its prefecture
        if text.startswith(pref):
            inner = body_at_start(text[len(pref):]) if len(text) > len(pref) else None
            if inner is not None and inner.is_municipality:
                return lookup(inner.name, pref) or inner
            break
    best = ""
    for end in range(min(len(text), 14), 1, -1):
        if text[:end] in by_name:
            best = text[:end]
            break
    if best:
        return lookup(best)
    m = _NAME_AT_START.match(text)
    if m is None:
        return None
    rest = text[m.end():]
    if rest and not rest.startswith(("（", "(", " ", "の", "・", "、", "：", ":", "【", "「")):
        return None
    return by_form(m.group(1))
