"""Hybrid retrieval as a langchain ``BaseRetriever``: FAISS and BM25, fused by RRF."""

from __future__ import annotations

from typing import Any, Collection

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from index.store import Snapshot
from ragchat.errors import ConfigError, ModelMismatchError

MODES = ("hybrid", "dense", "keyword")


def rrf_fuse(
    rankings: list[tuple[list[str], float]], rrf_k: int
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each ranking adds ``weight / (rrf_k + rank)``, rank from 1.

    Ties keep the order in which the rankings first list their chunks (dense before keyword),
    never the chunk ids: ids hash the document's path, so a tie broken by id would rank
    differently in another checkout.
    """
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        if weight <= 0:
            continue
        for rank, chunk_id in enumerate(ids, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


class HybridRetriever(BaseRetriever):
    """Finds chunks for a question in a loaded index.

    ``mode``: ``dense`` (FAISS, cosine), ``keyword`` (BM25) or ``hybrid``
    (both, each taking ``candidates``, fused by weighted RRF). Every returned
    ``Document`` has the chunk id as ``id`` and in ``metadata``: ``chunk_id``,
    ``score`` (what the ranking used), ``dense_score`` (cosine, for every hit),
    ``keyword_score`` (BM25, 0 when the chunk shares no term), ``dense_rank`` /
    ``keyword_rank`` (or None), ``source``, ``doc_id``, ``heading_path``,
    ``kind``, ``start``, ``end``, ``spans`` and ``pages`` (``[page, start]``
    pairs, empty for a document without pages). ``k`` may be given per call.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    snapshot: Snapshot
    embeddings: Embeddings
    k: int = Field(default=5, ge=1)
    mode: str = "hybrid"
    candidates: int = Field(default=30, ge=1)
    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=1.0, ge=0)
    keyword_weight: float = Field(default=1.0, ge=0)
    caption_weight: float = Field(default=1.0, ge=0, le=1)
    milvus_keyword: str = "ours"  # with a Milvus snapshot: `ours` (our sparse BM25) or `milvus` (its BM25)

    @classmethod
    def from_settings(cls, snapshot: Snapshot, embeddings: Embeddings, settings: Any, **overrides: Any) -> "HybridRetriever":
        r = settings.retrieval
        params = dict(
            k=r.k, mode=r.mode, candidates=r.candidates, rrf_k=r.rrf_k,
            dense_weight=r.dense_weight, keyword_weight=r.keyword_weight, caption_weight=r.caption_weight,
            milvus_keyword=settings.index.milvus_keyword,
        )
        params.update(overrides)
        return cls(snapshot=snapshot, embeddings=embeddings, **params)

    def query_vector(self, query: str) -> np.ndarray:
        vector = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        expected = self.snapshot.dimension
        if vector.shape != (expected,):
            raise ModelMismatchError(
                f"the query vector has dimension {vector.shape[-1]}, the index {expected}; "
                "run `ragchat index rebuild` with the configured model"
            )
        return vector

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        mode: str | None = None,
    ) -> list[Document]:
        return self.search(query, k=k, mode=mode)

    def search(
        self, query: str, k: int | None = None, mode: str | None = None, qvec: np.ndarray | None = None,
        keyword_query: str | None = None, exclude_docs: Collection[str] = (),
    ) -> list[Document]:
        """``qvec``: the query's vector when the caller has it already (it is not embedded twice).
        ``keyword_query``: other words for the keyword side (an English question's Chinese terms).
        ``exclude_docs``: document ids whose chunks are left out, as if they were not indexed
        (the eval's negative rejection: a question asked without its own passage)."""
        k = self.k if k is None else k
        mode = mode or self.mode
        if mode not in MODES:
            raise ConfigError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if k <= 0 or not self.snapshot.chunks or not query.strip():
            return []
        depth = max(self.candidates, k)
        if hasattr(self.snapshot, "milvus_candidates"):  # index.backend = "milvus": the search runs there
            return self._search_milvus(query, k, mode, qvec, keyword_query, exclude_docs, depth)
        excluded = self._excluded_rows(exclude_docs)
        dense: list[tuple[str, float]] = []
        if mode in ("dense", "hybrid"):
            qvec = self.query_vector(query) if qvec is None else qvec
            hits = self.snapshot.vector_index.search(qvec, depth + len(excluded))
            dense = [(self.snapshot.chunks[row].id, score) for row, score in hits if row not in excluded][:depth]
        keyword: list[tuple[str, float]] = []
        if mode in ("keyword", "hybrid"):
            keyword = self.snapshot.keyword.search(keyword_query or query, depth + len(excluded))
            if excluded:
                keyword = [(c, s) for c, s in keyword if self.snapshot.row(c) not in excluded][:depth]
        if mode == "dense":
            ranked = dense
        elif mode == "keyword":
            ranked = keyword
        else:
            ranked = rrf_fuse(
                [([c for c, _ in dense], self.dense_weight), ([c for c, _ in keyword], self.keyword_weight)],
                self.rrf_k,
            )
            if self.caption_weight < 1:
                kinds = {cid: self.snapshot.chunks[self.snapshot.row(cid)].kind for cid, _ in ranked}
                ranked = sorted(
                    ((cid, s * self.caption_weight if kinds[cid] == "caption" else s) for cid, s in ranked),
                    key=lambda item: -item[1],
                )
        return self._finish(query, ranked, k, dense, keyword, qvec)

    def _search_milvus(self, query, k, mode, qvec, keyword_query, exclude_docs, depth) -> list[Document]:
        """Dense and keyword candidates from Milvus (one search each), fused here by the same
        weighted RRF as the FAISS path: two Milvus calls per hybrid search, ties broken alike."""
        if mode in ("dense", "hybrid") and qvec is None:
            qvec = self.query_vector(query)
        field = "bm25" if self.milvus_keyword == "milvus" else "sparse"
        dense, keyword = self.snapshot.milvus_candidates(
            mode, qvec, keyword_query or query, depth, frozenset(exclude_docs), field)
        if mode == "dense":
            ranked = dense
        elif mode == "keyword":
            ranked = keyword
        else:
            ranked = rrf_fuse(
                [([c for c, _ in dense], self.dense_weight), ([c for c, _ in keyword], self.keyword_weight)],
                self.rrf_k,
            )
        # a dense hit's cosine is Milvus' score: only the vectors of keyword-only hits are read from Milvus
        return self._finish(query, ranked, k, dense, keyword, qvec, demote=mode == "hybrid", known=dict(dense))

    def _finish(self, query, ranked, k, dense, keyword, qvec, demote: bool = False,
                known: dict[str, float] | None = None) -> list[Document]:
        if demote and self.caption_weight < 1:
            kinds = {cid: self.snapshot.chunks[self.snapshot.row(cid)].kind for cid, _ in ranked}
            ranked = sorted(
                ((cid, s * self.caption_weight if kinds[cid] == "caption" else s) for cid, s in ranked),
                key=lambda item: -item[1],
            )
        ranked = ranked[:k]
        if qvec is None and ranked:
            qvec = self.query_vector(query)
        cosines = self._cosines([cid for cid, _ in ranked], qvec, known or {})
        return [self._document(cid, score, dense, keyword, cos) for (cid, score), cos in zip(ranked, cosines)]

    def _cosines(self, chunk_ids: list[str], qvec: np.ndarray | None, known: dict[str, float]) -> list[float | None]:
        """Each chunk's cosine to the query: ``known`` ones as given, the others' vectors read in one
        call (from Milvus on that backend)."""
        if qvec is None:
            return [None] * len(chunk_ids)
        unknown = [c for c in chunk_ids if c not in known]
        if unknown:
            known = {**known, **{c: float(v @ qvec) for c, v in zip(unknown, self.snapshot.vectors_of(unknown))}}
        return [known[c] for c in chunk_ids]

    def _excluded_rows(self, doc_ids: Collection[str]) -> frozenset[int]:
        if not doc_ids:
            return frozenset()
        wanted = set(doc_ids)
        return frozenset(i for i, c in enumerate(self.snapshot.chunks) if c.doc_id in wanted)

    def under_heading(self, doc_id: str, heading_path: tuple[str, ...], qvec: np.ndarray | None = None) -> list[Document]:
        """The body chunks of one document under ``heading_path``, in the document's order
        (a section the question names, read whole); their ``score`` is 0."""
        chunks = sorted((c for c in self.snapshot.chunks if c.doc_id == doc_id and c.kind == "body"
                         and tuple(c.heading_path) == tuple(heading_path)), key=lambda c: c.seq)
        cosines = self._cosines([c.id for c in chunks], qvec, {})
        return [self._document(c.id, 0.0, [], [], cos) for c, cos in zip(chunks, cosines)]

    def _document(self, chunk_id, score, dense, keyword, cosine: float | None) -> Document:
        chunk = self.snapshot.chunks[self.snapshot.row(chunk_id)]
        dense_rank = next((i for i, (c, _) in enumerate(dense, 1) if c == chunk_id), None)
        keyword_hit = next(((i, s) for i, (c, s) in enumerate(keyword, 1) if c == chunk_id), None)
        return Document(
            id=chunk.id,
            page_content=chunk.text,
            metadata={
                "chunk_id": chunk.id,
                "score": float(score),
                "dense_score": cosine,
                "keyword_score": keyword_hit[1] if keyword_hit else 0.0,
                "dense_rank": dense_rank,
                "keyword_rank": keyword_hit[0] if keyword_hit else None,
                "source": chunk.source,
                "doc_id": chunk.doc_id,
                "heading_path": list(chunk.heading_path),
                "kind": chunk.kind,
                "start": chunk.start,
                "end": chunk.end,
                "spans": [list(s) for s in chunk.spans],
                "lead": chunk.metadata.get("lead", ""),
                "pages": chunk.metadata.get("pages", []),
            },
        )
