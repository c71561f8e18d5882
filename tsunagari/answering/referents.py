"""Follow-up referents across the whole conversation: an ordinal turn (「一番はじめの答え」,
「最初に聞いた」), an item in it (「2つ目の市」) and a descriptive turn (「前に聞いた方の県」).

Pure: the question, the turns and the case catalogue in; the catalogue name meant (or '') out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tsunagari.indexing.catalogue import Catalogue

_NUM = "1１一ひと2２二ふた3３三み4４四よ5５五いつ"
_ORD = {**dict.fromkeys("1１一ひと", 1), **dict.fromkeys("2２二ふた", 2), **dict.fromkeys("3３三み", 3),
        **dict.fromkeys("4４四よ", 4), **dict.fromkeys("5５五いつ", 5)}
_FIRST_WORDS = r"(?:一番|いちばん)?(?:はじめ|初め|始め|最初)"
# Which turn: the first answer / question, the earlier one, the last one.
_TURN = re.compile(
    rf"(?P<first>{_FIRST_WORDS})(?:の|に)(?P<what1>答え|回答|返事|質問|聞いた|出てきた|挙がった|話)|"
    r"(?P<before>前に|以前に|さっき|先ほど|前の方|前のほう)(?:の)?(?P<what2>答え|回答|質問|聞いた|話)|"
    rf"(?P<nth>[{_NUM}])(?:つ|番)目の(?P<what3>答え|回答|質問)"
)
# Which item of that turn: the n-th, the last.
_ITEM = re.compile(rf"(?P<n>[{_NUM}])(?:つ|番|個)目|(?P<last>最後|後の方|後のほう)")
_KIND_AFTER = re.compile(r"(?:の|方の|ほうの)?(市|県|区|町|村|自治体|事例|ところ)")
_KIND = {"市": ("市", "政令市"), "県": ("都道府県",), "区": ("特別区",), "町": ("町村",),
         "村": ("町村",)}


def _turns(history: Sequence[object] | None) -> list[tuple[str, str]]:
    out = []
    for t in history or ():
        if isinstance(t, str):
            out.append(("user", t))
        elif isinstance(t, dict):
            out.append((str(t.get("role", "user")), str(t.get("content", ""))))
    return out


def resolve_referent(question: str, history: Sequence[object] | None,
                     catalogue: Catalogue) -> str:
    """The catalogue name an ordinal or descriptive referent points to, or ''.

    >>> from tsunagari.indexing.catalogue import build_catalogue
    >>> from tsunagari.types import Chunk
    >>> cat = build_catalogue([Chunk(str(i), "d", "t", "x", (i,), municipality=m)
    ...     for i, m in enumerate(["北九州市", "座間市", "名張市", "富山県", "仙台市"])])
    >>> h = [{"role": "user", "content": "北九州市と座間市の違いは？"},
    ...      {"role": "assistant", "content": "北九州市は…、座間市は…"},
    ...      {"role": "user", "content": "名張市は？"}, {"role": "assistant", "content": "名張市は…"}]
    >>> resolve_referent("一番はじめの答えの2つ目の市は？", h, cat)
    '座間市'
    >>> resolve_referent("最初に聞いた市の話をもっと", h, cat)
    '北九州市'
    >>> resolve_referent("その市は？", h, cat)
    ''
    """
    turns = _turns(history)
    if not turns:
        return ""
    m = _TURN.search(question)
    if not m:
        return _item_of_a_list(question, turns, catalogue)
    what = m.group("what1") or m.group("what2") or m.group("what3") or ""
    role = "assistant" if what in ("答え", "回答", "返事", "出てきた", "挙がった") else "user"
    texts = [text for r, text in turns if r == role] or [text for _, text in turns]
    rest = question[m.end():]
    k = _KIND_AFTER.match(rest) or _KIND_AFTER.search(rest[:12])
    item = _ITEM.search(rest)
    kinds = _KIND.get(k.group(1), ()) if k else ()
    if m.group("first"):
        ordered = texts
    elif m.group("nth"):
        n = _ORD[m.group("nth")]
        ordered = texts[n - 1:n]
    else:  # 「前に聞いた方」: the turns before the latest one, most recent first
        ordered = list(reversed(texts[:-1])) or texts
    for text in ordered:
        names = [e for e in catalogue.find(text) if not kinds or e.body in kinds]
        if not names:
            continue
        if item and item.group("n"):
            n = _ORD[item.group("n")]
            return names[n - 1].key if n <= len(names) else ""
        if item and item.group("last"):
            return names[-1].key
        return names[0].key
    return ""


def _item_of_a_list(question: str, turns: list[tuple[str, str]], catalogue: Catalogue) -> str:
    """「2つ目のところは？」「3つのうち最後の県は？」 with no turn named: the item of the latest
    answer that lists enough cases of that kind (answers about one case are passed over).

    >>> from tsunagari.indexing.catalogue import build_catalogue
    >>> from tsunagari.types import Chunk
    >>> cat = build_catalogue([Chunk(str(i), "d", "t", "x", (i,), municipality=m)
    ...     for i, m in enumerate(["埼玉県", "江東区", "富山県", "徳島市"])])
    >>> h = [("user", "事例を3つ"), ("assistant", "埼玉県は…、江東区は…、富山県は…"),
    ...      ("user", "江東区は？"), ("assistant", "江東区は…")]
    >>> _item_of_a_list("3つのうち最後の県の担当課は？", h, cat), _item_of_a_list("2つ目のところは？", h, cat)
    ('富山県', '江東区')
    >>> _item_of_a_list("その市は？", h, cat)
    ''
    """
    item = _ITEM.search(question)
    if not item:
        return ""
    rest = question[item.end():]
    k = _KIND_AFTER.match(rest) or _KIND_AFTER.search(rest[:8])
    kinds = _KIND.get(k.group(1), ()) if k else ()
    total = re.search(rf"([{_NUM}])(?:つ|個|件)の(?:うち|中)", question)
    n = _ORD[item.group("n")] if item.group("n") else 0
    # 「最後」 needs a list; 「3つのうち」 says how long (when no kind narrows it)
    need = _ORD[total.group(1)] if total and not kinds else (n or 2)
    for role, text in reversed(turns):
        if role != "assistant":
            continue
        names = [e for e in catalogue.find(text) if not kinds or e.body in kinds]
        if len(names) < max(n, need):
            continue
        return names[n - 1].key if n else names[-1].key
    return ""
