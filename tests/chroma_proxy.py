"""Test helpers: the authenticating proxy (`tsunagari.indexing.authproxy`) in front of a real
`chroma run`, a self-signed certificate, and a small tmpfs to fill up."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def authproxy(upstream: int, token: str, workdir: Path, certfile: Path | None = None,
              keyfile: Path | None = None) -> Iterator[int]:
    """Run the proxy in its own process (only its own settings in the environment)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGARI_", "CHROMA_"))}
    env["TSUNAGARI_CHROMA_TOKEN"] = token
    if certfile is not None:
        env["TSUNAGARI_CHROMA_PROXY_CERTFILE"] = str(certfile)
        env["TSUNAGARI_CHROMA_PROXY_KEYFILE"] = str(keyfile)
    log = open(workdir / f"proxy-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "tsunagari.indexing.authproxy", "--listen",
                             f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{upstream}"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail((workdir / f"proxy-{port}.log").read_text())
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def self_signed(workdir: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, made with openssl."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def http_status(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "40m") -> Iterator[Path]:
    """A tmpfs of `size` at `path` (a disk that can really fill up); skips when it cannot be
    mounted (not root)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path, leave_kib: int = 32) -> Path:
    """Fill the file system of `path` until about `leave_kib` KiB are left."""
    st = os.statvfs(path)
    free_kib = st.f_bavail * st.f_frsize // 1024
    filler = path / "filler"
    with open(filler, "wb") as f:
        block = b"\1" * (1024 * 1024)
        remaining = max(0, free_kib - leave_kib) * 1024
        while remaining > 0:
            n = f.write(block[:min(len(block), remaining)])
            remaining -= n
    return filler


@contextlib.contextmanager
def chroma_at(path: Path, port: int):
    """`chroma run` with its store at `path` on a given port (so it can be stopped and started
    again where the replicas expect it)."""
    from tsunagari.evaluation.bench_replica import chroma_server

    with chroma_server(path.parent, path=path, port=port) as started:
        if started is None:
            pytest.skip("the chroma CLI is not installed")
        yield started
