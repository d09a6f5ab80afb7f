"""A Milvus writer that lost the writers' shared lock (index.shared_lock) writes nothing: Milvus Lite
and a real PostgreSQL server."""

from __future__ import annotations

import os

import pytest

from index.milvus import update as milvus_update
from index.milvus.store import MilvusStore
from index.models import embeddings_from_settings
from index.open import open_index
from index.shared_lock import conninfo
from index.update import update_index
from ragchat.errors import IndexLockedError

from .conftest import live_rows, milvus_settings

pytestmark = pytest.mark.postgres


def _add(settings, *paths):
    return update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=paths)


def _end_this_writers_session(postgres_url: str) -> None:
    """What a network cut or an administrator does: the server ends this process's lock session."""
    import psycopg

    with psycopg.connect(conninfo(postgres_url), autocommit=True) as admin:
        ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name "
                              "LIKE %s", (f"ragchat-writer %:{os.getpid()}",)).fetchall()
    assert ended == [(True,)]


def test_a_writer_that_lost_the_lock_while_writing_does_not_flip(warm_home, tmp_path, docs, postgres_url,
                                                                 monkeypatch):
    settings = milvus_settings(warm_home, tmp_path / "milvus.db", writer_lock_url=postgres_url)
    first = _add(settings, docs / "a.txt")
    write = MilvusStore._write_documents

    def write_then_lose_the_lock(self, *args, **kwargs):
        write(self, *args, **kwargs)  # b.txt's rows are in Milvus now, outside any live generation
        _end_this_writers_session(postgres_url)

    monkeypatch.setattr(MilvusStore, "_write_documents", write_then_lose_the_lock)
    with pytest.raises(IndexLockedError, match="lost the index writers' lock"):
        _add(settings, docs / "a.txt", docs / "b.txt")
    monkeypatch.undo()
    assert live_rows(settings) > first.n_chunks  # the orphans
    snap = open_index(settings, embeddings_from_settings(settings), build_if_missing=False)
    try:
        assert snap.pointer == "g-1" and len(snap.chunks) == first.n_chunks
    finally:
        snap.close()
    again = _add(settings, docs / "a.txt", docs / "b.txt")
    assert again.version == "g-3" and live_rows(settings) == again.n_chunks  # the next commit deleted them


def test_a_writer_that_lost_the_lock_commits_nothing(warm_home, tmp_path, docs, postgres_url, monkeypatch):
    settings = milvus_settings(warm_home, tmp_path / "milvus.db", writer_lock_url=postgres_url)
    assert _add(settings, docs / "a.txt").version == "g-1"

    build = milvus_update.local._build

    def build_then_lose_the_lock(*args, **kwargs):
        """The real build; meanwhile the server ends this writer's session (a network cut, an admin)."""
        built = build(*args, **kwargs)
        _end_this_writers_session(postgres_url)
        return built

    monkeypatch.setattr(milvus_update.local, "_build", build_then_lose_the_lock)
    with pytest.raises(IndexLockedError, match="lost the index writers' lock"):
        _add(settings, docs / "a.txt", docs / "b.txt")
    monkeypatch.undo()

    snap = open_index(settings, embeddings_from_settings(settings), build_if_missing=False)
    try:
        assert snap.pointer == "g-1"  # b.txt was never written
        assert [r.source for r in snap.documents.values()] == [str(docs / "a.txt")]
    finally:
        snap.close()
    assert _add(settings, docs / "a.txt", docs / "b.txt").version == "g-2"  # the lock is free again


def test_a_migration_that_lost_the_lock_goes_live_nowhere_and_can_be_run_again(warm_home, tmp_path, docs,
                                                                             postgres_url, monkeypatch):
    from index.milvus.migrate import migrate_to_milvus

    settings = milvus_settings(warm_home, tmp_path / "milvus.db", writer_lock_url=postgres_url,
                               dir=tmp_path / "index")
    faiss = settings.model_copy(update={"index": settings.index.model_copy(update={"backend": "faiss"})})
    local = _add(faiss, docs / "a.txt", docs / "b.txt")
    write = MilvusStore._write_documents

    def write_then_lose_the_lock(self, *args, **kwargs):
        write(self, *args, **kwargs)
        _end_this_writers_session(postgres_url)

    monkeypatch.setattr(MilvusStore, "_write_documents", write_then_lose_the_lock)
    with pytest.raises(IndexLockedError, match="lost the index writers' lock"):
        migrate_to_milvus(settings)
    monkeypatch.undo()
    store = MilvusStore(settings, settings.index_dir)
    try:
        assert store.pointer().gen == 0  # its rows were written, but no generation went live
    finally:
        store.close()
    done = migrate_to_milvus(settings)  # no --replace needed: the collection held no index
    assert (done.generation, done.documents, done.chunks) == ("g-1", 2, local.n_chunks)
    assert live_rows(settings) == local.n_chunks  # the orphans of the lost copy are gone
