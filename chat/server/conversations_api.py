"""Saved conversations over HTTP: ``/v1/conversations`` (list, create, get, rename, delete, export),
and the ``conversation_id`` that ``/v1/chat/completions`` and ``/v1/ask`` take.

A request without ``conversation_id`` stores nothing (OpenAI clients send the whole history each
time; storing every request would fill the list with one-question conversations). To keep one,
``POST /v1/conversations`` makes it and the id goes with each request; with it, the turn is appended,
and when the request's messages hold no earlier turns the stored ones condense the follow-up.

The caller is who the conversations belong to: with ``serve.tokens``, a hash of the bearer token
(each token sees its own); without tokens, nobody in particular, as the UI without a login, so a
conversation started in the UI can go on through the API on the same machine and back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from chat.conversations import ConversationStore, Turn
from chat.conversations.export import to_markdown
from chat.conversations.types import DEFAULT_KB, Conversation, ConversationSummary, StoredMessage
from chat.server.errors import APIError
from chat.server.models import MODEL_PREFIX
from chat.server.resource_models import (
    ConversationDeleted,
    ConversationDetail,
    ConversationList,
    ConversationOut,
)
from chat.server.schema import errors
from chat.types import Answer

router = APIRouter()
# every route: 404 when conversations are off (conversations.enabled), 503 when the database fails
UNAVAILABLE = errors(404, 503)


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


def caller(request: Request) -> str | None:
    """Whose conversations a request sees: ``token:<hash>`` of its bearer token, or None without tokens."""
    if not request.app.state.settings.serve.tokens:
        return None
    _, _, token = request.headers.get("authorization", "").partition(" ")
    return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:16]


def store_of(request: Request) -> ConversationStore:
    store = request.app.state.conversations
    if store is None:
        raise APIError(404, "this server does not store conversations (conversations.enabled is off)",
                       code="conversations_disabled", param="conversation_id")
    return store


def kb_of(model: str | None) -> str:
    """The knowledge base named by a model id ``ragchat/<kb>``; the default one otherwise."""
    return model[len(MODEL_PREFIX):] if model and model.startswith(MODEL_PREFIX) else DEFAULT_KB


@dataclass(frozen=True)
class Recording:
    """Where a request's turn goes: a stored conversation of the caller's."""

    store: ConversationStore
    conversation: Conversation
    user: str | None

    @property
    def id(self) -> str:
        return self.conversation.id

    def record(self, question: str, answer: Answer) -> int:
        return self.store.append(self.id, Turn(question, answer), user=self.user)


def recording(request: Request, conversation_id: str | None, history: list[tuple[str, str]],
              kb: str | None = None) -> tuple[Recording | None, list[tuple[str, str]]]:
    """The conversation a request continues (404 if unknown) and the history to condense with: the
    request's own, else the stored one. A conversation belongs to one knowledge base: a request
    that names another one (``kb``) is a 409 ``conversation_kb_mismatch``."""
    if conversation_id is None:
        return None, history
    user = caller(request)
    store = store_of(request)
    conversation = store.get(conversation_id, user=user)
    if kb is not None and kb.casefold() != conversation.summary.kb.casefold():
        raise APIError(409, f"the conversation {conversation_id!r:.80} belongs to the knowledge base "
                       f"{conversation.summary.kb!r}, not {kb!r:.80}; leave kb out (or use model "
                       f"{MODEL_PREFIX + conversation.summary.kb!r}) to continue it",
                       param="conversation_id", code="conversation_kb_mismatch")
    return Recording(store, conversation, user), history or conversation.history


# --- /v1/conversations --------------------------------------------------------------------------


class NewConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="", max_length=1000)
    model: str | None = None  # ragchat/<kb>


class Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=1000)


def summary_json(s: ConversationSummary) -> dict[str, Any]:
    return {"id": s.id, "object": "conversation", "title": s.title, "kb": s.kb, "model": MODEL_PREFIX + s.kb,
            "created_at": s.created_at.isoformat(), "updated_at": s.updated_at.isoformat(), "turns": s.n_turns}


def message_json(m: StoredMessage) -> dict[str, Any]:
    return {"role": m.role, "content": m.text, "turn": m.turn, "created_at": m.created_at.isoformat(),
            "answer": m.answer}


@router.get("/conversations", response_model=ConversationList, responses=UNAVAILABLE)
def list_conversations(request: Request, offset: int = Query(0, ge=0, le=2**31 - 1),
                       limit: int | None = Query(None, ge=1, le=500)) -> dict[str, Any]:
    """The caller's conversations, the most recently changed first."""
    page = store_of(request).list(user=caller(request), offset=offset,
                                  limit=limit or request.app.state.settings.conversations.page_size)
    return {"object": "list", "data": [summary_json(s) for s in page.items], "offset": page.offset,
            "limit": page.limit, "has_more": page.has_more}


@router.post("/conversations", status_code=201, response_model=ConversationOut, responses=UNAVAILABLE)
def create_conversation(body: NewConversation, request: Request) -> dict[str, Any]:
    return summary_json(store_of(request).create(title=body.title, kb=kb_of(body.model), user=caller(request)))


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail, responses=UNAVAILABLE)
def get_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
    """A conversation with its messages; each answer carries its Answer JSON (citations included)."""
    conversation = store_of(request).get(conversation_id, user=caller(request))
    return {**summary_json(conversation.summary), "messages": [message_json(m) for m in conversation.messages]}


@router.patch("/conversations/{conversation_id}", response_model=ConversationOut, responses=UNAVAILABLE)
def rename_conversation(conversation_id: str, body: Rename, request: Request) -> dict[str, Any]:
    return summary_json(store_of(request).rename(conversation_id, body.title, user=caller(request)))


@router.delete("/conversations/{conversation_id}", response_model=ConversationDeleted, responses=UNAVAILABLE)
def delete_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
    store_of(request).delete(conversation_id, user=caller(request))
    return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}


@router.get("/conversations/{conversation_id}/markdown", response_class=MarkdownResponse, responses=UNAVAILABLE)
def export_conversation(conversation_id: str, request: Request) -> MarkdownResponse:
    conversation = store_of(request).get(conversation_id, user=caller(request))
    return MarkdownResponse(to_markdown(conversation))
