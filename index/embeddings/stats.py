"""Running throughput figures of an embeddings model."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EmbeddingStats:
    """What a model has embedded so far, and how long the model calls took.

    ``tokens`` is ``None`` when the backend cannot count tokens.
    """

    texts: int = 0
    batches: int = 0
    seconds: float = 0.0
    tokens: int | None = None

    def add(self, texts: int, seconds: float, tokens: int | None = None) -> None:
        """Record one model call."""
        self.texts += texts
        self.batches += 1
        self.seconds += seconds
        if tokens is not None:
            self.tokens = (self.tokens or 0) + tokens

    @property
    def texts_per_second(self) -> float:
        """Texts embedded per second of model time (0.0 before any call)."""
        return self.texts / self.seconds if self.seconds > 0 else 0.0

    @property
    def tokens_per_second(self) -> float | None:
        """Tokens embedded per second of model time, if tokens are counted."""
        if self.tokens is None:
            return None
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def reset(self) -> None:
        """Forget everything recorded so far."""
        self.texts = 0
        self.batches = 0
        self.seconds = 0.0
        self.tokens = None
