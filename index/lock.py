"""A lock file, so that two processes never change one index at once.

The lock is :mod:`filelock`'s: an ``flock`` on POSIX, ``msvcrt.locking`` on Windows. Either way
the operating system drops it when the holder dies, so a crashed reindex never leaves the index
locked. The holder's pid is written next to it, in ``.lock.holder``, only to tell a waiting
process who it waits for (a Windows lock cannot be read while it is held).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from ragchat.errors import IndexLockedError

POLL_S = 0.1
LOCK_FILE = ".lock"
HOLDER_FILE = ".lock.holder"


@contextmanager
def index_lock(index_dir: Path, wait: float = 0.0, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index's writer lock, waiting at most ``wait`` seconds for it, or raise
    :class:`IndexLockedError`. ``on_wait`` is told once, with the holder's pid, when it must wait."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_dir / LOCK_FILE)
    _take(lock, index_dir, wait, on_wait)
    try:
        (index_dir / HOLDER_FILE).write_text(str(os.getpid()), encoding="ascii")
        yield
    finally:
        lock.release()


def _take(lock: FileLock, index_dir: Path, wait: float, on_wait: Callable[[str], None] | None) -> None:
    """One try every :data:`POLL_S` seconds until ``wait`` has passed (never blocks for ever)."""
    deadline = time.monotonic() + max(0.0, wait)
    told = False
    while True:
        try:
            lock.acquire(blocking=False)
            return
        except Timeout:
            holder = _holder(index_dir)
            if time.monotonic() >= deadline:
                waited = f" (waited {wait:g} s)" if wait > 0 else ""
                raise IndexLockedError(
                    f"the index at {index_dir} is being changed by process {holder}{waited}; "
                    "wait for it to finish and try again"
                ) from None
            if on_wait is not None and not told:
                on_wait(holder)
                told = True
            time.sleep(POLL_S)


def _holder(index_dir: Path) -> str:
    try:
        return (index_dir / HOLDER_FILE).read_text(encoding="ascii", errors="replace").strip() or "another process"
    except OSError:
        return "another process"
