"""Recipes: how the index for an eval run is built and searched.

``ragchat`` is the app as configured. The anchors put its figures in context,
measured by the same runner and answered by the same extractive answerer:

* ``bm25``: our index, keyword (BM25) retrieval only;
* ``dense``: our index, dense (FAISS) retrieval only;
* ``langchain``: LangChain's default recipe: ``RecursiveCharacterTextSplitter``
  at 1,000 characters with 200 overlap over each document's text, the same
  embedding model, and a flat FAISS index searched by vector alone. (LangChain's
  ``FAISS`` store ranks by L2 distance; our vectors have unit length, so inner
  product gives the same order.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from eval.provenance import versions
from index.store import DocRecord, Snapshot
from ingest.types import Chunk, LoadedDocument, chunk_id
from ragchat.errors import ConfigError
from ragchat.settings import Settings

LANGCHAIN_CHUNK_CHARS = 1000
LANGCHAIN_OVERLAP_CHARS = 200


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    mode: str | None = None  # retrieval mode override
    custom_index: Callable[..., Snapshot] | None = None  # builds its own snapshot instead of ours

    def settings(self, settings: Settings) -> Settings:
        """``settings`` as this recipe runs them."""
        update: dict = {}
        if self.mode:
            update["retrieval"] = settings.retrieval.model_copy(update={"mode": self.mode})
        if self.custom_index is not None:
            update["index"] = settings.index.model_copy(update={"with_headings": False})
        return settings.model_copy(update=update) if update else settings


def langchain_snapshot(
    docs: list[LoadedDocument], settings: Settings, embeddings: Embeddings, progress: bool = False
) -> Snapshot:
    """An in-memory index of ``docs`` chunked by LangChain's default splitter."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from index.embeddings import embed_with_progress
    from index.keyword.bm25 import KeywordIndex
    from index.vector import VectorIndex
    from ingest.tokens import get_counter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=LANGCHAIN_CHUNK_CHARS, chunk_overlap=LANGCHAIN_OVERLAP_CHARS, add_start_index=True
    )
    counter = get_counter(settings.chunking.encoding)
    chunks: list[Chunk] = []
    documents: dict[str, DocRecord] = {}
    for doc in docs:
        seen: dict[str, int] = {}
        pieces = splitter.create_documents([doc.text])
        for seq, piece in enumerate(pieces):
            text, start = piece.page_content, piece.metadata["start_index"]
            occurrence = seen.get(text, 0)
            seen[text] = occurrence + 1
            chunks.append(Chunk(
                id=chunk_id(doc.doc_id, text, occurrence), doc_id=doc.doc_id, source=doc.source, text=text,
                kind="body", heading_path=(), start=start, end=start + len(text), spans=((start, start + len(text)),),
                n_tokens=counter.count(text), seq=seq,
            ))
        documents[doc.doc_id] = DocRecord(
            doc_id=doc.doc_id, source=doc.source, format=doc.format, encoding=doc.encoding,
            content_hash=doc.content_hash, chunking_hash="langchain-default", n_chunks=len(pieces),
            n_chars=len(doc.text), indexed_at="",
        )
    texts = [c.text for c in chunks]
    if progress:
        rows = embed_with_progress(embeddings, texts, settings.embedding.batch_size)
    else:
        rows = embeddings.embed_documents(texts)
    vectors = np.asarray(rows, dtype=np.float32)
    vector_index = VectorIndex.build(vectors, hnsw_min=len(chunks) + 1)  # always flat, as LangChain's default
    # The extractive answerer and the refusal policy read term weights from a keyword index.
    keyword = KeywordIndex.build([(c.id, c.text) for c in chunks], cache_dir=settings.cache_dir)
    manifest = {
        "format": "ragchat-eval/langchain-default",
        "embedding": {"model_id": str(getattr(embeddings, "model_id", type(embeddings).__name__)),
                      "dimension": int(vectors.shape[1]), "kind": settings.embedding.kind, "with_headings": False},
        "chunking": {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": LANGCHAIN_CHUNK_CHARS,
                     "chunk_overlap": LANGCHAIN_OVERLAP_CHARS, "length": "characters"},
        "faiss": {"kind": vector_index.kind, "rows": vector_index.size},
        "n_chunks": len(chunks),
        "versions": versions(),
    }
    snapshot = Snapshot(manifest, chunks, vectors, documents, vector_index, keyword)
    snapshot._texts.update({d.doc_id: d.text for d in docs})
    return snapshot


RECIPES: dict[str, Recipe] = {
    "ragchat": Recipe("ragchat", "this app as configured; by default hybrid BM25 + dense, fused by RRF"),
    "bm25": Recipe("bm25", "our chunks, keyword-only BM25", mode="keyword"),
    "dense": Recipe("dense", "our chunks, dense-only FAISS", mode="dense"),
    "langchain": Recipe(
        "langchain",
        "LangChain default: RecursiveCharacterTextSplitter 1000/200, dense FAISS",
        mode="dense", custom_index=langchain_snapshot,
    ),
}


def recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise ConfigError(f"unknown recipe {name!r}; use one of {', '.join(RECIPES)}") from None
