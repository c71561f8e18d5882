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

# Typed items (answer types): the cases a complete answer cites, and how many at least.
POINT5 = [("北九州市", "会長や座長を置かないことでフラットな横の関係"),
          ("生駒市", "行政が徒に射程範囲を狭めないよう"),
          ("座間市", "行政と支援団体とが対等な関係で会話ができる")]
TYPED = [
    {"id": "t-enum", "type": "enumerate", "question": "ポイント⑤の事例を全部教えてください。",
     "answerable": True, "evidence": [e for _, e in POINT5], "keywords": ["北九州市", "生駒市"],
     "sources": [{"section": "2-5-2", "municipality": m, "page": 13} for m, _ in POINT5],
     "tags": ["multi", "case", "enumerate"], "expected_cases": [m for m, _ in POINT5],
     "min_cases": 3},
    {"id": "t-oos", "type": "outofscope", "question": "大阪市の地方版PFの予算はいくらですか？",
     "answerable": False, "evidence": [], "keywords": [], "sources": [],
     "tags": ["unanswerable", "outofscope"], "expected_cases": [], "min_cases": 0},
]


def _cite(case: str, passage: str, column_city: str = "") -> dict:
    return {"municipality": "" if column_city else case, "column_city": column_city,
            "passage": passage, "pages": [13]}


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


def test_typed_item_scores_cases_and_evidence():
    enum = TYPED[0]
    partial = {"citations": [_cite("北九州市", "…会長や座長を置かないことでフラットな横の関係を構築。"),
                             _cite("生駒市", "…行政が徒に射程範囲を狭めないよう、敢えて…"),
                             _cite("C市", "別の話", column_city="C市②")],
               "retrieved": [], "abstained": False, "latency_ms": 5.0}
    s = runner.score_item(enum, partial)
    assert s["type"] == "enumerate" and s["case_completeness"] == 2 / 3
    assert s["answer_pass"] == 0.0 and s["missing_cases"] == ["座間市"]
    full = dict(partial, citations=partial["citations"][:2] + [
        _cite("座間市", "あくまで行政と支援団体とが対等な関係で会話ができるように")])
    assert runner.score_item(enum, full)["answer_pass"] == 1.0
    # All three cited, but 座間市 with a passage that does not hold its evidence.
    weak = dict(partial, citations=partial["citations"][:2] + [_cite("座間市", "座間市の別の箇所")])
    s = runner.score_item(enum, weak)
    assert s["case_completeness"] == 1.0 and s["answer_pass"] == 0.0
    assert s["unsupported_cases"] == ["座間市"]
    # Out of scope: passes only when declined; no case is required.
    oos = runner.score_item(TYPED[1], {"citations": [], "abstained": True, "latency_ms": 1.0})
    assert oos["answer_pass"] == 1.0 and oos["case_completeness"] is None
    assert "answer_pass" not in runner.score_item(ITEMS[1], {"abstained": True})


def test_sources_are_grouped_by_case():
    assert runner.source_case({"section": "3", "column": "コラム３-１", "page": 25}) == "C市"
    assert runner.source_case({"section": "2-3-2", "municipality": "牧方市", "page": 10}) == "枚方市"
    assert runner.source_case({"section": "1-7", "page": 3}) == ""
    item = {"evidence": ["a", "b", "c", "d"],
            "sources": [{"section": "3", "column": "コラム３-１", "page": 25},
                        {"section": "3", "column": "コラム３-２", "page": 27},
                        {"section": "2-1-2", "municipality": "仙台市", "page": 6},
                        {"section": "1-7", "page": 3}]}
    assert runner.evidence_by_case(item) == {"C市": ["a", "b"], "仙台市": ["c"], "": ["d"]}
    assert runner.cited_cases([{"municipality": "牧方市"}, {"column_city": "C市①"}, {}]) == [
        "枚方市", "C市", ""]


def test_aggregate_keeps_retrieval_metrics_on_untyped_items():
    legacy_row = {"retrieved": [{"text": "重層的支援体制整備事業の基盤を活用"}], "citations": [],
                  "abstained": False, "latency_ms": 10.0}
    legacy = runner.score_item(ITEMS[0], legacy_row)
    typed = runner.score_item(TYPED[0], {"retrieved": [{"text": "無関係"}], "citations": [],
                                         "abstained": True, "latency_ms": 30.0})
    oos = runner.score_item(TYPED[1], {"citations": [], "abstained": True, "latency_ms": 20.0})
    alone, mixed = runner.aggregate([legacy]), runner.aggregate([legacy, typed, oos])
    # The typed items (one retrieved nothing, one was rightly declined) leave these untouched.
    for key in ("recall@5", "mrr@10", "abstention_recall", "answerable_answered",
                "false_abstentions"):
        assert mixed[key] == alone[key], key
    assert mixed["items"] == 3 and mixed["typed_items"] == 2 and mixed["latency_p50_ms"] == 20.0
    assert mixed["answer_pass"] == 0.5 and mixed["case_completeness"] == 0.0
    assert mixed["answer_pass/enumerate"] == 0.0 and mixed["declined/enumerate"] == 1.0
    assert mixed["answer_pass/outofscope"] == 1.0 and mixed["case_completeness/outofscope"] is None
    assert mixed["items/enumerate"] == 1
    assert "answer_pass" not in alone  # a set without typed items has no such keys


def test_check_guards_per_type_keys():
    base = {"answer_pass": 0.5, "answer_pass/enumerate": 0.4, "case_completeness/compare": 0.8,
            "items/enumerate": 16, "declined/enumerate": 0.0}
    now = {"answer_pass": 0.5, "answer_pass/enumerate": 0.3, "case_completeness/compare": 0.79,
           "items/enumerate": 8, "declined/enumerate": 0.5}
    fails = runner.check(now, base, 0.02)
    assert len(fails) == 1 and fails[0].startswith("answer_pass/enumerate: 0.300")
    # A guarded per-type key the run no longer has fails too (e.g. a type's items removed).
    fails = runner.check({"answer_pass": 0.5}, base, 0.02)
    assert [f.split(":")[0] for f in fails] == ["answer_pass/enumerate", "case_completeness/compare"]


def test_check_flags_only_real_drops():
    base = {"recall@5": 0.9, "mrr@10": 0.8}
    assert runner.check({"recall@5": 0.89, "mrr@10": 0.8}, base, 0.02) == []
    fails = runner.check({"recall@5": 0.85, "mrr@10": 0.8}, base, 0.02)
    assert len(fails) == 1 and fails[0].startswith("recall@5")


def test_check_guards_ndcg():
    fails = runner.check({"ndcg@10": 0.80}, {"ndcg@10": 0.86}, 0.02)
    assert len(fails) == 1 and fails[0].startswith("ndcg@10: 0.800")


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


def test_run_reports_answer_types(index_dir, tmp_path):
    settings = load_settings(data_dir=index_dir, corpus_dir=CORPUS)
    qa = _write(tmp_path / "qa.jsonl", ITEMS + TYPED)
    out = tmp_path / "out"
    got = runner.run(qa, out, ["tsunagari"], 10, settings)["tsunagari"]
    assert got["recall@5"] == 1.0 and got["abstention_recall"] == 1.0  # the untyped items
    assert got["items"] == 5 and got["typed_items"] == 2
    assert got["answer_pass/outofscope"] == 1.0 and got["declined/outofscope"] == 1.0
    assert 0.0 <= got["answer_pass/enumerate"] <= 1.0
    assert got["case_completeness"] == got["case_completeness/enumerate"]
    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["tsunagari"]
    assert saved["answer_pass/enumerate"] == got["answer_pass/enumerate"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## 質問の種類別（tsunagari）" in report
    # Columns: items, answer pass, case completeness, case precision (list types only), declined.
    assert "| 資料の範囲外（outofscope） | 1 | 1.000 | — | — | 1 |" in report
    assert "| 列挙（enumerate） | 1 |" in report
    assert "事例の適合率" in report and "## 引用が集中している箇所（tsunagari" in report
    assert got["hub_share"] is not None and got["hub_top"][0]["answers"] >= 1
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))["tsunagari"]
    enum = next(s for s in scores if s["id"] == "t-enum")
    assert enum["type"] == "enumerate" and "missing_cases" in enum


def test_cli_check_fails_on_regression(index_dir, tmp_path):
    qa = _write(tmp_path / "qa.jsonl", ITEMS + TYPED[1:])
    base = tmp_path / "baseline.json"
    env = dict(os.environ, TSUNAGARI_DATA_DIR=str(index_dir), TSUNAGARI_CORPUS_DIR=str(CORPUS))
    cmd = [sys.executable, "-m", "eval", "--qa", str(qa), "--out", str(tmp_path / "o"),
           "--baseline", str(base)]
    ok = subprocess.run([*cmd, "--write-baseline", "--check"], cwd=ROOT, env=env, text=True,
                        capture_output=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "合格" in ok.stdout
    data = json.loads(base.read_text())
    assert data["answer_pass/outofscope"] == 1.0
    data["recall@5"] = 1.5  # an impossible bar
    data["answer_pass/outofscope"] = 1.5  # per-type keys are guarded too
    base.write_text(json.dumps(data))
    bad = subprocess.run([*cmd, "--check"], cwd=ROOT, env=env, text=True, capture_output=True,
                         timeout=300)
    assert bad.returncode == 1 and "品質低下: recall@5" in bad.stderr
    assert "品質低下: answer_pass/outofscope" in bad.stderr


def test_items_about_reports_not_indexed_are_left_out(index_dir):
    items = runner.load_qa(ROOT / "eval" / "qa.jsonl")
    indexed = runner.indexed_docs(load_settings(data_dir=index_dir))
    assert indexed == {"chiho-pf-suiheiteki-renkei-jireishu"}
    kept, left = runner.runnable(items, indexed)
    assert len(kept) == 154 and left and all("doc" in it for it in left)
    assert runner.runnable(items, indexed | {"pf-torikumi-jireishu"})[1] == []


def test_corpus_extra_copies_the_corpus_and_the_report_into_scratch(tmp_path):
    from eval.__main__ import _extra_corpus, main

    extra = ROOT / "tests" / "fixtures" / "reports" / "pf-torikumi-jireishu.pdf"
    settings = load_settings(corpus_dir=CORPUS, data_dir=tmp_path / "mine",
                             chroma_host="localhost")
    s = _extra_corpus(settings, [extra], tmp_path / "scratch")
    assert s.data_dir == tmp_path / "scratch" / "data" and s.chroma_host == ""
    assert sorted(p.name for p in s.corpus_dir.iterdir()) == sorted(
        [*(p.name for p in CORPUS.iterdir()), extra.name])
    assert not (tmp_path / "mine").exists()  # the maintainer's index is not touched
    assert main(["--corpus-extra", str(tmp_path / "nothing.pdf")]) == 2


def _hub_cite(case: str, chunk_id: str, passage: str = "", column_city: str = "") -> dict:
    return dict(_cite(case, passage or chunk_id, column_city), chunk_id=chunk_id, page=13)


def test_list_case_precision_per_item_and_aggregate():
    enum = TYPED[0]
    # Two expected cases and two that do not belong (C市, 埼玉県): precision 2/4.
    row = {"citations": [_hub_cite("北九州市", "k5", "会長や座長を置かないことでフラットな横の関係"),
                         _hub_cite("生駒市", "i5", "行政が徒に射程範囲を狭めないよう"),
                         _hub_cite("C市", "c2", column_city="C市②"),
                         _hub_cite("C市", "c1", column_city="C市①"),
                         _hub_cite("埼玉県", "s2")],
           "retrieved": [], "abstained": False, "latency_ms": 5.0}
    s = runner.score_item(enum, row)
    assert s["case_precision"] == 0.5 and s["extra_cases"] == ["C市", "埼玉県"]
    exact = runner.score_item(enum, dict(row, citations=row["citations"][:2]))
    assert exact["case_precision"] == 1.0
    declined = runner.score_item(enum, {"citations": [], "abstained": True, "latency_ms": 1.0})
    assert declined["case_precision"] is None
    oos = runner.score_item(TYPED[1], {"citations": [], "abstained": True, "latency_ms": 1.0})
    assert "case_precision" not in oos
    neg = dict(enum, id="t-neg", type="negation")
    agg = runner.aggregate([s, exact, declined, oos, runner.score_item(neg, row)])
    # Enumerate answers that list cases: (0.5 + 1.0) / 2; the declined one has no list.
    assert agg["case_precision"] == 0.75 and agg["case_precision/enumerate"] == 0.75
    assert agg["case_precision/negation"] == 0.5
    assert "case_precision/outofscope" not in agg
    assert agg["answerable_declined"] == 1


def test_hub_share_over_all_answers_and_top_passages():
    hub = "chunk-c2-naka"
    text = "直観的にこの人と今仲良くしないとだめだと思った場合は"

    def c2(cid=hub):
        return _hub_cite("C市", cid, text, column_city="C市②")

    rows = [{"citations": [c2(), _hub_cite("仙台市", "s1")]},
            {"citations": [c2()]},
            {"citations": [_hub_cite("北海道", "h4")]},
            {"citations": [c2(), c2()]},  # cited twice in one answer: counts once
            {"citations": [], "abstained": True}]
    scores = [runner.score_item(ITEMS[i % 2], dict(r, latency_ms=1.0)) for i, r in enumerate(rows)]
    agg = runner.aggregate(scores)
    assert agg["hub_share"] == 3 / 4  # 4 answers cite something, 3 cite the hub
    top = agg["hub_top"]
    assert [(h["passage"], h["answers"]) for h in top] == [(hub, 3), ("h4", 1), ("s1", 1)]
    assert top[0]["share"] == 0.75
    assert top[0]["label"].startswith("C市② p.13") and text[:12] in top[0]["label"]


def test_check_guards_hub_share_as_lower_is_better():
    base = {"hub_share": 0.20, "case_precision": 0.80, "hub_top": [{"passage": "x"}]}
    assert runner.check({"hub_share": 0.10, "case_precision": 0.81}, base, 0.02) == []
    fails = runner.check({"hub_share": 0.25, "case_precision": 0.70}, base, 0.02)
    assert [f.split(":")[0] for f in fails] == ["hub_share", "case_precision"]
    assert "> baseline" in fails[0]
    # Dropping the metric from the run fails like any guarded key.
    assert runner.check({"case_precision": 0.8}, base, 0.02) == ["hub_share: missing (baseline 0.200)"]
