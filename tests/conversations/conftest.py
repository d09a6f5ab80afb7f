"""The conversation store's databases: SQLite in the test's home, and a real PostgreSQL server.

PostgreSQL: ``$RAGCHAT_TEST_POSTGRES_URL`` when set (a database the tests may empty: they drop its tables), else a throw-away
cluster that this session makes with Debian's ``initdb`` and ``pg_ctl`` in a temporary folder, on
a free loopback port, run as the ``postgres`` user when the tests run as root. Without PostgreSQL
the tests skip with the reason; with ``RAGCHAT_TEST_POSTGRES=required`` (``.ci/run`` sets it) or ``CI`` set they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragchat.net import free_loopback_port

REQUIRED = os.environ.get("RAGCHAT_TEST_POSTGRES", "") == "required" or bool(os.environ.get("CI"))


def _pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's newest, else the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"PostgreSQL is required here (RAGCHAT_TEST_POSTGRES=required): {reason}")
    pytest.skip(reason)


class ThrowAwayCluster:
    """A PostgreSQL cluster in a temporary folder, stopped and removed at the end."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="ragchat-pg-"))
        self.data = self.root / "data"
        self.port = free_loopback_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o700)

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)

    def start(self) -> str:
        done = self._run("initdb", "-D", str(self.data), "-U", "ragchat", "--auth=trust", "-E", "UTF8",
                         "--locale=C.UTF-8")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-2000:]}")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w",
                         "-t", "60", "start")
        if done.returncode != 0:
            log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()[-1000:]}\n{log[-2000:]}")
        done = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "ragchat", "ragchat")
        if done.returncode != 0:
            raise RuntimeError(f"createdb failed: {done.stderr.strip()}")
        return f"postgresql+psycopg://ragchat:unused-password@127.0.0.1:{self.port}/ragchat"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a real PostgreSQL database for this session."""
    given = os.environ.get("RAGCHAT_TEST_POSTGRES_URL", "")
    if given:
        yield given
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("needs psycopg (pip install 'ragchat[postgres]')")
    bin_dir = _pg_bin()
    if bin_dir is None:
        _missing("needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)")
    cluster = ThrowAwayCluster(bin_dir)
    try:
        url = cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        _missing(f"could not start a throw-away PostgreSQL: {exc}")
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> Iterator[str]:
    """Each store test runs on SQLite and on PostgreSQL (on an empty database each time)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'conversations.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    _empty(url)
    yield url
    _empty(url)


def _empty(url: str) -> None:
    from sqlalchemy import create_engine

    from chat.conversations.schema import Base

    engine = create_engine(url)
    try:
        Base.metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def store(store_url):
    from chat.conversations import ConversationStore

    opened = ConversationStore(store_url)
    try:
        yield opened
    finally:
        opened.close()
