"""ASGI middleware of the API: bearer tokens (401), the body limit (413), the one log line per request."""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat.server.auth import token_error
from chat.server.errors import APIError, error_body

LOG = logging.getLogger("ragchat.serve")
API_PATHS = ("/v1", "/healthz", "/readyz")  # the UI's own requests (one a second) are not logged


def _is_api(scope: Scope, paths: tuple[str, ...] = API_PATHS) -> bool:
    path = scope.get("path", "")
    return scope["type"] == "http" and any(path == p or path.startswith(p + "/") for p in paths)


async def send_error(send: Send, error: APIError) -> None:
    """``error`` as a response in OpenAI's error shape, from the ASGI layer."""
    body = json.dumps(error_body(error.message, error.type, error.code, error.param)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if error.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequireToken:
    """401 for a ``/v1`` request without one of ``tokens`` (when any are set), before its body is read:
    a caller without a token learns nothing about what the API accepts."""

    def __init__(self, app: ASGIApp, tokens: tuple[str, ...]) -> None:
        self.app, self.tokens = app, tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.tokens and _is_api(scope, ("/v1",)):
            authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            error = token_error(authorization, self.tokens)
            if error is not None:
                await send_error(send, error)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Answers 413 in OpenAI's error shape to an API request whose body is over ``limit`` bytes,
    announced (Content-Length) or sent (chunked). The UI's uploads have their own limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await self._too_large(send)
            return
        messages: list[Message] = []
        size, more = 0, True
        while more:  # the whole body before the app sees it: at most `limit` bytes
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._too_large(send)
                return
            more = message.get("more_body", False)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await send_error(send, APIError(413, f"the request body is larger than {self.limit} bytes (serve.max_body_kb)",
                                        code="request_too_large"))


class RequestLog:
    """One INFO line per API request: request id, method and route, model, status, milliseconds.
    Never the question, never a token. The id is sent back as ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:12]
        scope.setdefault("state", {})
        started, status, logged = time.perf_counter(), 500, False

        def log() -> None:
            nonlocal logged
            if not logged:
                logged = True
                model = scope["state"].get("model", "-")
                LOG.info("%s %s %s model=%s status=%d %.0f ms", request_id, scope["method"], scope["path"],
                         str(model)[:80], status, (time.perf_counter() - started) * 1000)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                log()  # before the last bytes go: a client that has its reply finds the line written
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log()  # no reply was finished (an error, a client that left)
