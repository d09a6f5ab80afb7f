"""The wheel is the app: built from a copy of the repository, installed with its dependencies in a
fresh virtualenv, ``ragchat ask`` run from another folder answers from the bundled report that the
wheel carries (ragchat/_bundled/corpus), with nothing of the repository on the path.

About 2 to 4 minutes on 2 cores with pip's cache warm (most of it installing the dependencies).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ragchat.paths import BUNDLED_REPORT

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "肉牛养殖量达到多少?"
FIGURE = "131.7万头"
NOT_SHIPPED = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".ragchat", ".pytest_cache",
               "tests", "docs")


def _clean_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH (it would put the repository on the path) and none of the caller's settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("RAGCHAT_")}
    return {**env, **extra}


def _run(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 1800) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args[:4]} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_installed_wheel_answers_from_its_bundled_report(tmp_path: Path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    env = _clean_env()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path / "dist", source], tmp_path, env)
    (wheel,) = (tmp_path / "dist").glob("ragchat-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"ragchat/_bundled/corpus/{BUNDLED_REPORT}" in names
    assert {"prompts/answer_zh.txt", "chat/models/manifest.json", "chat/models/selector.txt"} <= set(names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp_path, env)
    python, ragchat = venv / "bin" / "python", venv / "bin" / "ragchat"
    _run([python, "-m", "pip", "install", "--quiet", wheel], tmp_path, env)

    elsewhere, home = tmp_path / "elsewhere", tmp_path / "home"
    elsewhere.mkdir()
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    run_env = _clean_env(RAGCHAT_HOME=str(home), RAGCHAT_CONFIG=str(config))
    where = _run([python, "-c", "import ragchat, ragchat.paths; print(ragchat.__file__); "
                  "print(ragchat.paths.bundled_report())"], elsewhere, run_env).split("\n")
    assert Path(where[0]).resolve().is_relative_to(venv.resolve())  # the wheel's code, not the repository's
    assert Path(where[1]).resolve() == (Path(where[0]).resolve().parent / "_bundled" / "corpus" / BUNDLED_REPORT)

    answer = json.loads(_run([ragchat, "ask", QUESTION, "--json"], elsewhere, run_env))
    assert FIGURE in answer["answer"]
    assert answer["citations"] and all(Path(c["source"]).name == BUNDLED_REPORT for c in answer["citations"])
    assert any(FIGURE in c["quote"] for c in answer["citations"])
