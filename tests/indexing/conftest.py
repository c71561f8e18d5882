"""A real Chroma server (`chroma run` on localhost), started and stopped by the tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMA = Path(sys.executable).with_name("chroma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_chroma(workdir: Path) -> Iterator[int]:
    """Start `chroma run` with its store under `workdir`; yields the port; stops it on exit."""
    if not CHROMA.exists() and not shutil.which("chroma"):
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    log_path = workdir / "chroma.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([str(CHROMA if CHROMA.exists() else "chroma"), "run", "--path",
                             str(workdir / "server-data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(log_path.read_text())
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture()
def chroma_server(tmp_path) -> Iterator[int]:
    """A fresh Chroma server for one test; yields its port."""
    with running_chroma(tmp_path) as port:
        yield port


@pytest.fixture(scope="module")
def module_chroma_server(tmp_path_factory) -> Iterator[int]:
    """One Chroma server for a test module (tests use their own collections); yields its port."""
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as port:
        yield port
