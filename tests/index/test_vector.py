"""FAISS: exact below the configured size, HNSW at or above it; both round-trip through a file."""

from __future__ import annotations

import numpy as np
import pytest

from index.vector import VectorIndex


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("hnsw_min, kind", [(1000, "flat"), (200, "hnsw")])
def test_the_index_type_fits_the_size_and_survives_a_save(tmp_path, hnsw_min, kind):
    data = _unit(500)
    index = VectorIndex.build(data, hnsw_min=hnsw_min)
    assert index.kind == kind and index.size == 500 and index.dimension == 32
    hits = index.search(data[42], 5)
    assert hits[0][0] == 42 and abs(hits[0][1] - 1.0) < 1e-5  # inner product of unit vectors
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    index.save(tmp_path / "faiss.index")
    loaded = VectorIndex.load(tmp_path / "faiss.index", kind)
    assert loaded.search(data[42], 5) == hits


def test_hnsw_recall_against_exact(tmp_path):
    data, queries = _unit(3000, seed=1), _unit(50, seed=2)
    exact = VectorIndex.build(data, hnsw_min=10**9)
    approx = VectorIndex.build(data, hnsw_min=1, ef_search=512)
    recall = np.mean([
        len({r for r, _ in exact.search(q, 10)} & {r for r, _ in approx.search(q, 10)}) / 10 for q in queries
    ])
    assert recall >= 0.9


def test_an_empty_index_finds_nothing():
    assert VectorIndex.build(np.zeros((0, 8), np.float32), hnsw_min=10).search(np.ones(8), 3) == []
