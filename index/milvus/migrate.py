"""``ragchat index migrate --to milvus``: copy the live FAISS version into Milvus.

The chunks, their vectors (as stored next to FAISS: nothing is embedded again),
the document records and texts are written as the first generation of the
knowledge base's collection; the keyword side's sparse vectors are computed from
the version's BM25 tokens. The FAISS folder is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.milvus.store import MilvusStore
from index.store import load_snapshot
from ragchat.errors import IndexStoreError
from ragchat.settings import Settings


class MilvusNotEmptyError(IndexStoreError):
    """The target Milvus collection already holds an index (``--replace`` drops it first)."""


@dataclass(frozen=True)
class Migrated:
    collection: str
    uri: str
    documents: int
    chunks: int
    generation: str


def migrate_to_milvus(settings: Settings, replace: bool = False) -> Migrated:
    """Copy the live FAISS version at ``settings.index_dir`` into Milvus at ``index.milvus_uri``."""
    snapshot = load_snapshot(settings.index_dir, cache_dir=settings.cache_dir, fallback=False)
    target = settings.model_copy(update={"index": settings.index.model_copy(update={"backend": "milvus"})})
    store = MilvusStore(target, settings.index_dir)
    try:
        if store.pointer() is not None:
            if not replace:
                raise MilvusNotEmptyError(
                    f"Milvus collection {store.name} at {store.uri} already holds an index; "
                    "`ragchat index migrate --to milvus --replace` drops it first")
            store.drop()
        generation, _ = store.commit(snapshot, {}, None)
        return Migrated(store.name, store.uri, len(snapshot.documents), len(snapshot.chunks), generation)
    finally:
        store.close()
        snapshot.close()
