"""The question as asked: validation with Japanese messages, the check that the user's filters
match something, and the fixed replies when a question cannot be answered."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tsunagari.domain import POINT_MARKS, canonical_municipality
from tsunagari.errors import InputError
from tsunagari.types import Chunk, Filters

NOT_FOUND = "この資料には該当する記述が見つかりませんでした。"
UNCLEAR = "質問の内容を読み取れませんでした。知りたいことを具体的に入力してください（例：「福祉以外の部署を巻き込むには？」）。"

# U+DC80–U+DCFF is how Python keeps bytes that are not UTF-8 (command-line arguments typed
# in a Shift_JIS terminal, say): the question arrived garbled, so it is refused, not guessed.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# Terminal escape sequences (colours, cursor moves, window titles): removed whole, so no
# "[31m" is left behind when the escape character itself goes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
# Control characters other than tab and newline (C0, DEL, C1), bidirectional overrides and
# isolates (which make text display in a different order than it is read), and the BOM.
DISALLOWED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                        "\u2066-\u2069\ufeff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text without terminal escapes, disallowed controls and lone surrogates; CRLF → LF.

    >>> clean_text("福祉\\x1b[31m以外\\x1b[0mの\\x00部署\\r\\nを\\u202e巻き込む")
    '福祉以外の部署\\nを巻き込む'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return DISALLOWED.sub("", _ESCAPES.sub("", text))


def validate_question(question: object, max_chars: int) -> str:
    """The cleaned, stripped question, or an InputError with a Japanese message.

    Harmless oddities are cleaned (see `clean_text`: control characters, escape sequences,
    bidi overrides, a stray half of an emoji); bytes that were not UTF-8 are refused.
    Every entry point (app, CLI, JSONL batches, answerers) goes through this function.
    """
    if question is None:
        question = ""
    if not isinstance(question, str):
        raise InputError("質問は文字列で入力してください。")
    if _UNDECODABLE.search(question):
        raise InputError(
            "質問に読み取れない文字（UTF-8 ではない文字コードのバイト）が含まれています。"
            "端末やファイルの文字コードを UTF-8 にして、入力し直してください。"
        )
    q = clean_text(question).strip()
    if not q:
        raise InputError("質問を入力してください。")
    if len(q) > max_chars:
        raise InputError(
            f"質問が長すぎます（{len(q):,}文字）。{max_chars:,}文字以内にまとめて入力してください。"
        )
    return q


def clean_history(history: object) -> object:
    """Conversation turns with their text cleaned like questions (see `clean_text`).

    Anything that is not a list of strings or {"role", "content"} dicts is returned as is,
    for `validate_history` to refuse with its own message.

    >>> clean_history(["仙台\\udc80市", {"role": "user", "content": "a\\x00b"}])
    ['仙台市', {'role': 'user', 'content': 'ab'}]
    """
    if not isinstance(history, list):
        return history
    out: list[object] = []
    for turn in history:
        if isinstance(turn, str):
            out.append(clean_text(turn))
        elif isinstance(turn, dict) and isinstance(turn.get("content"), str):
            out.append({**turn, "content": clean_text(turn["content"])})
        else:
            out.append(turn)
    return out


def _municipality_matches(chunk: Chunk, name: str) -> bool:
    # Same rule as the retriever's filter (answering.retrieve.matches).
    return chunk.municipality == canonical_municipality(name)


def _column_matches(chunk: Chunk, column: str) -> bool:
    # Same rule as the retriever's filter (answering.retrieve.matches).
    return column in (chunk.column, chunk.column_city) or chunk.column_city.startswith(column)


def _passes(chunk: Chunk, filters: Filters) -> bool:
    return (
        (not filters.point or chunk.point == filters.point)
        and (not filters.municipality or _municipality_matches(chunk, filters.municipality))
        and (not filters.column or _column_matches(chunk, filters.column))
        and (not filters.chapter or chunk.chapter == filters.chapter)
        and (not filters.doc_id or chunk.doc_id == filters.doc_id)
    )


def _describe(filters: Filters) -> str:
    parts = []
    if filters.point:
        parts.append(f"ポイント{POINT_MARKS[filters.point - 1]}"
                     if 1 <= filters.point <= len(POINT_MARKS) else f"ポイント {filters.point}")
    if filters.municipality:
        parts.append(f"自治体「{clean_text(filters.municipality)}」")
    if filters.column:
        parts.append(f"コラム「{clean_text(filters.column)}」")
    if filters.chapter:
        parts.append(f"章「{clean_text(filters.chapter)}」")
    if filters.doc_id:
        parts.append(f"資料「{clean_text(filters.doc_id)}」")
    return "、".join(parts)


def municipality_choices(chunks: Sequence[Chunk]) -> list[str]:
    """Municipalities of the indexed cases with their points, e.g. '北九州市（①⑤）'."""
    points: dict[str, set[int]] = {}  # in report order
    for c in chunks:
        if c.municipality:
            points.setdefault(c.municipality, set()).update(
                [c.point] if c.point and 1 <= c.point <= len(POINT_MARKS) else [])
    return [
        name + (f"（{''.join(POINT_MARKS[p - 1] for p in sorted(ps))}）" if ps else "")
        for name, ps in points.items()
    ]


def column_choices(chunks: Sequence[Chunk]) -> list[str]:
    """Columns of the indexed reports with their city, e.g. 'コラム１（A市）', in report order."""
    seen = dict.fromkeys((c.column, c.column_city) for c in chunks if c.column)
    return [f"{col}（{city}）" if city else col for col, city in seen]


def check_filters(filters: Filters, chunks: Sequence[Chunk]) -> None:
    """Raise InputError (Japanese) when no indexed passage passes the filters.

    The message says which filter matched nothing and lists the municipalities (with their
    points) and columns that the index does have, so a typo or an unknown city (「大阪市」)
    is not answered with a bare decline. Pure: give it the retriever's chunks.
    """
    if filters.is_empty() or any(_passes(c, filters) for c in chunks):
        return
    lines = [f"絞り込み条件（{_describe(filters)}）に合う箇所は、索引した資料にありません。"]
    municipalities, columns = municipality_choices(chunks), column_choices(chunks)
    if (filters.municipality or not filters.column) and municipalities:
        lines.append(f"指定できる自治体: {'、'.join(municipalities)}")
    if (filters.column or not filters.municipality) and columns:
        lines.append(f"指定できるコラム: {'、'.join(columns)}")
    raise InputError("\n".join(lines))

