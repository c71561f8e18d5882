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
# A per-type key such as "answer_pass/enumerate" is guarded when its name before "/" is.
GUARDED = ("recall@5", "mrr@10", "ndcg@10", "cited_page_accuracy", "citation_precision",
           "keyword_coverage", "abstention_recall", "answerable_answered",
           "answer_pass", "case_completeness", "case_precision", "hub_share")
# Guarded metrics where lower is better: a rise larger than the tolerance fails.
LOWER_IS_BETTER = ("hub_share",)
# How many of the most-cited passages the report and metrics.json list.
HUB_TOP = 5
NOT_RUN = "not run"
NDCG_NOTE = ("recall@k・mrr@10 は正解箇所の根拠の文字列を含む検索結果で判定します。"
             "ndcg@10 は ranx で計算します（正解箇所ごとに、根拠を含む最初の検索結果を"
             "関連ありとする二値の利得。理想は正解箇所が上位に 1 件ずつ並ぶ順位。"
             "JQaRA・JMTEB と同じ式）。")
JUDGE_NOTE = ("faithfulness / answer_relevancy は LLM が設定されたときだけ計算します"
              "（未設定時は not run）。")
TYPED_NOTE = ("検索・引用・辞退の指標は type のない問（従来の評価セット）で、回答の合格率"
              "（answer_pass）と事例の充足率（case_completeness）は type つきの問で計算します。"
              "合格：辞退せず、必要な数（min_cases）の期待事例を引用し、そのうち min_cases 件の"
              "事例で根拠文字列のどれかが引用箇所にあること（範囲外の問は辞退で合格）。"
              "事例の適合率（case_precision）は列挙の答え（enumerate、種類別には negation も）"
              "が引用した事例のうち期待事例の割合です。")
HUB_NOTE = ("hub_share：何か引用した回答のうち、最も多くの回答に引用された1つの箇所を引用している"
            "回答の割合（全問、低いほどよい）。無関係な質問に同じ箇所が繰り返し引用されていないかを見ます。")
# The eval set names a column source by its label; the case it belongs to is its city.
COLUMN_CASES = {"コラム１": "A市", "コラム２": "B市", "コラム３-１": "C市", "コラム３-２": "C市"}


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


def item_docs(item: dict[str, Any]) -> tuple[str, ...]:
    """The reports an item is about (its `doc`: one doc_id or a list; none: the first report).

    >>> item_docs({"doc": ["a", "b"]}), item_docs({"doc": "b"}), item_docs({})
    (('a', 'b'), ('b',), ())
    """
    doc = item.get("doc") or ()
    return (doc,) if isinstance(doc, str) else tuple(doc)


def runnable(items: Sequence[dict[str, Any]], indexed: set[str] | None
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Items whose reports are all indexed, and those left out (`indexed` None: keep all).

    >>> kept, left = runnable([{"id": "a"}, {"id": "b", "doc": "x"}], {"y"})
    >>> [i["id"] for i in kept], [i["id"] for i in left]
    (['a'], ['b'])
    """
    if indexed is None:
        return list(items), []
    kept = [it for it in items if set(item_docs(it)) <= indexed]
    return kept, [it for it in items if it not in kept]


def indexed_docs(settings) -> set[str] | None:
    """The doc_ids of the index in settings.data_dir (None when the manifest cannot tell)."""
    from tsunagari.indexing.store import read_manifest

    manifest = read_manifest(settings)
    if manifest is None:
        return None
    return {d.get("doc_id", "") for d in manifest.documents}


def _gold_labels(item: dict[str, Any]) -> list[str]:
    return [s.get("municipality") or s.get("column") or "" for s in item["sources"]
            if s.get("municipality") or s.get("column")]


def source_case(source: dict[str, Any]) -> str:
    """The case an eval-set source belongs to: its municipality (canonical) or its column's city.

    >>> source_case({"section": "2-3-2", "municipality": "牧方市", "page": 10})
    '枚方市'
    >>> source_case({"section": "3", "column": "コラム３-２", "page": 27})
    'C市'
    >>> source_case({"section": "1-2", "page": 3})
    ''
    """
    if source.get("municipality"):
        return m.case_label(source["municipality"])
    return COLUMN_CASES.get(m.normalize(source.get("column", "")), "")


def evidence_by_case(item: dict[str, Any]) -> dict[str, list[str]]:
    """The item's evidence strings grouped by the case of their source (same order as sources)."""
    groups: dict[str, list[str]] = {}
    for i, ev in enumerate(item["evidence"]):
        src = item["sources"][i] if i < len(item["sources"]) else {}
        groups.setdefault(source_case(src), []).append(ev)
    return groups


def cited_cases(citations: Sequence[dict[str, Any]]) -> list[str]:
    """The case of each citation (municipality, else column city), canonical, '' for none."""
    return [m.case_label(c.get("municipality") or c.get("column_city") or "") for c in citations]


def _score_type(item: dict[str, Any], row: dict[str, Any], out: dict[str, Any]) -> None:
    """Case completeness and answer pass of a typed item (see metrics.answer_passes)."""
    cits = row.get("citations", [])
    cases = [c for c in cited_cases(cits) if c]
    passages = [c.get("passage") or c.get("text", "") for c in cits]
    expected = [m.case_label(c) for c in item.get("expected_cases", [])]
    min_cases = int(item.get("min_cases", 0))
    evidence = evidence_by_case(item)
    out["type"] = item["type"]
    out["case_completeness"] = m.case_completeness(cases, expected, min_cases)
    out["answer_pass"] = 1.0 if m.answer_passes(
        answerable=item["answerable"], declined=out["abstained"], cited_cases=cases,
        passages=passages, expected_cases=expected, min_cases=min_cases,
        evidence_by_case=evidence) else 0.0
    # For the report: expected cases not cited, and cited ones without evidence in any passage.
    supported = m.evidenced_cases(passages, evidence)
    if item["answerable"] and expected:
        out["case_precision"] = m.case_precision(cases, expected)
        out["extra_cases"] = sorted({c for c in cases if c not in expected})
    out["missing_cases"] = [c for c in expected if c not in cases]
    out["unsupported_cases"] = [c for c in expected if c in cases and c not in supported]


def _passage_label(citation: dict[str, Any]) -> str:
    """A short label of a cited passage: its case (or section) and its first characters."""
    where = (citation.get("municipality") or citation.get("column_city")
             or citation.get("column") or citation.get("section") or "")
    text = m.normalize(citation.get("passage") or citation.get("text") or "")
    return f"{where} p.{citation.get('page')} 「{text[:30]}…」"


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
    # Distinct cited passages (for the hub metric) and a short label of each for the report.
    out["cited_passages"] = [p for p in dict.fromkeys(c.get("chunk_id") or "" for c in cits) if p]
    out["cited_labels"] = {c["chunk_id"]: _passage_label(c) for c in cits if c.get("chunk_id")}
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
    if item.get("type"):
        _score_type(item, row, out)
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
    """Set-level metrics from per-item scores.

    Retrieval, citation and abstention metrics cover the items without a type (the original
    single-passage set, so their values stay comparable); answer pass and case completeness
    cover the typed items, overall and per type ("answer_pass/enumerate", ...). Latency and
    "items" cover every item.
    """
    untyped = [s for s in scores if not s.get("type")]
    agg: dict[str, Any] = {"items": len(scores)}
    for key in [f"recall@{k}" for k in KS] + ["mrr@10", "ndcg@10", "citation_precision",
                                              "cited_page_accuracy", "keyword_coverage",
                                              "case_coverage"]:
        agg[key] = m.mean(s.get(key) for s in untyped)
    ab = m.abstention_scores([s["abstained"] for s in untyped],
                             [s["answerable"] for s in untyped])
    agg["abstention_precision"] = ab["precision"]
    agg["abstention_recall"] = ab["recall"]
    agg["false_abstentions"] = ab["false_abstentions"]
    agg["missed_abstentions"] = ab["missed"]
    answerable = [s for s in untyped if s["answerable"]]
    agg["answerable_answered"] = m.mean(0.0 if s["abstained"] else 1.0 for s in answerable)
    lat = [s["latency_ms"] for s in scores]
    agg["latency_p50_ms"] = m.percentile(lat, 50)
    agg["latency_p95_ms"] = m.percentile(lat, 95)
    judged = [s for s in scores if "faithfulness" in s]
    agg["faithfulness"] = _nan_mean(s["faithfulness"] for s in judged) if judged else NOT_RUN
    agg["answer_relevancy"] = _nan_mean(s["relevancy"] for s in judged) if judged else NOT_RUN
    agg.update(type_metrics([s for s in scores if s.get("type")]))
    agg.update(hub_metrics(scores))
    return agg


def hub_metrics(scores: Sequence[dict[str, Any]], top: int = HUB_TOP) -> dict[str, Any]:
    """Hub share over every answer of the run, and the most-cited passages ("hub_top":
    passage id, number of answers citing it, share of the citing answers, label)."""
    cited = [s.get("cited_passages", []) for s in scores]
    citing = sum(1 for ids in cited if ids)
    labels: dict[str, str] = {}
    for s in scores:
        labels.update(s.get("cited_labels", {}))
    return {"hub_share": m.hub_share(cited),
            "hub_top": [{"passage": pid, "answers": n, "share": n / citing,
                         "label": labels.get(pid, "")}
                        for pid, n in m.hub_passages(cited)[:top]]}


def _types(scores: Sequence[dict[str, Any]]) -> list[str]:
    present = {s["type"] for s in scores}
    return [t for t in m.TYPE_LABELS if t in present] + sorted(present - set(m.TYPE_LABELS))


def type_metrics(typed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Answer pass and case completeness of typed items, overall and per type; {} without any.

    Case completeness leaves out items that require no case (out of scope); "declined/<type>"
    is the share of the type's items the system declined.
    """
    if not typed:
        return {}
    out: dict[str, Any] = {"typed_items": len(typed),
                           "answer_pass": m.mean(s["answer_pass"] for s in typed),
                           "case_completeness": m.mean(s["case_completeness"] for s in typed),
                           "case_precision": m.mean(s.get("case_precision") for s in typed
                                                    if s["type"] == "enumerate"),
                           "answerable_declined": sum(1 for s in typed
                                                      if s["answerable"] and s["abstained"])}
    for kind in _types(typed):
        group = [s for s in typed if s["type"] == kind]
        out[f"items/{kind}"] = len(group)
        out[f"answer_pass/{kind}"] = m.mean(s["answer_pass"] for s in group)
        out[f"case_completeness/{kind}"] = m.mean(s["case_completeness"] for s in group)
        out[f"declined/{kind}"] = m.mean(1.0 if s["abstained"] else 0.0 for s in group)
        if kind in m.LIST_TYPES:
            out[f"case_precision/{kind}"] = m.mean(s.get("case_precision") for s in group)
    return out


def _nan_mean(values) -> float | None:
    """Mean that skips None and NaN (the judge gives NaN for declined or unreadable items)."""
    return m.mean(v for v in values if v is not None and v == v)


def by_point(scores: Sequence[dict[str, Any]], key: str = "recall@5") -> dict[str, float | None]:
    """A metric broken down by point ①–⑤ (items without a type, like the retrieval metrics)."""
    groups: dict[str, list] = {}
    for s in scores:
        if not s.get("type"):
            groups.setdefault(s["point"], []).append(s.get(key))
    return {p: m.mean(v) for p, v in sorted(groups.items())}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "—" if v is None else str(v)


def write_report(out: Path, metrics: dict[str, dict[str, Any]], scores: dict[str, list],
                 qa_path: Path) -> None:
    """report.md: the systems side by side, per point, per question type, and the misses of
    the first system."""
    names = list(metrics)
    # Per-type keys ("answer_pass/enumerate", ...) are in the per-type tables below.
    keys = [k for k in next(iter(metrics.values()))
            if k not in ("items", "hub_top") and "/" not in k]
    lines = [f"# 評価レポート（{qa_path.name}、{next(iter(metrics.values()))['items']} 問）", "",
             "| 指標 | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_fmt(metrics[n].get(key)) for n in names) + " |")
    lines += ["", "## ポイント別 recall@5", "", "| ポイント | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    points = sorted({s["point"] for n in names for s in scores[n] if not s.get("type")})
    per = {n: by_point(scores[n]) for n in names}
    for p in points:
        lines.append(f"| {p} | " + " | ".join(_fmt(per[n].get(p)) for n in names) + " |")
    lines += _type_report(names, scores)
    lines += _hub_report(names, metrics)
    first = names[0]
    misses = [s for s in scores[first]
              if not s.get("type") and s["answerable"] and (s.get("recall@5") or 0) < 1]
    wrong_abst = [s for s in scores[first] if s["answerable"] == s["abstained"]]
    lines += ["", f"## {first} の取りこぼし（recall@5 < 1）", ""]
    lines += [f"- {s['id']}: recall@5={_fmt(s.get('recall@5'))} mrr={_fmt(s.get('mrr@10'))} "
              f"ndcg@10={_fmt(s.get('ndcg@10'))}" for s in misses] or ["- なし"]
    lines += ["", f"## {first} の回答可否の誤り", ""]
    lines += [f"- {s['id']}: {'回答可能なのに辞退' if s['answerable'] else '回答不能なのに回答'}"
              for s in wrong_abst] or ["- なし"]
    failed = [s for s in scores[first] if s.get("type") and not s["answer_pass"]]
    lines += ["", f"## {first} の回答の不合格（type つきの問）", ""]
    lines += [f"- {s['id']}（{m.TYPE_LABELS.get(s['type'], s['type'])}）: "
              + _failure(s) for s in failed] or ["- なし"]
    extra = [s for s in scores[first] if s.get("type") in m.LIST_TYPES
             and s.get("case_precision") is not None and s["case_precision"] < 1]
    lines += ["", f"## {first} の列挙で期待外の事例を引用した問", ""]
    lines += [f"- {s['id']}（{m.TYPE_LABELS.get(s['type'], s['type'])}）: "
              f"事例の適合率={_fmt(s['case_precision'])} 期待外={'、'.join(s['extra_cases'])}"
              for s in extra] or ["- なし"]
    lines += ["", NDCG_NOTE, "", TYPED_NOTE, "", HUB_NOTE, "", JUDGE_NOTE, ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _failure(score: dict[str, Any]) -> str:
    """Why a typed item failed, in Japanese, for the report."""
    if not score["answerable"]:
        return "回答不能なのに回答"
    if score["abstained"]:
        return "辞退"
    parts = [f"事例の充足率={_fmt(score['case_completeness'])}"]
    if score["missing_cases"]:
        parts.append(f"未引用={'、'.join(score['missing_cases'])}")
    if score["unsupported_cases"]:
        parts.append(f"根拠が引用箇所にない={'、'.join(score['unsupported_cases'])}")
    return " ".join(parts)


def _type_report(names: list[str], scores: dict[str, list]) -> list[str]:
    """Per-type table of each system: items, answer pass, case completeness, declined, and
    (for reference) recall@5 and MRR@10 of the typed items."""
    lines: list[str] = []
    for name in names:
        typed = [s for s in scores[name] if s.get("type")]
        if not typed:
            continue
        lines += ["", f"## 質問の種類別（{name}）", "",
                  "| 種類 | 問数 | 回答の合格率 | 事例の充足率 | 事例の適合率 | 辞退 | recall@5 | MRR@10 |",
                  "|---|---|---|---|---|---|---|---|"]
        groups = [(f"{m.TYPE_LABELS.get(t, t)}（{t}）", [s for s in typed if s["type"] == t])
                  for t in _types(typed)] + [("全体", typed)]
        for label, group in groups:
            lines.append(
                f"| {label} | {len(group)} | {_fmt(m.mean(s['answer_pass'] for s in group))} | "
                f"{_fmt(m.mean(s['case_completeness'] for s in group))} | "
                f"{_fmt(m.mean(s.get('case_precision') for s in group if s['type'] in m.LIST_TYPES))} | "
                f"{sum(1 for s in group if s['abstained'])} | "
                f"{_fmt(m.mean(s.get('recall@5') for s in group))} | "
                f"{_fmt(m.mean(s.get('mrr@10') for s in group))} |")
    return lines


def _hub_report(names: list[str], metrics: dict[str, dict[str, Any]]) -> list[str]:
    """The most-cited passages of each system (hubs), with the share of answers citing them."""
    lines: list[str] = []
    for name in names:
        hubs = metrics[name].get("hub_top") or []
        lines += ["", f"## 引用が集中している箇所（{name}、hub_share={_fmt(metrics[name].get('hub_share'))}）",
                  "", "| 箇所 | 引用した回答数 | 割合 |", "|---|---|---|"]
        lines += [f"| {h['label'] or h['passage']} | {h['answers']} | {_fmt(h['share'])} |"
                  for h in hubs] or ["| — | 0 | — |"]
    return lines


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


def is_guarded(key: str) -> bool:
    """Whether --check guards a metric key (per-type keys by the name before "/").

    >>> is_guarded("recall@5"), is_guarded("answer_pass/enumerate"), is_guarded("items/fact")
    (True, True, False)
    """
    return key.split("/", 1)[0] in GUARDED


def check(metrics: dict[str, Any], baseline: dict[str, Any], tolerance: float) -> list[str]:
    """Regressions of guarded metrics below the baseline by more than the tolerance.

    A guarded key of the baseline that the run lacks (e.g. a question type no longer in the
    set) is reported too: the gate must not pass by dropping items.
    """
    failures = []
    for key in [k for k in baseline if is_guarded(k)]:
        base, now = baseline.get(key), metrics.get(key)
        if isinstance(base, int | float) and key not in metrics:
            failures.append(f"{key}: missing (baseline {base:.3f})")
            continue
        if not (isinstance(base, int | float) and isinstance(now, int | float)):
            continue
        if key.split("/", 1)[0] in LOWER_IS_BETTER:
            if now > base + tolerance:
                failures.append(f"{key}: {now:.3f} > baseline {base:.3f} + {tolerance}")
        elif now < base - tolerance:
            failures.append(f"{key}: {now:.3f} < baseline {base:.3f} - {tolerance}")
    return failures


def run(qa_path: Path, out: Path, systems: list[str], k: int, settings,
        progress=None) -> dict[str, dict[str, Any]]:
    """Run every system on every item; write results.jsonl, metrics.json, report.md, plots."""

    items, left_out = runnable(load_qa(qa_path), indexed_docs(settings))
    if left_out:
        print(f"索引にない資料についての問 {len(left_out)} 問は評価から外しました"
              "（--corpus-extra で資料を加えると評価できます）。", file=sys.stderr)
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
    """The main metrics side by side, then per question type and the hub passages of each system."""
    keys = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "citation_precision",
            "cited_page_accuracy", "keyword_coverage", "case_coverage", "abstention_precision",
            "abstention_recall", "false_abstentions", "latency_p50_ms", "latency_p95_ms",
            "answer_pass", "case_completeness", "case_precision", "answerable_declined",
            "hub_share"]
    first = next(iter(metrics.values()), {})
    keys += [k for k in first if k.startswith("answer_pass/")]
    print("metric".ljust(22) + "".join(n.rjust(11) for n in metrics), file=file)
    for key in keys:
        print(key.ljust(22) + "".join(_fmt(metrics[n].get(key)).rjust(11) for n in metrics),
              file=file)
    for name, agg in metrics.items():
        kinds = [k.split("/", 1)[1] for k in agg if k.startswith("items/")]
        if not kinds:
            continue
        print(f"\n[{name}] type        items  answer_pass  completeness  precision  declined",
              file=file)
        rows = [(k, agg.get(f"items/{k}"), agg.get(f"answer_pass/{k}"),
                 agg.get(f"case_completeness/{k}"), agg.get(f"case_precision/{k}"),
                 agg.get(f"declined/{k}")) for k in kinds]
        rows.append(("all", agg.get("typed_items"), agg.get("answer_pass"),
                     agg.get("case_completeness"), agg.get("case_precision"), None))
        for kind, n, ap, cc, cp, dec in rows:
            print(f"{kind:<18}{_fmt(n):>7}{_fmt(ap):>13}{_fmt(cc):>14}{_fmt(cp):>11}"
                  f"{_fmt(dec):>10}", file=file)
        print(f"answerable items declined: {_fmt(agg.get('answerable_declined'))}", file=file)
        for h in agg.get("hub_top") or []:
            print(f"hub {h['answers']:>4} answers ({_fmt(h['share'])}): {h['label'] or h['passage']}",
                  file=file)
