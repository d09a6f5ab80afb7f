"""``ragchat index migrate --to milvus``: copy the live FAISS version into Milvus.

The chunks, their vectors (as stored next to FAISS: nothing is embedded again),
the document records and texts are written as the first generation of the
knowledge base's collection; the keyword side's sparse vectors are computed from
the version's BM25 tokens. The FAISS folder is left as it is.

It holds the same writer locks as ``ragchat index add`` (:func:`index.update.writer_locks`:
this machine's, and the shared one with ``index.writer_lock_url``), so no update of the FAISS
folder or of the collection runs while it copies, and a copy that lost the shared lock never
makes its generation live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from index.milvus.store import MilvusStore
from index.store import load_snapshot
from index.update import writer_locks
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


def migrate_to_milvus(settings: Settings, replace: bool = False, wait: float = 0.0,
                      on_wait: Callable[[str], None] | None = None) -> Migrated:
    """Copy the live FAISS version at ``settings.index_dir`` into Milvus at ``index.milvus_uri``.

    Waits up to ``wait`` seconds for another writer of the knowledge base (``on_wait`` is told),
    then raises :class:`~ragchat.errors.IndexLockedError`."""
    with writer_locks(settings.index_dir, settings, wait, on_wait) as shared:
        snapshot = load_snapshot(settings.index_dir, cache_dir=settings.cache_dir, fallback=False)
        target = settings.model_copy(update={"index": settings.index.model_copy(update={"backend": "milvus"})})
        store = MilvusStore(target, settings.index_dir)
        try:
            pointer = store.pointer()
            if pointer is not None:
                if pointer.gen > 0 and not replace:
                    raise MilvusNotEmptyError(
                        f"Milvus collection {store.name} at {store.uri} already holds an index; "
                        "`ragchat index migrate --to milvus --replace` drops it first")
                store.drop()  # the index being replaced, or the rows of a copy that never went live
            generation, _ = store.commit(snapshot, {}, None, shared.check if shared is not None else None)
            return Migrated(store.name, store.uri, len(snapshot.documents), len(snapshot.chunks), generation)
        finally:
            store.close()
            snapshot.close()
