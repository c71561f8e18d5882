"""LLM calls with a deadline: blocking calls and streams run in daemon threads."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any


class LLMTimeoutError(TimeoutError):
    """The LLM did not answer within `llm_timeout` seconds."""


def call_with_deadline(fn: Callable[[], Any], timeout: float) -> Any:
    """fn() in a daemon thread; LLMTimeoutError when it takes longer than `timeout` seconds."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, daemon=True, name="tsunagari-llm").start()
    if not done.wait(timeout):
        raise LLMTimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def stream_with_deadline(make_iter: Callable[[], Iterator[Any]], timeout: float) -> Iterator[Any]:
    """Items of make_iter() pumped by a daemon thread; LLMTimeoutError past `timeout` in total."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in make_iter():
                if stop.is_set():
                    return
                q.put(("item", item))
            q.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            q.put(("error", exc))

    threading.Thread(target=pump, daemon=True, name="tsunagari-llm-stream").start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LLMTimeoutError(f"no complete answer within {timeout:g} s")
            try:
                kind, value = q.get(timeout=remaining)
            except queue.Empty:
                raise LLMTimeoutError(f"no complete answer within {timeout:g} s") from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
