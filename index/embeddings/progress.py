"""A tqdm progress bar (rate and ETA, on stderr) for embedding many chunks."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from langchain_core.embeddings import Embeddings

from ragchat.errors import MissingDependencyError

from ._batching import batches, check_batch_size
from ._text import check_texts

#: The unit the bar counts in: one chunk of a document is one text.
UNIT = "chunk"


class Bar(Protocol):
    """The part of a tqdm bar that the embedders use."""

    def update(self, n: float | None = 1) -> bool | None: ...


class _NoBar:
    def update(self, n: float | None = 1) -> bool | None:
        return None


def progress_bar(
    total: int, desc: str = "embedding", enabled: bool = True
) -> AbstractContextManager[Bar]:
    """Return a context manager giving a bar to ``update(n)`` as chunks are done.

    When ``enabled`` is false the bar does nothing and tqdm is not imported.
    """
    if not enabled:
        return nullcontext(_NoBar())
    try:
        from tqdm import tqdm
    except ImportError as exc:  # pragma: no cover - tqdm is a default dependency
        raise MissingDependencyError(
            "progress bars need tqdm; install it with: pip install tqdm"
        ) from exc
    bar: AbstractContextManager[Bar] = tqdm(
        total=total,
        desc=desc,
        unit=UNIT,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
        smoothing=0.1,
    )
    return bar


def embed_with_progress(
    embeddings: Embeddings,
    texts: Sequence[str],
    batch_size: int = 32,
    desc: str = "embedding",
) -> list[list[float]]:
    """Embed ``texts`` as documents batch by batch, showing a bar on stderr.

    Works with any langchain ``Embeddings`` (for :class:`CachedEmbeddings`
    every batch is one cache look-up and at most one model call). The bar
    shows chunks done, rate in chunks/s and the ETA.
    """
    items = check_texts(texts)
    check_batch_size(batch_size)
    vectors: list[list[float]] = []
    with progress_bar(len(items), desc) as bar:
        for batch in batches(items, batch_size):
            vectors.extend(embeddings.embed_documents(list(batch)))
            bar.update(len(batch))
    return vectors
