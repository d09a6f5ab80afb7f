"""BM25's average chunk length on Milvus: every live row's sparse vector is normalised by the one
recorded in the state, and an update that moves the true average past
``index.milvus_avgdl_tolerance`` writes every document again (Milvus Lite, a real engine)."""

from __future__ import annotations

import pytest

from index.milvus import sparse
from index.milvus.store import MilvusStore
from index.models import embeddings_from_settings
from index.open import open_index
from index.update import update_index

from .conftest import milvus_settings


def _add(settings, *paths):
    return update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=paths)


def _stored(settings) -> dict[str, tuple[str, dict[int, float]]]:
    """Each live chunk's generation and stored sparse vector."""
    store = MilvusStore(settings, settings.index_dir)
    try:
        assert store.exists()
        rows = store.client.query(store.name, filter='doc_gen != ""', output_fields=["chunk_id", "doc_gen", "sparse"],
                                  limit=1 << 20)
        return {r["chunk_id"]: (r["doc_gen"], {int(k): float(v) for k, v in r["sparse"].items()}) for r in rows}
    finally:
        store.close()


def _open(settings):
    return open_index(settings, embeddings_from_settings(settings), build_if_missing=False)


def _assert_vectors(stored, expected):
    assert set(stored) == set(expected)
    for chunk_id, (_, vector) in stored.items():
        want = expected[chunk_id] or {0: 0.0}
        assert vector.keys() == want.keys()
        assert [vector[k] for k in sorted(want)] == pytest.approx([want[k] for k in sorted(want)], rel=1e-4)


def test_a_drift_past_the_tolerance_writes_every_document_again(warm_home, tmp_path, docs):
    settings = milvus_settings(warm_home, tmp_path / "milvus.db")
    first = _add(settings, docs / "a.txt")  # one short chunk
    assert first.rewritten == 0
    before = _stored(settings)
    snap = _open(settings)
    try:
        dense_before = snap.vectors_of(list(before))
    finally:
        snap.close()

    grown = _add(settings, docs / "a.txt", docs / "report.txt")  # long chunks: the average grows many times over
    assert len(grown.unchanged) == 1 and len(grown.added) == 1 and grown.rewritten == 1
    assert "rewritten: 1" in grown.summary()
    stored = _stored(settings)
    gens = {gen.rsplit("@", 1)[1] for gen, _ in stored.values()}
    assert gens == {"2"}  # a.txt's rows were written again in the new generation
    snap = _open(settings)
    try:
        current = sparse.average_length(snap.keyword)
        assert snap.sparse_avgdl == pytest.approx(current)
        _assert_vectors(stored, sparse.chunk_vectors(snap.keyword))  # exactly bm25s' normalisation
        assert (snap.vectors_of(list(before)) == dense_before).all()  # read from generation 1, written again
    finally:
        snap.close()
    a_chunk = next(iter(before))
    assert stored[a_chunk][1] != before[a_chunk][1]  # its term weights changed with the average


def test_a_drift_within_the_tolerance_keeps_unchanged_rows_and_one_average(warm_home, tmp_path, docs):
    settings = milvus_settings(warm_home, tmp_path / "milvus.db", milvus_avgdl_tolerance=0.5)
    _add(settings, docs / "report.txt", docs / "a.txt")
    snap = _open(settings)
    recorded = snap.sparse_avgdl
    snap.close()
    before = _stored(settings)

    small = _add(settings, docs / "report.txt", docs / "a.txt", docs / "b.txt")  # two short chunks more
    assert small.rewritten == 0 and len(small.added) == 1
    stored = _stored(settings)
    assert {c: before[c][0] for c in before} == {c: stored[c][0] for c in before}  # unchanged rows not written
    snap = _open(settings)
    try:
        current = sparse.average_length(snap.keyword)
        assert current != pytest.approx(recorded)  # the true average moved ...
        assert abs(current / recorded - 1) <= 0.5
        assert snap.sparse_avgdl == recorded  # ... and every row, old and new, keeps the recorded one
        _assert_vectors(stored, sparse.chunk_vectors(snap.keyword, recorded))
    finally:
        snap.close()


def test_a_zero_tolerance_rewrites_whenever_the_average_moves(warm_home, tmp_path, docs):
    settings = milvus_settings(warm_home, tmp_path / "milvus.db", milvus_avgdl_tolerance=0.0)
    _add(settings, docs / "report.txt", docs / "a.txt")
    again = _add(settings, docs / "report.txt", docs / "a.txt")
    assert again.rewritten == 0 and again.version == "g-1"  # nothing changed: nothing written
    more = _add(settings, docs / "report.txt", docs / "a.txt", docs / "b.txt")
    assert more.rewritten == 2
    snap = _open(settings)
    try:
        _assert_vectors(_stored(settings), sparse.chunk_vectors(snap.keyword))
    finally:
        snap.close()


@pytest.mark.parametrize(("written", "current", "tolerance", "expected"), [
    (None, 10.0, 0.1, True),  # not recorded (an index written before the field): write again
    (10.0, 10.5, 0.1, False),
    (10.0, 11.5, 0.1, True),
    (10.0, 8.5, 0.1, True),
    (10.0, 10.0, 0.0, False),
    (10.0, 10.01, 0.0, True),
])
def test_drifted(written, current, tolerance, expected):
    assert sparse.drifted(written, current, tolerance) is expected
