"""The response shapes of the native resource routes (knowledge bases, documents, jobs, saved
conversations), as pydantic models: they make those routes' OpenAPI schema exact, so that
schemathesis holds their bodies to it as it does the answer routes' (:mod:`chat.server.models`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class KBStatus(BaseModel):
    """A knowledge base: its state and what its live index version holds."""

    object: Literal["kb"]
    name: str
    model: str
    state: Literal["not_loaded", "loading", "empty", "ready", "failed"]
    documents: int = Field(ge=0)
    chunks: int = Field(ge=0)
    embedding_model: str | None
    built_at: str | None
    error: str | None = None  # the live version's manifest could not be read


class KBList(BaseModel):
    object: Literal["list"]
    data: list[KBStatus]


class KBDeleted(BaseModel):
    object: Literal["kb"]
    name: str
    deleted: bool


class DocumentOut(BaseModel):
    doc_id: str
    name: str
    source: str
    n_chunks: int = Field(ge=0)
    n_chars: int = Field(ge=0)
    bytes: int | None
    indexed_at: str


class DocumentList(BaseModel):
    object: Literal["list"]
    kb: str
    data: list[DocumentOut]


class Skipped(BaseModel):
    file: str
    reason: str


class Report(BaseModel):
    """What an upload or a removal changed: the UI's report."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]
    skipped: list[Skipped]
    n_documents: int = Field(ge=0)
    n_chunks: int = Field(ge=0)
    seconds: float = Field(ge=0)


class JobError(BaseModel):
    type: str
    message: str


class JobOut(BaseModel):
    """An indexing job: its state and progress, then its report or its error."""

    id: str
    object: Literal["job"]
    kind: str
    kb: str
    state: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    message: str
    result: Report | None
    error: JobError | None
    created: int
    finished: int | None


class ConversationOut(BaseModel):
    id: str
    object: Literal["conversation"]
    title: str
    kb: str
    model: str
    created_at: str
    updated_at: str
    turns: int = Field(ge=0)


class MessageOut(BaseModel):
    role: str  # "user" or "assistant"
    content: str
    turn: int
    created_at: str
    answer: dict[str, Any] | None  # the Answer JSON of an answer, as POST /v1/ask returns it


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]


class ConversationList(BaseModel):
    object: Literal["list"]
    data: list[ConversationOut]
    offset: int = Field(ge=0)
    limit: int = Field(ge=1)
    has_more: bool


class ConversationDeleted(BaseModel):
    id: str
    object: Literal["conversation.deleted"]
    deleted: bool
