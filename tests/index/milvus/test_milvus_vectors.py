"""On Milvus the vectors stay in Milvus: a reader holds none and reads only the few an answer needs
(the cosine of a hit found by keyword alone), and an update reads only those of the documents it
writes again (Milvus Lite, a real engine)."""

from __future__ import annotations

import numpy as np
import pytest

from index.milvus.store import MilvusSnapshot
from index.models import embeddings_from_settings
from index.open import open_index
from index.retriever import HybridRetriever
from index.update import update_index

from .test_milvus_live import _CountingClient

PARKS = "今年新建公园多少个?"


def _add(settings, *paths):
    return update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=paths)


def _open(settings):
    return open_index(settings, embeddings_from_settings(settings), build_if_missing=False)


def test_a_reader_holds_no_vectors_and_reads_a_keyword_hits_cosine_in_one_call(settings, docs):
    _add(settings, docs / "report.txt", docs / "a.txt")
    snap = _open(settings)
    try:
        assert snap.vectors.shape == (0, snap.dimension) and snap.vector_index is None
        spy = _CountingClient(snap.store.client)
        snap.store.client = spy
        retriever = HybridRetriever.from_settings(snap, embeddings_from_settings(settings), settings)
        qvec = retriever.query_vector(PARKS)
        by_keyword = retriever.search(PARKS, k=3, mode="keyword", qvec=qvec)
        assert spy.calls == ["search", "get"]  # the three hits' vectors in one read
        assert any("公园14个" in d.page_content for d in by_keyword)
        # every chunk by dense search: its cosine is Milvus' own score, against the vectors read above
        everything = retriever.search(PARKS, k=len(snap.chunks), mode="dense", qvec=qvec)
        assert len(everything) == len(snap.chunks)
        scores = {d.id: d.metadata["dense_score"] for d in everything}
        for d in by_keyword:
            assert d.metadata["dense_score"] == pytest.approx(scores[d.id], abs=1e-5)
        ids = [c.id for c in snap.chunks]
        assert np.linalg.norm(snap.vectors_of(ids), axis=1) == pytest.approx(np.ones(len(ids)), abs=1e-3)
    finally:
        snap.close()


def test_an_update_reads_the_vectors_of_no_document_it_keeps(settings, docs, monkeypatch):
    _add(settings, docs / "report.txt", docs / "a.txt")
    reads: list[list[str]] = []
    read = MilvusSnapshot.vectors_of

    def counted(self, chunk_ids):  # a spy: the real read, recorded
        reads.append(list(chunk_ids))
        return read(self, chunk_ids)

    monkeypatch.setattr(MilvusSnapshot, "vectors_of", counted)
    (docs / "a.txt").write_text("城市简报\n\n今年新建公园15个，改造供热管网96公里。\n", encoding="utf-8")
    report = _add(settings, docs / "a.txt")
    assert len(report.updated) == 1 and report.rewritten == 0
    assert reads == []  # the report's chunks stay where they are, unread
    snap = _open(settings)
    try:
        hits = HybridRetriever.from_settings(snap, embeddings_from_settings(settings), settings).invoke(PARKS)
        assert any("公园15个" in d.page_content for d in hits)
    finally:
        snap.close()
