"""What the benchmark scripts share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(rounds: int, work: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``rounds`` runs of ``work`` in seconds (the least disturbed by other jobs
    on the machine), and what the last run returned."""
    best, result = float("inf"), None
    for _ in range(max(1, rounds)):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result  # type: ignore[return-value]
