"""The SQLite feedback store and its export as eval candidates."""

from __future__ import annotations

import json

import pytest

from tsunagari.answering.citations import source_rows
from tsunagari.app.feedback import MAX_COMMENT_CHARS, SCHEMA_VERSION, FeedbackStore
from tsunagari.errors import InputError
from tsunagari.types import Chunk, Citation

EVAL_KEYS = {"id", "question", "answerable", "reference", "sources", "evidence", "keywords",
             "tags"}


def _cits():
    c = Chunk("c1", "d", "t", "x", (6,), section="2-1-2", municipality="仙台市")
    k = Chunk("c2", "d", "t", "y", (20,), section="3-1", column="コラム１", column_city="A市")
    return source_rows([Citation(1, c, "引用一。", 6, (6,)), Citation(2, k, "引用二。", 20, (20,))])


def test_add_updates_one_row_per_answer(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite")
    rid = store.add("s1-t1", "問い", "回答[1]\n\n**出典**\n- [1]", rating=1, citations=_cits())
    assert store.add("s1-t1", "問い", comment="良い") == rid  # comment later, same row
    assert store.add("s1-t1", "問い", rating=None) == rid  # None keeps the stored rating
    (r,) = store.list()
    assert (r.rating, r.comment, r.question) == (1, "良い", "問い")
    assert r.citations[0]["municipality"] == "仙台市" and r.citations[1]["column"] == "コラム１"
    store.add("s1-t2", "二つ目", "回答", rating=0)
    assert [x.key for x in store.list(rating=0)] == ["s1-t2"]
    assert len(store.list(limit=1)) == 1
    with pytest.raises(ValueError):
        store.add("s1-t3", "q", rating=5)


def test_store_for_settings_lives_in_data_dir(tmp_path):
    from tsunagari.config import load_settings

    store = FeedbackStore.for_settings(load_settings(data_dir=tmp_path / "data"))
    assert store.path == tmp_path / "data" / "feedback.sqlite" and store.path.exists()


def test_export_eval_candidates_in_eval_format(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite")
    history = [{"role": "user", "content": "仙台市は？"}, {"role": "assistant", "content": "…"}]
    store.add("a", "その市では他に？", "回答本文[1]\n\n**出典**\n- [1] 仙台市", rating=1,
              history=history, citations=_cits(), standalone_question="仙台市では他に？",
              body="回答本文[1]")
    store.add("b", "宇宙の話は？", "見つかりませんでした。", rating=0, comment="答えてほしい",
              abstained=True)
    store.add("c", "評価なし", "回答")  # neither rating nor comment: not a candidate
    lines = store.eval_candidates_jsonl().splitlines()
    assert len(lines) == 2
    up, down = [json.loads(line) for line in lines]
    for item in (up, down):
        assert EVAL_KEYS <= item.keys() and item["tags"][0] == "feedback"
    assert up["id"] == "fb-0001" and up["history"] == history and up["answerable"] is True
    assert up["reference"] == "回答本文[1]" and "followup" in up["tags"]
    assert up["sources"] == [{"section": "2-1-2", "page": 6, "municipality": "仙台市"},
                             {"section": "3-1", "page": 20, "column": "コラム１"}]
    assert up["feedback"]["rating"] == "up"
    assert up["feedback"]["standalone_question"] == "仙台市では他に？"
    assert "history" not in down and down["answerable"] is False and down["reference"] == ""
    assert down["sources"] == [] and down["feedback"] == {**down["feedback"], "rating": "down",
                                                          "comment": "答えてほしい"}


def test_candidates_load_with_the_eval_runner(tmp_path):
    runner = pytest.importorskip("tsunagari.evaluation.runner")
    store = FeedbackStore(tmp_path / "fb.sqlite")
    store.add("a", "問い", "回答", rating=1)
    path = tmp_path / "c.jsonl"
    path.write_text(store.eval_candidates_jsonl(), encoding="utf-8")
    (item,) = runner.load_qa(path)
    assert item["question"] == "問い" and item["tags"] == ["feedback"]


V1_ROW = ("INSERT INTO feedback (key, created_at, updated_at, question, answer, rating, comment) "
          "VALUES ('old', 't', 't', '旧い質問', '旧い回答[1]\n\n**出典**\n- [1] 仙台市', 1, '良い')")


def test_a_version_1_database_is_upgraded_in_place(tmp_path):
    import sqlite3

    from tsunagari.app.feedback import V1_TABLE

    path = tmp_path / "fb.sqlite"
    with sqlite3.connect(path) as db:  # a database written before the schema had a version
        db.execute(V1_TABLE)
        db.execute(V1_ROW)
    store = FeedbackStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    (r,) = store.list()
    assert (r.key, r.question, r.rating, r.comment) == ("old", "旧い質問", 1, "良い")
    assert r.body == "旧い回答[1]" and r.answer.endswith("仙台市")
    FeedbackStore(path)  # opening again is a no-op
    assert len(store.list()) == 1


def test_comment_length_is_limited_with_a_japanese_message(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite")
    with pytest.raises(InputError, match="コメントが長すぎます"):
        store.add("k", "問い", "回答", comment="あ" * (MAX_COMMENT_CHARS + 1))
    assert store.list() == []
    store.add("k", "問い", "回答", comment="あ" * MAX_COMMENT_CHARS)
    assert len(store.list()[0].comment) == MAX_COMMENT_CHARS


def test_concurrent_exports_each_get_a_whole_file(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = FeedbackStore(tmp_path / "fb.sqlite")
    for i in range(30):
        store.add(f"k{i}", f"問い{i}", f"回答{i}", rating=i % 2, comment="c" * 50)
    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(lambda _: store.eval_candidates_jsonl(), range(40)))
    assert len(set(outputs)) == 1
    assert [json.loads(line)["question"] for line in outputs[0].splitlines()] == [
        f"問い{i}" for i in range(30)]


def test_sessions_opening_a_new_store_at_once_migrate_it_once(tmp_path):
    """Every page draw opens the store: sessions that start together must not each run the
    migrations on a new database (a second ALTER TABLE failed with "duplicate column")."""
    import sqlite3
    import threading

    from tsunagari.app import feedback

    calls: list[int] = []
    real_v2 = feedback.MIGRATIONS[1]

    def slow_v2(db):  # widen the window in which another session could also migrate
        calls.append(1)
        threading.Event().wait(0.05)
        real_v2(db)

    for round_ in range(3):
        path = tmp_path / f"fb{round_}.sqlite"
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def open_store():
            start.wait()
            try:
                FeedbackStore(path)
            except BaseException as exc:  # noqa: BLE001 - collected for the assert
                errors.append(exc)

        calls.clear()
        old = feedback.MIGRATIONS
        feedback.MIGRATIONS = (old[0], slow_v2)
        try:
            threads = [threading.Thread(target=open_store) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            feedback.MIGRATIONS = old
        assert errors == []
        assert calls == [1]
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_an_up_to_date_store_opens_while_another_session_writes(tmp_path):
    """Opening an up-to-date store only reads: a page draws while another session holds the
    write lock (saving feedback), instead of waiting for it."""
    import sqlite3

    path = tmp_path / "fb.sqlite"
    FeedbackStore(path).add(key="k", question="q", answer="a")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        store = FeedbackStore(path)  # would wait 10 s and fail "database is locked" if it wrote
        assert [r.key for r in store.list()] == ["k"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
