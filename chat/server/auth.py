"""Bearer tokens for ``/v1`` (``serve.tokens``): off when none are set, which only loopback allows.
:class:`chat.server.middleware.RequireToken` applies :func:`token_error` before a body is even read."""

from __future__ import annotations

import hmac

from chat.server.errors import APIError
from ragchat.errors import ConfigError
from ragchat.net import is_loopback
from ragchat.settings import Settings


def check_bind(settings: Settings, host: str, insecure: bool) -> None:
    """Raise :class:`ConfigError` for a non-loopback ``host`` without tokens, unless ``insecure``."""
    if not settings.serve.tokens and not is_loopback(host) and not insecure:
        raise ConfigError(f"refusing to serve on {host} without tokens; set serve.tokens "
                          "(e.g. $RAGCHAT_SERVE__TOKENS='[\"...\"]'), or pass --insecure")


def token_error(authorization: str, tokens: tuple[str, ...]) -> APIError | None:
    """Why a request with this ``Authorization`` header may not call ``/v1``; None when it may."""
    if not tokens:
        return None
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return APIError(401, "missing bearer token; send Authorization: Bearer <token>", code="missing_api_key")
    given_bytes = given.strip().encode()
    # compare with every token, so the time taken does not tell which one nearly matched
    if not any([hmac.compare_digest(given_bytes, token.encode()) for token in tokens]):
        return APIError(401, "invalid bearer token", code="invalid_api_key")
    return None
