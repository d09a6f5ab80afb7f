"""The command line under hostile input (issue 12, items 8, 9, 10 and 12): a bad ``--k``, folders
that are files, undecodable bytes in argv, missing inputs, a missing embedding model. Each gives
one clear line and the right exit code, never a traceback."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragchat.cli.main import EXIT_ERROR, EXIT_PARTIAL, cli
from ragchat.errors import EmbeddingError

pytestmark = pytest.mark.reliability

USAGE = 2  # click's exit code for a bad option


def _ragchat(*args: str | bytes, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ragchat", *args], capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


# --- item 8: k ---------------------------------------------------------------------------------


@pytest.mark.parametrize("k", ["0", "-3", "101", "1.5", "abc", "nan"])
def test_a_bad_k_on_the_command_line_is_the_services_one_line_error(k):
    proc = _ragchat("ask", "--k", k, "规划建设了多少所社区食堂?")
    stderr = proc.stderr.decode()
    assert proc.returncode == USAGE, stderr
    assert "k (passages to retrieve) must be a whole number from 1 to 100" in stderr
    assert "Traceback" not in stderr


# --- item 9: folders that are files --------------------------------------------------------------


COMMANDS = [["ask", "四平"], ["index", "add", "PLACEHOLDER"], ["index", "status"], ["ui"]]


def _cases(tmp: Path) -> dict[str, tuple[dict[str, str | None], str]]:
    """name → (environment, None unsetting a variable; the path the message must name)."""
    blocker = tmp / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    home_with_file = tmp / "home"
    home_with_file.mkdir()
    (home_with_file / "index").write_text("", encoding="utf-8")
    config = tmp / "bad.toml"
    config.write_text(f'[index]\ndir = "{blocker}/sub/index"\n', encoding="utf-8")
    config_home = tmp / "bad-home.toml"
    config_home.write_text(f'home = "{blocker}"\n', encoding="utf-8")
    return {
        "home is a file": ({"RAGCHAT_HOME": str(blocker)}, str(blocker)),
        "home under a file": ({"RAGCHAT_HOME": str(blocker / "sub")}, str(blocker)),
        "index dir is a file": ({"RAGCHAT_INDEX__DIR": str(blocker)}, str(blocker)),
        "index dir under a file": ({"RAGCHAT_INDEX__DIR": str(blocker / "x" / "y")}, str(blocker)),
        "<home>/index is a file": ({"RAGCHAT_HOME": str(home_with_file)}, str(home_with_file / "index")),
        "documents dir under a file": ({"RAGCHAT_UI__DOCUMENTS_DIR": str(blocker / "docs")}, str(blocker)),
        "index dir in the config file": ({"RAGCHAT_CONFIG": str(config)}, str(blocker)),
        "home in the config file": ({"RAGCHAT_CONFIG": str(config_home), "RAGCHAT_HOME": None}, str(blocker)),
    }


def test_a_folder_that_is_or_sits_under_a_file_is_one_line_for_every_command(tmp_path, report_path):
    for name, (env, named) in _cases(tmp_path).items():
        for command in COMMANDS:
            args = [str(report_path) if a == "PLACEHOLDER" else a for a in command]
            result = CliRunner().invoke(cli, args, env=env)
            where = f"{name}: ragchat {' '.join(command)}"
            assert result.exit_code == EXIT_ERROR, (where, result.output, result.exception)
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: invalid settings: the folder "), (where, lines)
            assert named in lines[0] and "is a file" in lines[0], (where, lines)
            assert " set " in lines[0], (where, lines)  # what to do


def test_a_folder_under_a_file_in_a_real_process(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    config = tmp_path / "bad.toml"
    config.write_text(f'[index]\ndir = "{blocker}/index"\n', encoding="utf-8")
    for env in ({"RAGCHAT_INDEX__DIR": str(blocker / "index")}, {"RAGCHAT_CONFIG": str(config)}):
        proc = _ragchat("ask", "四平", env=env)
        stderr = proc.stderr.decode()
        assert proc.returncode == EXIT_ERROR, stderr
        assert stderr.strip().count("\n") == 0 and "Traceback" not in stderr, stderr
        assert f"the folder {blocker / 'index'} is under {blocker}, which is a file" in stderr


def test_index_dir_option_under_a_file_is_a_usage_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    for command in (["ask", "四平"], ["index", "status"], ["ui"]):
        result = CliRunner().invoke(cli, [*command, "--index-dir", str(blocker / "index")])
        assert result.exit_code == USAGE, (command, result.output, result.exception)
        assert f"{blocker / 'index'} is under {blocker}, which is a file" in result.output


# --- item 10: undecodable bytes in argv ------------------------------------------------------------


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> Path:
    """A home whose index of the bundled report is built once, by a first real ``ask``."""
    home = tmp_path_factory.mktemp("cli-hostile-home")
    empty = home / "empty.toml"
    empty.write_text("", encoding="utf-8")
    proc = _ragchat("ask", "四平", env={"RAGCHAT_HOME": str(home), "RAGCHAT_CONFIG": str(empty)})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return home


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_ask_json_with_invalid_utf8_in_argv_prints_valid_json(built_home, locale):
    question = b"\xff\xfe" + "规划建设了多少所社区食堂?".encode() + b"\xc3"
    env = {"RAGCHAT_HOME": str(built_home), "RAGCHAT_CONFIG": str(built_home / "empty.toml"), "LC_ALL": locale}
    proc = _ragchat("ask", "--json", question, env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    answer = json.loads(proc.stdout.decode("utf-8"))  # strict: raises on invalid UTF-8
    assert answer["question"] == "\ufffd\ufffd规划建设了多少所社区食堂?\ufffd"
    assert not answer["refused"] and "7所社区食堂" in answer["answer"]
    plain = _ragchat("ask", question, env=env)
    assert plain.returncode == 0, plain.stderr.decode(errors="replace")
    assert "7所社区食堂" in plain.stdout.decode("utf-8")
    assert b"Traceback" not in plain.stderr


# --- item 12: exit codes -------------------------------------------------------------------------


def test_a_missing_input_path_exits_1_and_changes_nothing(tmp_path, report_path):
    index_dir = tmp_path / "index"
    missing = tmp_path / "no" / "such.txt"
    for paths in ([missing], [missing, report_path]):
        result = CliRunner().invoke(cli, ["index", "add", *map(str, paths), "--index-dir", str(index_dir)])
        assert result.exit_code == EXIT_ERROR, result.output
        assert result.output.strip() == f"error: no such file or folder: {missing}; nothing was done"
        assert not index_dir.exists()
        out = tmp_path / "chunks.jsonl"
        result = CliRunner().invoke(cli, ["ingest", "--no-progress", *map(str, paths), "-o", str(out)])
        assert result.exit_code == EXIT_ERROR, result.output
        assert result.output.strip() == f"error: no such file or folder: {missing}; nothing was done"
        assert not out.exists()


def test_a_bad_file_among_good_ones_still_exits_3(tmp_path, report_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    result = CliRunner().invoke(cli, ["ingest", "--no-progress", str(tmp_path / "empty.txt"), str(report_path),
                                      "-o", str(tmp_path / "c.jsonl")])
    assert result.exit_code == EXIT_PARTIAL, result.output


def test_the_help_says_what_a_missing_path_does():
    for command in (["index", "add", "--help"], ["ingest", "--help"]):
        text = " ".join(CliRunner().invoke(cli, command).output.split())
        assert "does not exist stops the command" in text and "exit code 1" in text, command


needs_st = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None and not os.environ.get("CI"),
    reason="needs torch and sentence-transformers (the st extra)",
)


@needs_st
@pytest.mark.torch
def test_a_missing_sentence_transformers_model_is_one_line_without_the_internet(tmp_path, monkeypatch):
    from index.embeddings import SentenceTransformerEmbeddings

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(EmbeddingError) as info:
        SentenceTransformerEmbeddings("nobody/no-such-model", cache_folder=tmp_path).embed_query("x")
    message = str(info.value)
    assert "\n" not in message
    assert "internet" not in message.lower() and "huggingface.co" not in message and "network" not in message
    assert "'nobody/no-such-model' is not installed locally" in message and "embedding.model" in message
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


@needs_st
@pytest.mark.torch
def test_the_cli_says_a_missing_model_in_one_line(tmp_path, report_path):
    env = {"RAGCHAT_EMBEDDING__KIND": "sentence-transformers", "RAGCHAT_EMBEDDING__MODEL": "nobody/no-such-model"}
    proc = _ragchat("index", "add", str(report_path), "--index-dir", str(tmp_path / "index"), env=env)
    stderr = proc.stderr.decode()
    assert proc.returncode == EXIT_ERROR and "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: sentence-transformers model 'nobody/no-such-model' is not installed locally")
    assert "internet" not in stderr.lower()
