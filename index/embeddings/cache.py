"""A persistent SQLite cache of document vectors in front of any embeddings model.

Vectors are keyed by (model id, sha256 of the exact text, UTF-8) and stored as
little-endian float32 blobs. Only documents are cached; queries always go to
the model (one query costs milliseconds, and is rarely repeated verbatim).

Several processes may share one cache file: SQLite runs in WAL mode, every
write is one short transaction, and the model is never called while a
transaction is open. A race where two processes embed the same text ends with
one stored row (``INSERT OR IGNORE``) and the same vectors for both.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from ragchat.errors import EmbeddingError

from ._text import check_texts
from .base import BatchedEmbeddings
from .batch_runner import BatchesFailedError, describe_failed
from .progress import progress_bar

#: Host parameters per SELECT ... IN (...) (SQLite's old default limit is 999).
_LOOKUP_CHUNK = 500
#: How long a writer waits for another process's lock before giving up (ms).
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_sha256)
) WITHOUT ROWID
"""


def text_key(text: str) -> bytes:
    """The sha256 digest of the exact text (lone surrogates kept as they are)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _chunks(items: Sequence[bytes], size: int) -> Iterator[Sequence[bytes]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CachedEmbeddings(Embeddings):
    """Wraps ``inner`` so that each distinct document text is embedded once, ever.

    ``embed_documents`` looks every text up, sends the missing ones (each
    distinct text once) to the inner model, stores each batch as it completes
    and returns all vectors in input order. ``embed_query`` is passed
    through uncached.

    Counters, per distinct text within each call: ``hits`` were found in the
    cache, ``misses`` were sent to the model. Re-embedding unchanged text
    therefore only raises ``hits``.

    ``model_id`` defaults to ``inner.model_id``; an inner model without one
    needs it given, since vectors of different models must never mix.
    """

    def __init__(
        self, inner: Embeddings, path: str | Path, *, model_id: str | None = None, commit_every: int = 256
    ) -> None:
        if model_id is None:
            model_id = getattr(inner, "model_id", None)
        if not isinstance(model_id, str) or not model_id:
            raise EmbeddingError(
                f"{type(inner).__name__} has no model_id; pass model_id=... to "
                "CachedEmbeddings so cached vectors of different models never mix"
            )
        self.inner = inner
        self.commit_every = max(1, commit_every)
        self.path = Path(path)
        self.model_id = model_id
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._conn_pid = 0

    @property
    def dimension(self) -> int:
        """The inner model's dimension (which may load it).

        An inner model without a ``dimension`` attribute embeds one probe query.
        """
        dimension = getattr(self.inner, "dimension", None)
        if dimension is None:
            return len(self.inner.embed_query("dimension"))
        return int(dimension)

    # --- langchain interface --------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys, found = self._vectors(texts)
        return [found[key].tolist() for key in keys]

    def fill(self, texts: list[str]) -> None:
        """Embed and store the texts the cache lacks, returning nothing: a later call finds
        them (the index build fills in the answer selector's sentences this way)."""
        self._vectors(texts)

    def _vectors(self, texts: list[str]) -> tuple[list[bytes], dict[bytes, np.ndarray]]:
        """Each text's key, and the vector of each key: from the cache, else from the model."""
        items = check_texts(texts)
        if not items:
            return [], {}
        keys = [text_key(text) for text in items]
        unique: dict[bytes, str] = dict(zip(keys, items, strict=True))
        with self._lock:
            found = self._lookup(list(unique))
        missing = [key for key in unique if key not in found]
        with self._lock:
            self.hits += len(unique) - len(missing)
            self.misses += len(missing)
        if missing:
            try:
                found.update(self._embed_missing(missing, unique))
            except BatchesFailedError as exc:
                # name the failed texts by their positions in ``texts``, not in the missing list
                bad = {missing[i] for i in exc.failed}
                failed = [i for i, key in enumerate(keys) if key in bad]
                raise BatchesFailedError(describe_failed(items, failed, exc.last), failed, exc.last) from exc
        return keys, found

    def _embed_missing(self, missing: list[bytes], unique: dict[bytes, str]) -> dict[bytes, np.ndarray]:
        """Embed the missing texts and store each batch the moment it completes, so an
        interrupted reindex (Ctrl-C, SIGKILL, a failed batch) keeps every batch already
        paid for and the next run embeds only the rest. One progress bar covers the run
        and advances per completed batch (the inner model's own bar is off meanwhile).

        A :class:`BatchedEmbeddings` inner model yields its batches as they complete
        (concurrently for a remote server); any other model is called on slices of
        ``commit_every`` texts."""
        show = bool(getattr(self.inner, "progress", False))
        if show:
            self.inner.progress = False
        fresh: dict[bytes, np.ndarray] = {}
        texts = [unique[key] for key in missing]
        try:
            with progress_bar(len(missing), f"embedding ({self.model_id})", show) as bar:
                for start, vectors in self._completed(texts):
                    part = missing[start : start + len(vectors)]
                    if len(vectors) != len(part):
                        raise EmbeddingError(
                            f"{type(self.inner).__name__} returned {len(vectors)} vectors for "
                            f"{len(part)} texts"
                        )
                    batch = {key: np.asarray(v, dtype="<f4") for key, v in zip(part, vectors, strict=True)}
                    with self._lock:
                        self._store(batch.items())
                    fresh.update(batch)
                    bar.update(len(part))
        finally:
            if show:
                self.inner.progress = True
        return fresh

    def _completed(self, texts: list[str]) -> Iterator[tuple[int, Sequence[Sequence[float]]]]:
        """(start, vectors) of each slice of ``texts`` as the inner model completes it."""
        if isinstance(self.inner, BatchedEmbeddings):
            for done in self.inner.iter_document_batches(texts):
                yield done.start, done.vectors
            return
        for start in range(0, len(texts), self.commit_every):
            part = texts[start : start + self.commit_every]
            vectors = self.inner.embed_documents(part)
            if len(vectors) != len(part):
                raise EmbeddingError(
                    f"{type(self.inner).__name__} returned {len(vectors)} vectors for {len(part)} texts"
                )
            yield start, vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    async def aembed_query(self, text: str) -> list[float]:
        return await self.inner.aembed_query(text)

    # --- storage ---------------------------------------------------------------

    def __len__(self) -> int:
        """How many vectors of this model id the cache holds."""
        with self._lock:
            row = (
                self._db()
                .execute("SELECT COUNT(*) FROM embeddings WHERE model_id = ?", (self.model_id,))
                .fetchone()
            )
        return int(row[0])

    def close(self) -> None:
        """Close the database connection (a later call opens it again)."""
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> CachedEmbeddings:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _db(self) -> sqlite3.Connection:
        # A connection must not cross a fork: a child process opens its own.
        if self._conn is None or self._conn_pid != os.getpid():
            self._conn = self._connect()
            self._conn_pid = os.getpid()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,  # guarded by self._lock
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise EmbeddingError(
                f"cannot open the embeddings cache {self.path}: {exc}; if the file is "
                "damaged or not a SQLite database, delete it (it is only a cache)"
            ) from exc
        return conn

    def _lookup(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        try:
            conn = self._db()
            for chunk in _chunks(keys, _LOOKUP_CHUNK):
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    "SELECT text_sha256, dim, vector FROM embeddings "
                    f"WHERE model_id = ? AND text_sha256 IN ({marks})",
                    (self.model_id, *chunk),
                ).fetchall()
                for key, dim, blob in rows:
                    vector = np.frombuffer(blob, dtype="<f4")
                    if vector.shape[0] == dim:  # a damaged row is simply a miss
                        found[bytes(key)] = vector
        except sqlite3.Error as exc:
            raise EmbeddingError(
                f"cannot read the embeddings cache {self.path}: {exc}; if it is damaged, "
                "delete it (it is only a cache)"
            ) from exc
        return found

    def _store(self, rows: Iterable[tuple[bytes, np.ndarray]]) -> None:
        conn = self._db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR IGNORE INTO embeddings (model_id, text_sha256, dim, vector) "
                    "VALUES (?, ?, ?, ?)",
                    [(self.model_id, key, int(v.shape[0]), v.tobytes()) for key, v in rows],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise EmbeddingError(
                f"cannot write to the embeddings cache {self.path}: {exc}; check the disk "
                "and permissions, or delete the file (it is only a cache)"
            ) from exc

    def __repr__(self) -> str:
        return f"CachedEmbeddings({self.inner!r}, path={str(self.path)!r})"
