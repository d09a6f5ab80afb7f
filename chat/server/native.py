"""``POST /v1/ask``: the ``Answer`` JSON, as ``ragchat ask --json`` prints it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from chat.request import checked_k
from chat.server.models import AnswerOut
from chat.server.schema import errors
from chat.server.conversations_api import recording
from chat.server.state import live_service
from chat.ui.sessions import AnswererChoice, answer_once, parse_history

router = APIRouter()


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    history: JsonValue = None  # [[role, text], ...] or [{"role", "content"}, ...], oldest first
    k: JsonValue = None  # checked by chat.request.checked_k, whose message the 422 carries
    conversation_id: str | None = Field(default=None, max_length=100)  # a stored conversation to append to


@router.post("/ask", response_model=AnswerOut, response_model_exclude_unset=True, responses=errors(404))
def ask(body: AskRequest, request: Request) -> dict[str, Any]:
    k = checked_k(body.k)
    history = parse_history(body.history)
    service = live_service(request)
    record, history = recording(request, body.conversation_id, history)
    choice = AnswererChoice("llm" if service.endpoint is not None else "extractive")
    answer = answer_once(service, body.question, history, choice, k)
    if record is None:
        return answer.to_dict()
    turn = record.record(body.question, answer)
    return {**answer.to_dict(), "conversation_id": record.id, "turn": turn}
