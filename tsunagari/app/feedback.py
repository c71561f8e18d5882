"""Feedback on answers (👍/👎 and a comment), stored in SQLite in the data dir.

One row per answer (`key`): rating and comment given at different times update the same row.
`eval_candidates_jsonl` turns the rows into JSONL in the format of eval/qa.jsonl (built in memory
for each request, so concurrent exports never share a file), so that a reviewer can promote them
into the evaluation set.

The schema carries a version (SQLite `user_version`) and is migrated in place by numbered steps:
an older database opens, is upgraded, and keeps every row.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsunagari.answering.citations import without_sources
from tsunagari.config import Settings
from tsunagari.errors import InputError

FEEDBACK_FILE = "feedback.sqlite"
MAX_COMMENT_CHARS = 2000

V1_TABLE = """
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


def _v2_body(db: sqlite3.Connection) -> None:
    """v2: the answer body (without the 「出典」 list) is stored next to the rendered answer.

    Rows written before v2 only have the rendered answer; their body is read from it once.
    """
    db.execute("ALTER TABLE feedback ADD COLUMN body TEXT NOT NULL DEFAULT ''")
    for row_id, answer in db.execute("SELECT id, answer FROM feedback").fetchall():
        db.execute("UPDATE feedback SET body = ? WHERE id = ?", (without_sources(answer), row_id))


# Numbered migrations: MIGRATIONS[i] upgrades a database of version i to version i + 1.
MIGRATIONS = (
    lambda db: db.execute(V1_TABLE),
    _v2_body,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _version(db: sqlite3.Connection) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == 0 and db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'").fetchone():
        version = 1
    return version


def migrate(db: sqlite3.Connection) -> int:
    """Bring a database to SCHEMA_VERSION in place; returns the version it had.

    Databases from before versioning (user_version 0 with the v1 table) count as version 1.
    Every page draw opens the store, so an up-to-date database is only read. Otherwise the
    steps run in one write transaction, and the version is read again inside it: of several
    sessions opening a new database at once, one migrates and the others see its result.
    """
    start = _version(db)
    if start >= SCHEMA_VERSION:
        return start
    db.execute("BEGIN IMMEDIATE")
    try:
        version = start = _version(db)
        for step in MIGRATIONS[version:]:
            step(db)
            version += 1
            db.execute(f"PRAGMA user_version = {version}")
    except BaseException:
        db.rollback()
        raise
    db.commit()
    return start


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
    body: str
    abstained: bool
    mode: str
    citations: list[dict[str, Any]]
    filters: dict[str, Any]
    rating: int | None
    comment: str


class FeedbackStore:
    """A small SQLite store; safe to use from Streamlit's threads (one connection per call)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            migrate(db)

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
        body: str | None = None,
    ) -> int:
        """Insert feedback for answer `key`, or update its rating/comment; returns the row id.

        `answer` is the answer as shown (Markdown with its source list) and `body` the text
        without the list (defaults to `answer`). A `None` rating or comment leaves the stored
        value unchanged; a comment over MAX_COMMENT_CHARS is refused with a Japanese InputError.
        """
        if rating is not None and rating not in (0, 1):
            raise ValueError("rating must be 0 (👎), 1 (👍) or None")
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise InputError(f"コメントが長すぎます（{len(comment):,}文字）。"
                             f"{MAX_COMMENT_CHARS:,}文字以内で入力してください。")
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        with self._connect() as db:
            db.execute(
                """INSERT INTO feedback (key, created_at, updated_at, question,
                       standalone_question, history, answer, body, abstained, mode, citations,
                       filters, rating, comment)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(key) DO UPDATE SET
                       updated_at = excluded.updated_at,
                       rating = COALESCE(?, feedback.rating),
                       comment = COALESCE(?, feedback.comment)""",
                (key, now, now, question, standalone_question,
                 json.dumps(list(history), ensure_ascii=False), answer,
                 answer if body is None else body, int(abstained), mode,
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
                history=json.loads(r["history"]), answer=r["answer"], body=r["body"],
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
                "reference": r.body.strip() if good else "",
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

    def eval_candidates_jsonl(self) -> str:
        """The eval candidates as JSONL text, built in memory for each caller."""
        return "".join(json.dumps(item, ensure_ascii=False) + "\n"
                       for item in self.eval_candidates())
