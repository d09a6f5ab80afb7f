"""Errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, with the right status.

Library errors (:class:`ragchat.errors.RagchatError`) become an HTTP status in :func:`ragchat_error`,
the one handler for all of them; the server's own refusals are :class:`APIError`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chat.endpoints import EndpointNotAllowedError
from chat.ui.sessions import HistoryFormatError
from ragchat.errors import (
    ConfigError,
    ConversationNotFoundError,
    ConversationStoreError,
    EmptyQuestionError,
    IndexStoreError,
    InvalidRequestError,
    LLMError,
    RagchatError,
)

LOG = logging.getLogger("ragchat.serve")

# Library errors, most specific first: (class, status, OpenAI error type, code)
_STATUS: tuple[tuple[type[RagchatError], int, str, str], ...] = (
    (InvalidRequestError, 422, "invalid_request_error", "invalid_value"),
    (ConversationNotFoundError, 404, "invalid_request_error", "conversation_not_found"),
    (ConversationStoreError, 503, "server_error", "conversations_unavailable"),
    (EmptyQuestionError, 400, "invalid_request_error", "empty_question"),
    (HistoryFormatError, 400, "invalid_request_error", "invalid_history"),
    (EndpointNotAllowedError, 403, "permission_error", "endpoint_not_allowed"),
    (IndexStoreError, 503, "server_error", "index_unavailable"),
    (LLMError, 502, "server_error", "llm_failed"),
    (ConfigError, 500, "server_error", "misconfigured"),
)


class APIError(Exception):
    """A request the server refuses, with its status and OpenAI error fields."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers = headers or {}


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(status: int, message: str, type_: str, code: str | None = None,
                   param: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, type_, code, param), status_code=status, headers=headers)


def not_ready(message: str = "the index is still loading; try again in a moment") -> APIError:
    return APIError(503, message, "server_error", "not_ready")


async def api_error(request: Request, exc: APIError) -> JSONResponse:
    return error_response(exc.status, exc.message, exc.type, exc.code, exc.param, exc.headers or None)


async def ragchat_error(request: Request, exc: RagchatError) -> JSONResponse:
    """Every library error: its one-line message, and the status of the first class it is."""
    for cls, status, type_, code in _STATUS:
        if isinstance(exc, cls):
            break
    else:
        status, type_, code = 500, "server_error", "internal_error"
    if status >= 500:
        LOG.warning("%s: %s", type(exc).__name__, exc)
    return error_response(status, str(exc), type_, code)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Pydantic's complaints, in OpenAI's shape: 400 for a body that is not JSON, else 422."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "the request body is not valid JSON", "invalid_request_error", "invalid_json")
    first = errors[0] if errors else {}
    where = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(where) or None
    message = f"{param}: {first.get('msg', 'invalid value')}" if param else first.get("msg", "invalid request")
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return error_response(422, message, "invalid_request_error", "invalid_value", param)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return error_response(exc.status_code, str(exc.detail), type_, None, None, getattr(exc, "headers", None))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered with a plain message (never the traceback)."""
    LOG.exception("unexpected error on %s", request.url.path)
    return error_response(500, "internal error; see the server log", "server_error", "internal_error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(APIError, api_error)
    app.add_exception_handler(RagchatError, ragchat_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
