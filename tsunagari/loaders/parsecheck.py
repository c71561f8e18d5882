"""Read an uploaded file with the loaders in a child process, within a time budget.

A pathological file (100k short Word paragraphs, a PDF with an endless content stream) must not
hold the app's process: the child is killed when the time is up. The child is a fresh
interpreter started with `python -c` (not multiprocessing, which re-imports the caller's
`__main__` — a Streamlit launcher, stdin, a notebook); the file's bytes go in on stdin and one
JSON line comes back on stdout.
"""

from __future__ import annotations

import importlib
import json
import logging
import subprocess
import sys
from collections.abc import Callable

from tsunagari.errors import InputError
from tsunagari.loaders import load_bytes

log = logging.getLogger(__name__)
_CHILD = "import sys; sys.path[:0] = {path!r}; import {module}; {module}.child_main({spec!r})"


def child_main(spec: str) -> None:
    """Entry point of the child: parse stdin with the function `spec` ('module:qualname')."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a parser prints must not corrupt the answer line
    module, _, qualname = spec.partition(":")
    name = sys.stdin.buffer.readline().decode("utf-8").rstrip("\n")
    data = sys.stdin.buffer.read()
    try:
        parse = importlib.import_module(module)
        for part in qualname.split("."):
            parse = getattr(parse, part)
        parse(name, data)
    except InputError as exc:
        result = {"kind": "input", "message": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which logs it
        result = {"kind": "crash", "message": f"{type(exc).__name__}: {exc}"}
    else:
        result = {"kind": "ok", "message": ""}
    out.write(json.dumps(result, ensure_ascii=True).encode("ascii") + b"\n")
    out.flush()


def parse_within(name: str, data: bytes, seconds: float,
                 parse: Callable[[str, bytes], object] = load_bytes) -> None:
    """Check that `parse(name, data)` reads the file within `seconds` (a module-level function,
    by default the loaders); InputError (Japanese, naming the file) when it fails or is too slow.
    `name` must be one line (upload names are: they hold no control characters)."""
    if "\n" in name or "\r" in name:
        raise ValueError("a file name on one line is expected")
    spec = f"{parse.__module__}:{parse.__qualname__}"
    code = _CHILD.format(path=list(sys.path), module=__name__, spec=spec)
    try:
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:  # no memory or processes left for the child
        log.warning("could not start the parser for %s", name, exc_info=exc)
        raise InputError(f"{name} を読み取る処理を開始できませんでした。"
                         "しばらくしてからもう一度試してください。") from exc
    try:
        out, err = child.communicate(name.encode("utf-8") + b"\n" + data, timeout=seconds)
    except subprocess.TimeoutExpired:
        raise InputError(f"{name} の読み取りが {seconds:g} 秒以内に終わらなかったため、"
                         "追加しませんでした。段落や表が極端に多くないか"
                         "確認してください。") from None
    finally:
        if child.poll() is None:  # timed out (or interrupted): never leave the parser running
            child.kill()
            child.communicate()
    try:
        result = json.loads(out.decode("ascii").strip().splitlines()[-1])
    except (ValueError, IndexError, UnicodeDecodeError):  # the child died (memory, a crash)
        result = {"kind": "crash", "message": f"exit {child.returncode}: "
                  f"{err.decode('utf-8', 'replace')[-2000:]}"}
    if result["kind"] == "input":
        raise InputError(result["message"])
    if result["kind"] == "crash":  # an unexpected parser failure: details go to the log only
        log.warning("upload %s could not be read: %s", name, result["message"])
        raise InputError(f"{name} から文字を取り出せませんでした。"
                         "ファイルが壊れていないか確認してください。")
