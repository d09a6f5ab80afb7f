"""The shared base of the embeddings backends: checks, batching, progress, stats."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator

from langchain_core.embeddings import Embeddings

from ._batching import check_batch_size
from ._text import check_query, check_texts
from .batch_runner import DoneBatch, run_batches
from .progress import progress_bar
from .stats import EmbeddingStats
from .vectors import FloatMatrix, as_matrix, stack, to_lists


class BatchedEmbeddings(Embeddings, ABC):
    """A langchain ``Embeddings`` that sends texts to its model in batches.

    Subclasses implement :meth:`_load` (called once, on first use, under a
    lock) and :meth:`_embed_batch` (one batch, documents or a query), and say
    what :attr:`model_id` and :attr:`dimension` are.

    ``embed_documents`` on a long list can show a tqdm bar on stderr: pass
    ``progress=True`` to the constructor or set the attribute.

    :meth:`iter_document_batches` yields each batch as it completes (what the
    cache stores at once); ``concurrency`` batches are in flight at a time (1
    here; a remote backend may send more).
    """

    #: Batches in flight at once (a backend that can overlap requests sets more).
    concurrency: int = 1

    def __init__(self, *, batch_size: int = 32, progress: bool = False) -> None:
        self.batch_size = check_batch_size(batch_size)
        self.progress = progress
        self.stats = EmbeddingStats()
        self._stats_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._loaded = False

    # --- what subclasses provide ---------------------------------------------

    @property
    @abstractmethod
    def model_id(self) -> str:
        """A stable name of the model and of every setting that changes its vectors.

        Caches key vectors by it, so two settings that give different vectors
        must never share an id. Never loads the model.
        """

    @property
    @abstractmethod
    def dimension(self) -> int:
        """The length of the vectors. May load the model (see each backend)."""

    @abstractmethod
    def _load(self) -> None:
        """Load the model. Called at most once per instance, under a lock."""

    @abstractmethod
    def _embed_batch(self, texts: list[str], *, query: bool) -> tuple[FloatMatrix, int | None]:
        """Embed one batch; return unit-length vectors and the token count (or None)."""

    # --- the langchain interface ---------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded yet."""
        return self._loaded

    def ensure_loaded(self) -> None:
        """Load the model now if it is not loaded yet (thread-safe)."""
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed ``texts`` as passages, ``batch_size`` at a time, keeping their order."""
        items = check_texts(texts)
        if not items:
            return []
        parts: dict[int, FloatMatrix] = {}
        with progress_bar(len(items), f"embedding ({self.model_id})", self.progress) as bar:
            for done in self.iter_document_batches(items):
                parts[done.start] = done.vectors
                bar.update(done.vectors.shape[0])
        return to_lists(stack([parts[start] for start in sorted(parts)]))

    def iter_document_batches(self, texts: list[str]) -> Iterator[DoneBatch]:
        """Embed ``texts`` as passages, yielding each batch when it completes.

        Batches come in completion order (input order when ``concurrency`` is
        1); each :class:`DoneBatch` says which slice of ``texts`` it holds.
        Raises :class:`~index.embeddings.batch_runner.BatchesFailedError` at the
        end if some texts failed even alone, after yielding all the others.
        """
        items = check_texts(texts)
        if not items:
            return
        self.ensure_loaded()
        yield from run_batches(
            items,
            lambda batch: self._timed(batch, query=False),
            batch_size=self.batch_size,
            concurrency=self.concurrency,
        )

    def embed_query(self, text: str) -> list[float]:
        """Embed one search query."""
        query = check_query(text)
        self.ensure_loaded()
        return to_lists(self._timed([query], query=True))[0]

    def _timed(self, texts: list[str], *, query: bool) -> FloatMatrix:
        start = time.perf_counter()
        matrix, tokens = self._embed_batch(texts, query=query)
        with self._stats_lock:
            self.stats.add(len(texts), time.perf_counter() - start, tokens)
        return as_matrix(matrix, len(texts), self.model_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r}, batch_size={self.batch_size})"
