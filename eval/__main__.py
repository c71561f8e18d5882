"""`python -m eval [--qa FILE] [--out DIR] [--k 10] [--system NAME...] [--check]
[--corpus-extra FILE...]`."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tsunagari.errors import TsunagariError

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval", description="評価セットで品質を測ります。")
    p.add_argument("--qa", type=Path, default=HERE / "qa.jsonl", help="評価セット（JSONL）")
    p.add_argument("--out", type=Path, default=None,
                   help="出力フォルダ（省略時は設定 TSUNAGARI_EVAL_OUT、既定は eval/out）")
    p.add_argument("--k", type=int, default=10, help="検索件数（recall@k の最大 k）")
    p.add_argument("--system", nargs="+", default=["tsunagari"],
                   choices=["tsunagari", "bm25", "dense", "vanilla", "tsunagari-llm"],
                   help="比較するシステム（tsunagari-llm は LLM 設定時のみ）")
    p.add_argument("--check", action="store_true",
                   help="eval/baseline.json より許容幅を超えて下がった指標があれば失敗する")
    p.add_argument("--baseline", type=Path, default=HERE / "baseline.json")
    p.add_argument("--tolerance", type=float, default=0.02, help="許容する低下幅")
    p.add_argument("--write-baseline", action="store_true", help="今回の結果を基準値として保存する")
    p.add_argument("--playbook", type=Path, default=HERE / "playbook.jsonl",
                   help="手引きの評価セット（プロフィールと期待する性質の JSONL）")
    p.add_argument("--corpus-extra", type=Path, nargs="+", default=[], metavar="FILE",
                   help="資料フォルダの資料にこの資料を加えた一時的な索引で評価する"
                   "（例: tests/fixtures/reports/pf-torikumi-jireishu.pdf。いつもの索引は変えません）")
    args = p.parse_args(argv)
    missing = [f for f in args.corpus_extra if not f.is_file()]
    if missing:
        print(f"エラー: 資料が見つかりません: {'、'.join(map(str, missing))}", file=sys.stderr)
        return 2

    from tqdm import tqdm

    from tsunagari.answering.retrieve import Retriever
    from tsunagari.config import load_settings
    from tsunagari.evaluation.playbook import print_playbook, run_playbook_eval
    from tsunagari.evaluation.runner import check, print_table, run
    from tsunagari.indexing.store import data_paths
    from tsunagari.service import ingest

    settings = load_settings()
    args.out = args.out or settings.eval_out
    scratch = None
    if args.corpus_extra:  # a temporary corpus and index: the maintainer's index is untouched
        scratch = Path(tempfile.mkdtemp(prefix="tsunagari-eval-"))
        settings = _extra_corpus(settings, args.corpus_extra, scratch)
    try:
        if args.corpus_extra:
            print(f"評価用の一時索引（{scratch}）を作成します…", file=sys.stderr)
            ingest(settings)
        elif not data_paths(settings)["chunks"].exists():
            print("索引がないため作成します…", file=sys.stderr)
            ingest(settings)

        def progress(items, desc=""):
            return tqdm(items, desc=f"評価中 {desc}", unit="問", file=sys.stderr)

        metrics = run(args.qa, args.out, args.system, args.k, settings, progress)
        # The memo uses the chunks and BM25 only: no embedder needed.
        playbook = run_playbook_eval(args.playbook, Retriever.open(settings)) \
            if args.playbook.exists() else None
    except TsunagariError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 1
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print_table(metrics)
    if playbook:
        print_playbook(playbook)
    print(f"\n結果: {args.out / 'report.md'}")
    main_metrics = metrics[args.system[0]]
    if args.write_baseline:
        args.baseline.write_text(json.dumps(main_metrics, ensure_ascii=False, indent=2) + "\n",
                                 encoding="utf-8")
        print(f"基準値を保存しました: {args.baseline}")
    if args.check:
        if not args.baseline.exists():
            print(f"基準値ファイル {args.baseline} がありません。", file=sys.stderr)
            return 1
        baseline = json.loads(args.baseline.read_text(encoding="utf-8"))
        failures = check(main_metrics, baseline, args.tolerance)
        for f in failures:
            print(f"品質低下: {f}", file=sys.stderr)
        if playbook and playbook["failures"]:
            failures.append(f"手引きの評価で {len(playbook['failures'])} 件が不合格")
            print(f"品質低下: {failures[-1]}", file=sys.stderr)
        if failures:
            return 1
        print("基準値チェック: 合格")
    return 0


def _extra_corpus(settings, extra: list[Path], scratch: Path):
    """Settings over a copy of the corpus plus the extra reports (with their sidecars), indexed
    in `scratch`."""
    corpus = scratch / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    for f in extra:
        shutil.copy2(f, corpus / f.name)
        sidecar = f.with_suffix(".toml")
        if sidecar.is_file():
            shutil.copy2(sidecar, corpus / sidecar.name)
    # Always an embedded store in scratch, never a shared Chroma server.
    return settings.model_copy(update={"corpus_dir": corpus, "data_dir": scratch / "data",
                                       "chroma_host": ""})


if __name__ == "__main__":
    raise SystemExit(main())
