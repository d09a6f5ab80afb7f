"""``ragchat ingest`` end to end, through click's runner and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from ragchat.cli.main import EXIT_PARTIAL, cli

FIELDS = {"id", "doc_id", "source", "text", "kind", "heading_path", "start", "end", "spans", "n_tokens", "seq"}


def test_ingest_writes_chunks_and_a_summary(tmp_path, report_text):
    out = tmp_path / "chunks.jsonl"
    result = CliRunner().invoke(cli, ["ingest", "--no-progress", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines and FIELDS <= set(lines[0])
    summary = result.output.strip().splitlines()[0]
    assert summary.startswith("documents: 1  chunks: ") and f"chunks: {len(lines)}" in summary
    assert f"tokens: {sum(line['n_tokens'] for line in lines)}" in summary
    assert {line["kind"] for line in lines} == {"body", "caption", "outline"}


def test_skipped_files_are_reported_and_set_the_exit_code(tmp_path, report_text):
    (tmp_path / "ok.txt").write_text("四平市GDP增长5.3%。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(b"\x00" * 64)
    out = tmp_path / "c.jsonl"
    result = CliRunner().invoke(cli, ["ingest", "--no-progress", str(tmp_path), "-o", str(out)])
    assert result.exit_code == EXIT_PARTIAL
    assert "documents: 1" in result.output and "skipped: 2" in result.output
    assert "empty.txt: the file is empty" in result.output
    assert "bin.txt: the file is binary" in result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_a_bad_config_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[chunking]\nchunk_tokens = 'many'\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "ingest", "--no-progress"])
    assert result.exit_code == 1
    assert result.output.startswith("error: invalid settings: chunking.chunk_tokens")


def test_console_script_shows_a_progress_bar(tmp_path):
    out = tmp_path / "chunks.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "ragchat", "ingest", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ingest: 100%" in proc.stderr and "1/1" in proc.stderr
    assert out.stat().st_size > 0
