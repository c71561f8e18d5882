"""The 評価 page names the per-type metrics of an eval run ("answer_pass/enumerate", ...)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from tsunagari.evaluation import runner

ROOT = Path(__file__).resolve().parents[2]

ENUM = {"id": "e", "type": "enumerate", "question": "ポイント⑤の事例を全部", "answerable": True,
        "evidence": ["行政が徒に射程範囲を狭めないよう"], "keywords": [], "tags": ["enumerate"],
        "sources": [{"section": "2-5-2", "municipality": "生駒市", "page": 13}],
        "expected_cases": ["生駒市"], "min_cases": 1}
OOS = {"id": "o", "type": "outofscope", "question": "大阪市は？", "answerable": False,
       "evidence": [], "keywords": [], "sources": [], "tags": ["outofscope"],
       "expected_cases": [], "min_cases": 0}


def test_evaluation_page_labels_per_type_metrics(app_env, tmp_path):
    scores = [
        runner.score_item(ENUM, {"abstained": False, "latency_ms": 9.0, "citations": [
            {"municipality": "生駒市", "passage": "行政が徒に射程範囲を狭めないよう、敢えて"}]}),
        runner.score_item(OOS, {"abstained": True, "latency_ms": 3.0, "citations": []}),
    ]
    metrics = {"tsunagari": runner.aggregate(scores)}
    assert metrics["tsunagari"]["answer_pass/enumerate"] == 1.0
    eval_out = tmp_path / "eval-out"  # where app_env points TSUNAGARI_EVAL_OUT
    eval_out.mkdir(parents=True, exist_ok=True)
    (eval_out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False),
                                           encoding="utf-8")

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("views/evaluation.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    rows = dict(zip(table["指標"], table["tsunagari（既定）"]))
    assert rows["回答の合格率"] == "1.000"
    assert rows["回答の合格率（列挙）"] == "1.000"
    assert rows["事例の充足率（列挙）"] == "1.000"
    assert rows["辞退した割合（資料の範囲外）"] == "1.000"
    assert rows["質問の数（列挙）"] == "1"
    assert pd.isna(rows["事例の充足率（資料の範囲外）"])  # no case is required out of scope
    # Every key of the run has a Japanese name: no raw "metric/type" key is shown.
    assert not [label for label in rows if "/" in label or "_" in label]
