"""The FAISS side: inner product over unit vectors, exact or HNSW by size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ragchat.errors import CorruptIndexError


class VectorIndex:
    """Row ``i`` of the index is chunk ``i`` of the store."""

    def __init__(self, faiss_index, kind: str) -> None:
        self._index = faiss_index
        self.kind = kind

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_min: int, hnsw_m: int = 32, ef_search: int = 512) -> "VectorIndex":
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if n >= hnsw_min:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = max(40, 2 * hnsw_m)
            index.hnsw.efSearch = ef_search
            kind = "hnsw"
        else:
            index = faiss.IndexFlatIP(dim)
            kind = "flat"
        if n:
            index.add(vectors)
        return cls(index, kind)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(row, cosine similarity) pairs, best first."""
        if self.size == 0:
            return []
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        scores, rows = self._index.search(query, min(k, self.size))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str, ef_search: int = 512) -> "VectorIndex":
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:  # FAISS reports bad files as RuntimeError
            raise CorruptIndexError(f"cannot read the FAISS file {path}: {str(exc).splitlines()[0]}") from None
        if kind == "hnsw":
            index.hnsw.efSearch = ef_search
        return cls(index, kind)
