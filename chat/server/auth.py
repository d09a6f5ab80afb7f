"""Bearer tokens for ``/v1`` (``serve.tokens``): off when none are set, which only loopback allows."""

from __future__ import annotations

import hmac

from fastapi import Request

from chat.server.errors import APIError
from ragchat.errors import ConfigError
from ragchat.net import is_loopback
from ragchat.settings import Settings


def check_bind(settings: Settings, host: str, insecure: bool) -> None:
    """Raise :class:`ConfigError` for a non-loopback ``host`` without tokens, unless ``insecure``."""
    if not settings.serve.tokens and not is_loopback(host) and not insecure:
        raise ConfigError(f"refusing to serve on {host} without tokens; set serve.tokens "
                          "(e.g. $RAGCHAT_SERVE__TOKENS='[\"...\"]'), or pass --insecure")


def require_token(request: Request) -> None:
    """The dependency of every ``/v1`` route: 401 unless the request bears one of the tokens."""
    tokens: tuple[str, ...] = request.app.state.settings.serve.tokens
    if not tokens:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise APIError(401, "missing bearer token; send Authorization: Bearer <token>", code="missing_api_key")
    given_bytes = given.strip().encode()
    # compare with every token, so the time taken does not tell which one nearly matched
    if not any([hmac.compare_digest(given_bytes, token.encode()) for token in tokens]):
        raise APIError(401, "invalid bearer token", code="invalid_api_key")
