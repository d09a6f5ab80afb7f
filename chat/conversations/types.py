"""The values that go in and out of :class:`chat.conversations.ConversationStore`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chat.types import Answer, Checks, Citation, Passage

DEFAULT_KB = "default"
TITLE_CHARS = 200  # a title is the first question, cut to this length


@dataclass(frozen=True)
class StoredMessage:
    """One message: a user's question, or an assistant's answer with its JSON (``Answer.to_dict()``)."""

    role: str  # "user" or "assistant"
    text: str
    created_at: datetime
    turn: int  # 1 for the first question and its answer, 2 for the next, ...
    answer: dict[str, Any] | None = field(default=None, compare=False)  # the Answer JSON, for answers

    @property
    def citations(self) -> tuple[Citation, ...]:
        """The answer's citations, as they were when it was given (none for a question)."""
        return tuple(citation_from_json(c) for c in (self.answer or {}).get("citations", ()))


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation in a list: no messages."""

    id: str
    title: str
    kb: str
    user: str | None
    created_at: datetime
    updated_at: datetime
    n_turns: int


@dataclass(frozen=True)
class Conversation:
    """A conversation with its messages, oldest first."""

    summary: ConversationSummary
    messages: tuple[StoredMessage, ...]

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def title(self) -> str:
        return self.summary.title

    @property
    def history(self) -> list[tuple[str, str]]:
        """The (role, text) pairs that condense a follow-up, as the answer path takes them."""
        return [(m.role, m.text) for m in self.messages]


@dataclass(frozen=True)
class ConversationPage:
    """One page of a user's conversations, newest first."""

    items: tuple[ConversationSummary, ...]
    offset: int
    limit: int
    has_more: bool


@dataclass(frozen=True)
class Turn:
    """A question and its answer, to append to a conversation."""

    question: str
    answer: Answer

    @property
    def answer_json(self) -> dict[str, Any]:
        return self.answer.to_dict()


def title_of(question: str) -> str:
    """A conversation's default title: its first question on one line, cut to :data:`TITLE_CHARS`."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


def citation_from_json(data: dict[str, Any]) -> Citation:
    return Citation(n=int(data["n"]), chunk_id=str(data.get("chunk_id", "")), source=str(data.get("source", "")),
                    heading=tuple(data.get("heading") or ()), quote=str(data.get("quote", "")),
                    start=int(data.get("start", 0)), end=int(data.get("end", 0)), page=data.get("page"))


def answer_from_json(data: dict[str, Any]) -> Answer:
    """A stored answer, rebuilt from its JSON well enough to be shown again (text, citations, passages
    with their text and pages). Fields the JSON does not keep (spans, offsets of pages) stay empty."""
    passages = [
        Passage(n=int(p["rank"]), chunk_id=str(p.get("chunk_id", "")), doc_id="", source=str(p.get("source", "")),
                heading=tuple(p.get("heading") or ()), kind=str(p.get("kind", "")), text=str(p.get("text", "")),
                spans=(), score=float(p.get("score") or 0.0), dense_score=float(p.get("dense_score") or 0.0),
                keyword_score=float(p.get("keyword_score") or 0.0),
                pages=tuple((int(page), 0) for page in p.get("pages") or ()))
        for p in data.get("retrieved", ())
    ]
    checks = data.get("checks") or {}
    known = {k: v for k, v in checks.items() if k in Checks.__dataclass_fields__}
    return Answer(
        question=str(data.get("question", "")), standalone_question=str(data.get("standalone_question", "")),
        text=str(data.get("answer", "")), citations=[citation_from_json(c) for c in data.get("citations", ())],
        refused=bool(data.get("refused", False)), passages=passages, checks=Checks(**known),
        timings_ms=dict(data.get("timings_ms") or {}), answerer=str(data.get("answerer", "")),
        lang=str(data.get("lang", "")), refusal_reason=str(data.get("refusal_reason", "")),
        notes=list(data.get("notes") or ()), short=str(data.get("short", "")), probability=data.get("probability"),
    )
