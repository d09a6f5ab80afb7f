"""Which LLM endpoints a client may send its questions (and API key) to.

The rule, checked here before any endpoint is built from a client's base URL:

* ``llm.base_url`` and every URL of ``llm.allowed_base_urls`` are always allowed;
* with a login (``ui.auth_username`` set), any other URL only for a user named in ``ui.admin_users``;
* without a login (one local user), any other URL unless ``llm.allowed_base_urls`` is non-empty.

URLs are compared after trimming spaces and trailing slashes, with the scheme and host in lower case.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from ragchat.errors import ChatError
from ragchat.settings import Settings


class EndpointNotAllowedError(ChatError):
    """A client asked for an LLM endpoint that the server's settings do not allow it."""


def normalize_url(url: str) -> str:
    """``url`` trimmed, without trailing slashes, its scheme and host in lower case."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


def configured_base_urls(settings: Settings) -> list[str]:
    """The endpoints configured on the server: ``llm.base_url`` first, then ``llm.allowed_base_urls``."""
    urls = [settings.llm.base_url, *settings.llm.allowed_base_urls]
    return list(dict.fromkeys(u.strip() for u in urls if u.strip()))


def check_base_url(settings: Settings, base_url: str, user: str | None) -> None:
    """Raise :class:`EndpointNotAllowedError` unless ``user`` (None: not logged in) may use ``base_url``."""
    allowed = configured_base_urls(settings)
    if normalize_url(base_url) in {normalize_url(u) for u in allowed}:
        return
    if settings.ui.auth_username.strip():
        if user is not None and user in settings.ui.admin_users:
            return
    elif not settings.llm.allowed_base_urls:
        return
    choices = ", ".join(allowed) if allowed else "none is configured"
    raise EndpointNotAllowedError(
        f"the LLM endpoint {base_url.strip()!r} is not allowed here; use one of the server's endpoints "
        f"({choices}), or ask an administrator to add it to llm.allowed_base_urls"
    )
