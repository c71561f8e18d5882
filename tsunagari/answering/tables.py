"""Answers from a summary table: a row's cell (「鳥取県のPFはいつ設立された？」 → its PF設立時期)
or the row with the most or least of a column (「参加団体がいちばん多いのは？」).

A layout-aware reader stores each table row as one chunk (kind="table") in the form
「表1 題 列名: 値 / 列名: 値 …」 with the row's body as its municipality. A question about one
body whose words match a column's name (設立 ↔ PF設立時期, 担当 ↔ 担当部署, 参加・団体 ↔ 参加団体数),
or whose kind of fact matches it (いつ ↔ 時期, 何団体 ↔ 数, どの課 ↔ 部署), is answered with that
cell, quoting the row and citing its page; the body's own sentence that states the value, if
any, is quoted after it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tsunagari.answering.citations import in_report
from tsunagari.answering.intent import Intent
from tsunagari.answering.retrieve import Retriever
from tsunagari.answering.routes import Routed, named_reports, renumber
from tsunagari.answering.sentences import Quote, citations_for, quotable
from tsunagari.types import Chunk, Hit

_CELL = re.compile(r"([^:：/]{1,20})[:：]\s*([^/]+?)\s*(?:/|$)")
# Column names that answer a kind of fact.
_FACT_COLUMNS = {"when": re.compile(r"時期|年月|日付|年度|開始|設立"),
                 "count": re.compile(r"数$|件数|人数"),
                 "who": re.compile(r"部署|担当|課|主体|事務局")}
_ASKS_PLACE_IN_ORG = re.compile(r"(?:課|部署|部局|部)(?:は|って)?(?:どこ|何)")


def row_cells(chunk: Chunk) -> list[tuple[str, str]]:
    """The (column, value) cells of a table-row chunk in 「列名: 値 / …」 form.

    >>> c = Chunk("r", "d", "t", "表1 概要 自治体名: 上越市 / PF設立時期: 令和5年6月 / 参加団体数: 42団体",
    ...           (2,), kind="table")
    >>> row_cells(c)
    [('自治体名', '上越市'), ('PF設立時期', '令和5年6月'), ('参加団体数', '42団体')]
    """
    cells = []
    for m in _CELL.finditer(chunk.text):
        column = m.group(1).split()[-1] if m.group(1).split() else ""
        if column:
            cells.append((column, m.group(2).strip()))
    return cells


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)
            if not re.fullmatch(r"[ぁ-ん]{2}|.?[、。？?！!の]|.[ぁ-ん]", text[i:i + 2])}


def column_score(column: str, question: str, fact: str) -> int:
    """How well a column's name answers the question: shared two-character words, and one
    more when the column holds the kind of fact asked (いつ → 時期).

    >>> column_score("PF設立時期", "鳥取県のPFはいつ設立されましたか", "when")
    3
    >>> column_score("参加団体数", "参加している団体の数を教えて", "")
    2
    >>> column_score("主な連携先", "いつ設立されましたか", "when")
    0
    """
    score = len(_bigrams(column) & _bigrams(question))
    kind = _FACT_COLUMNS.get(fact) or (_FACT_COLUMNS["who"] if _ASKS_PLACE_IN_ORG.search(question)
                                       else None)
    if kind is not None and kind.search(column):
        score += 1
    return score


def answer_table_cell(intent: Intent, retriever: Retriever, question: str) -> Routed | None:
    """The cell of the named body's table row that the question asks for, or None."""
    if len(intent.entities) != 1:
        return None
    entity = intent.entities[0]
    rows = [c for c in retriever.entity_chunks(entity) if c.kind == "table" and row_cells(c)]
    best: tuple[int, Chunk, str, str] | None = None
    for chunk in rows:
        for column, value in row_cells(chunk)[1:]:  # the first column names the body
            score = column_score(column, question, intent.fact)
            if score >= 2 and (best is None or score > best[0]):
                best = (score, chunk, column, value)
    if best is None:
        return None
    _, chunk, column, value = best
    row = Quote(Hit(chunk, 1.0, 1), chunk.text.strip(), chunk.text.index(chunk.text.strip()))
    quotes = [row, *_stating(value, entity, retriever, chunk)]
    citations, numbers = citations_for(quotes)
    where = in_report(chunk, chunk.page) if len(retriever.reports) > 1 else f"p.{chunk.page}"
    table = chunk.heading.split(" ")[0] or "表"
    lines = [f"{entity.key}の「{column}」は、{table}（{where}）によると **{value}** です"
             f"[{numbers[chunk.chunk_id]}]。", ""]
    lines += [f"- {q.text}[{numbers[q.hit.chunk.chunk_id]}]" for q in quotes[1:]]
    return Routed("\n".join(lines).strip(), citations, tuple(renumber([q.hit for q in quotes])))


def _stating(value: str, entity, retriever: Retriever, row: Chunk) -> Sequence[Quote]:
    """The body's own sentence that states the value (its section, not the table)."""
    for i, chunk in enumerate(retriever.entity_chunks(entity)):
        if chunk.kind == "table" or chunk.chunk_id == row.chunk_id:
            continue
        hit = Hit(chunk, 1.0, i + 2)
        for text, offset, _core in quotable(hit):
            if value in text:
                return [Quote(hit, text, offset)]
    return []


# 「いちばん多い」「最も新しく」「最少」: which way, and the kind of column it compares.
_EXTREME = re.compile(r"(?:いちばん|一番|最も|もっとも)(?P<word>多|少な|大き|小さ|新し|古|早|遅|最近)|"
                      r"最(?P<short>多|少|新|古|大|小)")
_MOST = {"多", "大き", "新し", "遅", "最近", "大", "新"}
_KIND_OF = {"多": "count", "少な": "count", "大き": "count", "小さ": "count", "大": "count",
            "小": "count", "少": "count"}
_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925}
_DATE = re.compile(r"(令和|平成|昭和)\s*(\d+|元)\s*年(?:\s*(\d+)\s*月)?|(\d{4})\s*年(?:\s*(\d+)\s*月)?")


def sortable(value: str, kind: str) -> tuple[int, ...] | None:
    """A cell's value as something to compare: a date as (year, month), else its number.

    >>> sortable("令和5年6月", "when"), sortable("令和元年", "when"), sortable("2023年10月", "when")
    ((2023, 6), (2019, 0), (2023, 10))
    >>> sortable("110団体", "count"), sortable("なし", "count")
    ((110,), None)
    """
    value = value.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if kind == "when":
        m = _DATE.search(value)
        if not m:
            return None
        if m.group(1):
            year = _ERAS[m.group(1)] + (1 if m.group(2) == "元" else int(m.group(2)))
            return (year, int(m.group(3) or 0))
        return (int(m.group(4)), int(m.group(5) or 0))
    m = re.search(r"\d[\d,]*", value)
    return (int(m.group(0).replace(",", "")),) if m else None


def answer_table_extreme(retriever: Retriever, question: str) -> Routed | None:
    """The row(s) of a summary table with the most or the least of the column the question
    compares (「参加団体がいちばん多いのは？」「一番新しく設立されたのは？」), with every row of
    that table listed and cited; None when no table has such a column."""
    m = _EXTREME.search(question)
    if not m:
        return None
    word = m.group("word") or m.group("short")
    kind = _KIND_OF.get(word, "when")
    reports = named_reports(question, retriever)
    tables: dict[tuple[str, str], list[Chunk]] = {}
    for chunk in retriever.chunks:
        if chunk.kind == "table" and (not reports or chunk.doc_id in reports):
            tables.setdefault((chunk.doc_id, chunk.heading), []).append(chunk)
    best: tuple[int, str, list[tuple[Chunk, str, tuple[int, ...]]]] | None = None
    for rows in tables.values():
        columns = [c for c, _ in row_cells(rows[0])[1:]]
        for column in columns:
            score = column_score(column, question, kind)
            values = [(r, dict(row_cells(r)).get(column, "")) for r in rows]
            keyed = [(r, v, k) for r, v in values if (k := sortable(v, kind)) is not None]
            if score >= 2 and len(keyed) >= 2 and (best is None or score > best[0]):
                best = (score, column, keyed)
    if best is None:
        return None
    _, column, keyed = best
    keyed.sort(key=lambda x: x[2], reverse=word in _MOST)
    top = [x for x in keyed if x[2] == keyed[0][2]]
    quotes = [Quote(Hit(r, 1.0, i + 1), r.text.strip(), r.text.index(r.text.strip()))
              for i, (r, _, _) in enumerate(keyed)]
    citations, numbers = citations_for(quotes)
    first = keyed[0][0]
    where = in_report(first, first.page) if len(retriever.reports) > 1 else f"p.{first.page}"
    table = first.heading.split(" ")[0] or "表"
    how = {"早": "最も早い", "遅": "最も遅い"}.get(word) or {
        ("count", True): "最も多い", ("count", False): "最も少ない",
        ("when", True): "最も新しい", ("when", False): "最も古い"}[(kind, word in _MOST)]
    names = "、".join(f"**{r.municipality or r.heading}**（{v}）[{numbers[r.chunk_id]}]"
                      for r, v, _ in top)
    lines = [f"{table}（{where}）で「{column}」が{how}のは {names} です。", "",
             f"{table}の「{column}」（{how.replace('最も', '')}順）:"]
    lines += [f"- {r.municipality or r.heading}：{v}[{numbers[r.chunk_id]}]" for r, v, _ in keyed]
    return Routed("\n".join(lines), citations, tuple(renumber([q.hit for q in quotes])))
