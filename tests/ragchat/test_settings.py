"""The one settings object: TOML file, environment, validation, documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragchat.errors import ConfigError
from ragchat.paths import bundled_report
from ragchat.settings import load_settings, settings_reference

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_defaults_point_at_the_bundled_report():
    settings = load_settings()
    assert settings.corpus_paths == (bundled_report().parent,)
    assert bundled_report().is_file()
    assert settings.chunking.overlap_tokens < settings.chunking.chunk_tokens


def test_toml_then_environment_then_arguments(tmp_path, monkeypatch):
    config = tmp_path / "ragchat.toml"
    config.write_text('[chunking]\nchunk_tokens = 300\noverlap_tokens = 10\n[ingest]\nextensions = ["txt"]\n')
    settings = load_settings(config)
    assert settings.chunking.chunk_tokens == 300
    assert settings.ingest.extensions == (".txt",)
    monkeypatch.setenv("RAGCHAT_CHUNKING__CHUNK_TOKENS", "200")
    assert load_settings(config).chunking.chunk_tokens == 200
    assert load_settings(config, home=tmp_path / "h").home == tmp_path / "h"


def test_config_from_environment_variable(tmp_path, monkeypatch):
    config = tmp_path / "other.toml"
    config.write_text("[ingest]\nmax_file_mb = 1.5\n")
    monkeypatch.setenv("RAGCHAT_CONFIG", str(config))
    assert load_settings().ingest.max_file_mb == 1.5


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ("[chunking]\nchunk_tokens = 100\noverlap_tokens = 100\n", "overlap_tokens (100) must be smaller"),
        ("[chunking]\nchunk_tokens = 2\n", "chunking.chunk_tokens"),
        ("[chunking]\nchunk_size = 2\n", "chunking.chunk_size"),
        ("[ingest]\nmax_file_mb = -1\n", "ingest.max_file_mb"),
        ("[chunking\n", "cannot read settings file"),
    ],
)
def test_invalid_settings_give_a_clear_error(tmp_path, toml, fragment):
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match=None) as info:
        load_settings(config)
    assert fragment in str(info.value)


def test_missing_settings_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_settings_are_immutable():
    settings = load_settings()
    with pytest.raises(Exception):
        settings.chunking.chunk_tokens = 5  # type: ignore[misc]


def test_docs_settings_reference_is_up_to_date():
    assert DOCS.read_text(encoding="utf-8") == settings_reference(), "run `make docs`"
    for key in ("chunking.chunk_tokens", "chunking.overlap_tokens", "ingest.extensions", "home"):
        assert f"`{key}`" in settings_reference()


def test_config_show_masks_the_servers_tokens(monkeypatch):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "RAGCHAT_SERVE__TOKENS": '["s3cret-token", "other-token"]'}
    proc = subprocess.run([sys.executable, "-m", "ragchat", "config", "show"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "s3cret" not in proc.stdout and "other-token" not in proc.stdout
    assert json.loads(proc.stdout)["serve"]["tokens"] == ["***", "***"]


def test_config_show_masks_the_index_writers_lock_password(monkeypatch):
    from click.testing import CliRunner

    from ragchat.cli.main import cli

    monkeypatch.setenv("RAGCHAT_INDEX__WRITER_LOCK_URL", "postgresql://ragchat:Sup3rSecretPw@pg.internal:5432/ragchat")
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 0 and "Sup3rSecretPw" not in result.output and "ragchat:***@pg.internal" in result.output
