"""Hubness control: passages that rank high for many unrelated questions are down-weighted.

A "hub" is a passage that retrieval puts in the top k for questions about other cases and
sections (a long, chatty interview passage; a case that names many topics). How often each
passage does so is measured over probe questions generated from the index itself: every
heading and section title, and a deterministic sample of the report's sentences. A probe is
*unrelated* to a passage when it comes from another case (or, outside the cases, another
section). Nothing here reads an eval item.

Rates are measured per retriever (BM25 and dense: a passage can be a hub of one only). The
rate r of a passage is the share of unrelated probes that rank it in the top k; a passage
whose rate exceeds twice the mean rate m gets the factor (2m / r) ** gamma on its share from
that retriever's list, the others keep theirs (factor 1). Retrieval applies it below the
list's first rank and not to passages of a case the question names (answering/retrieve.py).
Measured on qa.jsonl: gamma 0.15 and 0.25 both give hub_share 0.144 → 0.122 with recall@5
and cited page unchanged (0.25 also changes one negation answer to cite one more case, below
the gate's case precision); gamma 0.5 lowers hub_share to 0.094 but costs MRR@10 0.02.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from tsunagari.types import Chunk

MAX_PROBES = 2000  # a larger index is measured on an even sample (one query embedding each)
PROBE_K = 5  # a hub is measured by membership in the top 5 (what an answer quotes)
SENTENCE_EVERY = 3  # every third sentence of a passage becomes a probe
MIN_PROBE, MAX_PROBE = 10, 90  # characters of a probe sentence
KEEP_TOP = 1  # a retriever's own best match keeps its full score, hub or not
HUB_MARGIN = 2.0  # a hub ranks top k for more than twice the mean passage's share of probes

_SPLIT = re.compile(r"(?<=[。？！?!])|\n")
_MARKS = re.compile(r"^[\s＜<～〜【■・\-ー]+|[\s＞>～〜】]+$")
_SPEAKER = re.compile(r"^[^：:\n]{1,20}[：:]")


def origin(chunk: Chunk) -> tuple[str, str]:
    """What a passage is about: its case or column (C市① and C市② are one), else its section.

    >>> origin(Chunk("c", "d", "t", "x", (6,), section="2-1-2", municipality="仙台市"))
    ('d', '仙台市')
    >>> origin(Chunk("c", "d", "t", "x", (3,), section="1-2"))
    ('d', '§1-2')
    """
    if chunk.municipality:
        return chunk.doc_id, chunk.municipality
    if chunk.column_city or chunk.column:
        return chunk.doc_id, re.sub(r"[①-⑳]$", "", chunk.column_city or chunk.column)
    return chunk.doc_id, f"§{chunk.section}"


def _clean(text: str) -> str:
    return _MARKS.sub("", _SPEAKER.sub("", text.strip())).strip()


def probes(chunks: Sequence[Chunk]) -> list[tuple[str, tuple[str, str]]]:
    """Probe questions from the index itself, each with the origin of the passage it is from:
    every distinct heading and section title, and every third sentence of each passage.

    >>> c = Chunk("c", "d", "t", "A：仙台市\\n＜既存会議体の基盤を転用＞\\n一つ目の文はここで終わる。"
    ...           "二つ目の文もここで終わる。三つ目の文もここで終わる。四つ目の文もここで終わる。",
    ...           (6,), section="2-1-2", section_title="アクション事例", municipality="仙台市",
    ...           heading="＜既存会議体の基盤を転用＞")
    >>> [p for p, _ in probes([c])]  # the heading line is the first sentence: 1st, 4th, …
    ['既存会議体の基盤を転用', 'アクション事例', '三つ目の文もここで終わる。']
    """
    out: list[tuple[str, tuple[str, str]]] = []
    seen: set[str] = set()

    def add(text: str, where: tuple[str, str]) -> None:
        text = _clean(text)
        if len(text) >= 4 and text not in seen:
            seen.add(text)
            out.append((text, where))

    for c in chunks:
        where = origin(c)
        if c.heading:
            add(c.heading, where)
        if c.section_title:
            add(c.section_title.split("／")[-1], where)
        sentences = [s for s in (_clean(s) for s in _SPLIT.split(c.text))
                     if MIN_PROBE <= len(s) <= MAX_PROBE]
        for s in sentences[::SENTENCE_EVERY]:
            add(s, where)
    return out


# Generic ways of asking (no topic words): a probe asked as a question, so that passages that
# match the asking itself (chatty interview turns) show up as hubs too.
FRAMES = ("{}について教えて", "{}ってどんな話？", "{}をしているところはどこ？",
          "{}の事例はありますか", "{}はなぜ大事なの？")


def question_probes(chunks: Sequence[Chunk]) -> list[tuple[str, tuple[str, str]]]:
    """The probes as they are (statements) and, for each heading or title, asked in one of
    the generic frames (rotating, so the same index always gives the same probes).

    >>> c = Chunk("c", "d", "t", "x", (6,), section="2-1-2", municipality="仙台市",
    ...           heading="＜既存会議体の基盤を転用＞")
    >>> [p for p, _ in question_probes([c])]
    ['既存会議体の基盤を転用', '既存会議体の基盤を転用について教えて']
    """
    plain = probes(chunks)
    framed = [(FRAMES[i % len(FRAMES)].format(text), where)
              for i, (text, where) in enumerate(p for p in plain if len(p[0]) <= 40)]
    return spread(plain + framed, MAX_PROBES)


def spread(items: list, n: int) -> list:
    """At most n items, evenly spaced over the list (the same list always gives the same
    ones): the hub rates of a large index are measured on a sample, not one query per probe.

    >>> spread(list(range(10)), 4), spread([1, 2], 4)
    ([0, 2, 5, 7], [1, 2])
    """
    if len(items) <= n:
        return items
    return [items[i * len(items) // n] for i in range(n)]


def hub_rates(chunks: Sequence[Chunk], probe_list: Iterable[tuple[str, tuple[str, str]]],
              rank: Callable[[str], Sequence[str]], k: int = PROBE_K) -> dict[str, float]:
    """Each passage's share of unrelated probes that `rank` (probe → chunk ids, best first)
    puts in its top k.

    >>> a = Chunk("a", "d", "t", "x", (1,), municipality="甲市")
    >>> b = Chunk("b", "d", "t", "y", (2,), municipality="乙市")
    >>> h = Chunk("h", "d", "t", "z", (3,), municipality="丙市")
    >>> ps = [("p1", ("d", "甲市")), ("p2", ("d", "乙市")), ("p3", ("d", "丙市"))]
    >>> top = {"p1": ["a", "h"], "p2": ["b", "h"], "p3": ["h"]}
    >>> hub_rates([a, b, h], ps, lambda p: top[p], k=2)
    {'a': 0.0, 'b': 0.0, 'h': 1.0}
    """
    where = {c.chunk_id: origin(c) for c in chunks}
    hits = dict.fromkeys(where, 0)
    unrelated = dict.fromkeys(where, 0)
    probe_list = list(probe_list)
    per_origin: dict[tuple[str, str], int] = {}
    for _, o in probe_list:
        per_origin[o] = per_origin.get(o, 0) + 1
    for cid, o in where.items():
        unrelated[cid] = len(probe_list) - per_origin.get(o, 0)
    for text, o in probe_list:
        for cid in list(dict.fromkeys(rank(text)))[:k]:
            if cid in where and where[cid] != o:
                hits[cid] += 1
    return {cid: hits[cid] / unrelated[cid] if unrelated[cid] else 0.0 for cid in where}


def hub_factors(rates: dict[str, float], gamma: float, margin: float = HUB_MARGIN
                ) -> dict[str, float]:
    """Score factors: (margin × mean rate / rate) ** gamma for passages whose rate exceeds
    margin × the mean rate; the others are absent (they keep their score). Penalising every
    passage above the mean only makes the next ones hubs (measured: the top probe rate rose).

    >>> {k: round(v, 3) for k, v in hub_factors({"a": 0.0, "b": 0.1, "h": 0.5}, 1.0, 1.0).items()}
    {'h': 0.4}
    >>> {k: round(v, 3) for k, v in hub_factors({"a": 0.0, "b": 0.1, "h": 0.5}, 1.0).items()}
    {'h': 0.8}
    >>> hub_factors({"a": 0.1, "h": 0.5}, gamma=0.0)
    {}
    """
    if gamma <= 0 or not rates:
        return {}
    bar = margin * sum(rates.values()) / len(rates)
    return {cid: (bar / r) ** gamma for cid, r in rates.items() if bar > 0 and r > bar}


def top_hubs(rates: dict[str, float], n: int = 5) -> list[tuple[str, float]]:
    """The n passages with the highest rates (ties by id)."""
    return sorted(rates.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


# --------------------------------------------------------------------------- stored rates

PREFIX = "hubs-"


def stored_path(root: Path, sha256: str, signature: str) -> Path:
    """Where the rates of the chunk store `sha256` under one retrieval setup are kept."""
    digest = hashlib.sha256(signature.encode("utf-8")).hexdigest()[:16]
    return root / f"{PREFIX}{sha256}-{digest}.json"


def load_rates(path: Path, chunk_ids: Iterable[str]) -> dict[str, dict[str, float]] | None:
    """Saved rates per retriever, or None when missing, damaged or not of these chunks."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    lists = data.get("rates") if isinstance(data, dict) else None
    ids = set(chunk_ids)
    if not isinstance(lists, dict) or not lists or any(
            not isinstance(r, dict) or set(r) != ids for r in lists.values()):
        return None
    return {str(n): {str(k): float(v) for k, v in r.items()} for n, r in lists.items()}


def save_rates(path: Path, rates: dict[str, dict[str, float]], probe_count: int) -> None:
    """Write the rates (tmp file + rename); rates of other chunk stores are removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sha = path.name[len(PREFIX):].split("-")[0]
    for old in path.parent.glob(f"{PREFIX}*.json"):
        if not old.name.startswith(f"{PREFIX}{sha}-"):
            old.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"probes": probe_count, "k": PROBE_K, "rates": rates},
                              ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
