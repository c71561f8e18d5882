"""Command line: `python -m tsunagari ask|ingest|status|playbook|admin`.

`tsunagari.service` is imported inside the commands: it pulls numpy and LangChain, and
`--help` (or a typo) should answer at once.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import math
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from tsunagari.answering.citations import answer_markdown
from tsunagari.app import auth
from tsunagari.answering.contract import answer_to_dict
from tsunagari.answering.question import check_filters, clean_history, validate_question
from tsunagari.chunking import registry
from tsunagari.cli_args import JapaneseArgumentParser, passage_count
from tsunagari.config import load_settings
from tsunagari.errors import InputError, TsunagariError
from tsunagari.indexing import shared
from tsunagari.indexing.store import read_manifest, store_health
from tsunagari.japanese import remove_surrogates
from tsunagari.loaders.scan import STATUS_LABELS
from tsunagari.playbook.profile import (
    BODIES,
    DEPARTMENTS,
    POPULATION_BANDS,
    REGIONS,
    Profile,
    read_profile_file,
)
from tsunagari.playbook.profile import STAGES as PROFILE_STAGES
from tsunagari.types import Filters


def _parser() -> argparse.ArgumentParser:
    p = JapaneseArgumentParser(
        prog="python -m tsunagari",
        description="地方版孤独・孤立対策官民連携プラットフォームの報告書に、出典つきで答えます。",
    )
    sub = p.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="質問に答える（出典と本資料のページつき）")
    ask.add_argument("question", nargs="?", help="質問（日本語）")
    ask.add_argument("--json", action="store_true", help="回答を JSON で出力する")
    ask.add_argument("--jsonl", metavar="FILE", help='{"id","question","history"} の JSONL を一括で回答する')
    ask.add_argument("--out", metavar="FILE", help="--jsonl の出力先（省略時は標準出力）")
    ask.add_argument("-k", type=passage_count, default=None,
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
    pb = sub.add_parser("playbook", help="自治体の状況に合わせた手引き（ポイント①〜⑤ごとの事例と助言）をつくる")
    pb.add_argument("--profile", type=Path, metavar="FILE.toml",
                    help="プロフィールの TOML（下の項目と同じ名前。指定したオプションが優先）")
    pb.add_argument("--body", help=f"自治体の種類（{'／'.join(BODIES)}）")
    pb.add_argument("--population", help=f"人口規模（{'／'.join(POPULATION_BANDS)}）")
    pb.add_argument("--region", help=f"地域（{'／'.join(REGIONS)}）")
    pb.add_argument("--stage", help=f"段階（{'／'.join(PROFILE_STAGES)}）")
    pb.add_argument("--department", help=f"担当部署（{'／'.join(DEPARTMENTS)}）")
    pb.add_argument("--difficulties", metavar="POINTS", help="いま難しいポイント（例: 3,1 または ③①）")
    pb.add_argument("--situation", help="状況をひとことで（自由記述）")
    pb.add_argument("--json", action="store_true", help="手引きを JSON（節・事例・出典）で出力する")
    pb.add_argument("--docx", type=Path, metavar="FILE", help="Word（.docx、出典は脚注）にも書き出す")
    adm = sub.add_parser("admin", help="保守担当者の設定（パスワード、サーバーの起動オプション）")
    admin_sub = adm.add_subparsers(dest="admin_command", required=True)
    setpw = admin_sub.add_parser(
        "set-password", help="保守担当者パスワードを設定する（ハッシュだけをデータフォルダに保存）")
    setpw.add_argument("--stdin", action="store_true",
                       help="パスワードを標準入力の 1 行目から読む（スクリプト用。確認の入力なし）")
    setpw.add_argument("--file", type=Path, metavar="PATH",
                       help="保存先（既定: TSUNAGARI_MAINTAINER_PASSWORD_FILE、"
                       "なければデータフォルダの maintainer_password.json）")
    admin_sub.add_parser("server-flags",
                         help="`streamlit run` に渡す待ち受けアドレスとアップロード上限を出力する"
                         "（make run が使う）")
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
        if f.profile:
            print(f"    {profile_line(f)}")
    if report.problems:
        print(f"問題のあったファイル（{len(report.problems)} 件）:")
        for p in report.problems:
            print(f"  - {p.message}")
    for n in report.notices:
        if n not in {p.message for p in report.problems} and n != choice.notice:
            _notice(n)
    if report.published is not None:
        pub = report.published
        print(f"Chroma サーバー（{shared.server_label(settings)}）に公開: 部分 {pub.parts} 件のうち "
              f"{pub.uploaded} 件を送信" + ("" if pub.changed else "（公開済みの版と同じ）"))
    print(
        f"完了: 資料 {report.documents} 件、チャンク {report.chunks} 件 "
        f"（追加 {report.added} / 更新 {report.updated} / 削除 {report.deleted} / "
        f"変更なし {report.unchanged}、埋め込み {report.embedded} 件、{report.seconds:.1f} 秒、"
        f"埋め込みモデル: {report.embedder}）"
    )
    return 0 if report.documents else 1


def profile_line(f) -> str:
    """「形式: 汎用（…） ／ 事例 7 件: 上越市、芽室町、…」 for one report of an ingest."""
    known = {p.name: p.label for p in registry.registered()}
    kind = known.get(f.profile, f.profile)
    cases = f"事例 {len(f.cases)} 件: {'、'.join(f.cases)}" if f.cases else "事例: 見つかりませんでした"
    return f"形式: {kind} ／ {cases}"


def run_ask(args: argparse.Namespace) -> int:
    """Answer one question (argv) or a JSONL batch. What the user gave (question, files,
    filters) is checked before anything is written."""
    settings = _settings(args)
    filters = Filters(point=args.point, municipality=args.municipality, column=args.column)
    if args.jsonl:
        return _run_batch(args, settings, filters)
    if args.out:
        print("エラー: --out は --jsonl（質問の一括回答）と一緒に指定してください。", file=sys.stderr)
        return 2
    if args.question is None:
        print("質問を指定してください（例: python -m tsunagari ask \"福祉以外の部署を巻き込むには？\"）",
              file=sys.stderr)
        return 2
    question = validate_question(args.question, settings.max_question_chars)
    service = _open(settings, filters)
    ans = service.answerer.ask(question, None, filters, args.k)
    for n in ans.notices:
        if n not in service.notices:
            _notice(n)
    if args.json:
        print(json.dumps(answer_to_dict(ans), ensure_ascii=False, indent=2))
    else:
        print(answer_markdown(ans))
    return 0


def _run_batch(args: argparse.Namespace, settings, filters: Filters) -> int:
    source = Path(args.jsonl)
    rows = list(_jsonl_rows(source))
    target = _output_target(source, args.out) if args.out else None
    with _output(target, args.out) as out:
        service = _open(settings, filters)
        _ask_jsonl(service, rows, out, filters, args.k)
    return 0


def _open(settings, filters: Filters):
    """The answering service, once the filters are known to match some indexed passage."""
    from tsunagari.service import open_service  # numpy, LangChain: see the docstring

    service = open_service(settings)
    for n in service.notices:
        _notice(n)
    check_filters(filters, service.retriever.chunks)
    return service


def _os_reason(exc: OSError) -> str:
    """A Japanese reason for a file error (no server paths, no English OS text)."""
    return {
        errno.EACCES: "書き込み・読み込みの権限がありません",
        errno.EPERM: "書き込み・読み込みの権限がありません",
        errno.ENOENT: "ファイルかフォルダがありません",
        errno.ENOTDIR: "途中にフォルダでないものがあります",
        errno.EISDIR: "フォルダです",
        errno.EROFS: "読み取り専用の場所です",
        errno.ENOSPC: "ディスクの空きがありません",
        errno.EDQUOT: "ディスクの割り当てを超えました",
        errno.ENAMETOOLONG: "名前が長すぎます",
        errno.EPIPE: "出力先が閉じられました",
    }.get(exc.errno, "入出力のエラーです")


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict | None, str]]:
    """(line number, item or None, error) for each non-blank line of a questions file.

    The file is read whole first, so an unreadable file is refused before anything else.
    """
    try:
        # utf-8-sig: a file saved by Windows Notepad starts with a BOM.
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InputError(f"質問ファイル {path} を読めません（{_os_reason(exc)}）。") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"質問ファイル {path} は UTF-8 ではありません。") from exc
    return _parse_rows(lines)


def _parse_rows(lines: list[str]) -> Iterator[tuple[int, dict | None, str]]:
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


def _output_target(source: Path, out: str) -> Path:
    """The file that --out will replace, or an InputError naming the path the user gave.

    Refuses the questions file itself (by any path, symlink or hard link), folders, missing
    folders and over-long names; a symlink is written through, as `open(out, "w")` would.
    """
    given = Path(out)
    try:
        name_max = os.pathconf(given.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if len(os.fsencode(given.name)) > name_max:
        raise InputError(f"出力先 {out} はファイル名が長すぎます。短い名前にしてください。")
    with _writing(out):
        if given.is_dir():
            raise InputError(f"出力先 {out} はフォルダです。ファイル名を指定してください。")
        if given.exists() and not given.is_file():
            return given  # /dev/stdout, /dev/null, a pipe: written directly
        target = Path(os.path.realpath(given))
        if not target.parent.is_dir():
            raise InputError(f"出力先 {out} のフォルダ {given.parent} がありません。先に作成してください。")
        if target.is_file() and os.path.samefile(target, source):
            raise InputError(
                f"出力先 {out} は質問ファイル {source} と同じファイルです。"
                "質問ファイルを上書きしないよう、別のファイル名を指定してください。")
    return target


@contextmanager
def _output(target: Path | None, shown: str | None) -> Iterator[IO[str]]:
    """Standard output, or a temp file next to `target` that replaces it only when the
    whole batch is written: an interrupted run leaves the previous file as it was."""
    if target is None:
        yield sys.stdout
        return
    if target.exists() and not target.is_file():
        with _writing(shown):
            f = open(target, "w", encoding="utf-8")  # noqa: SIM115 - closed just below
        with f:
            yield f
        return
    with _writing(shown):
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tsunagari-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        with _writing(shown):
            os.chmod(tmp, _file_mode(target))
            os.replace(tmp, target)
    except BaseException:  # a failed or interrupted batch: the old output stays as it was
        with suppress(OSError):
            os.unlink(tmp)
        raise


@contextmanager
def _writing(shown: str | None) -> Iterator[None]:
    """OSError → InputError naming the output path the user gave (no English OS text)."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"出力先 {shown} に書き込めません（{_os_reason(exc)}）。") from exc


def _file_mode(target: Path) -> int:
    """The permissions the output should have: the old file's, or the umask default."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _json_line(row: dict) -> str:
    # Defence in depth: lone surrogates would make the UTF-8 write fail mid-batch.
    return remove_surrogates(json.dumps(row, ensure_ascii=False)) + "\n"


def _ask_jsonl(service, rows, out: IO[str], filters: Filters, k: int | None) -> None:
    """Answer every row; a bad row becomes a row with a Japanese `error`, the rest go on."""
    max_chars = service.settings.max_question_chars
    for line_no, item, error in rows:
        start = time.perf_counter()
        question = (item or {}).get("question", "")
        row: dict = {}
        if not error:
            try:
                q = validate_question(question, max_chars)
                ans = service.answerer.ask(q, clean_history(item.get("history")), filters, k)
                row = answer_to_dict(ans)
            except TsunagariError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - one row must not stop the batch
                error = f"この質問の処理中に予期しないエラーが起きました（{type(exc).__name__}）。"
        if error:
            row = {"question": question if isinstance(question, str) else "", "error": error}
        row["id"] = (item or {}).get("id", line_no)
        row["latency_ms"] = round((time.perf_counter() - start) * 1000, 1)
        out.write(_json_line(row))
        out.flush()


def run_playbook(args: argparse.Namespace) -> int:
    """Build the 手引き for a profile (flags over a TOML file) and print Markdown or JSON."""
    fields = read_profile_file(args.profile) if args.profile else {}
    for name in Profile.__dataclass_fields__:
        if getattr(args, name, None) is not None:
            fields[name] = getattr(args, name)
    profile = Profile.from_mapping(fields)
    if args.docx and args.docx.suffix.lower() != ".docx":
        print("エラー: --docx には .docx で終わるファイル名を指定してください。", file=sys.stderr)
        return 2
    service = _open(_settings(args), Filters())
    # numpy and python-docx behind these: imported once the profile is known to be valid.
    from tsunagari.playbook.memo import build_memo
    from tsunagari.playbook.render import memo_docx, memo_markdown, memo_to_dict

    memo = build_memo(service.retriever, profile)
    for n in memo.notices:
        _notice(n)
    if args.docx:
        args.docx.write_bytes(memo_docx(memo))
        _notice(f"Word の手引きを {args.docx} に書き出しました。")
    if args.json:
        print(json.dumps(memo_to_dict(memo), ensure_ascii=False, indent=2))
    else:
        print(memo_markdown(memo))
    return 0


def run_status(args: argparse.Namespace) -> int:
    """The index as it is on disk: a damaged chunk store is reported, never the manifest's count."""
    settings = _settings(args)
    synced = shared.sync(settings)
    manifest = read_manifest(settings)
    health = store_health(settings)
    if health.state == "missing":
        where = (f"Chroma サーバー（{shared.server_label(settings)}）にも" if settings.chroma_host
                 else "")
        print(f"索引はまだ{where}ありません。`python -m ingest` で作成してください。")
        return 1
    for line in (shared.origin_line(settings), shared.drift_notice(settings, synced)):
        if line:
            print(line)
    if not health.ok:
        print(health.message())
        return 1
    embedders = ", ".join(manifest.embedders) if manifest else "不明"
    print(f"最終更新: {manifest.refreshed_at if manifest else '不明'}　"
          f"チャンク: {health.readable} 件　埋め込み: {embedders or 'なし（BM25のみ）'}")
    if manifest is None:
        print("manifest.json がないか読めないため、資料の一覧はありません"
              "（`python -m ingest` で作り直せます）。")
    cases = _cases_by_report(settings) if manifest else {}
    for d in manifest.documents if manifest else []:
        print(f"- {d['title']}（{d['path']}、{d['chunks']} チャンク）")
        names = cases.get(d.get("doc_id", ""), [])
        print(f"  事例 {len(names)} 件: {'、'.join(names)}" if names else "  事例: 認識されていません")
    return 0


def _cases_by_report(settings) -> dict[str, list[str]]:
    """The cases and columns each indexed report presents (doc_id → names, in report order)."""
    from tsunagari.indexing.catalogue import build_catalogue
    from tsunagari.indexing.store import data_paths, load_chunks

    catalogue = build_catalogue(load_chunks(data_paths(settings)["chunks"]))
    return {doc: [e.key for e in catalogue.of_report(doc)] for doc in catalogue.doc_ids}


def run_admin(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.admin_command == "server-flags":
        # Streamlit's maxUploadSize is whole MB: rounded down, so no upload passes the corpus
        # limit (at least 1 MB).
        cap = max(1, math.floor(settings.max_file_mb))
        print(f"--server.address {settings.server_address} --server.maxUploadSize {cap}")
        return 0
    path = args.file or settings.password_path()
    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("保守担当者パスワード: ")
        auth.check_new_password(password)
        if getpass.getpass("もう一度入力してください: ") != password:
            print("エラー: 2 回の入力が一致しません。パスワードは変更していません。", file=sys.stderr)
            return 1
    record = auth.hash_password(password)
    auth.write_password_record(path, record)
    print(f"保守担当者パスワードを設定しました（scrypt のハッシュのみを {path} に保存）。"
          "サインイン中の保守担当者は、もう一度サインインが必要です。")
    if args.file and settings.maintainer_password_file != args.file \
            and settings.password_path() != args.file:
        _notice(f"アプリがこのファイルを使うよう TSUNAGARI_MAINTAINER_PASSWORD_FILE={path} を"
                "設定してください。")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        commands = {"ask": run_ask, "ingest": run_ingest, "status": run_status,
                    "playbook": run_playbook, "admin": run_admin}
        return commands[args.command](args)
    except TsunagariError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a disk full or a closed pipe mid-way: no traceback
        print(f"エラー: ファイルの読み書きに失敗しました（{_os_reason(exc)}）。", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("中断しました。", file=sys.stderr)
        return 130
