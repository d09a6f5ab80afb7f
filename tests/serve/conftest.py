"""The served app: ``ragchat serve`` in a subprocess on a free loopback port, with a home whose
index is built once per session (the bundled report). Tests talk to it with real clients."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ragchat.net import free_loopback_port

STARTUP_TIMEOUT_S = 600.0  # the first start builds the index (about 15 s on a quiet machine)
QUESTION = "肉牛养殖量达到多少?"
FIGURE = "131.7万头"


@dataclass
class Server:
    url: str
    home: Path
    env: dict[str, str]
    proc: subprocess.Popen
    log: Path

    @property
    def api(self) -> str:
        return self.url + "/v1"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def home_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a ragchat process on ``home``, without the caller's RAGCHAT_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCHAT_")}
    empty = home / "empty.toml"
    empty.write_text("", encoding="utf-8")
    env.update(RAGCHAT_HOME=str(home), RAGCHAT_CONFIG=str(empty), **extra)
    return env


def start_server(home: Path, *args: str, ready: bool = True, **env: str) -> Server:
    """``ragchat serve`` on ``home``; waits until /healthz answers (and /readyz, with ``ready``)."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_loopback_port()
    log = home / f"serve-{port}.log"
    environment = home_env(home, **env)
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ragchat", "serve", "--port", str(port), *args],
                                stdout=out, stderr=subprocess.STDOUT, env=environment)
    server = Server(f"http://127.0.0.1:{port}", home, environment, proc, log)
    wait_for(server, "/readyz" if ready else "/healthz")
    return server


def wait_for(server: Server, path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"the server exited with {server.proc.returncode}:\n{server.log_text()[-4000:]}")
        try:
            if httpx.get(server.url + path, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{path} did not answer 200 in {STARTUP_TIMEOUT_S:g} s:\n{server.log_text()[-4000:]}")


@pytest.fixture(scope="session")
def serve_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-home")


@pytest.fixture(scope="session")
def server(serve_home: Path) -> Iterator[Server]:
    """The server without tokens (loopback); its first start builds the index of the bundled report."""
    running = start_server(serve_home)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def token_server(server: Server) -> Iterator[Server]:
    """A second server on the same home (the index is built) whose /v1 needs a bearer token."""
    running = start_server(server.home, RAGCHAT_SERVE__TOKENS='["s3cret-token", "other-token"]')
    try:
        yield running
    finally:
        running.stop()
