"""`python -m ingest [--corpus DIR]`: (re)build the index from corpus/.

`python -m ingest --break-lock` removes a stale refresh lock (left by another host, by a process
that is gone, or older than TSUNAGARI_LOCK_MAX_AGE_HOURS with an owner that cannot be verified)
and says what it removed; a lock whose owner runs on this machine is never removed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tsunagari.cli import main as cli_main
from tsunagari.config import load_settings
from tsunagari.errors import TsunagariError
from tsunagari.indexing.lock import break_stale_lock
from tsunagari.indexing.store import data_paths

BREAK_LOCK = "--break-lock"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ingest", add_help=False,
                                description="corpus/ から索引を作成・更新します。")
    p.add_argument("-h", "--help", action="help", help="このヘルプを表示して終了する")
    p.add_argument("--corpus", type=Path, help="資料フォルダ（既定: corpus/）")
    p.add_argument(BREAK_LOCK, action="store_true",
                   help="残った古いロック（別のホスト・終了したプロセス・古すぎるもの）を解除する。"
                   "実行中の更新のロックは解除しない。")
    return p


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
    return cli_main(["ingest", *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
