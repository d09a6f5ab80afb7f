"""The embedding model named by the settings, behind the persistent cache."""

from __future__ import annotations

import os
from typing import Any

from langchain_core.embeddings import Embeddings

from index.embeddings import make_embeddings
from ragchat.errors import ConfigError
from ragchat.settings import Settings


def embedding_options(settings: Settings) -> dict[str, Any]:
    cfg = settings.embedding
    if cfg.kind == "e5":
        return {"batch_size": cfg.batch_size}
    if not cfg.model:
        raise ConfigError(f"embedding.model is required for embedding.kind = {cfg.kind!r}")
    if cfg.kind == "sentence-transformers":
        return {
            "model_name_or_path": cfg.model,
            "query_prefix": cfg.query_prefix,
            "passage_prefix": cfg.passage_prefix,
            "batch_size": cfg.batch_size,
        }
    if not cfg.base_url:
        raise ConfigError("embedding.base_url is required for embedding.kind = 'openai'")
    return {
        "base_url": cfg.base_url,
        "model": cfg.model,
        "api_key": os.environ.get(cfg.api_key_env) or None,
        "timeout": cfg.timeout_s,
        "batch_size": cfg.batch_size,
        "query_prefix": cfg.query_prefix,
        "passage_prefix": cfg.passage_prefix,
        "concurrency": cfg.concurrency,
        "retries": cfg.retries,
        "backoff_s": cfg.backoff_s,
        "backoff_max_s": cfg.backoff_max_s,
    }


def embeddings_from_settings(settings: Settings, cached: bool = True) -> Embeddings:
    """The configured model; with ``cached``, wrapped in the on-disk vector cache.

    Nothing is loaded until the first text is embedded.
    """
    cache_path = None
    if cached:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        cache_path = settings.cache_dir / "embeddings.sqlite"
    return make_embeddings(settings.embedding.kind, cache_path=cache_path, **embedding_options(settings))
