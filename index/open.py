"""Open the configured index, building it from the corpus on first run."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.embeddings import Embeddings

from index.store import Snapshot, load_snapshot, pointer_name
from index.update import update_index
from ragchat.errors import IndexNotFoundError
from ragchat.settings import Settings


def open_index(
    settings: Settings, embeddings: Embeddings, build_if_missing: bool = True, progress: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> Snapshot:
    """The live index at ``settings.index_dir``.

    With no index there yet, the configured corpus (the bundled report by
    default) is indexed first. When another process is already building it,
    this waits for that build (``index.first_build_wait_s``; ``on_wait`` is told
    the builder's pid), whose documents are then found unchanged.
    """
    model_id = str(getattr(embeddings, "model_id", ""))
    if settings.index.backend == "milvus":
        from index.milvus.update import open_milvus

        return open_milvus(settings, embeddings, build_if_missing, progress, on_wait)
    try:
        return load_snapshot(settings.index_dir, model_id or None, settings.index.hnsw_ef_search, settings.cache_dir)
    except IndexNotFoundError:
        if not build_if_missing:
            raise
    update_index(settings.index_dir, settings, embeddings, add=settings.corpus_paths, progress=progress,
                 wait=settings.index.first_build_wait_s, on_wait=on_wait)
    return load_snapshot(settings.index_dir, model_id or None, settings.index.hnsw_ef_search, settings.cache_dir)


def load_live(settings: Settings, model_id: str | None = None, previous: Snapshot | None = None) -> Snapshot:
    """The live version as it is now, on either backend, never built: FAISS' ``CURRENT`` version
    (held by a reader lease) or Milvus' pointer generation (holding a connection until closed;
    ``previous``, the version this process held, spares it most of the keyword index's build)."""
    if settings.index.backend == "milvus":
        from index.milvus.store import load_live_store

        return load_live_store(settings, model_id, settings.cache_dir, previous)
    return load_snapshot(settings.index_dir, model_id, settings.index.hnsw_ef_search, settings.cache_dir)


def live_pointer(settings: Settings, snapshot: Snapshot) -> str:
    """What names the live version now: ``CURRENT`` on FAISS, the pointer row's ``g-<n>`` on Milvus
    (read through the snapshot's own connection)."""
    read = getattr(snapshot, "live_pointer", None)
    return read() if read is not None else pointer_name(settings.index_dir)
