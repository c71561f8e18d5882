"""The eval runner: per-item scores, aggregation, the regression check and a real run."""

import json
import os
import subprocess
import sys

from core_fixtures import CORPUS, ROOT, index_dir  # noqa: F401

from tsunagari.config import load_settings
from tsunagari.evaluation import runner

ITEMS = [
    {"id": "a", "question": "福祉以外の部署を巻き込むには？", "answerable": True,
     "evidence": ["重層的支援体制整備事業の基盤を活用"], "keywords": ["重層的支援体制整備事業"],
     "sources": [{"section": "2-1-2", "municipality": "仙台市", "page": 6}], "tags": ["case"]},
    {"id": "b", "question": "大阪市の事例は？", "answerable": False, "evidence": [],
     "keywords": [], "sources": [], "tags": ["unanswerable"]},
    {"id": "c", "question": "A市では民生委員とどんな場を作りましたか？", "answerable": True,
     "evidence": ["民生委員と自治体/社協の情報交換会を開催"], "keywords": ["情報交換会"],
     "sources": [{"section": "3", "column": "コラム１", "page": 18}], "tags": ["column"]},
]


def _write(path, items):
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items), encoding="utf-8")
    return path


def test_score_and_aggregate_pure():
    row = {"retrieved": [{"text": "別の話"}, {"text": "…重層的支援体制 整備事業の基盤を活用…"}],
           "citations": [{"passage": "重層的支援体制整備事業の基盤を活用", "pages": [6],
                          "municipality": "仙台市"}],
           "answer": "重層的支援体制整備事業の基盤を活用しました", "abstained": False,
           "latency_ms": 10.0}
    s = runner.score_item(ITEMS[0], row)
    assert s["recall@1"] == 0.0 and s["recall@3"] == 1.0 and s["mrr@10"] == 0.5
    assert s["citation_precision"] == 1.0 and s["cited_page_accuracy"] == 1.0
    assert s["keyword_coverage"] == 1.0 and s["case_coverage"] == 1.0 and s["point"] == "①"
    declined = runner.score_item(ITEMS[1], {"retrieved": [], "citations": [], "abstained": True,
                                            "latency_ms": 30.0})
    agg = runner.aggregate([s, declined])
    assert agg["abstention_precision"] == 1.0 and agg["abstention_recall"] == 1.0
    assert agg["latency_p50_ms"] == 20.0
    assert agg["faithfulness"] == runner.NOT_RUN


def test_check_flags_only_real_drops():
    base = {"recall@5": 0.9, "mrr@10": 0.8}
    assert runner.check({"recall@5": 0.89, "mrr@10": 0.8}, base, 0.02) == []
    fails = runner.check({"recall@5": 0.85, "mrr@10": 0.8}, base, 0.02)
    assert len(fails) == 1 and fails[0].startswith("recall@5")


def test_run_writes_side_by_side_report(index_dir, tmp_path, monkeypatch):
    settings = load_settings(data_dir=index_dir, corpus_dir=CORPUS)
    qa = _write(tmp_path / "qa.jsonl", ITEMS)
    out = tmp_path / "out"
    metrics = runner.run(qa, out, ["tsunagari", "bm25", "vanilla"], 10, settings)
    assert set(metrics) == {"tsunagari", "bm25", "vanilla"}
    assert metrics["tsunagari"]["recall@5"] == 1.0
    assert metrics["tsunagari"]["abstention_recall"] == 1.0
    assert metrics["vanilla"]["abstention_recall"] == 0.0  # the baseline never declines
    for name in ("results.jsonl", "metrics.json", "report.md", "recall_at_k.png",
                 "recall_by_point.png"):
        assert (out / name).stat().st_size > 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 9 and {"id", "latency_ms", "system", "answer"} <= rows[0].keys()
    report = (out / "report.md").read_text()
    assert "| 指標 | tsunagari | bm25 | vanilla |" in report
    # nDCG@10 (ranx) for every system, in metrics.json and in the report's table.
    written = json.loads((out / "metrics.json").read_text())
    ndcg = [written[n]["ndcg@10"] for n in ("tsunagari", "bm25", "vanilla")]
    assert ndcg == [metrics[n]["ndcg@10"] for n in ("tsunagari", "bm25", "vanilla")]
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in ndcg) and ndcg[0] > 0.5
    row = next(line for line in report.splitlines() if line.startswith("| ndcg@10 |"))
    assert row == "| ndcg@10 | " + " | ".join(f"{v:.3f}" for v in ndcg) + " |"

    # With an LLM judge configured, faithfulness/relevancy are averaged (NaN skipped).
    judged = iter([{"faithfulness": 1.0, "relevancy": 0.5}, {"faithfulness": float("nan"),
                   "relevancy": float("nan")}, {"faithfulness": 0.5, "relevancy": 0.5}])
    monkeypatch.setattr(runner, "make_judge", lambda s: (lambda row: next(judged)))
    metrics = runner.run(qa, tmp_path / "out2", ["tsunagari"], 10, settings)
    assert metrics["tsunagari"]["faithfulness"] == 0.75
    assert metrics["tsunagari"]["answer_relevancy"] == 0.5


def test_cli_check_fails_on_regression(index_dir, tmp_path):
    qa = _write(tmp_path / "qa.jsonl", ITEMS)
    base = tmp_path / "baseline.json"
    env = dict(os.environ, TSUNAGARI_DATA_DIR=str(index_dir), TSUNAGARI_CORPUS_DIR=str(CORPUS))
    cmd = [sys.executable, "-m", "eval", "--qa", str(qa), "--out", str(tmp_path / "o"),
           "--baseline", str(base)]
    ok = subprocess.run([*cmd, "--write-baseline", "--check"], cwd=ROOT, env=env, text=True,
                        capture_output=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "合格" in ok.stdout
    data = json.loads(base.read_text())
    data["recall@5"] = 1.5  # an impossible bar
    base.write_text(json.dumps(data))
    bad = subprocess.run([*cmd, "--check"], cwd=ROOT, env=env, text=True, capture_output=True,
                         timeout=300)
    assert bad.returncode == 1 and "品質低下: recall@5" in bad.stderr
