"""A lock file, so that two processes never change one index at once."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ragchat.errors import IndexLockedError

POLL_S = 0.1


@contextmanager
def index_lock(index_dir: Path, wait: float = 0.0, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index's writer lock, waiting at most ``wait`` seconds for it, or raise
    :class:`IndexLockedError`. ``on_wait`` is told once, with the holder's pid, when it must wait.

    The lock is an ``flock`` on ``<index_dir>/.lock``: the kernel drops it when
    the holder dies, so a crashed reindex never leaves the index locked.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
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
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
