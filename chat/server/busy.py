"""429 busy: at most ``serve.max_concurrent`` answers computed at once, ``serve.max_waiting`` requests
waiting for a turn; any request above that is answered 429 at once, with ``Retry-After``, instead of
queueing without end.

:class:`Busy` is ASGI middleware, so a streamed answer keeps its turn until its last event is sent
(or its client leaves). The limited routes are :data:`ANSWER_ROUTES`; the schema declares their 429.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from chat.server.errors import APIError
from chat.server.middleware import send_error

# (method, path) of the routes that compute an answer
ANSWER_ROUTES: frozenset[tuple[str, str]] = frozenset({("POST", "/v1/chat/completions"), ("POST", "/v1/ask")})
RETRY_AFTER_S = 1


@dataclass
class Load:
    """What the limiter holds now (for the logs and the tests)."""

    running: int = 0
    waiting: int = 0
    refused: int = 0


class Busy:
    """Bounds the answers computed at once and the requests waiting for a turn (429 above)."""

    def __init__(self, app: ASGIApp, max_concurrent: int, max_waiting: int,
                 routes: frozenset[tuple[str, str]] = ANSWER_ROUTES) -> None:
        self.app, self.max_concurrent, self.max_waiting, self.routes = app, max_concurrent, max_waiting, routes
        self.load = Load()
        self._turns: asyncio.Semaphore | None = None  # made in the server's event loop

    def _limited(self, scope: Scope) -> bool:
        return scope["type"] == "http" and (scope.get("method", ""), scope.get("path", "")) in self.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._limited(scope):
            await self.app(scope, receive, send)
            return
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.max_concurrent)
        if self._turns.locked() and self.load.waiting >= self.max_waiting:
            self.load.refused += 1
            await send_error(send, busy_error(self.max_concurrent, self.max_waiting))
            return
        self.load.waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self.load.waiting -= 1
        self.load.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.load.running -= 1
            self._turns.release()


def busy_error(max_concurrent: int, max_waiting: int) -> APIError:
    return APIError(429, f"the server is busy ({max_concurrent} answers computing, {max_waiting} waiting); "
                    f"retry in {RETRY_AFTER_S} s", "rate_limit_error", "server_busy",
                    headers={"Retry-After": str(RETRY_AFTER_S)})
