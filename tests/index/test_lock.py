"""The index's writer lock (filelock): one writer at a time, a bounded wait that is told once,
and a holder killed with SIGKILL never leaves the index locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from index.lock import index_lock
from ragchat.errors import IndexLockedError

ROOT = Path(__file__).resolve().parents[2]


def _holder(index_dir: Path, seconds: float = 60) -> subprocess.Popen[str]:
    """Another process that holds the lock for ``seconds`` (it prints "locked" first)."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from index.lock import index_lock
        with index_lock(Path({str(index_dir)!r})):
            print("locked", flush=True)
            time.sleep({seconds})
        print("released", flush=True)
    """)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_holder_killed_with_sigkill_leaves_the_index_free(tmp_path: Path):
    holder = _holder(tmp_path / "index")
    with pytest.raises(IndexLockedError, match=f"process {holder.pid}"):
        with index_lock(tmp_path / "index"):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with index_lock(tmp_path / "index"):  # at once: no wait, no stale lock file to clean
        assert (tmp_path / "index" / ".lock.holder").read_text() == str(os.getpid())


def test_a_waiter_is_told_once_with_the_pid_and_gives_up_after_its_wait(tmp_path: Path):
    holder = _holder(tmp_path / "index")
    told: list[str] = []
    started = time.monotonic()
    try:
        with pytest.raises(IndexLockedError, match=rf"process {holder.pid} \(waited 0.5 s\)"):
            with index_lock(tmp_path / "index", wait=0.5, on_wait=told.append):
                pass
        assert time.monotonic() - started >= 0.5  # it did wait, and then gave up
        assert told == [str(holder.pid)]
    finally:
        holder.kill()
        holder.wait()


def test_a_waiter_takes_the_lock_when_the_holder_finishes(tmp_path: Path):
    holder = _holder(tmp_path / "index", seconds=1)
    told: list[str] = []
    try:
        with index_lock(tmp_path / "index", wait=60, on_wait=told.append):
            assert holder.stdout.readline().strip() == "released"  # it had to let go first
        assert told == [str(holder.pid)]  # the waiter was told once, however many times it tried
    finally:
        holder.wait()


def test_the_lock_is_free_again_after_the_block(tmp_path: Path):
    with index_lock(tmp_path / "index"):
        pass
    with index_lock(tmp_path / "index"):
        pass


def test_the_lock_imports_without_fcntl():
    """Windows has no ``fcntl``: the writer lock must not need it (reader leases still do)."""
    code = "import sys; sys.modules['fcntl'] = None; import index.lock; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
