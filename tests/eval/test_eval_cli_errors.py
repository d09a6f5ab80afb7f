"""`ragchat eval` turns bad input into one clear line and exit code 1."""

from __future__ import annotations

from click.testing import CliRunner

from ragchat.cli.main import cli


def test_a_missing_set_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.jsonl"
    result = CliRunner().invoke(cli, ["eval", "run", str(missing), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"error: eval set not found: {missing}" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_malformed_set_names_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q?", "answers": [], "evidence": [], "answerable": false}\n{oops\n',
                   encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "run", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and f"error: {bad}:2: not JSON" in result.output


def test_comparing_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["eval", "compare", str(tmp_path), str(tmp_path)])
    assert result.exit_code == 1 and "is not an eval run" in result.output


def test_the_langchain_recipe_cannot_use_an_existing_index(tmp_path):
    from eval.sets import REPORT_DEV

    result = CliRunner().invoke(cli, ["eval", "run", str(REPORT_DEV), "--out", str(tmp_path / "o"),
                                      "--recipe", "langchain", "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code == 1 and "builds its own index" in result.output
