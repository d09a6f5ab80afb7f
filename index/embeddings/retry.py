"""Retrying a request to a remote embeddings server, with backoff (tenacity).

Only what can succeed on a second try is retried: connection errors, timeouts,
a dropped connection, HTTP 429 and 5xx. A 429 or 503 with ``Retry-After`` is
retried after the time the server asks for (at most :data:`RETRY_AFTER_CAP_S`).
Anything else (400, 401, 404, a malformed answer) fails at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ragchat.errors import EmbeddingError

T = TypeVar("T")

#: The longest ``Retry-After`` honoured, in seconds (a longer one is cut to this).
RETRY_AFTER_CAP_S = 60.0

#: HTTP statuses worth retrying: too many requests, and the server's own failures.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class EmbeddingRequestError(EmbeddingError):
    """One request to an embeddings server failed.

    ``retryable`` says whether sending the same request again may succeed;
    ``retry_after`` is the wait the server asked for (seconds), if any;
    ``status`` is the HTTP status, or ``None`` when no answer came.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.unreachable = unreachable


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is sent again.

    ``retries`` more attempts after the first; waits grow from ``backoff_s``
    doubling up to ``backoff_max_s``, with up to ``backoff_s`` of random jitter
    so that concurrent batches do not retry in lockstep.
    """

    retries: int = 3
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise EmbeddingError(f"retries must be a whole number >= 0, got {self.retries!r}")
        if not self.backoff_s >= 0 or not self.backoff_max_s >= self.backoff_s:
            raise EmbeddingError(
                f"backoff must satisfy 0 <= backoff_s <= backoff_max_s, got {self.backoff_s!r}, "
                f"{self.backoff_max_s!r}"
            )

    def wait_s(self, state: RetryCallState) -> float:
        """The wait before the next attempt: the server's ``Retry-After``, else the backoff."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, EmbeddingRequestError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), RETRY_AFTER_CAP_S)
        if self.backoff_s == 0:
            return 0.0
        backoff = wait_exponential_jitter(multiplier=self.backoff_s, max=self.backoff_max_s, jitter=self.backoff_s)
        return float(backoff(state))

    def call(self, fn: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
        """``fn()``, sent again on a retryable :class:`EmbeddingRequestError`.

        The last error is raised as it is, its message saying how many attempts were made.
        """
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self.wait_s,
            retry=retry_if_exception(lambda e: isinstance(e, EmbeddingRequestError) and e.retryable),
            reraise=True,
            sleep=sleep,
        )
        try:
            return retrying(fn)
        except EmbeddingRequestError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            if exc.retryable and attempts > 1:
                exc.args = (f"{exc.args[0]} (after {attempts} attempts)",)
            raise


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delay-seconds or an HTTP date), else ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
