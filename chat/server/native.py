"""``POST /v1/ask``: the ``Answer`` JSON, as ``ragchat ask --json`` prints it, from the knowledge
base ``kb`` (default: the server's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, JsonValue

from chat.request import checked_k
from chat.server.state import live_service
from chat.ui.sessions import AnswererChoice, answer_once, parse_history

router = APIRouter()


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    history: JsonValue = None  # [[role, text], ...] or [{"role", "content"}, ...], oldest first
    k: JsonValue = None  # checked by chat.request.checked_k, whose message the 422 carries
    kb: str | None = None  # the knowledge base; default: the server's (--kb, the kb setting)


@router.post("/ask")
def ask(body: AskRequest, request: Request) -> dict[str, Any]:
    k = checked_k(body.k)
    history = parse_history(body.history)
    if body.kb is not None:
        request.state.model = body.kb
    service = live_service(request, body.kb)
    choice = AnswererChoice("llm" if service.endpoint is not None else "extractive")
    return answer_once(service, body.question, history, choice, k).to_dict()
