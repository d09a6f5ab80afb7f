"""The index writers' lock across machines (index.shared_lock) on a real PostgreSQL server.

"Another machine" is another process whose index folder (and so its local lock file) differs:
only the shared lock stands between the two writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index.models import embeddings_from_settings
from index.shared_lock import conninfo, lock_key, shared_writer_lock
from index.update import update_index, writer_locks
from ragchat.errors import ConfigError, IndexBackendUnavailableError, IndexLockedError
from ragchat.kbs import knowledge_base_name
from ragchat.net import free_loopback_port
from ragchat.settings import load_settings

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from pathlib import Path
from index.shared_lock import shared_writer_lock
with shared_writer_lock(sys.argv[1], sys.argv[2]):
    Path(sys.argv[3]).write_text("held")
    while not Path(sys.argv[4]).exists():
        time.sleep(0.05)
"""


class Holder:
    """Another machine's writer: a process holding the lock of ``name`` until told to let go."""

    def __init__(self, url: str, name: str, folder: Path) -> None:
        self.held, self.done = folder / f"{name}.held", folder / f"{name}.done"
        self.process = subprocess.Popen([sys.executable, "-c", HOLDER, url, name, str(self.held), str(self.done)],
                                        cwd=ROOT)
        deadline = time.monotonic() + 60
        while not self.held.exists():
            assert self.process.poll() is None, "the holder died"
            assert time.monotonic() < deadline, "the holder never took the lock"
            time.sleep(0.05)

    def release(self) -> None:
        self.done.write_text("go")
        self.process.wait(timeout=30)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_a_second_writer_is_refused_while_another_machine_holds_the_lock(postgres_url, tmp_path):
    holder = Holder(postgres_url, "reports", tmp_path)
    try:
        with pytest.raises(IndexLockedError, match=rf"reports is being changed by ragchat-writer .*:{holder.process.pid}"):
            with shared_writer_lock(_plain(postgres_url), "reports"):
                pass
        with shared_writer_lock(postgres_url, "other-kb"):  # another knowledge base: not held
            pass
    finally:
        holder.release()
    with shared_writer_lock(postgres_url, "reports"):  # let go: free
        pass


def test_a_waiting_writer_is_told_the_holder_and_gets_the_lock_when_it_is_let_go(postgres_url, tmp_path):
    holder = Holder(postgres_url, "reports", tmp_path)
    told: list[str] = []
    started = time.monotonic()
    threading.Timer(1.0, holder.release).start()
    with shared_writer_lock(postgres_url, "reports", wait=60, on_wait=told.append) as lock:
        lock.check()
    assert time.monotonic() - started >= 0.9
    assert len(told) == 1 and f":{holder.process.pid}" in told[0]


def test_a_killed_holder_never_leaves_the_lock_held(postgres_url, tmp_path):
    holder = Holder(postgres_url, "reports", tmp_path)
    holder.kill()  # no clean-up ran: PostgreSQL ends the session and drops its locks
    with shared_writer_lock(postgres_url, "reports", wait=30) as lock:
        lock.check()


def test_a_writer_whose_session_was_ended_knows_it_lost_the_lock(postgres_url):
    import psycopg

    with shared_writer_lock(postgres_url, "reports") as lock:
        lock.check()
        pid = lock.connection.info.backend_pid
        with psycopg.connect(conninfo(postgres_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(IndexLockedError, match="lost the index writers' lock"):
            lock.check()


def test_update_index_takes_the_shared_lock(postgres_url, tmp_path, report_path):
    """Two index folders of one knowledge base (two machines' local locks): the second update waits
    for the first machine's writer, then runs."""
    settings = load_settings(home=tmp_path / "home")
    settings = settings.model_copy(update={"index": settings.index.model_copy(
        update={"writer_lock_url": postgres_url, "dir": tmp_path / "machine-b" / "reports" / "index"})})
    assert knowledge_base_name(settings.index_dir) == "reports"
    holder = Holder(postgres_url, "reports", tmp_path)
    try:
        with pytest.raises(IndexLockedError, match="being changed by ragchat-writer"):
            update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=[report_path])
        assert not (settings.index_dir / "CURRENT").exists()  # nothing was written
    finally:
        holder.release()
    done = update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=[report_path])
    assert len(done.added) == 1


def test_without_a_url_only_the_local_lock_is_taken(tmp_path):
    settings = load_settings(home=tmp_path)
    with writer_locks(settings.index_dir, settings) as shared:
        assert shared is None


def test_bad_urls_and_unreachable_servers_are_typed_errors():
    with pytest.raises(ConfigError, match="PostgreSQL URL"):
        conninfo("sqlite:///x.db")
    with pytest.raises(ConfigError, match="not a database URL"):
        conninfo("not a url")
    port = free_loopback_port()
    with pytest.raises(IndexBackendUnavailableError, match="cannot be reached") as raised:
        with shared_writer_lock(f"postgresql://ragchat:secret@127.0.0.1:{port}/ragchat", "reports"):
            pass
    assert "secret" not in str(raised.value)


def test_lock_keys_are_stable_and_per_knowledge_base():
    assert lock_key("reports") == lock_key("reports") != lock_key("reports2")
    assert -(1 << 63) <= lock_key("报告") < (1 << 63)
