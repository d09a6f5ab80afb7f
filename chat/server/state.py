"""The libraries of a request's app (one :class:`chat.ui.documents.Library` per knowledge base,
chat.ui.libraries), and the live answer service of one knowledge base."""

from __future__ import annotations

from fastapi import Request

from chat.server.errors import not_ready
from chat.service import AnswerService
from chat.ui.documents import Library
from chat.ui.libraries import Libraries


def libraries(request: Request) -> Libraries:
    return request.app.state.libraries


def library(request: Request, kb: str | None = None) -> Library:
    """The library of ``kb`` (default: the server's); 404 for an unknown one (its error's handler)."""
    return libraries(request).get(kb)


LOAD_WAIT_S = 60.0  # a knowledge base opened on first use: the request waits for it (a few seconds)


def live_service(request: Request, kb: str | None = None) -> AnswerService:
    """The current service of ``kb``; 503 while its index is being built for the first time, or
    takes more than ``LOAD_WAIT_S`` to open (a failed load raises its own error)."""
    docs = library(request, kb)
    try:
        return docs.wait(timeout=0 if docs.first_build else LOAD_WAIT_S)
    except TimeoutError:
        raise not_ready() from None
