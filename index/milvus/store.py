"""One knowledge base as two Milvus collections, written by generations and flipped atomically.

``<name>`` holds one row per chunk of each document generation: ``pk``
(``<chunk id>@<generation>``), ``chunk_id``, ``doc_id``, ``doc_gen``
(``<doc id>@<generation>``), ``text`` (what the index sees: heading and text,
analysed by Milvus' jieba for its own BM25), ``chunk`` (the chunk as JSON: source,
heading path, kind, pages, spans...), ``dense``, ``sparse`` (our BM25 terms,
:mod:`index.milvus.sparse`) and ``bm25`` (Milvus' BM25 function output).

``<name>_meta`` holds the rest as text rows: each document's text (``text``
rows, in parts), the state of each generation (``state`` rows: the manifest,
the document records and each live document's generation) and one
``pointer`` row naming the live generation.

An update writes the rows of its new and changed documents under a new
generation, then its state, then upserts the pointer: that single-row write
is the commit point. Only then are rows outside the live set deleted and the
pointer marked ``exact``. A reader keeps only hits of its own generation's
``doc_gen`` values (searching again with that filter when another generation's
rows came first), so after a crash anywhere it sees the old state or the new
one, never a mix (docs/scale.md, "Incremental updates and crash behaviour").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Sequence

import numpy as np

from index.keyword.cache import keyword_index
from index.milvus import sparse
from index.milvus.client import collection_name, connect, is_lite, milvus_uri
from index.store import DocRecord, Snapshot, check_model
from index.update import embed_text
from ingest.types import Chunk
from ragchat.errors import CorruptIndexError, IndexBackendUnavailableError, IndexNotFoundError
from ragchat.settings import Settings

PART = 20000  # characters of one text part: at most 60,000 bytes of UTF-8, under VARCHAR's 65,535
TEXT_MAX = 65535
BATCH = 256
GET_BATCH = 1000  # primary keys per get
_LITE_USERS: dict[str, int] = {}  # Milvus Lite runs in this process: its server is stopped with its last user


@dataclass(frozen=True)
class Pointer:
    gen: int
    exact: bool  # the collection holds the live rows only (no filter needed)
    next_gen: int


def _parts(text: str) -> list[str]:
    return [text[i:i + PART] for i in range(0, len(text), PART)] or [""]


def _quote(values: Collection[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in sorted(values)) + "]"


class MilvusStore:
    """The collections of one knowledge base on one Milvus."""

    def __init__(self, settings: Settings, index_dir: Path) -> None:
        self.settings = settings
        self.uri = milvus_uri(settings)
        self.name = collection_name(index_dir)
        self.meta_name = f"{self.name}_meta"
        self.client = connect(settings)
        self._loaded = False
        if is_lite(self.uri):
            _LITE_USERS[self.uri] = _LITE_USERS.get(self.uri, 0) + 1

    def close(self) -> None:
        """Close the connection; the last user of a Milvus Lite file stops its server (and its file lock)."""
        if self.client is None:
            return
        self.client.close()
        self.client = None
        if is_lite(self.uri):
            _LITE_USERS[self.uri] -= 1
            if not _LITE_USERS[self.uri]:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.uri)

    # --- schema ------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether both collections are there; they are loaded (made searchable) once found."""
        if self._loaded:
            return True
        if not (self.client.has_collection(self.name) and self.client.has_collection(self.meta_name)):
            return False
        for name in (self.name, self.meta_name):
            self.client.load_collection(name)
        self._loaded = True
        return True

    def create(self, dimension: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        if not c.has_collection(self.name):
            s = c.create_schema(auto_id=False)
            s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=512)
            s.add_field("chunk_id", DataType.VARCHAR, max_length=256)
            s.add_field("doc_id", DataType.VARCHAR, max_length=256)
            s.add_field("doc_gen", DataType.VARCHAR, max_length=300)
            s.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX, enable_analyzer=True,
                        analyzer_params={"tokenizer": "jieba"})
            s.add_field("chunk", DataType.JSON)
            s.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
            s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            s.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
            s.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                    input_field_names=["text"], output_field_names=["bm25"]))
            ip = c.prepare_index_params()
            ip.add_index("dense", index_type="FLAT", metric_type="IP")
            ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
            ip.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            c.create_collection(self.name, schema=s, index_params=ip, consistency_level="Strong")
        if not c.has_collection(self.meta_name):
            s = c.create_schema(auto_id=False)
            s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=600)
            s.add_field("kind", DataType.VARCHAR, max_length=16)
            s.add_field("doc_gen", DataType.VARCHAR, max_length=300)
            s.add_field("body", DataType.VARCHAR, max_length=TEXT_MAX)
            s.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field; unused
            ip = c.prepare_index_params()
            ip.add_index("v", index_type="FLAT", metric_type="L2")
            c.create_collection(self.meta_name, schema=s, index_params=ip, consistency_level="Strong")
        self.exists()

    def drop(self) -> None:
        for name in (self.name, self.meta_name):
            if self.client.has_collection(name):
                self.client.drop_collection(name)
        self._loaded = False

    # --- the pointer and the state ------------------------------------------------

    def pointer(self) -> Pointer | None:
        if not self.exists():
            return None
        rows = self.client.get(self.meta_name, ids=["pointer"], output_fields=["body"])
        if not rows:
            return None
        body = json.loads(rows[0]["body"])
        return Pointer(int(body["gen"]), bool(body["exact"]), int(body["next_gen"]))

    def read_pointer(self) -> Pointer:
        """The pointer row, with typed errors: :class:`IndexNotFoundError` when there is none,
        :class:`IndexBackendUnavailableError` when Milvus does not answer."""
        from pymilvus.exceptions import MilvusException

        try:
            pointer = self.pointer()
        except MilvusException as exc:
            raise IndexBackendUnavailableError(f"cannot read the pointer of {self.meta_name} at {self.uri}: "
                                               f"{exc.message}") from None
        if pointer is None:
            raise IndexNotFoundError(
                f"no index in Milvus collection {self.name} at {self.uri}; build one with `ragchat index add PATH`")
        return pointer

    def _set_pointer(self, pointer: Pointer) -> None:
        body = json.dumps({"gen": pointer.gen, "exact": pointer.exact, "next_gen": pointer.next_gen})
        self.client.upsert(self.meta_name, [{"pk": "pointer", "kind": "pointer", "doc_gen": "", "body": body,
                                             "v": [0.0, 0.0]}])

    def _meta_rows(self, kind: str, prefix: str) -> list[dict[str, Any]]:
        """The ``kind`` rows whose pk starts with ``prefix``, in part order."""
        rows = self.client.query(self.meta_name, filter=f'kind == "{kind}" and pk like "{prefix}%"',
                                 output_fields=["pk", "body"], limit=16384)
        return sorted(rows, key=lambda r: int(r["pk"].rsplit("#", 1)[1]))

    def state(self, gen: int) -> dict[str, Any]:
        rows = self._meta_rows("state", f"state@{gen}#")
        try:
            return json.loads("".join(r["body"] for r in rows))
        except json.JSONDecodeError:
            raise CorruptIndexError(f"Milvus collection {self.meta_name}: the state of generation {gen} is "
                                    "incomplete; run `ragchat index rebuild`") from None

    def document_text(self, doc_gen: str) -> str:
        rows = self._meta_rows("text", f"text@{doc_gen}#")
        if not rows:
            raise CorruptIndexError(f"no text stored in Milvus for document {doc_gen}")
        return "".join(r["body"] for r in rows)

    # --- reading --------------------------------------------------------------------

    def load(self, model_id: str | None = None, cache_dir: Path | None = None,
             previous: Snapshot | None = None) -> "MilvusSnapshot":
        """The live generation as a snapshot whose searches run in Milvus. Its keyword index is read
        from the local cache, or rebuilt from ``previous``' (a snapshot this process held), or built."""
        pointer = self.pointer()
        if pointer is None:
            raise IndexNotFoundError(
                f"no index in Milvus collection {self.name} at {self.uri}; build one with `ragchat index add PATH`")
        state = self.state(pointer.gen)
        manifest = state["manifest"]
        if model_id is not None:
            check_model(manifest, model_id)
        live = {d: f"{d}@{g}" for d, g in state["live"].items()}
        chunks = self._live_chunks(live, pointer.exact)
        documents = {k: DocRecord(**v) for k, v in state["documents"].items()}
        pairs = [(c.id, embed_text(c, manifest["embedding"]["with_headings"])) for c in chunks]
        keyword = keyword_index(pairs, cache_dir, self.cache_scope, previous.keyword if previous else None)
        no_vectors = np.zeros((0, int(manifest["embedding"]["dimension"])), dtype=np.float32)  # they stay in Milvus
        snap = MilvusSnapshot(manifest, chunks, no_vectors, documents, None, keyword, pointer=f"g-{pointer.gen}")
        snap.attach(self, pointer.gen, live)
        snap.sparse_avgdl = state.get("sparse_avgdl")  # None: written before it was recorded
        return snap

    @property
    def cache_scope(self) -> str:
        """This collection's folder in the local keyword index cache (:mod:`index.keyword.cache`)."""
        return f"{self.name}-{hashlib.blake2b(self.uri.encode('utf-8'), digest_size=4).hexdigest()}"

    def _live_chunks(self, live: dict[str, str], exact: bool) -> list[Chunk]:
        """The live generation's chunks, in document and reading order (their vectors are not read)."""
        expr = 'doc_gen != ""' if exact else f"doc_gen in {_quote(live.values())}"
        fields = ["chunk_id", "chunk", "doc_id", "doc_gen"]
        rows: list[dict[str, Any]] = []
        if is_lite(self.uri):  # Milvus Lite has no query window (nor the timestamps an iterator wants)
            rows = self.client.query(self.name, filter=expr, output_fields=fields, limit=1 << 40)
        else:
            it = self.client.query_iterator(self.name, batch_size=1000, filter=expr, output_fields=fields)
            try:
                while batch := it.next():
                    rows += batch
            finally:
                it.close()
        wanted = set(live.values())  # an exact pointer may go inexact while this reads: a writer's rows are left out
        rows = [r for r in rows if r["doc_gen"] in wanted]
        chunks = [Chunk.from_dict(r["chunk"]) for r in rows]
        rank = {d: i for i, d in enumerate(live)}
        return sorted(chunks, key=lambda c: (rank.get(c.doc_id, -1), c.seq))

    def vectors(self, pks: list[str], dim: int) -> np.ndarray:
        """The dense vectors of the rows ``pks``, in that order; :class:`CorruptIndexError` when one is missing."""
        found: dict[str, list[float]] = {}
        for i in range(0, len(pks), GET_BATCH):
            for r in self.client.get(self.name, ids=pks[i:i + GET_BATCH], output_fields=["dense"]):
                found[r["pk"]] = r["dense"]
        missing = [pk for pk in pks if pk not in found]
        if missing:
            raise CorruptIndexError(f"Milvus collection {self.name} has no row {missing[0]} "
                                    f"({len(missing)} missing); run `ragchat index rebuild`")
        return np.asarray([found[pk] for pk in pks], dtype=np.float32).reshape(len(pks), dim)

    # --- writing --------------------------------------------------------------------

    def commit(self, snapshot: Snapshot, texts: dict[str, str], old: "MilvusSnapshot | None",
               still_locked: Callable[[], None] | None = None) -> tuple[str, int]:
        """Make ``snapshot`` live: write its new and changed documents under a new generation,
        then flip the pointer; returns the generation's name (``g-<n>``) and how many unchanged
        documents were written again.

        Every live row's BM25 vector is normalised by one average chunk length, recorded in the
        state (``sparse_avgdl``). New rows are written with it, so that the rows stay comparable;
        when the collection's true average has moved more than ``index.milvus_avgdl_tolerance``
        away from it, every document is written again with the true one.

        ``still_locked`` (the writers' shared lock, :mod:`index.shared_lock`) raises when the lock
        was lost; it is asked before the first row is written and again just before the flip, so a
        writer that lost it leaves only rows outside every live set, which the next commit deletes."""
        if still_locked is not None:
            still_locked()
        dim = int(snapshot.manifest["embedding"]["dimension"])
        self.create(dim)
        pointer = self.pointer() or Pointer(0, True, 1)
        gen = pointer.next_gen
        self._set_pointer(Pointer(pointer.gen, False, gen + 1))  # rows outside the live set may appear
        old_live = old.live if old is not None else {}
        current = sparse.average_length(snapshot.keyword)
        written = old.sparse_avgdl if old is not None else None
        renormalise = old is not None and sparse.drifted(written, current, self.settings.index.milvus_avgdl_tolerance)
        avgdl = current if old is None or renormalise else written  # drifted() holds for an unrecorded one
        live: dict[str, int] = {}
        changed: list[str] = []
        rewritten = 0
        for doc_id, record in snapshot.documents.items():
            if old is not None and doc_id in old_live and old.documents.get(doc_id) == record:
                if not renormalise:
                    live[doc_id] = int(old_live[doc_id].rsplit("@", 1)[1])
                    continue
                rewritten += 1
            live[doc_id] = gen
            changed.append(doc_id)
        self._write_documents(snapshot, texts, changed, gen, old, avgdl)
        state = {"manifest": snapshot.manifest, "live": live,
                 "documents": {k: asdict(v) for k, v in snapshot.documents.items()}, "sparse_avgdl": avgdl}
        body = json.dumps(state, ensure_ascii=True)
        self.client.upsert(self.meta_name, [
            {"pk": f"state@{gen}#{i}", "kind": "state", "doc_gen": "", "body": part, "v": [0.0, 0.0]}
            for i, part in enumerate(_parts(body))])
        if still_locked is not None:
            still_locked()
        self._set_pointer(Pointer(gen, False, gen + 1))  # the commit point
        self.clean(gen, {f"{d}@{g}" for d, g in live.items()})
        for name in (self.name, self.meta_name):  # sealed, indexed segments: searches no longer scan rows
            self.client.flush(name)
        return f"g-{gen}", rewritten

    def _write_documents(
        self, snapshot: Snapshot, texts: dict[str, str], doc_ids: list[str], gen: int, old: "MilvusSnapshot | None",
        avgdl: float,
    ) -> None:
        wanted = set(doc_ids)
        with_headings = snapshot.manifest["embedding"]["with_headings"]
        sparse_of = sparse.chunk_vectors(snapshot.keyword, avgdl)
        chunks = [c for c in snapshot.chunks if c.doc_id in wanted]
        for lo in range(0, len(chunks), BATCH):
            batch = chunks[lo:lo + BATCH]
            vectors = snapshot.vectors_of([c.id for c in batch])  # a kept document's, read from Milvus
            self.client.insert(self.name, [{
                "pk": f"{chunk.id}@{gen}", "chunk_id": chunk.id, "doc_id": chunk.doc_id,
                "doc_gen": f"{chunk.doc_id}@{gen}", "text": embed_text(chunk, with_headings),
                "chunk": chunk.to_dict(), "dense": vector.tolist(), "sparse": sparse_of[chunk.id] or {0: 0.0},
            } for chunk, vector in zip(batch, vectors)])
        meta = []
        for doc_id in doc_ids:
            text = texts[doc_id] if doc_id in texts else (old or snapshot).document_text(doc_id)
            meta += [{"pk": f"text@{doc_id}@{gen}#{i}", "kind": "text", "doc_gen": f"{doc_id}@{gen}", "body": part,
                      "v": [0.0, 0.0]} for i, part in enumerate(_parts(text))]
        for i in range(0, len(meta), BATCH):
            self.client.insert(self.meta_name, meta[i:i + BATCH])

    def clean(self, gen: int, live: set[str]) -> None:
        """Delete every row outside generation ``gen``'s live set, then mark the pointer exact."""
        keep = _quote(live)
        self.client.delete(self.name, filter=f"doc_gen not in {keep}")
        self.client.delete(self.meta_name, filter=f'kind == "text" and doc_gen not in {keep}')
        self.client.delete(self.meta_name, filter=f'kind == "state" and not (pk like "state@{gen}#%")')
        pointer = self.pointer()
        assert pointer is not None
        self._set_pointer(Pointer(gen, True, pointer.next_gen))

    # --- searching ------------------------------------------------------------------

    def search(self, field: str, data: Any, depth: int, expr: str) -> list[tuple[str, str, float]]:
        """One Milvus search: ``(chunk id, doc_gen, score)`` of the best ``depth`` rows matching ``expr``."""
        hits = self.client.search(self.name, data=[data], anns_field=field, limit=depth, filter=expr,
                                  output_fields=["chunk_id", "doc_gen"])[0]
        return [(h["entity"]["chunk_id"], h["entity"]["doc_gen"], _score(field, h["distance"])) for h in hits]

    def live_search(self, field: str, data: Any, depth: int, expr: str, live: Collection[str]) -> list[tuple[str, float]]:
        """The best ``depth`` rows among the documents generations ``live``, in one call when it can.

        The search runs without the generation filter first and keeps its hits when every one is
        live: then they are the best live rows too (the live rows are a subset of the rows searched).
        When any hit belongs to another generation (a writer at work, a crashed one, or a newer
        generation this reader has not loaded), the search is made again with the filter. So no
        read of the pointer is needed, and a reader never sees a row outside its generation
        whatever the pointer says."""
        hits = self.search(field, data, depth, expr)
        if any(doc_gen not in live for _, doc_gen, _ in hits):
            only_live = f"doc_gen in {_quote(live)}"
            hits = self.search(field, data, depth, f"({expr}) and {only_live}" if expr else only_live)
        return [(chunk_id, score) for chunk_id, _, score in hits]


def load_live_store(
    settings: Settings, model_id: str | None, cache_dir: Path | None, previous: Snapshot | None = None,
) -> "MilvusSnapshot":
    """Connect to the knowledge base's collection and load its live generation (``previous``: as
    :meth:`MilvusStore.load`); the connection is closed if loading fails, else it is the snapshot's
    until the snapshot is closed."""
    store = MilvusStore(settings, settings.index_dir)
    try:
        return store.load(model_id, cache_dir, previous)
    except BaseException:
        store.close()
        raise


def _score(field: str, distance: float) -> float:
    """Milvus Lite reports BM25 as a negative distance; the retriever wants the score."""
    return abs(float(distance)) if field == "bm25" else float(distance)


class MilvusSnapshot(Snapshot):
    """A snapshot of one Milvus generation: its chunks and keyword statistics in memory; the vectors
    stay in Milvus (``vectors`` is empty, :meth:`vectors_of` reads them) and the searches run there."""

    store: MilvusStore | None = None
    gen: int = 0
    live: dict[str, str] = {}

    live_set: frozenset[str] = frozenset()
    sparse_avgdl: float | None = None  # the average chunk length the live rows' BM25 vectors were written with

    def attach(self, store: MilvusStore, gen: int, live: dict[str, str]) -> None:
        self.store, self.gen, self.live = store, gen, live
        self.live_set = frozenset(live.values())

    def live_pointer(self) -> str:
        """What the pointer row names now (``g-<n>``), read from Milvus: one single-row get.
        :class:`IndexNotFoundError` when the collection or its pointer is gone."""
        assert self.store is not None
        pointer = self.store.read_pointer()
        return f"g-{pointer.gen}"

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    @property
    def dimension(self) -> int:
        return int(self.manifest["embedding"]["dimension"])

    def vectors_of(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The vectors of ``chunk_ids``, read from this generation's rows in Milvus."""
        assert self.store is not None
        pks = []
        for chunk_id in chunk_ids:
            doc_gen = self.live[self.chunks[self.row(chunk_id)].doc_id]
            pks.append(f"{chunk_id}@{doc_gen.rsplit('@', 1)[1]}")
        return self.store.vectors(pks, self.dimension)

    def document_text(self, doc_id: str) -> str:
        if doc_id not in self._texts:
            if self.store is None or doc_id not in self.live:
                raise CorruptIndexError(f"no text stored for document {doc_id}")
            self._texts[doc_id] = self.store.document_text(self.live[doc_id])
        return self._texts[doc_id]

    # --- the retriever's side (index.retriever) ---------------------------------------

    def milvus_candidates(
        self, mode: str, qvec: np.ndarray | None, query: str, depth: int, exclude: Collection[str],
        keyword_field: str,
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """Dense hits and keyword hits among this generation's rows: one Milvus search each
        (two when rows of another generation came first, :meth:`MilvusStore.live_search`).
        The retriever fuses them (``index.retriever.rrf_fuse``), as on FAISS."""
        assert self.store is not None
        expr = f"doc_id not in {_quote(exclude)}" if exclude else ""
        live = self.live_set
        dense: list[tuple[str, float]] = []
        keyword: list[tuple[str, float]] = []
        if mode in ("dense", "hybrid"):
            assert qvec is not None
            dense = self.store.live_search("dense", np.asarray(qvec, dtype=np.float32).tolist(), depth, expr, live)
        if mode in ("keyword", "hybrid"):
            data: Any = query if keyword_field == "bm25" else sparse.query_vector(self.keyword, query)
            if data:
                keyword = [(c, s) for c, s in self.store.live_search(keyword_field, data, depth, expr, live) if s > 0]
        return dense, keyword
