"""One chat session: its history, its answerer settings, and how a question is answered.

Nothing here is shared between sessions: the history lives in the caller's
(Gradio's per-session) state, and an LLM endpoint built from a session's own
fields (base URL, model, API key) serves that request only. The API key goes
from the field into the request's ``ChatEndpoint`` and nowhere else: it is not
put into settings, logged or returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chat.condense import History
from chat.endpoints import check_base_url
from chat.service import AnswerService
from chat.types import Answer, Notice
from ragchat.errors import ChatError, ConfigError

ROLES = ("user", "assistant")


class HistoryFormatError(ChatError):
    """The history given to the API is not a list of turns."""


@dataclass(frozen=True)
class AnswererChoice:
    """What answers a session's questions: ``extractive``, or ``llm`` with an endpoint; ``user`` is
    the logged-in user who asks (None without a login), for :func:`chat.endpoints.check_base_url`."""

    name: str = "extractive"
    base_url: str = ""
    model: str = ""
    api_key: str = field(default="", repr=False)
    user: str | None = None


@dataclass
class Event:
    """One step of a streamed answer: more ``text``, a ``notice``, or the final ``answer``."""

    text: str = ""
    notice: str = ""
    answer: Answer | None = None


def parse_history(value: Any) -> list[tuple[str, str]]:
    """A history from the API: JSON text or a list of ``[role, text]`` pairs or
    ``{"role", "content"}`` messages; roles ``user`` and ``assistant``."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise HistoryFormatError(f"the history is not valid JSON ({exc.msg})") from None
    if not isinstance(value, list):
        raise HistoryFormatError("the history must be a list of [role, text] pairs or {role, content} messages")
    turns: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            role, text = item.get("role"), item.get("content")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            role, text = item
        else:
            raise HistoryFormatError(f"history item {i} is neither [role, text] nor {{role, content}}")
        if role not in ROLES or not isinstance(text, str):
            raise HistoryFormatError(f"history item {i}: role must be user or assistant and the text a string")
        turns.append((role, text))
    return turns


def endpoint_for(base: AnswerService, choice: AnswererChoice) -> Any:
    """The LLM endpoint that answers for ``choice``: None for the extractive answerer, the
    configured one, or one with the session's base URL, model and key. The loaded index,
    retriever and models of ``base`` serve every session; only the endpoint differs.

    Raises :class:`chat.endpoints.EndpointNotAllowedError` for a base URL the settings do not
    allow this user: then nothing is sent anywhere."""
    if choice.name != "llm":
        return None
    llm = base.settings.llm
    base_url = choice.base_url.strip() or llm.base_url
    model = choice.model.strip() or llm.model
    if not base_url or not model:
        raise ConfigError("the LLM answerer needs a base URL and a model (in Settings, or llm.base_url/llm.model)")
    check_base_url(base.settings, base_url, choice.user)
    same = base_url == llm.base_url and model == llm.model and not choice.api_key
    if same and base.endpoint is not None:
        return base.endpoint
    from chat.llm import ChatEndpoint

    return ChatEndpoint(llm.model_copy(update={"base_url": base_url, "model": model}), api_key=choice.api_key or None)


def stream_answer(base: AnswerService, question: str, history: History, choice: AnswererChoice,
                  k: int | None) -> Iterator[Event]:
    """Stream an answer; when the LLM fails, say so and give the extractive answer."""
    endpoint = endpoint_for(base, choice)
    for piece in base.stream(question, history, answerer=choice.name, k=k, fallback=True, endpoint=endpoint):
        if isinstance(piece, Answer):
            yield Event(answer=piece)
        elif isinstance(piece, Notice):
            yield Event(notice=piece.text)
        else:
            yield Event(text=piece)


def answer_once(base: AnswerService, question: str, history: History, choice: AnswererChoice,
                k: int | None) -> Answer:
    """The whole answer at once (the API), with the extractive fallback built in."""
    return base.answer(question, history, answerer=choice.name, k=k, endpoint=endpoint_for(base, choice))
