"""The incremental update and the first open on the Milvus backend.

The planning and the embedding are :mod:`index.update`'s (the same added,
updated, unchanged, removed and moved documents, the same embedding cache);
only where the result goes differs: :meth:`MilvusStore.commit` writes the new
and changed documents under a new generation and flips the pointer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from langchain_core.embeddings import Embeddings

from index import update as local
from index.keyword.cache import remember
from index.milvus.store import MilvusSnapshot, MilvusStore, load_live_store
from index.store import check_model
from ragchat.errors import IndexNotFoundError
from ragchat.settings import Settings


def _open_old(store: MilvusStore, settings: Settings) -> MilvusSnapshot | None:
    try:
        return store.load(cache_dir=settings.cache_dir)
    except IndexNotFoundError:
        return None


def update_milvus(
    index_dir: Path, settings: Settings, embeddings: Embeddings, add: Iterable[Path | str],
    remove: Iterable[str], rebuild: bool, progress: bool, report: local.UpdateReport,
    still_locked: Callable[[], None] | None = None,
) -> None:
    """:func:`index.update.update_index` on Milvus (the caller holds the writer lock).

    ``rebuild`` re-chunks every document from its text stored in Milvus. ``still_locked`` (the
    writers' shared lock, :mod:`index.shared_lock`) raises when the lock was lost; the commit asks
    it before it writes and before it flips the pointer."""
    store = MilvusStore(settings, index_dir)
    try:
        old = _open_old(store, settings)
        if rebuild and old is None:  # nothing to rebuild from: build from the configured corpus
            add, rebuild = settings.corpus_paths, False
        if old is not None and not rebuild:
            check_model(old.manifest, local._model_id(embeddings))
        records = dict(old.documents) if old else {}
        for target in remove:
            doc_id = local.resolve_doc_id(target, records)
            report.removed.append(records.pop(doc_id).source)
        text_of = old.document_text if old else None
        plan = local._plan(old, records, text_of, settings, add, rebuild, report, progress)
        snapshot, texts, embedded = local._build(old if not rebuild else None, plan, settings, embeddings, progress,
                                                dense_index=False)
        report.chunks_embedded = embedded
        local._drop_failed(report, plan.failed)
        if report.added or report.updated or report.removed or report.moved or rebuild:
            report.version, report.rewritten = store.commit(snapshot, texts, None if rebuild else old, still_locked)
            remember(snapshot.keyword, settings.cache_dir, store.cache_scope)  # the readers here need not build it
        else:
            report.version = old.pointer if old is not None else ""
        report.n_documents = len(snapshot.documents)
        report.n_chunks = len(snapshot.chunks)
    finally:
        store.close()


def open_milvus(
    settings: Settings, embeddings: Embeddings, build_if_missing: bool = True, progress: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> MilvusSnapshot:
    """:func:`index.open.open_index` on Milvus: the live generation, built from the corpus on first run."""
    model_id = str(getattr(embeddings, "model_id", "")) or None
    store = MilvusStore(settings, settings.index_dir)
    try:
        return store.load(model_id, settings.cache_dir)
    except IndexNotFoundError:
        store.close()
        if not build_if_missing:
            raise
    except BaseException:
        store.close()
        raise
    local.update_index(settings.index_dir, settings, embeddings, add=settings.corpus_paths, progress=progress,
                       wait=settings.index.first_build_wait_s, on_wait=on_wait)
    return load_live_store(settings, model_id, settings.cache_dir)
