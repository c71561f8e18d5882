"""The refresh lock with real lock files and real processes: a lock left by another host or long
ago is never cleared silently; `python -m ingest --break-lock` clears only stale locks."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsunagari.config import load_settings
from tsunagari.errors import IndexBusyError
from tsunagari.indexing.lock import Holder, IndexLock, break_stale_lock, process_start_time
from tsunagari.indexing.store import data_paths
from tsunagari.service import ingest

ROOT = Path(__file__).resolve().parents[2]
HOURS = 3600


@pytest.fixture()
def settings(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
                                     encoding="utf-8")
    s = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="none")
    data_paths(s)["dir"].mkdir(parents=True)
    return s


def _break_lock(settings, *extra_env) -> subprocess.CompletedProcess:
    env = {**os.environ, "TSUNAGARI_DATA_DIR": str(settings.data_dir),
           "TSUNAGARI_CORPUS_DIR": str(settings.corpus_dir), **dict(extra_env)}
    return subprocess.run([sys.executable, "-m", "ingest", "--break-lock"], cwd=ROOT, env=env,
                          text=True, capture_output=True, timeout=120, check=False)


def _since(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(time.time() - seconds_ago))


@pytest.fixture()
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _hold_lock(path: Path) -> subprocess.Popen:
    """A real process that takes the lock as ingest does and keeps it."""
    code = ("import sys, time; from tsunagari.indexing.lock import IndexLock; "
            "lock = IndexLock(sys.argv[1]).__enter__(); print('held', flush=True); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_local_lock_is_never_broken(settings):
    lock = data_paths(settings)["lock"]
    holder = _hold_lock(lock)
    try:
        held = lock.read_text()
        assert held.split()[:3] == [str(holder.pid), process_start_time(holder.pid),
                                    socket.gethostname()]
        with pytest.raises(IndexBusyError) as exc:
            ingest(settings)
        assert "実行中" in str(exc.value) and str(holder.pid) in str(exc.value)
        assert "--break-lock" not in str(exc.value)  # it would not help: the owner is alive

        res = _break_lock(settings)
        assert res.returncode == 1, res.stdout + res.stderr
        assert "解除していません" in res.stdout and str(holder.pid) in res.stdout
        assert "Traceback" not in res.stderr
        assert lock.read_text() == held

        # Even when it is older than the limit: the owner is provably alive.
        old = held.split()[:3] + [str(int(time.time() - 7 * HOURS))]
        lock.write_text(" ".join(old) + "\n")
        result = break_stale_lock(lock, max_age=6 * HOURS)
        assert not result.removed and result.holder.pid == holder.pid
        assert lock.read_text().split()[0] == str(holder.pid)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    # The owner was killed: the lock is stale and --break-lock says what it removed.
    res = _break_lock(settings)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "解除しました" in res.stdout and str(holder.pid) in res.stdout
    assert "終了" in res.stdout
    assert lock.read_text() == ""
    assert ingest(settings).documents == 1


def test_a_lock_from_another_host_is_refused_with_the_way_out(settings):
    lock = data_paths(settings)["lock"]
    since = time.time() - 3 * 24 * HOURS
    text = f"4242 987654 build-server-01 {int(since)}\n"
    lock.write_text(text)

    for _ in range(2):  # refused every time, never cleared silently
        with pytest.raises(IndexBusyError) as exc:
            ingest(settings)
        message = str(exc.value)
        assert "build-server-01" in message and "4242" in message
        assert time.strftime("%Y-%m-%d %H:%M", time.localtime(since)) in message
        assert "python -m ingest --break-lock" in message
        assert lock.read_text() == text
    assert not data_paths(settings)["chunks"].exists()

    res = _break_lock(settings)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "解除しました" in res.stdout
    assert "build-server-01" in res.stdout and "4242" in res.stdout
    assert lock.read_text() == ""
    report = ingest(settings)
    assert report.documents == 1
    assert not any("途中で終了" in n for n in report.notices)

    res = _break_lock(settings)  # nothing left to remove
    assert res.returncode == 0 and "ロックはありません" in res.stdout


def test_an_old_lock_whose_owner_cannot_be_verified_is_stale(settings, sleeper):
    """A live pid without a recorded start time may be a reused pid: older than the limit, the
    lock is stale (refused with the way out); younger, it counts as running."""
    lock = data_paths(settings)["lock"]
    me = socket.gethostname()
    young = f"{sleeper.pid} - {me} {int(time.time() - 60)}\n"
    lock.write_text(young)
    with pytest.raises(IndexBusyError) as exc:
        ingest(settings)
    assert "実行中" in str(exc.value)
    res = _break_lock(settings)
    assert res.returncode == 1 and lock.read_text() == young

    # The same lock, 7 hours old: stale under the default limit of 6 hours.
    old = f"{sleeper.pid} - {me} {int(time.time() - 7 * HOURS)}\n"
    lock.write_text(old)
    with pytest.raises(IndexBusyError) as exc:
        ingest(settings)
    assert "python -m ingest --break-lock" in str(exc.value) and _since(7 * HOURS) in str(exc.value)
    assert lock.read_text() == old
    # The limit is a setting: with 8 hours, the lock still counts as running.
    res = _break_lock(settings, ("TSUNAGARI_LOCK_MAX_AGE_HOURS", "8"))
    assert res.returncode == 1 and lock.read_text() == old
    res = _break_lock(settings)
    assert res.returncode == 0 and "解除しました" in res.stdout and "6 時間" in res.stdout
    assert lock.read_text() == ""


def test_an_old_format_lock_is_dated_by_the_file(settings, sleeper):
    """Locks written before the start field (`pid start host`) are dated by the file's mtime."""
    lock = data_paths(settings)["lock"]
    lock.write_text(f"{sleeper.pid} - -\n")
    stamp = time.time() - 10 * HOURS
    os.utime(lock, (stamp, stamp))
    holder = Holder.parse(lock.read_text())
    assert holder is not None and holder.since == 0
    with pytest.raises(IndexBusyError) as exc:
        ingest(settings)
    assert "--break-lock" in str(exc.value) and _since(10 * HOURS) in str(exc.value)
    result = break_stale_lock(lock, max_age=6 * HOURS)
    assert result.removed and lock.read_text() == ""


def test_a_lock_from_another_host_is_shown_without_terminal_codes(settings):
    lock = data_paths(settings)["lock"]
    lock.write_bytes(b"77 1 evil\x1b[2J\x1b]0;pwned\x07host 1700000000\n")
    with pytest.raises(IndexBusyError) as exc:
        ingest(settings)
    assert "\x1b" not in str(exc.value) and "\x07" not in str(exc.value)
    assert "77" in str(exc.value)


def test_finished_runs_leave_no_lock_behind(settings):
    lock = data_paths(settings)["lock"]
    with IndexLock(lock) as held:
        assert not held.interrupted
        assert Holder.parse(lock.read_text()).pid == os.getpid()
    assert lock.read_text() == ""
    result = break_stale_lock(lock, max_age=6 * HOURS)
    assert not result.removed and result.holder is None
