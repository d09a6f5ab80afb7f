"""The typed values that pass between the stages of the answer path (docs/architecture.md).

    Request → Prepared → Found → Retrieval → (an answerer's Draft) → Answer
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chat.question import Question
from chat.refusal import Support
from chat.request import checked_k
from chat.selector import Decision, Scored
from chat.types import Passage


@dataclass(frozen=True)
class Request:
    question: str
    history: tuple[tuple[str, str], ...] = ()
    answerer: str = "extractive"
    k: int | None = None
    exclude: tuple[str, ...] = ()
    endpoint: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", checked_k(self.k))  # InvalidRequestError, for every front end


@dataclass(frozen=True)
class Prepared:
    request: Request
    text: str  # the cleaned (and possibly truncated) question
    history: tuple[tuple[str, str], ...]
    lang: str
    standalone: str
    truncated: bool
    started: float
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    prepared: Prepared
    question: Question
    passages: list[Passage]
    qvec: np.ndarray


@dataclass(frozen=True)
class Retrieval:
    """What the answerers see: the analysed question, the passages that fit, the ranked
    candidate sentences with their features, and the decision to answer or refuse."""

    prepared: Prepared
    question: Question
    passages: list[Passage]
    dropped: int
    support: Support
    ranked: list[Scored]
    features: np.ndarray
    decision: Decision
    unanswered: tuple[str, ...] = ()
    qvec: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Draft:
    """What an answerer says: the text with its ``[n]`` markers, and the short answer."""

    text: str
    short: str = ""
