"""`python -m ingest [--corpus DIR]`: (re)build the index from corpus/.

`python -m ingest --break-lock` removes a stale refresh lock (left by another host, by a process
that is gone, or older than TSUNAGARI_LOCK_MAX_AGE_HOURS with an owner that cannot be verified)
and says what it removed; a lock whose owner runs on this machine is never removed.

`python -m ingest --if-missing` (used by `make run`) builds the index only when there is none: in
server mode (CHROMA_HOST) an index already published to the Chroma server is synced instead, so
an app replica with an empty data dir never needs the corpus.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tsunagari.cli import main as cli_main
from tsunagari.config import load_settings
from tsunagari.errors import TsunagariError
from tsunagari.indexing import shared
from tsunagari.indexing.lock import break_stale_lock
from tsunagari.indexing.store import data_paths, store_health

BREAK_LOCK = "--break-lock"
IF_MISSING = "--if-missing"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ingest", add_help=False,
                                description="corpus/ から索引を作成・更新します。")
    p.add_argument("-h", "--help", action="help", help="このヘルプを表示して終了する")
    p.add_argument("--corpus", type=Path, help="資料フォルダ（既定: corpus/）")
    p.add_argument(BREAK_LOCK, action="store_true",
                   help="残った古いロック（別のホスト・終了したプロセス・古すぎるもの）を解除する。"
                   "実行中の更新のロックは解除しない。")
    p.add_argument(IF_MISSING, action="store_true",
                   help="索引がないときだけ作成する。CHROMA_HOST を設定していて Chroma サーバーに"
                   "索引があれば、作成せずにそれを使う。")
    return p


def if_missing(argv: list[str]) -> int:
    """Build the index only when there is none (a published one in Chroma counts)."""
    rest = [a for a in argv if a != IF_MISSING]
    try:
        settings = load_settings()
        result = shared.sync(settings)
    except TsunagariError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 1
    if result.state in ("synced", "manifest", "current"):
        print(f"Chroma サーバー（{shared.server_label(settings)}）の索引を使います"
              "（このマシンでは作成しません）。")
        return 0
    if store_health(settings).state != "missing":
        print("索引はすでにあります（更新するには `python -m ingest`）。")
        return 0
    return cli_main(["ingest", *rest])


def break_lock() -> int:
    """Remove a stale lock and say what was removed (exit 1 when the lock is live)."""
    try:
        settings = load_settings()
    except TsunagariError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 1
    result = break_stale_lock(data_paths(settings)["lock"], settings.lock_max_age_hours * 3600)
    print(result.message())
    return 1 if result.state.verdict == "running" else 0


def main(argv: list[str]) -> int:
    if "-h" in argv or "--help" in argv:
        _parser().print_help()
        return 0
    if BREAK_LOCK in argv:
        _parser().parse_args(argv)  # --corpus is accepted (and not needed)
        return break_lock()
    if IF_MISSING in argv:
        _parser().parse_args(argv)
        return if_missing(argv)
    return cli_main(["ingest", *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
