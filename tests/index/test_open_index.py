"""First run: with no index, the bundled report is indexed automatically."""

from __future__ import annotations

import pytest

from index.models import embeddings_from_settings
from index.open import open_index
from ragchat.errors import IndexNotFoundError
from ragchat.settings import load_settings


def test_first_run_indexes_the_bundled_report(tmp_path):
    settings = load_settings(home=tmp_path / "home")
    embeddings = embeddings_from_settings(settings)
    with pytest.raises(IndexNotFoundError):
        open_index(settings, embeddings, build_if_missing=False)
    snapshot = open_index(settings, embeddings)
    assert [rec.source.endswith("siping-plenary-2023-08.txt") for rec in snapshot.documents.values()] == [True]
    assert (tmp_path / "home" / "cache" / "embeddings.sqlite").is_file()
    again = open_index(settings, embeddings)  # the second run loads what the first built
    assert again.path == snapshot.path


def test_settings_choose_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCHAT_EMBEDDING__KIND", "openai")
    from ragchat.errors import ConfigError

    with pytest.raises(ConfigError, match="embedding.model is required"):
        embeddings_from_settings(load_settings(home=tmp_path))
