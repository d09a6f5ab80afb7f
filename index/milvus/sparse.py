"""BM25 as sparse vectors from ragchat's own tokenizer, for Milvus' SPARSE_FLOAT_VECTOR field.

A chunk's vector holds, for each of its terms, the term-frequency half of
BM25 as bm25s computes it (``tf / (tf + k1 * (1 - b + b * dl / avgdl))``); a
query's holds each distinct known term's IDF. Their inner product is the BM25
score bm25s gives (same ``k1``, ``b`` and IDF), so Milvus ranks like the local
keyword index. Terms are keyed by a stable 31-bit hash of their text.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np

from index.keyword.bm25 import KeywordIndex


def term_key(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "big") & 0x7FFFFFFF


def average_length(keyword: KeywordIndex) -> float:
    """BM25's ``avgdl``: the mean number of terms of ``keyword``'s chunks (1 when it has none)."""
    lengths = np.diff(keyword._offsets)
    return float(lengths.mean()) if len(lengths) else 1.0


def drifted(written: float | None, current: float, tolerance: float) -> bool:
    """Whether vectors written with average length ``written`` (``None``: not recorded) are more
    than ``tolerance`` (a share) away from ``current`` and must be written again."""
    return written is None or written <= 0 or abs(current / written - 1.0) > tolerance


def chunk_vectors(keyword: KeywordIndex, avgdl: float | None = None) -> dict[str, dict[int, float]]:
    """Each chunk id of ``keyword`` to its sparse vector (empty for a chunk without terms), normalised
    by ``avgdl`` (default: ``keyword``'s own average chunk length)."""
    k1, b = keyword.params.k1, keyword.params.b
    avgdl = average_length(keyword) if avgdl is None else avgdl
    out: dict[str, dict[int, float]] = {}
    for i, chunk_id in enumerate(keyword.chunk_ids):
        tokens = keyword._doc_tokens(i)
        norm = k1 * (1 - b + b * len(tokens) / max(avgdl, 1e-9))
        vector: dict[int, float] = {}
        for term, tf in Counter(tokens).items():
            key = term_key(term)
            vector[key] = vector.get(key, 0.0) + tf / (tf + norm)
        out[chunk_id] = vector
    return out


def query_vector(keyword: KeywordIndex, query: str) -> dict[int, float]:
    """The query's known terms, each weighted by its Lucene IDF; empty when none is known."""
    n = len(keyword)
    df = keyword._document_frequencies()
    vector: dict[int, float] = {}
    for term in keyword.query_terms(query):
        d = float(df[keyword._vocab[term]])
        vector[term_key(term)] = float(np.log(1 + (n - d + 0.5) / (d + 0.5)))
    return vector
