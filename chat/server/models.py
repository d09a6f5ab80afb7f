"""The response shapes of the API, as pydantic models: they make the OpenAPI schema exact
(``docs/openapi.json``), which schemathesis then holds the server to."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# A knowledge base is offered to OpenAI clients as the model `ragchat/<kb>`.
MODEL_PREFIX = "ragchat/"


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """Every error, in OpenAI's shape."""

    error: ErrorDetail


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


class CitationOut(BaseModel):
    """One ``[n]`` marker of the answer text, resolved to the exact quoted span of a document."""

    n: int
    chunk_id: str
    source: str
    heading: list[str]
    quote: str
    start: int
    end: int
    page: int | None


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class CompletionChoice(BaseModel):
    index: int
    finish_reason: Literal["stop"]
    logprobs: None
    message: AssistantMessage


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion``, with the answer's ``citations`` (also on the last chunk of a stream)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: None
    citations: list[CitationOut]
    conversation_id: str | None = Field(default=None, description="The stored conversation the turn was appended to.")
    turn: int | None = Field(default=None, description="The turn's number in that conversation.")


class RetrievedOut(BaseModel):
    rank: int
    chunk_id: str
    source: str
    heading: list[str]
    kind: str
    text: str
    score: float
    dense_score: float
    keyword_score: float
    pages: list[int]


class ChecksOut(BaseModel):
    numeric_faithful: bool
    unsupported_numbers: list[str]
    citation_coverage: float
    dropped_markers: list[str]
    repaired_markers: list[str]
    passages_dropped: int
    question_truncated: bool
    warnings: list[str]


class AnswerOut(BaseModel):
    """The ``Answer`` JSON, as ``ragchat ask --json`` prints it."""

    question: str
    standalone_question: str
    answer: str
    refused: bool
    refusal_reason: str
    answerer: str
    lang: str
    citations: list[CitationOut]
    retrieved: list[RetrievedOut]
    checks: ChecksOut
    timings_ms: dict[str, float]
    notes: list[str]
    short: str
    probability: float | None
    conversation_id: str | None = Field(default=None, description="The stored conversation the turn was appended to.")
    turn: int | None = Field(default=None, description="The turn's number in that conversation.")


class Status(BaseModel):
    status: str
    error: str | None = None
