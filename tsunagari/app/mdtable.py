"""Markdown tables in answer bodies (the comparison answer's | 事例 | … | rows).

An answer body is a small Markdown subset; a table is a header row, a separator row (`|---|`)
and body rows, each a line starting and ending with `|`. `blocks` splits a body into runs of
plain lines and tables, so each renderer (chat HTML, Markdown export, Word export) can show
a table as a table and everything else as before. Cells are returned as raw text: escaping is
the renderer's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_SEPARATOR_CELL = re.compile(r"^:?-{3,}:?$")
# A cell boundary: a pipe not escaped with a backslash.
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Table:
    """A parsed table: header cells and body rows (each padded/cut to the header's width)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def row_cells(line: str) -> list[str] | None:
    """The cells of a table row, or None when the line is not one (`| a | b |`).

    An escaped pipe (`\\|`) stays inside its cell as `|`.

    >>> row_cells("| 仙台市 | 会議[1] | p.6 |")
    ['仙台市', '会議[1]', 'p.6']
    >>> row_cells(r"| a \\| b | c |")
    ['a | b', 'c']
    >>> row_cells("仙台市 | 会議") is None, row_cells("|") is None
    (True, True)
    """
    s = line.strip()
    if len(s) < 2 or not (s.startswith("|") and s.endswith("|")) or s.endswith("\\|"):
        return None
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(s[1:-1])]


def is_separator(cells: list[str]) -> bool:
    """Whether a row is the header separator (`|---|:---:|`).

    >>> is_separator(["---", ":---:", "---:"]), is_separator(["---", "本文"])
    (True, False)
    """
    return bool(cells) and all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells)


def blocks(body: str) -> Iterator[str | Table]:
    """The body's lines, with each table (header + separator + rows) replaced by a Table.

    A row-like line without a separator under it stays a plain line.

    >>> list(blocks("前文\\n| 事例 | 記述 |\\n|---|---|\\n| 仙台市 | 会議[1] |\\n後文"))
    ['前文', Table(header=('事例', '記述'), rows=(('仙台市', '会議[1]'),)), '後文']
    >>> list(blocks("| a | b |\\n本文"))
    ['| a | b |', '本文']
    """
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        header = row_cells(lines[i])
        sep = row_cells(lines[i + 1]) if header is not None and i + 1 < len(lines) else None
        if header is None or sep is None or not is_separator(sep):
            yield lines[i]
            i += 1
            continue
        width = len(header)
        rows = []
        i += 2
        while i < len(lines) and (cells := row_cells(lines[i])) is not None:
            rows.append(tuple((cells + [""] * width)[:width]))
            i += 1
        yield Table(tuple(header), tuple(rows))
