"""Run the eval set through each system, score it with the pure metrics, write results and a report."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tsunagari.evaluation import metrics as m
from tsunagari.evaluation.systems import build_runners, make_judge, timed

KS = (1, 3, 5, 10)
# Metrics guarded by --check: higher is better; a drop larger than the tolerance fails.
GUARDED = ("recall@5", "mrr@10", "cited_page_accuracy", "citation_precision",
           "keyword_coverage", "abstention_recall", "answerable_answered")
NOT_RUN = "not run"
NDCG_NOTE = ("recall@k・mrr@10 は正解箇所の根拠の文字列を含む検索結果で判定します。"
             "ndcg@10 は ranx で計算します（正解箇所ごとに、根拠を含む最初の検索結果を"
             "関連ありとする二値の利得。理想は正解箇所が上位に 1 件ずつ並ぶ順位。"
             "JQaRA・JMTEB と同じ式）。")
JUDGE_NOTE = ("faithfulness / answer_relevancy は LLM が設定されたときだけ計算します"
              "（未設定時は not run）。")


def load_qa(path: Path) -> list[dict[str, Any]]:
    """Eval items from a JSONL file (the format of eval/qa.jsonl)."""
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                item = json.loads(line)
                item.setdefault("id", f"line-{n}")
                item.setdefault("answerable", True)
                for key in ("evidence", "keywords", "sources", "tags"):
                    item.setdefault(key, [])
                items.append(item)
    return items


def _gold_labels(item: dict[str, Any]) -> list[str]:
    return [s.get("municipality") or s.get("column") or "" for s in item["sources"]
            if s.get("municipality") or s.get("column")]


def _point(item: dict[str, Any]) -> str:
    for s in item["sources"]:
        sec = str(s.get("section", ""))
        if sec.startswith("2-") and len(sec) >= 3 and sec[2] in "12345":
            return "①②③④⑤"[int(sec[2]) - 1]
    return "その他"


def score_item(item: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Per-item metrics from the item and the system's answer JSON."""
    texts = [r["text"] for r in row.get("retrieved", [])]
    cits = row.get("citations", [])
    evidence = item["evidence"]
    gold_pages = [s["page"] for s in item["sources"] if isinstance(s.get("page"), int)]
    out: dict[str, Any] = {"id": item["id"], "answerable": item["answerable"],
                           "abstained": bool(row.get("abstained")), "point": _point(item),
                           "tags": item["tags"], "latency_ms": row.get("latency_ms")}
    if item["answerable"] and evidence:
        for k in KS:
            out[f"recall@{k}"] = m.recall_at_k(texts, evidence, k)
        out["mrr@10"] = m.reciprocal_rank(texts, evidence, 10)
        passages = [c.get("passage") or c.get("text", "") for c in cits]
        out["citation_precision"] = m.citation_precision(passages, evidence)
        out["cited_page_accuracy"] = m.cited_page_accuracy(
            [(p, list(c.get("pages") or [c.get("page")])) for p, c in zip(passages, cits)],
            evidence, gold_pages)
        out["keyword_coverage"] = m.keyword_coverage(row.get("answer", ""), item["keywords"])
        out["case_coverage"] = m.case_coverage(
            [c.get("municipality") or c.get("column") or "" for c in cits], _gold_labels(item))
    return out


def add_ranking_scores(scored: Sequence[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]
                       ) -> None:
    """Add nDCG@10 (computed by ranx) to the per-item scores, from (item, row, score) triples.

    Only items scored for retrieval (answerable, with evidence) get it, like recall and MRR.
    """
    judged = [(item, row, s) for item, row, s in scored
              if "mrr@10" in s and any(m.normalize(e) for e in item["evidence"])]
    rankings = [([r.get("chunk_id") for r in row.get("retrieved", [])],
                 [r["text"] for r in row.get("retrieved", [])], item["evidence"])
                for item, row, _ in judged]
    for (_, _, s), ranked in zip(judged, m.ranx_scores(rankings)):
        s["ndcg@10"] = ranked["ndcg@10"]


def aggregate(scores: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Set-level metrics from per-item scores."""
    agg: dict[str, Any] = {"items": len(scores)}
    for key in [f"recall@{k}" for k in KS] + ["mrr@10", "ndcg@10", "citation_precision",
                                              "cited_page_accuracy", "keyword_coverage",
                                              "case_coverage"]:
        agg[key] = m.mean(s.get(key) for s in scores)
    ab = m.abstention_scores([s["abstained"] for s in scores], [s["answerable"] for s in scores])
    agg["abstention_precision"] = ab["precision"]
    agg["abstention_recall"] = ab["recall"]
    agg["false_abstentions"] = ab["false_abstentions"]
    agg["missed_abstentions"] = ab["missed"]
    answerable = [s for s in scores if s["answerable"]]
    agg["answerable_answered"] = m.mean(0.0 if s["abstained"] else 1.0 for s in answerable)
    lat = [s["latency_ms"] for s in scores]
    agg["latency_p50_ms"] = m.percentile(lat, 50)
    agg["latency_p95_ms"] = m.percentile(lat, 95)
    judged = [s for s in scores if "faithfulness" in s]
    agg["faithfulness"] = _nan_mean(s["faithfulness"] for s in judged) if judged else NOT_RUN
    agg["answer_relevancy"] = _nan_mean(s["relevancy"] for s in judged) if judged else NOT_RUN
    return agg


def _nan_mean(values) -> float | None:
    """Mean that skips None and NaN (the judge gives NaN for declined or unreadable items)."""
    return m.mean(v for v in values if v is not None and v == v)


def by_point(scores: Sequence[dict[str, Any]], key: str = "recall@5") -> dict[str, float | None]:
    """A metric broken down by point ①–⑤."""
    groups: dict[str, list] = {}
    for s in scores:
        groups.setdefault(s["point"], []).append(s.get(key))
    return {p: m.mean(v) for p, v in sorted(groups.items())}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "—" if v is None else str(v)


def write_report(out: Path, metrics: dict[str, dict[str, Any]], scores: dict[str, list],
                 qa_path: Path) -> None:
    """report.md: the systems side by side, per point, and the misses of tsunagari."""
    names = list(metrics)
    keys = [k for k in next(iter(metrics.values())) if k != "items"]
    lines = [f"# 評価レポート（{qa_path.name}、{next(iter(metrics.values()))['items']} 問）", "",
             "| 指標 | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_fmt(metrics[n].get(key)) for n in names) + " |")
    lines += ["", "## ポイント別 recall@5", "", "| ポイント | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    points = sorted({s["point"] for n in names for s in scores[n]})
    per = {n: by_point(scores[n]) for n in names}
    for p in points:
        lines.append(f"| {p} | " + " | ".join(_fmt(per[n].get(p)) for n in names) + " |")
    first = names[0]
    misses = [s for s in scores[first] if s["answerable"] and (s.get("recall@5") or 0) < 1]
    wrong_abst = [s for s in scores[first] if s["answerable"] == s["abstained"]]
    lines += ["", f"## {first} の取りこぼし（recall@5 < 1）", ""]
    lines += [f"- {s['id']}: recall@5={_fmt(s.get('recall@5'))} mrr={_fmt(s.get('mrr@10'))} "
              f"ndcg@10={_fmt(s.get('ndcg@10'))}" for s in misses] or ["- なし"]
    lines += ["", f"## {first} の回答可否の誤り", ""]
    lines += [f"- {s['id']}: {'回答可能なのに辞退' if s['answerable'] else '回答不能なのに回答'}"
              for s in wrong_abst] or ["- なし"]
    lines += ["", NDCG_NOTE, "", JUDGE_NOTE, ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def plot(out: Path, metrics: dict[str, dict[str, Any]], scores: dict[str, list]) -> list[Path]:
    """PNG plots: recall@k per system, and recall@5 per point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, agg in metrics.items():
        ax.plot(KS, [agg[f"recall@{k}"] or 0 for k in KS], marker="o", label=name)
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(KS)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    paths.append(out / "recall_at_k.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(metrics)
    points = ["①", "②", "③", "④", "⑤"]
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        per = by_point(scores[name])
        ax.bar([j + i * width for j in range(len(points))], [per.get(p) or 0 for p in points],
               width=width, label=name)
    ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(points))])
    ax.set_xticklabels([f"point {j + 1}" for j in range(len(points))])
    ax.set_ylabel("recall@5")
    ax.set_ylim(0, 1.05)
    ax.legend()
    fig.tight_layout()
    paths.append(out / "recall_by_point.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def check(metrics: dict[str, Any], baseline: dict[str, Any], tolerance: float) -> list[str]:
    """Regressions of guarded metrics below the baseline by more than the tolerance."""
    failures = []
    for key in GUARDED:
        base, now = baseline.get(key), metrics.get(key)
        if isinstance(base, int | float) and isinstance(now, int | float) and now < base - tolerance:
            failures.append(f"{key}: {now:.3f} < baseline {base:.3f} - {tolerance}")
    return failures


def run(qa_path: Path, out: Path, systems: list[str], k: int, settings,
        progress=None) -> dict[str, dict[str, Any]]:
    """Run every system on every item; write results.jsonl, metrics.json, report.md, plots."""

    items = load_qa(qa_path)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, dict[str, Any]] = {}
    scores: dict[str, list] = {}
    judge = make_judge(settings)
    with open(out / "results.jsonl", "w", encoding="utf-8") as f:
        for runner in build_runners(settings, systems, k):
            rows, triples = [], []
            iterator = progress(items, desc=runner.name) if progress else items
            for item in iterator:
                row = timed(runner.ask, item)
                row["system"] = runner.name
                scored = score_item(item, row)
                if judge is not None and runner.name.startswith("tsunagari"):
                    row["judge"] = judge(row)
                    scored["faithfulness"] = row["judge"].get("faithfulness")
                    scored["relevancy"] = row["judge"].get("relevancy")
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                rows.append(scored)
                triples.append((item, row, scored))
            add_ranking_scores(triples)
            scores[runner.name] = rows
            metrics[runner.name] = aggregate(rows)
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2),
                                      encoding="utf-8")
    (out / "scores.json").write_text(json.dumps(scores, ensure_ascii=False, indent=1),
                                     encoding="utf-8")
    write_report(out, metrics, scores, qa_path)
    plot(out, metrics, scores)
    return metrics


def print_table(metrics: dict[str, dict[str, Any]], file=sys.stdout) -> None:
    keys = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "citation_precision",
            "cited_page_accuracy", "keyword_coverage", "case_coverage", "abstention_precision",
            "abstention_recall", "false_abstentions", "latency_p50_ms", "latency_p95_ms"]
    print("metric".ljust(22) + "".join(n.rjust(11) for n in metrics), file=file)
    for key in keys:
        print(key.ljust(22) + "".join(_fmt(metrics[n].get(key)).rjust(11) for n in metrics),
              file=file)
