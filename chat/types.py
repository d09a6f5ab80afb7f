"""What the answer path returns: an ``Answer`` with its ``Citation``s, checks and timings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """One ``[n]`` marker, resolved to the passage and the exact quoted span."""

    n: int
    chunk_id: str
    source: str
    heading: tuple[str, ...]
    quote: str
    start: int  # offsets of the quote in the original document text
    end: int
    page: int | None = None  # the page (or slide) where the quote starts; None without pages


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as numbered in the context (``n`` from 1)."""

    n: int
    chunk_id: str
    doc_id: str
    source: str
    heading: tuple[str, ...]
    kind: str
    text: str
    spans: tuple[tuple[int, int], ...]
    score: float
    dense_score: float
    keyword_score: float
    lead: str = ""  # outline passages: the sentence that introduces the list
    pages: tuple[tuple[int, int], ...] = ()  # (page, start offset) of each page the passage covers


def passages_of(docs) -> list[Passage]:
    """Retrieved langchain ``Document``s as numbered :class:`Passage`s (``n`` from 1)."""
    out = []
    for n, doc in enumerate(docs, 1):
        m = doc.metadata
        out.append(Passage(
            n=n, chunk_id=m["chunk_id"], doc_id=m["doc_id"], source=m["source"], heading=tuple(m["heading_path"]),
            kind=m["kind"], text=doc.page_content, spans=tuple(tuple(s) for s in m["spans"]),
            score=float(m["score"]), dense_score=float(m["dense_score"] or 0.0),
            keyword_score=float(m["keyword_score"] or 0.0), lead=m.get("lead", ""),
            pages=tuple(tuple(p) for p in m.get("pages", ())),
        ))
    return out


@dataclass(frozen=True)
class Notice:
    """Said while an answer streams: the LLM failed and the extractive answer follows."""

    text: str


@dataclass
class Checks:
    numeric_faithful: bool = True
    unsupported_numbers: list[str] = field(default_factory=list)
    citation_coverage: float = 1.0
    dropped_markers: list[str] = field(default_factory=list)
    repaired_markers: list[str] = field(default_factory=list)
    passages_dropped: int = 0
    question_truncated: bool = False

    @property
    def warnings(self) -> list[str]:
        notes = []
        if not self.numeric_faithful:
            notes.append("numbers not found in the cited passages: " + ", ".join(self.unsupported_numbers))
        if self.citation_coverage < 1.0:
            notes.append(f"only {self.citation_coverage:.0%} of the answer's sentences carry a citation")
        if self.dropped_markers:
            notes.append("citation markers that pointed nowhere were dropped: " + ", ".join(self.dropped_markers))
        if self.passages_dropped:
            notes.append(f"{self.passages_dropped} retrieved passage(s) did not fit the context budget")
        if self.question_truncated:
            notes.append("the question was too long and was truncated")
        return notes


@dataclass
class Answer:
    question: str
    standalone_question: str
    text: str
    citations: list[Citation]
    refused: bool
    passages: list[Passage]
    checks: Checks
    timings_ms: dict[str, float]
    answerer: str
    lang: str
    refusal_reason: str = ""
    notes: list[str] = field(default_factory=list)
    short: str = ""  # the asked-for figure or name inside the answer, when the selector finds one
    probability: float | None = None  # the refusal model's probability that the passages answer

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``ragchat ask --json`` and the API."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "answerer": self.answerer,
            "lang": self.lang,
            "citations": [
                {**asdict(c), "heading": list(c.heading)} for c in self.citations
            ],
            "retrieved": [
                {"rank": p.n, "chunk_id": p.chunk_id, "source": p.source, "heading": list(p.heading),
                 "kind": p.kind, "text": p.text, "score": p.score, "dense_score": p.dense_score,
                 "keyword_score": p.keyword_score, "pages": [page for page, _ in p.pages]}
                for p in self.passages
            ],
            "checks": {**asdict(self.checks), "warnings": self.checks.warnings},
            "timings_ms": self.timings_ms,
            "notes": self.notes,
            "short": self.short,
            "probability": None if self.probability is None else round(self.probability, 4),
        }
