"""The OpenAI-compatible routes: ``GET /v1/models`` and ``POST /v1/chat/completions``.

The knowledge bases are the models (``ragchat/<kb>``). The last user message is the question;
the messages before it are the history, which condenses a follow-up as the UI does. The answer
text keeps its ``[n]`` markers; the citations (``Answer.to_dict()["citations"]``) come in a
``citations`` field of the completion, or of the last chunk when streamed, and, with
``serve.sources_in_text``, as a Markdown list of sources at the end of the text.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from chat.server.conversations_api import Recording, recording
from chat.server.errors import LOG, APIError, error_body
from chat.server.models import MODEL_PREFIX, ChatCompletion, ModelList
from chat.server.schema import errors
from chat.server.state import libraries, live_service
from chat.types import Answer, Citation
from chat.ui.sessions import AnswererChoice, Event, stream_answer
from ragchat.errors import KnowledgeBaseError, RagchatError

MAX_TOKENS_LIMIT = 32768  # as llm.max_tokens; the extractive answerer does not use it

router = APIRouter()


def model_ids(request: Request) -> list[str]:
    """The knowledge bases as models, ``ragchat/<kb>``, the default one first."""
    return [MODEL_PREFIX + kb for kb in libraries(request).names()]


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    """The fields of OpenAI's request that matter here; the others (temperature, ...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[Message]
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    conversation_id: str | None = Field(default=None, max_length=100,
                                        description="A stored conversation to append this turn to (404 if unknown).")


def question_and_history(messages: list[Message]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message, and the user and assistant turns before it (system messages aside)."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise APIError(400, "messages hold no user message; the last one is the question", param="messages",
                       code="no_user_message")
    history = [(m.role, m.text) for m in messages[:last] if m.role in ("user", "assistant")]
    return messages[last].text, history


def sources_markdown(citations: list[Citation]) -> str:
    """The cited sources as a Markdown list, for clients that show only text."""
    if not citations:
        return ""
    lines = ["", "", "**Sources**", ""]
    for c in citations:
        page = f", p. {c.page}" if c.page is not None else ""
        heading = f" — {' > '.join(c.heading)}" if c.heading else ""
        lines.append(f"- [{c.n}] {Path(c.source).name}{page}{heading}: “{c.quote}”")
    return "\n".join(lines)


def _checked_kb(request: Request, model: str) -> str:
    """The knowledge base that ``model`` (``ragchat/<kb>``) names; 404 ``model_not_found`` for another."""
    kb = model.removeprefix(MODEL_PREFIX) if model.startswith(MODEL_PREFIX) else None
    try:
        if kb is not None:
            return libraries(request).registry.get(kb).name
    except KnowledgeBaseError:
        pass
    raise APIError(404, f"unknown model {model!r:.80}; GET /v1/models lists the knowledge bases",
                   param="model", code="model_not_found")


@router.get("/models", response_model=ModelList)
def list_models(request: Request) -> dict[str, Any]:
    created = int(request.app.state.started)
    return {"object": "list", "data": [{"id": m, "object": "model", "created": created, "owned_by": "ragchat"}
                                       for m in model_ids(request)]}


@router.post("/chat/completions", response_model=None, responses={
    200: {"model": ChatCompletion, "description": "The completion; with `stream: true`, server-sent events "
          "(`chat.completion.chunk` objects as `data:` lines, ending with `data: [DONE]`)",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}},
    **errors(404),
})
def chat_completions(body: ChatRequest, request: Request):
    request.state.model = body.model
    kb = _checked_kb(request, body.model)
    question, history = question_and_history(body.messages)
    service = live_service(request, kb)
    record, history = recording(request, body.conversation_id, history, kb)  # unknown: 404; another KB's: 409
    choice = AnswererChoice("llm" if service.endpoint is not None else "extractive")
    events = stream_answer(service, question, history, choice, None)
    first = next(events)  # a bad question fails here, before the response starts
    reply = _Reply(body.model, request.app.state.settings.serve.sources_in_text, question, record)
    if body.stream:
        return StreamingResponse(reply.sse(first, events), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return reply.completion(first, events)


class _Reply:
    """One completion's ids and the rendering of its answer, whole or as chunks; with a
    ``record``, the answer is appended to that conversation before the last chunk goes out."""

    def __init__(self, model: str, sources_in_text: bool, question: str = "", record: Recording | None = None) -> None:
        self.id = "chatcmpl-" + uuid.uuid4().hex
        self.created = int(time.time())
        self.model = model
        self.sources_in_text = sources_in_text
        self.question = question
        self.record = record

    def _stored(self, answer: Answer) -> dict[str, Any]:
        """Append the turn (when the request names a conversation); the reply's extra fields."""
        extra: dict[str, Any] = {"citations": answer.to_dict()["citations"]}
        if self.record is not None:
            extra["conversation_id"] = self.record.id
            extra["turn"] = self.record.record(self.question, answer)
        return extra

    def _tail(self, answer: Answer) -> str:
        return sources_markdown(answer.citations) if self.sources_in_text else ""

    def completion(self, first: Event, events: Iterator[Event]) -> dict[str, Any]:
        answer = next((e.answer for e in _chain(first, events) if e.answer is not None))
        extra = self._stored(answer)
        return {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": answer.text + self._tail(answer)}}],
            "usage": None,
            **extra,
        }

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    def sse(self, first: Event, events: Iterator[Event]) -> Iterator[str]:
        yield self._chunk({"role": "assistant", "content": ""})
        try:
            for event in _chain(first, events):
                if event.answer is not None:
                    answer = event.answer
                    yield self._chunk({"content": self._tail(answer)}, "stop", **self._stored(answer))
                    break
                if event.notice:  # the LLM failed: the extractive answer follows
                    yield self._chunk({"content": f"\n\n⚠ {event.notice}\n\n"})
                elif event.text:
                    yield self._chunk({"content": event.text})
        except RagchatError as exc:  # the status is sent already: the error is the last event
            LOG.warning("stream %s stopped: %s: %s", self.id, type(exc).__name__, exc)
            error = error_body(str(exc), "server_error", "stream_failed")
            yield f"data: {json.dumps(error, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"


def _chain(first: Event, rest: Iterator[Event]) -> Iterator[Event]:
    yield first
    yield from rest
