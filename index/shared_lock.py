"""The writers' lock across machines: a PostgreSQL advisory lock.

The local lock file (:mod:`index.lock`) serialises the writers of one machine. Replicas on several
machines that write to one Milvus server need a lock they all see: with ``index.writer_lock_url``
set, every writer also takes a session-level advisory lock, keyed by the knowledge base's name, on
that PostgreSQL server, and holds it (on a connection of its own) until its update is committed.

- **A crashed writer** never leaves the lock held: PostgreSQL drops a session's advisory locks
  when its connection goes, whether the process exited, was killed, or its machine went away (once
  the server notices the dead connection: TCP keepalives, set here to about a minute).
- **A writer that lost its connection** no longer holds the lock, so it must not commit:
  :meth:`SharedLock.check` raises :class:`IndexLockedError` then; the Milvus commit calls it before
  it writes its first row and again just before it flips the pointer (index/milvus/store.py).
- **A waiting writer** is told who holds the lock: each holder names itself in
  ``application_name`` (``ragchat-writer <host>:<pid>``), which ``pg_stat_activity`` shows.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, Iterator

from ragchat.dburl import safe_url
from ragchat.errors import ConfigError, IndexBackendUnavailableError, IndexLockedError, MissingDependencyError

POLL_S = 0.2
CONNECT_TIMEOUT_S = 10
APPLICATION = "ragchat-writer"


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for the knowledge base ``name`` (signed, as PostgreSQL's bigint)."""
    digest = hashlib.blake2b(f"ragchat-index-writer:{name}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy-style URL (``postgresql+psycopg://...``) or a
    plain one (``postgresql://...``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("index.writer_lock_url is not a database URL; use "
                          "postgresql://user:password@host:5432/dbname") from None
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"index.writer_lock_url must be a PostgreSQL URL, not {parsed.get_backend_name()}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class SharedLock:
    """A held advisory lock and the connection that holds it."""

    def __init__(self, connection: Any, key: int, where: str) -> None:
        self.connection = connection
        self.key = key
        self.where = where

    def check(self) -> None:
        """Raise :class:`IndexLockedError` unless this writer still holds the lock (its connection
        is alive and the server lists the lock as granted to it)."""
        try:
            held = self.connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND classid = %s AND objid = %s AND objsubid = 1 AND granted", _halves(self.key)).fetchone()[0]
        except Exception as exc:  # psycopg.Error and socket errors alike: the session is gone
            raise IndexLockedError(f"lost the index writers' lock at {self.where} ({exc}); nothing was "
                                   "committed by this writer; try again") from None
        if not held:
            raise IndexLockedError(f"lost the index writers' lock at {self.where}; nothing was committed "
                                   "by this writer; try again")

    def holder(self) -> str:
        """Who holds the lock now, as its ``application_name`` says, or "another writer"."""
        try:
            row = self.connection.execute(
                "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 AND l.granted",
                _halves(self.key)).fetchone()
        except Exception:
            return "another writer"
        if not row:
            return "another writer"
        name, addr = row
        return f"{name or 'a client'}" + (f" from {addr}" if addr else "")


def _halves(key: int) -> tuple[int, int]:
    """``pg_locks`` shows a bigint advisory key as two unsigned 32-bit halves (classid, objid)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def _connect(url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise MissingDependencyError("index.writer_lock_url needs psycopg: pip install 'ragchat[postgres]'") from None
    try:
        return psycopg.connect(conninfo(url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name=f"{APPLICATION} {socket.gethostname()}:{os.getpid()}"[:63],
                               keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
    except psycopg.Error as exc:
        raise IndexBackendUnavailableError(
            f"the index writers' lock server {safe_url(url)} cannot be reached: {str(exc).strip()}") from None


def _try(connection: Any, lock: SharedLock) -> bool:
    import psycopg

    try:
        return bool(connection.execute("SELECT pg_try_advisory_lock(%s)", (lock.key,)).fetchone()[0])
    except psycopg.Error as exc:
        raise IndexBackendUnavailableError(f"the index writers' lock server {lock.where} failed: {exc}") from None


@contextmanager
def shared_writer_lock(url: str, name: str, wait: float = 0.0,
                       on_wait: Callable[[str], None] | None = None) -> Iterator[SharedLock]:
    """Hold the advisory lock of knowledge base ``name`` on the PostgreSQL server at ``url``,
    waiting at most ``wait`` seconds for it (one try every :data:`POLL_S`), else raise
    :class:`IndexLockedError`. ``on_wait`` is told the holder once, when it must wait."""
    connection = _connect(url)
    lock = SharedLock(connection, lock_key(name), safe_url(url))
    try:
        deadline = time.monotonic() + max(0.0, wait)
        told = False
        while not _try(connection, lock):
            if time.monotonic() >= deadline:
                waited = f" (waited {wait:g} s)" if wait > 0 else ""
                raise IndexLockedError(f"the index {name} is being changed by {lock.holder()}{waited}; "
                                       "wait for it to finish and try again")
            if on_wait is not None and not told:
                on_wait(lock.holder())
                told = True
            time.sleep(POLL_S)
        yield lock
    finally:
        connection.close()  # the session ends: PostgreSQL releases its advisory locks
