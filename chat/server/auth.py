"""Bearer tokens for ``/v1``: ``serve.tokens`` are read-only (ask, chat, models, every GET),
``serve.admin_tokens`` may also change knowledge bases and documents. With neither set (which
only loopback allows) everything is open. :class:`chat.server.middleware.RequireToken` applies
:func:`token_error` before a body is even read."""

from __future__ import annotations

import hmac

from chat.server.errors import APIError
from ragchat.errors import ConfigError
from ragchat.net import is_loopback
from ragchat.settings import Settings

READ_ONLY_METHODS = ("GET", "HEAD", "OPTIONS")
ADMIN_PATHS = ("/v1/kbs",)  # what changes the knowledge bases and their documents


def check_bind(settings: Settings, host: str, insecure: bool) -> None:
    """Raise :class:`ConfigError` for a non-loopback ``host`` without tokens, unless ``insecure``."""
    if not (settings.serve.tokens or settings.serve.admin_tokens) and not is_loopback(host) and not insecure:
        raise ConfigError(f"refusing to serve on {host} without tokens; set serve.tokens "
                          "(e.g. $RAGCHAT_SERVE__TOKENS='[\"...\"]') or serve.admin_tokens, or pass --insecure")


def is_admin_route(method: str, path: str) -> bool:
    """A request that changes knowledge bases or documents (it needs an admin token)."""
    return method.upper() not in READ_ONLY_METHODS and any(
        path == p or path.startswith(p + "/") for p in ADMIN_PATHS)


def _matches(given: bytes, tokens: tuple[str, ...]) -> bool:
    # compare with every token, so the time taken does not tell which one nearly matched
    return any([hmac.compare_digest(given, token.encode()) for token in tokens])


def token_error(authorization: str, tokens: tuple[str, ...], admin_tokens: tuple[str, ...] = (),
                admin_route: bool = False) -> APIError | None:
    """Why a request with this ``Authorization`` header may not make this call; None when it may."""
    if not tokens and not admin_tokens:
        return None
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return APIError(401, "missing bearer token; send Authorization: Bearer <token>", code="missing_api_key")
    given_bytes = given.strip().encode()
    admin = _matches(given_bytes, admin_tokens)
    if not admin and not _matches(given_bytes, tokens):
        return APIError(401, "invalid bearer token", code="invalid_api_key")
    if admin_route and not admin:
        return APIError(403, "this token is read-only; changing knowledge bases and documents needs one of "
                        "serve.admin_tokens", "permission_error", code="admin_token_required")
    return None
