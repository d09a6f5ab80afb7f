"""``POST /v1/ask``: the ``Answer`` JSON, as ``ragchat ask --json`` prints it, from the knowledge
base ``kb`` (default: the conversation's with a ``conversation_id``, else the server's; a ``kb``
other than the conversation's is a 409)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from chat.request import checked_k
from chat.server.models import AnswerOut
from chat.server.schema import errors
from chat.server.conversations_api import recording
from chat.server.state import library, live_service
from chat.ui.sessions import AnswererChoice, answer_once, parse_history

router = APIRouter()


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    history: JsonValue = None  # [[role, text], ...] or [{"role", "content"}, ...], oldest first
    k: JsonValue = None  # checked by chat.request.checked_k, whose message the 422 carries
    conversation_id: str | None = Field(default=None, max_length=100)  # a stored conversation to append to
    kb: str | None = None  # the knowledge base; default: the server's (--kb, the kb setting)


@router.post("/ask", response_model=AnswerOut, response_model_exclude_unset=True, responses=errors(404))
def ask(body: AskRequest, request: Request) -> dict[str, Any]:
    k = checked_k(body.k)
    history = parse_history(body.history)
    kb = body.kb
    if kb is not None:
        request.state.model = kb
        kb = library(request, kb).settings.kb  # its own spelling; 404 if unknown
    record, history = recording(request, body.conversation_id, history, kb)  # 409: another KB's
    if kb is None and record is not None:
        kb = record.conversation.summary.kb
    request.state.model = library(request, kb).settings.kb  # the KB that answers, for the request log
    service = live_service(request, kb)
    choice = AnswererChoice("llm" if service.endpoint is not None else "extractive")
    answer = answer_once(service, body.question, history, choice, k)
    if record is None:
        return answer.to_dict()
    turn = record.record(body.question, answer)
    return {**answer.to_dict(), "conversation_id": record.id, "turn": turn}
