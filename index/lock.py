"""A lock file, so that two processes never change one index at once."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ragchat.errors import IndexLockedError


@contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock, or raise :class:`IndexLockedError` at once.

    The lock is an ``flock`` on ``<index_dir>/.lock``: the kernel drops it when
    the holder dies, so a crashed reindex never leaves the index locked.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise IndexLockedError(
                f"the index at {index_dir} is being changed by process {holder}; "
                "wait for it to finish and try again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
