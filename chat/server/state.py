"""The live answer service of a request: the app's :class:`chat.ui.documents.Library` holds it
(and follows index versions written by other processes)."""

from __future__ import annotations

from fastapi import Request

from chat.server.errors import not_ready
from chat.service import AnswerService


def live_service(request: Request) -> AnswerService:
    """The current service; 503 while the index is loading (a failed load raises its own error)."""
    try:
        return request.app.state.library.wait(timeout=0)
    except TimeoutError:
        raise not_ready() from None
