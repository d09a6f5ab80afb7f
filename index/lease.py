"""Reader leases: a version in use is never pruned.

A process that loads a version holds a shared ``flock`` on
``<index_dir>/.readers/<version>`` for as long as it reads it (documents'
texts are read lazily, so that is as long as the snapshot lives). A writer
prunes an old version only after taking the same lock exclusively without
waiting; a version held by any reader, in this process or another, is skipped
and pruned by a later write. The kernel drops a dead reader's lock.

A reader that took its lock just after a version was pruned finds the folder
gone and reads ``CURRENT`` again (:func:`index.store.load_snapshot`).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import weakref
from pathlib import Path

READERS = ".readers"


def _lease_path(index_dir: Path, version: str) -> Path:
    return index_dir / READERS / version


class Lease:
    """A shared hold on one version; :meth:`release` (or garbage collection) lets it go."""

    def __init__(self, index_dir: Path, version: str) -> None:
        path = _lease_path(index_dir, version)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a writer is deleting this version
        except BaseException:
            os.close(fd)
            raise
        self.version = version
        self._finalizer = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        self._finalizer()

    @property
    def held(self) -> bool:
        return self._finalizer.alive


def retire(index_dir: Path, version: str) -> bool:
    """Delete ``version`` unless a reader holds it. Returns whether it was deleted."""
    path = _lease_path(index_dir, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(index_dir / version, ignore_errors=True)
        path.unlink(missing_ok=True)  # while still locked: a reader waiting on it then finds the folder gone
        return True
    finally:
        os.close(fd)


def stale_leases(index_dir: Path) -> list[str]:
    """Lease files whose version folder is gone (left by a crash between the two deletions)."""
    folder = index_dir / READERS
    if not folder.is_dir():
        return []
    return [p.name for p in folder.iterdir() if not (index_dir / p.name).is_dir()]
