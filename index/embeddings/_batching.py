"""Splitting a list of texts into batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from ragchat.errors import EmbeddingError

T = TypeVar("T")


def check_batch_size(batch_size: int) -> int:
    """Return ``batch_size`` after checking it is a positive int."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise EmbeddingError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def batches(items: Sequence[T], batch_size: int) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of ``items`` of at most ``batch_size`` items."""
    check_batch_size(batch_size)
    for start in range(0, len(items), batch_size):
        yield items[start : start + batch_size]
