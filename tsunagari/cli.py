"""Command line: `python -m tsunagari ask|ingest|status`.

`tsunagari.service` is imported inside the commands: it pulls numpy and LangChain, and
`--help` (or a typo) should answer at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tsunagari.answering.contract import answer_to_dict
from tsunagari.config import load_settings
from tsunagari.errors import InputError, TsunagariError
from tsunagari.indexing.store import read_manifest, store_health
from tsunagari.loaders.scan import STATUS_LABELS
from tsunagari.types import Filters


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tsunagari",
        description="地方版孤独・孤立対策官民連携プラットフォームの報告書に、出典つきで答えます。",
    )
    sub = p.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="質問に答える（出典と本資料のページつき）")
    ask.add_argument("question", nargs="?", help="質問（日本語）")
    ask.add_argument("--json", action="store_true", help="回答を JSON で出力する")
    ask.add_argument("--jsonl", metavar="FILE", help='{"id","question","history"} の JSONL を一括で回答する')
    ask.add_argument("--out", metavar="FILE", help="--jsonl の出力先（省略時は標準出力）")
    ask.add_argument("-k", type=int, default=None,
                     help="検索する箇所の数（JSON の retrieved の件数。回答には上位 TSUNAGARI_TOP_K 件まで）")
    ask.add_argument("--point", type=int, choices=range(1, 6), help="ポイント①〜⑤で絞り込む")
    ask.add_argument("--municipality", default="", help="自治体名で絞り込む（例: 仙台市）")
    ask.add_argument("--column", default="", help="コラムで絞り込む（例: A市）")
    ask.add_argument("--mode", choices=["hybrid", "bm25", "dense"], help="検索方式")
    ask.add_argument("--answer-mode", choices=["extractive", "llm"],
                     help="回答方式（extractive: 資料の引用〈既定〉、llm: LLM が要約して回答）")
    ask.add_argument("--llm", metavar="PROVIDER/MODEL",
                     help="LLM で回答する（例: ollama/qwen2.5:7b、openai/gpt-4o-mini）。"
                     "--answer-mode llm を含む")
    ask.add_argument("--llm-base-url", metavar="URL",
                     help="LLM サーバーの URL（例: http://localhost:11434、http://localhost:8000/v1）")
    ing = sub.add_parser("ingest", help="corpus/ から索引を作成・更新する")
    ing.add_argument("--corpus", type=Path, help="資料フォルダ（既定: corpus/）")
    sub.add_parser("status", help="索引の状態を表示する")
    return p


def _settings(args: argparse.Namespace):
    overrides = {}
    if getattr(args, "mode", None):
        overrides["retrieval_mode"] = args.mode
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = args.corpus
    if getattr(args, "answer_mode", None):
        overrides["answer_mode"] = args.answer_mode
    if getattr(args, "llm", None):
        overrides["llm"] = args.llm
        overrides.setdefault("answer_mode", "llm")
    if getattr(args, "llm_base_url", None):
        overrides["llm_base_url"] = args.llm_base_url
    return load_settings(**overrides)


def _notice(text: str) -> None:
    print(f"お知らせ: {text}", file=sys.stderr)


def run_ingest(args: argparse.Namespace) -> int:
    """Refresh the index with progress, then print what changed per file and any problems.

    Exits non-zero only when nothing could be indexed (or another refresh is running).
    """
    from tqdm import tqdm

    settings = _settings(args)
    from tsunagari.service import ingest, open_embedder  # numpy, LangChain: see the docstring

    choice = open_embedder(settings)
    if choice.notice:
        _notice(choice.notice)

    def progress(items, total=None):
        return tqdm(items, total=total, desc="埋め込み", unit="件", file=sys.stderr,
                    mininterval=0.5)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    report = ingest(settings, choice, progress=progress, log=log)
    for f in report.files:
        detail = f"チャンク {f.chunks} 件"
        if f.added_chunks or f.removed_chunks:
            detail += f"（新規 {f.added_chunks} / 削除 {f.removed_chunks}）"
        print(f"  {STATUS_LABELS.get(f.status, f.status)}: {f.file} — {detail}")
    if report.problems:
        print(f"問題のあったファイル（{len(report.problems)} 件）:")
        for p in report.problems:
            print(f"  - {p.message}")
    for n in report.notices:
        if n not in {p.message for p in report.problems} and n != choice.notice:
            _notice(n)
    print(
        f"完了: 資料 {report.documents} 件、チャンク {report.chunks} 件 "
        f"（追加 {report.added} / 更新 {report.updated} / 削除 {report.deleted} / "
        f"変更なし {report.unchanged}、埋め込み {report.embedded} 件、{report.seconds:.1f} 秒、"
        f"埋め込みモデル: {report.embedder}）"
    )
    return 0 if report.documents else 1


def run_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from tsunagari.service import open_service  # numpy, LangChain: see the docstring

    service = open_service(settings)
    for n in service.notices:
        _notice(n)
    shown = set(service.notices)
    filters = Filters(point=args.point, municipality=args.municipality, column=args.column)
    if args.jsonl:
        return _ask_jsonl(service, Path(args.jsonl), args.out, filters, args.k)
    if not args.question:
        print("質問を指定してください（例: python -m tsunagari ask \"福祉以外の部署を巻き込むには？\"）",
              file=sys.stderr)
        return 2
    ans = service.answerer.ask(args.question, None, filters, args.k)
    for n in ans.notices:
        if n not in shown:
            _notice(n)
    if args.json:
        print(json.dumps(answer_to_dict(ans), ensure_ascii=False, indent=2))
    else:
        print(ans.answer)
    return 0


def _jsonl_rows(path: Path):
    """(line number, item or None, error) for each non-blank line of a questions file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"質問ファイル {path} を読めません（{exc.strerror or exc}）。") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"質問ファイル {path} は UTF-8 ではありません。") from exc
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            yield line_no, None, f"{line_no} 行目を JSON として読めません。"
            continue
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            yield line_no, item if isinstance(item, dict) else None, \
                f"{line_no} 行目に \"question\"（文字列）がありません。"
            continue
        yield line_no, item, ""


def _ask_jsonl(service, path: Path, out_path: str | None, filters, k: int | None) -> int:
    """Answer every line of a JSONL file; bad lines become rows with a Japanese `error`."""

    out = open(out_path, "w", encoding="utf-8") if out_path else sys.stdout
    try:
        for line_no, item, error in _jsonl_rows(path):
            start = time.perf_counter()
            row: dict
            if error:
                row = {"question": (item or {}).get("question", ""), "error": error}
            else:
                try:
                    ans = service.answerer.ask(item["question"], item.get("history"), filters, k)
                    row = answer_to_dict(ans)
                except TsunagariError as exc:
                    row = {"question": item["question"], "error": str(exc)}
            row["id"] = (item or {}).get("id", line_no)
            row["latency_ms"] = round((time.perf_counter() - start) * 1000, 1)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def run_status(args: argparse.Namespace) -> int:
    """The index as it is on disk: a damaged chunk store is reported, never the manifest's count."""
    settings = _settings(args)
    manifest = read_manifest(settings)
    health = store_health(settings)
    if health.state == "missing":
        print("索引はまだありません。`python -m ingest` で作成してください。")
        return 1
    if not health.ok:
        print(health.message())
        return 1
    embedders = ", ".join(manifest.embedders) if manifest else "不明"
    print(f"最終更新: {manifest.refreshed_at if manifest else '不明'}　"
          f"チャンク: {health.readable} 件　埋め込み: {embedders or 'なし（BM25のみ）'}")
    if manifest is None:
        print("manifest.json がないか読めないため、資料の一覧はありません"
              "（`python -m ingest` で作り直せます）。")
    for d in manifest.documents if manifest else []:
        print(f"- {d['title']}（{d['path']}、{d['chunks']} チャンク）")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"ask": run_ask, "ingest": run_ingest, "status": run_status}[args.command](args)
    except TsunagariError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 1
