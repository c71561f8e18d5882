"""Feedback on answers (👍/👎 and a comment), stored in SQLite in the data dir.

One row per answer (`key`): rating and comment given at different times update the same row.
`export_eval_candidates` turns the rows into JSONL in the format of eval/qa.jsonl, so that a
reviewer can promote them into the evaluation set.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsunagari.config import Settings

FEEDBACK_FILE = "feedback.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    question TEXT NOT NULL,
    standalone_question TEXT NOT NULL DEFAULT '',
    history TEXT NOT NULL DEFAULT '[]',
    answer TEXT NOT NULL DEFAULT '',
    abstained INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]',
    filters TEXT NOT NULL DEFAULT '{}',
    rating INTEGER,
    comment TEXT NOT NULL DEFAULT ''
)
"""


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored feedback row. `rating`: 1 = 👍, 0 = 👎, None = comment only."""

    id: int
    key: str
    created_at: str
    updated_at: str
    question: str
    standalone_question: str
    history: list[dict[str, str]]
    answer: str
    abstained: bool
    mode: str
    citations: list[dict[str, Any]]
    filters: dict[str, Any]
    rating: int | None
    comment: str


def citation_sources(citations: Sequence[Any]) -> list[dict[str, Any]]:
    """Eval-style source dicts ({section, municipality|column, page}) from Citation objects.

    >>> from tsunagari.types import Chunk, Citation
    >>> c = Chunk("c", "d", "t", "x", (6,), section="2-1-2", municipality="仙台市")
    >>> citation_sources([Citation(1, c, "引用", 6, (6,))])
    [{'section': '2-1-2', 'page': 6, 'municipality': '仙台市', 'chunk_id': 'c', 'text': '引用'}]
    """
    out = []
    for cit in citations:
        c = cit.chunk
        row: dict[str, Any] = {"section": c.section, "page": cit.page}
        if c.municipality:
            row["municipality"] = c.municipality
        elif c.column:
            row["column"] = c.column
        row["chunk_id"] = c.chunk_id
        row["text"] = cit.text
        out.append(row)
    return out


class FeedbackStore:
    """A small SQLite store; safe to use from Streamlit's threads (one connection per call)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    @classmethod
    def for_settings(cls, settings: Settings) -> FeedbackStore:
        """The store in `settings.data_dir`."""
        return cls(Path(settings.data_dir) / FEEDBACK_FILE)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def add(
        self,
        key: str,
        question: str,
        answer: str = "",
        rating: int | None = None,
        comment: str | None = None,
        *,
        history: Sequence[dict[str, str]] = (),
        standalone_question: str = "",
        abstained: bool = False,
        mode: str = "",
        citations: Sequence[dict[str, Any]] = (),
        filters: dict[str, Any] | None = None,
    ) -> int:
        """Insert feedback for answer `key`, or update its rating/comment; returns the row id.

        A `None` rating or comment leaves the stored value unchanged.
        """
        if rating is not None and rating not in (0, 1):
            raise ValueError("rating must be 0 (👎), 1 (👍) or None")
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        with self._connect() as db:
            db.execute(
                """INSERT INTO feedback (key, created_at, updated_at, question,
                       standalone_question, history, answer, abstained, mode, citations, filters,
                       rating, comment)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(key) DO UPDATE SET
                       updated_at = excluded.updated_at,
                       rating = COALESCE(?, feedback.rating),
                       comment = COALESCE(?, feedback.comment)""",
                (key, now, now, question, standalone_question,
                 json.dumps(list(history), ensure_ascii=False), answer, int(abstained), mode,
                 json.dumps(list(citations), ensure_ascii=False),
                 json.dumps(filters or {}, ensure_ascii=False), rating, comment or "",
                 rating, comment),
            )
            row = db.execute("SELECT id FROM feedback WHERE key = ?", (key,)).fetchone()
        return int(row["id"])

    def list(self, rating: int | None = None, limit: int | None = None) -> list[FeedbackRecord]:
        """Stored feedback, oldest first; optionally only one rating."""
        sql = "SELECT * FROM feedback"
        args: list[Any] = []
        if rating is not None:
            sql += " WHERE rating = ?"
            args.append(rating)
        sql += " ORDER BY id"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        with self._connect() as db:
            rows = db.execute(sql, args).fetchall()
        return [
            FeedbackRecord(
                id=r["id"], key=r["key"], created_at=r["created_at"], updated_at=r["updated_at"],
                question=r["question"], standalone_question=r["standalone_question"],
                history=json.loads(r["history"]), answer=r["answer"],
                abstained=bool(r["abstained"]), mode=r["mode"],
                citations=json.loads(r["citations"]), filters=json.loads(r["filters"]),
                rating=r["rating"], comment=r["comment"],
            )
            for r in rows
        ]

    def eval_candidates(self) -> list[dict[str, Any]]:
        """Rated or commented answers as eval items (see `export_eval_candidates`)."""
        items = []
        for r in self.list():
            if r.rating is None and not r.comment:
                continue
            good = r.rating == 1
            item: dict[str, Any] = {"id": f"fb-{r.id:04d}", "question": r.question}
            if r.history:
                item["history"] = r.history
            # A 👍 answer is a reference candidate with its citations as sources; a 👎 one
            # needs a reviewer to write the reference (and to decide whether it is answerable).
            item.update({
                "answerable": not r.abstained,
                "reference": _body(r.answer) if good else "",
                "sources": [{k: v for k, v in s.items() if k not in ("chunk_id", "text")}
                            for s in r.citations] if good else [],
                "evidence": [],
                "keywords": [],
                "tags": ["feedback"] + (["followup"] if r.history else []),
                "feedback": {
                    "rating": {1: "up", 0: "down"}.get(r.rating, None),  # type: ignore[arg-type]
                    "comment": r.comment,
                    "answer": r.answer,
                    "standalone_question": r.standalone_question,
                    "mode": r.mode,
                    "abstained": r.abstained,
                    "citations": r.citations,
                    "filters": r.filters,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                },
            })
            items.append(item)
        return items

    def export_eval_candidates(self, path: Path | str) -> int:
        """Write eval-format JSONL candidates to `path`; returns the number written."""
        items = self.eval_candidates()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for item in items:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        return len(items)


def _body(answer: str) -> str:
    """The answer without its trailing source list."""
    head, sep, _ = answer.rpartition("**出典**")
    return (head if sep else answer).strip()
