"""Shared fixtures. Every test gets its own RAGCHAT home and no stray config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragchat.paths import bundled_report


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
