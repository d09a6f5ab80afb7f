"""``ragchat index status`` and ``ragchat index verify`` on the Milvus backend.

:func:`milvus_status` reads what the pointer row names (a few calls);
:func:`verify_milvus` reads every row of the chunk collection and checks the
live generation against its state: each live document's chunks all there,
with one row each and a finite, non-zero vector of the index's dimension, its
text stored, no row of a dead generation while the pointer says ``exact``
(the pointer's promise that no filter is needed), and the pointer itself.
Rows of other generations under a pointer that is not exact are counted, not a
problem: a writer is at work, or one crashed and the next update deletes them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from index.milvus.client import is_lite
from index.milvus.store import MilvusStore
from ragchat.errors import CorruptIndexError
from ragchat.settings import Settings


def masked_uri(uri: str) -> str:
    """The URI with any password in it replaced by ``***`` (``http://user:***@host:19530``)."""
    return re.sub(r"^([a-z]+://[^:/@]+):[^@/]*@", r"\1:***@", uri)


@dataclass(frozen=True)
class MilvusStatus:
    """What ``ragchat index status`` shows on Milvus."""

    uri: str  # masked
    token: str  # where the token comes from, never the token: "$MILVUS_TOKEN (set)", "none (Milvus Lite)"
    collection: str
    generation: int
    exact: bool
    model: str
    dimension: int
    documents: dict[str, dict[str, Any]]  # doc id -> its record (source, n_chunks, n_chars, indexed_at)

    @property
    def chunks(self) -> int:
        return sum(int(r["n_chunks"]) for r in self.documents.values())


def _token(settings: Settings, uri: str) -> str:
    import os

    if is_lite(uri):
        return "none (Milvus Lite)"
    env = settings.index.milvus_token_env
    return f"${env} ({'set' if os.environ.get(env) else 'not set: no token'})"


def milvus_status(settings: Settings) -> MilvusStatus:
    """The live generation's summary; :class:`IndexNotFoundError` when there is none."""
    store = MilvusStore(settings, settings.index_dir)
    try:
        pointer = store.read_pointer()
        state = store.state(pointer.gen)
        embedding = state["manifest"]["embedding"]
        return MilvusStatus(masked_uri(store.uri), _token(settings, store.uri), store.name, pointer.gen,
                            pointer.exact, embedding["model_id"], int(embedding["dimension"]), state["documents"])
    finally:
        store.close()


@dataclass
class MilvusCheck:
    """What :func:`verify_milvus` found; ``problems`` empty means the live generation is whole."""

    collection: str
    generation: int = 0
    exact: bool = False
    live_rows: int = 0
    dead_rows: int = 0  # rows of other generations (a writer at work, or a crashed one)
    problems: list[str] = field(default_factory=list)


def verify_milvus(settings: Settings) -> MilvusCheck:
    """Check the live generation against the rows; :class:`IndexNotFoundError` when there is none."""
    store = MilvusStore(settings, settings.index_dir)
    try:
        return _verify(store)
    finally:
        store.close()


def _all_rows(store: MilvusStore, fields: list[str]) -> list[dict[str, Any]]:
    if is_lite(store.uri):
        return store.client.query(store.name, filter='doc_gen != ""', output_fields=fields, limit=1 << 40)
    rows: list[dict[str, Any]] = []
    it = store.client.query_iterator(store.name, batch_size=1000, filter='doc_gen != ""', output_fields=fields)
    try:
        while batch := it.next():
            rows += batch
    finally:
        it.close()
    return rows


def _verify(store: MilvusStore) -> MilvusCheck:
    pointer = store.read_pointer()
    check = MilvusCheck(store.name, pointer.gen, pointer.exact)
    try:
        state = store.state(pointer.gen)
    except CorruptIndexError as exc:
        check.problems.append(str(exc))
        return check
    dim = int(state["manifest"]["embedding"]["dimension"])
    live = {doc: f"{doc}@{gen}" for doc, gen in state["live"].items()}
    records = state["documents"]
    if set(live) != set(records):
        check.problems.append(f"the state of generation {pointer.gen} lists {len(records)} documents "
                              f"but {len(live)} live generations")
    wanted = set(live.values())
    per_doc: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for row in _all_rows(store, ["pk", "chunk_id", "doc_gen", "dense"]):
        if row["doc_gen"] not in wanted:
            check.dead_rows += 1
            continue
        check.live_rows += 1
        per_doc[row["doc_gen"]] += 1
        seen[row["chunk_id"]] += 1
        vector = row["dense"]
        if len(vector) != dim:
            check.problems.append(f"chunk {row['chunk_id']} ({row['doc_gen']}): vector of dimension "
                                  f"{len(vector)}, the index's is {dim}")
        elif not all(math.isfinite(x) for x in vector) or not any(vector):
            check.problems.append(f"chunk {row['chunk_id']} ({row['doc_gen']}): vector is zero or not finite")
    for doc, doc_gen in sorted(live.items()):
        record = records.get(doc, {})
        expected, found = int(record.get("n_chunks", -1)), per_doc[doc_gen]
        source = record.get("source", doc)
        if found != expected:
            check.problems.append(f"document {source} ({doc_gen}): {found} chunk rows, its record says {expected}")
        try:
            store.document_text(doc_gen)
        except CorruptIndexError:
            check.problems.append(f"document {source} ({doc_gen}): its text is not stored")
    doubled = [c for c, n in seen.items() if n > 1]
    if doubled:
        check.problems.append(f"{len(doubled)} chunk ids have more than one live row (first: {doubled[0]})")
    if pointer.exact and check.dead_rows:
        check.problems.append(f"the pointer says exact (only live rows) but {check.dead_rows} rows belong to "
                              "other generations; readers leave them out, the next update deletes them")
    return check

